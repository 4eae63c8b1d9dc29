import Crypto
import Foundation
import Hummingbird
import MultipartKit
import NIOCore
import PlazaKit
import _NIOFileSystem

/// An upload received in full into a staging file, not yet checked beyond its size.
struct StagedUpload: Sendable {
    var file: URL
    var purpose: FilePurpose
    var name: String
    var size: Int64
    var sha256: String
    /// What the first bytes say; `nil` when they match no known type.
    var sniffed: MediaType?
}

/// Writes what arrives into a staging file: counting, hashing and keeping the first bytes for sniffing,
/// and refusing the body the moment it passes its limit.
struct StagingSink {
    let limit: Int64
    private(set) var size: Int64 = 0
    private var hasher = SHA256()
    private(set) var prefix: [UInt8] = []

    init(limit: Int64) {
        self.limit = limit
    }

    /// Takes a chunk; throws 413 when the total passes the limit.
    mutating func take(_ chunk: ByteBuffer) throws {
        size += Int64(chunk.readableBytes)
        guard size <= limit else { throw PlazaError.payloadTooLarge(limit: Int(limit)) }
        chunk.withUnsafeReadableBytes { bytes in
            hasher.update(bufferPointer: bytes)
            if prefix.count < ContentSniffer.prefixLength {
                prefix.append(contentsOf: bytes.prefix(ContentSniffer.prefixLength - prefix.count))
            }
        }
    }

    var digest: String { Hex.string(hasher.finalize()) }
}

enum UploadReceiver {
    /// A raw body: the purpose and name come from the query.
    static func receiveRaw(
        _ body: RequestBody, purpose: FilePurpose, name: String, declaredLength: Int?, store: any BlobStore
    ) async throws -> StagedUpload {
        if let declaredLength, Int64(declaredLength) > purpose.maxBytes {
            throw PlazaError.payloadTooLarge(limit: Int(purpose.maxBytes), size: declaredLength)
        }
        let file = try store.stagingFile()
        do {
            var sink = StagingSink(limit: purpose.maxBytes)
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(file.path), options: .newFile(replaceExisting: false)) { handle in
                var writer = handle.bufferedWriter()
                for try await chunk in body {
                    try sink.take(chunk)
                    _ = try await writer.write(contentsOf: chunk)
                }
                try await writer.flush()
            }
            guard sink.size > 0 else { throw PlazaError.validation(field: "file", "is empty") }
            return StagedUpload(
                file: file, purpose: purpose, name: name, size: sink.size, sha256: sink.digest, sniffed: ContentSniffer.sniff(sink.prefix))
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    /// `multipart/form-data` with a `purpose` part before the `file` part, so the purpose's limit applies
    /// while the file streams. `allow` is asked about the purpose before any file byte is written.
    static func receiveMultipart(
        _ body: RequestBody, boundary: String, declaredLength: Int?, store: any BlobStore, purposes: [FilePurpose],
        allow: @Sendable (FilePurpose) async throws -> Void
    ) async throws -> StagedUpload {
        let file = try store.stagingFile()
        do {
            let form = MultipartForm(boundary: boundary, purposes: purposes)
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(file.path), options: .newFile(replaceExisting: false)) { handle in
                var writer = handle.bufferedWriter()
                var allowed = false
                for try await chunk in body {
                    try form.feed(chunk)
                    if let purpose = form.purpose, !allowed {
                        try await allow(purpose)
                        // Multipart adds a little around the file; a declared length far past the limit fails now.
                        if let declaredLength, Int64(declaredLength) > purpose.maxBytes + 64 * 1024 {
                            throw PlazaError.payloadTooLarge(limit: Int(purpose.maxBytes), size: declaredLength)
                        }
                        allowed = true
                    }
                    for piece in form.takeFileBytes() { _ = try await writer.write(contentsOf: piece) }
                }
                try await writer.flush()
            }
            try form.finish()
            guard let purpose = form.purpose, let sink = form.sink else {
                throw PlazaError.validation(field: "file", "is missing: send a `purpose` part, then a `file` part")
            }
            guard sink.size > 0 else { throw PlazaError.validation(field: "file", "is empty") }
            return StagedUpload(
                file: file, purpose: purpose, name: form.fileName ?? "file", size: sink.size, sha256: sink.digest,
                sniffed: ContentSniffer.sniff(sink.prefix))
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw error
        }
    }

    /// The boundary of a `multipart/form-data` content type.
    static func boundary(of contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() where part.lowercased().hasPrefix("boundary=") {
            let value = part.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.count > 70 ? nil : value
        }
        return nil
    }
}

/// A multipart body as it streams through MultipartKit's push parser: each part's start (with its
/// `Content-Disposition`), its bytes and its end reach the subclass, and the first failure is kept — the
/// parser's callbacks cannot throw — to be thrown from ``feed(_:)`` or ``finish()``.
class MultipartStream: @unchecked Sendable {
    // Used by one task at a time (the upload's); @unchecked because the parser's callbacks capture it.
    private let parser: MultipartParser
    private var headers: [String: String] = [:]
    private var inPart = false
    private(set) var failure: (any Error)?

