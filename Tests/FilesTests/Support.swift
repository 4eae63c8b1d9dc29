import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import SQLKit

@testable import Files

/// A fixture's bytes (Tests/FilesTests/Fixtures; how each was made is in its README).
func fixture(_ name: String) throws -> Data {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name)
    }
    return try Data(contentsOf: url)
}

struct FixtureMissing: Error { var name: String }

/// A `multipart/form-data` body with the given parts in order; a part with a file name carries bytes.
func multipart(_ parts: [(name: String, filename: String?, contentType: String?, data: Data)]) -> (body: ByteBuffer, contentType: String) {
    let boundary = "plaza-test-\(UUID().uuidString)"
    var body = Data()
    for part in parts {
        body.append(Data("--\(boundary)\r\n".utf8))
        var disposition = "Content-Disposition: form-data; name=\"\(part.name)\""
        if let filename = part.filename { disposition += "; filename=\"\(filename)\"" }
        body.append(Data("\(disposition)\r\n".utf8))
        if let type = part.contentType { body.append(Data("Content-Type: \(type)\r\n".utf8)) }
        body.append(Data("\r\n".utf8))
        body.append(part.data)
        body.append(Data("\r\n".utf8))
    }
    body.append(Data("--\(boundary)--\r\n".utf8))
    return (ByteBuffer(data: body), "multipart/form-data; boundary=\(boundary)")
}

/// Uploads `data` for `purpose` the way a browser form does: the purpose first, then the file.
func upload(
    _ client: some TestClientProtocol, _ person: Person, purpose: String, name: String, data: Data, type: String = "application/octet-stream"
) async throws -> TestResponse {
    let form = multipart([("purpose", nil, nil, Data(purpose.utf8)), ("file", name, type, data)])
    return try await client.execute(
        uri: "/api/v1/files", method: .post,
        headers: [.authorization: "Bearer \(person.token)", .contentType: form.contentType], body: form.body)
}

extension Plaza {
    /// How many file records exist (bad uploads must leave none behind).
    func fileCount() async throws -> Int {
        try await store.sql.raw("SELECT COUNT(*) AS n FROM files").first()?.decode(column: "n", as: Int.self) ?? -1
    }

    /// Every regular file under the files directory (staging included), relative to it.
    func storedBlobs() -> [String] {
        let root = URL(fileURLWithPath: config.fileSettings.root)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        return walker.compactMap { item -> String? in
            guard let url = item as? URL, (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { return nil }
            return String(url.path.dropFirst(root.path.count + 1))
        }.sorted()
    }
}

/// A test Plaza whose files live in a directory of their own, removed afterwards.
func withFilesPlaza<T: Sendable>(clock: any PlazaClock = SystemClock(), _ body: (Plaza) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-files-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    // With the seam's test app, whose purposes (a photo with variants, a video, a staff-only cover) the tests upload.
    return try await withTestPlaza(
        apps: [NotesApp.self], clock: clock,
        configure: {
            $0.filesDirectory = directory.path
            $0.edge.rateLimits = []
        }, body)
}
