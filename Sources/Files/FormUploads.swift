import Foundation
import Hummingbird
import MultipartKit
import NIOCore
import PlazaKit
import _NIOFileSystem

/// A page's form that carries files as well as fields (`enctype="multipart/form-data"`): the request form
/// with its photos. Fields are small and kept in memory; each file streams to its own staging file under
/// its purpose's limit, and is stored only once the whole body has arrived.
public struct FormWithFiles: Sendable {
    /// The text fields in the order sent (file parts excluded).
    public var fields: [(String, String)]
    /// The stored files, in the order sent; none when no file was chosen.
    public var files: [StoredFile]
}

extension FileService {
    /// Receives a multipart form whose parts named `field` are files of `purpose` (at most `maxFiles`; an
    /// empty file input — a browser's "no file chosen" — is skipped) and whose other parts are text fields
    /// (together at most `fieldLimit` bytes). Files are stored, unattached, for the caller to attach; if
    /// what follows fails, the sweep removes them like any upload never attached.
    public func receiveForm(
        _ request: Request, files field: String, purpose: FilePurpose, maxFiles: Int, fieldLimit: Int = 64 * 1024, caller: Caller
    ) async throws -> FormWithFiles {
        guard let type = request.headers[.contentType], let boundary = UploadReceiver.boundary(of: type) else {
            throw PlazaError(
                .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                detail: "This form takes multipart/form-data.")
        }
        try authorizeUpload(purpose, caller: caller)
        let ceiling = Int64(maxFiles) * purpose.maxBytes + Int64(fieldLimit) + 64 * 1024
        if let declared = request.headers[.contentLength].flatMap(Int64.init), declared > ceiling {
            throw PlazaError.payloadTooLarge(limit: Int(ceiling), size: Int(declared))
        }
        let form = FieldsAndFiles(boundary: boundary, field: field, purpose: purpose, maxFiles: maxFiles, fieldLimit: fieldLimit)
        var staged: [StagedUpload] = []
        var open: (url: URL, handle: WriteFileHandle, writer: BufferedWriter<WriteFileHandle>)?
        do {
            for try await chunk in request.body {
                try form.feed(chunk)
                for event in form.takeEvents() {
                    switch event {
                    case .open:
                        if let current = open { staged.append(try await Self.close(current, form: form, index: staged.count)); open = nil }
                        let url = try blobs.stagingFile()
                        let handle = try await FileSystem.shared.openFile(forWritingAt: FilePath(url.path), options: .newFile(replaceExisting: false))
                        open = (url, handle, handle.bufferedWriter())
                    case .bytes(let piece):
                        _ = try await open?.writer.write(contentsOf: piece)
                    }
                }
            }
            try form.finish()
            if let current = open { staged.append(try await Self.close(current, form: form, index: staged.count)); open = nil }
        } catch {
            if let open { try? await open.handle.close(); try? FileManager.default.removeItem(at: open.url) }
            for file in staged { try? FileManager.default.removeItem(at: file.file) }
            throw error
        }
        // Every file is checked before any is kept, so a refused form keeps none of them.
        defer { for file in staged { try? FileManager.default.removeItem(at: file.file) } }
        var checked: [CheckedUpload] = []
        for (index, file) in staged.enumerated() {
            do {
                checked.append(try await check(file, caller: caller))
            } catch let error as PlazaError where error.status.code < 500 {
                // Name the file the problem is about: the form may carry several.
                throw PlazaError.validation(
                    field: "\(field)[\(index)]", "\(file.name): \(error.errors.first?.message ?? error.detail ?? error.title)")
            }
        }
        var stored: [StoredFile] = []
        do {
            for (file, checks) in zip(staged, checked) { stored.append(try await keep(file, checks, caller: caller)) }
        } catch {
            for file in stored { try? await delete(file.id, caller: caller) }
            throw error
        }
        return FormWithFiles(fields: form.fields, files: stored)
    }

    private static func close(
        _ open: (url: URL, handle: WriteFileHandle, writer: BufferedWriter<WriteFileHandle>), form: FieldsAndFiles, index: Int
    ) async throws -> StagedUpload {
        var writer = open.writer
        try await writer.flush()
        try await open.handle.close()
        let (name, sink) = form.file(index)
        guard sink.size > 0 else {
            try? FileManager.default.removeItem(at: open.url)
            throw PlazaError.validation(field: "\(form.field)[\(index)]", "\(name) is empty")
        }
        return StagedUpload(
            file: open.url, purpose: form.purpose, name: name, size: sink.size, sha256: sink.digest, sniffed: ContentSniffer.sniff(sink.prefix))
    }
}

/// A fields-and-files multipart body: fields are collected, and each file part becomes an `open` event
/// followed by its bytes.
final class FieldsAndFiles: MultipartStream, @unchecked Sendable {
    enum Event { case open, bytes(ByteBuffer) }
    private enum Part { case none, field(String), file, ignored }

    let field: String
    let purpose: FilePurpose
    private let maxFiles: Int
    private let fieldLimit: Int
    private var part: Part = .none
    private var text: [UInt8] = []
    private var fieldBytes = 0
    private var events: [Event] = []
    private var names: [String] = []
    private var sinks: [StagingSink] = []
    private(set) var fields: [(String, String)] = []

    init(boundary: String, field: String, purpose: FilePurpose, maxFiles: Int, fieldLimit: Int) {
        self.field = field
        self.purpose = purpose
        self.maxFiles = maxFiles
        self.fieldLimit = fieldLimit
        super.init(boundary: boundary)
    }

    func takeEvents() -> [Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    func file(_ index: Int) -> (String, StagingSink) { (names[index], sinks[index]) }

    override func partStarted(disposition: String) {
        let name = Self.parameter("name", in: disposition) ?? ""
        guard name == field, let declared = Self.parameter("filename", in: disposition) else {
            part = name.isEmpty ? .ignored : .field(name)
            text = []
            return
        }
        // A browser sends an empty, nameless part for a file input left empty.
        guard !declared.isEmpty else { part = .ignored; return }
        guard sinks.count < maxFiles else { return fail(PlazaError.validation(field: field, "at most \(maxFiles) files")) }
        switch FileName.validate(declared) {
        case .success(let valid):
            names.append(valid)
            sinks.append(StagingSink(limit: purpose.maxBytes))
            events.append(.open)
            part = .file
        case .failure(let problem):
            fail(PlazaError.validation(field: "\(field)[\(sinks.count)]", problem.message))
        }
    }

    override func partBody(_ buffer: ByteBuffer) {
        switch part {
        case .field:
            fieldBytes += buffer.readableBytes
            guard fieldBytes <= fieldLimit else { return fail(PlazaError.payloadTooLarge(limit: fieldLimit)) }
            text.append(contentsOf: buffer.readableBytesView)
        case .file:
            do {
                try sinks[sinks.count - 1].take(buffer)
                events.append(.bytes(buffer))
            } catch {
                fail(error)
            }
        case .none, .ignored:
            break
        }
    }

    override func partEnded() {
        if case .field(let name) = part {
            let value = String(decoding: text, as: UTF8.self)
            if let field = InputText.fieldWithNUL(in: [(name, value)]) { fail(PlazaError.validation(field: field, InputText.nulMessage)) }
            fields.append((name, value))
        }
        part = .none
    }
}