    init(boundary: String) {
        parser = MultipartParser(boundary: boundary)
        parser.onHeader = { [unowned self] name, value in headers[name.lowercased()] = value }
        parser.onBody = { [unowned self] buffer in
            guard failure == nil else { return }
            begin()
            partBody(buffer)
        }
        parser.onPartComplete = { [unowned self] in
            guard failure == nil else { return }
            begin()
            partEnded()
            inPart = false
            headers = [:]
        }
    }

    func feed(_ chunk: ByteBuffer) throws {
        do {
            try parser.execute(chunk)
        } catch {
            throw PlazaError.badRequest("The multipart body is malformed.", code: "bad-multipart")
        }
        if let failure { throw failure }
    }

    func finish() throws {
        if let failure { throw failure }
    }

    func fail(_ error: any Error) {
        if failure == nil { failure = error }
    }

    /// A part begins: its headers are all in (an empty part may have no body before its end).
    func partStarted(disposition: String) {}
    func partBody(_ buffer: ByteBuffer) {}
    func partEnded() {}

    private func begin() {
        guard !inPart else { return }
        inPart = true
        partStarted(disposition: headers["content-disposition"] ?? "")
    }

    /// A parameter of a header value: `form-data; name="file"; filename="a.jpg"`.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return nil
    }
}

/// One upload's body: a `purpose` part, then one `file` part streamed out as it arrives.
final class MultipartForm: MultipartStream, @unchecked Sendable {
    private var purposeText = ""
    private var part: Part = .none
    private var pending: [ByteBuffer] = []
    private var sawFile = false

    private(set) var purpose: FilePurpose?
    private(set) var fileName: String?
    private(set) var sink: StagingSink?
    /// The purposes the installation declares.
    let purposes: [FilePurpose]

    init(boundary: String, purposes: [FilePurpose]) {
        self.purposes = purposes
        super.init(boundary: boundary)
    }

    enum Part { case none, purpose, file, ignored }

    func takeFileBytes() -> [ByteBuffer] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    override func partStarted(disposition: String) {
        switch Self.parameter("name", in: disposition) {
        case "purpose":
            part = .purpose
        case "file":
            guard !sawFile else { return fail(PlazaError.validation(field: "file", "send one file per upload")) }
            guard let purpose else {
                return fail(PlazaError.validation(field: "purpose", "must come before the file part"))
            }
            switch FileName.validate(Self.parameter("filename", in: disposition)) {
            case .success(let valid): fileName = valid
            case .failure(let problem): return fail(PlazaError.validation(field: "file.name", problem.message))
            }
            sink = StagingSink(limit: purpose.maxBytes)
            sawFile = true
            part = .file
        default:
            part = .ignored
        }
    }

    override func partBody(_ buffer: ByteBuffer) {
        switch part {
        case .purpose:
            purposeText += String(buffer: buffer)
            if purposeText.utf8.count > 64 { fail(PlazaError.validation(field: "purpose", "is not a purpose")) }
        case .file:
            do {
                try sink?.take(buffer)
                pending.append(buffer)
            } catch {
                fail(error)
            }
        case .none, .ignored:
            break
        }
    }

    override func partEnded() {
        if part == .purpose {
            let text = purposeText.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let value = purposes.first(where: { $0.name == text }) else {
                let known = purposes.map(\.name).joined(separator: ", ")
                return fail(PlazaError.validation(field: "purpose", "must be one of \(known)"))
            }
            purpose = value
        }
        part = .none
    }
}

extension FileService {
    /// Receives an upload from a request — multipart (`purpose`, then `file`) or a raw body with
    /// `?purpose=&name=` — and stores it. `only` restricts the purpose (the avatar form takes avatars).
    public func upload(_ request: Request, caller: Caller, only: FilePurpose? = nil) async throws -> StoredFile {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        let purposes = allPurposes.map(\.name).joined(separator: ", ")
        let staged: StagedUpload
        if let type = request.headers[.contentType], let boundary = UploadReceiver.boundary(of: type) {
            staged = try await UploadReceiver.receiveMultipart(
                request.body, boundary: boundary, declaredLength: declared, store: blobs, purposes: allPurposes
            ) { purpose in
                if let only, purpose != only { throw PlazaError.validation(field: "purpose", "must be \(only.name) here") }
                try self.authorizeUpload(purpose, caller: caller)
            }
        } else {
            let query = request.uri.queryParameters
            guard let raw = query["purpose"].map(String.init), let purpose = purpose(named: raw), only == nil || only == purpose else {
                throw PlazaError.validation(field: "purpose", "must be one of \(purposes) (send it as ?purpose= with a raw body)")
            }
            try authorizeUpload(purpose, caller: caller)
            let name: String
            switch FileName.validate(query["name"].map(String.init)) {
            case .success(let valid): name = valid
            case .failure(let problem): throw PlazaError.validation(field: "name", problem.message)
            }
            staged = try await UploadReceiver.receiveRaw(request.body, purpose: purpose, name: name, declaredLength: declared, store: blobs)
        }
        return try await store(staged, caller: caller)
    }
}
