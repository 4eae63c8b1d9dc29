import Foundation
import Hummingbird
import NIOCore
import _NIOFileSystem

/// Where file bytes live. Keys are relative paths (`originals/3f/<id>`); records in the database say
/// which key holds what, so a store needs no listing to serve.
public protocol BlobStore: Sendable {
    /// Takes a finished staging file (local, complete, hashed) and keeps it under `key`.
    func put(_ key: String, from staged: URL, size: Int64, sha256: String, contentType: String) async throws
    /// The bytes of `range` of `key`, streamed.
    func read(_ key: String, range: ClosedRange<Int64>) async throws -> ResponseBody
    func delete(_ key: String) async throws
    /// Runs `body` with a local path holding `key`'s bytes (image work needs a file).
    func withLocalCopy<T: Sendable>(of key: String, _ body: @Sendable (String) async throws -> T) async throws -> T
    /// A directory on local disk for staging uploads and variants before ``put``.
    var stagingDirectory: URL { get }
    /// Every key under `prefix` with when it was last written (the sweep looks for bytes no record names).
    func list(prefix: String) async throws -> [(key: String, modified: Date)]
}

extension BlobStore {
    /// A fresh staging path.
    func stagingFile(_ suffix: String = "part") throws -> URL {
        try FileManager.default.createDirectory(at: stagingDirectory, withIntermediateDirectories: true)
        return stagingDirectory.appendingPathComponent("\(UUID().uuidString.lowercased()).\(suffix)")
    }
}

/// A directory under the data directory (the default). Staging files live beside the blobs, so storing
/// one is a rename: a reader never sees half a file.
public struct LocalBlobStore: BlobStore {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    public var stagingDirectory: URL { root.appendingPathComponent(".staging") }

    func path(_ key: String) -> URL { root.appendingPathComponent(key) }

    public func put(_ key: String, from staged: URL, size: Int64, sha256: String, contentType: String) async throws {
        let target = path(key)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(staged.path, target.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
        }
    }

    public func read(_ key: String, range: ClosedRange<Int64>) async throws -> ResponseBody {
        let path = FilePath(self.path(key).path)
        return ResponseBody(contentLength: Int(range.count)) { writer in
            try await FileSystem.shared.withFileHandle(forReadingAt: path) { handle in
                for try await chunk in handle.readChunks(in: range, chunkLength: .kibibytes(128)) {
                    try await writer.write(chunk)
                }
            }
            try await writer.finish(nil)
        }
    }

    public func delete(_ key: String) async throws {
        try? FileManager.default.removeItem(at: path(key))
    }

    public func withLocalCopy<T: Sendable>(of key: String, _ body: @Sendable (String) async throws -> T) async throws -> T {
        try await body(path(key).path)
    }

    public func list(prefix: String) async throws -> [(key: String, modified: Date)] {
        let keys: [URLResourceKey] = [.isRegularFileKey, .contentModificationDateKey]
        guard let walker = FileManager.default.enumerator(at: path(prefix), includingPropertiesForKeys: keys) else { return [] }
        var found: [(key: String, modified: Date)] = []
        for case let url as URL in walker {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true,
                let modified = values.contentModificationDate
            else { continue }
            found.append((String(url.path.dropFirst(root.path.count + 1)), modified))
        }
        return found
    }
}
