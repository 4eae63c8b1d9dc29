import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// Any S3-compatible store (AWS S3, MinIO, Ceph, R2…), addressed path-style: `endpoint/bucket/key`.
/// Uploads are staged locally first (limits, hashing and image checks need the whole file), then sent
/// in one signed PUT streamed from disk, with the SHA-256 already known.
public struct S3BlobStore: BlobStore {
    public struct Location: Sendable, Equatable {
        /// `http(s)://host[:port]`
        public var endpoint: String
        public var bucket: String
        public var region: String
        public var accessKey: String
        public var secretKey: String

        /// `https://ACCESS_KEY:SECRET@host[:port]/bucket?region=eu-central-1` (region defaults to us-east-1).
        public init(url text: String) throws {
            guard let url = URLComponents(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
                let host = url.host, !host.isEmpty
            else {
                throw S3Error("must be http(s)://ACCESS_KEY:SECRET@host[:port]/bucket[?region=…]")
            }
            let bucket = url.path.split(separator: "/").first.map(String.init) ?? ""
            guard !bucket.isEmpty, url.path.split(separator: "/").count == 1 else { throw S3Error("must name the bucket as the URL's path") }
            guard let user = url.percentEncodedUser, let password = url.percentEncodedPassword, !user.isEmpty, !password.isEmpty else {
                throw S3Error("must carry the access key and secret as ACCESS_KEY:SECRET@")
            }
            endpoint = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
            self.bucket = bucket
            region = url.queryItems?.first { $0.name == "region" }?.value ?? "us-east-1"
            accessKey = user.removingPercentEncoding ?? user
            secretKey = password.removingPercentEncoding ?? password
        }
    }

    public struct S3Error: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    let location: Location
    let signer: SigV4
    let http: HTTPClient
    public let stagingDirectory: URL

    public init(location: Location, stagingDirectory: URL, http: HTTPClient = .shared) {
        self.location = location
        self.signer = SigV4(accessKey: location.accessKey, secretKey: location.secretKey, region: location.region)
        self.http = http
        self.stagingDirectory = stagingDirectory
    }

    private func request(_ method: HTTPMethod, _ key: String, payload: String = SigV4.emptyPayload, headers extra: [(String, String)] = [])
        -> HTTPClientRequest
    {
        request(method, path: "/\(location.bucket)/\(key)", payload: payload, headers: extra)
    }

    private func request(_ method: HTTPMethod, path: String, payload: String = SigV4.emptyPayload, headers extra: [(String, String)] = [])
        -> HTTPClientRequest
    {
        let host = location.endpoint.split(separator: "/").last.map(String.init) ?? ""
        var headers = [("host", host)] + extra
        headers += signer.sign(method: method.rawValue, path: path, headers: headers, payloadSHA256: payload, date: Date())
        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false).map { SigV4.encode(String($0)) }.joined(separator: "/")
        var request = HTTPClientRequest(url: location.endpoint + encodedPath)
        request.method = method
        for (name, value) in headers where name != "host" { request.headers.add(name: name, value: value) }
        return request
    }

    /// Creates the bucket if it is missing (tests and first starts against a fresh MinIO).
    public func createBucket() async throws {
        // Outside us-east-1, S3 wants the region named in the body as well.
        var configuration = ""
        if location.region != "us-east-1" {
            configuration =
                #"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>"#
                + location.region + "</LocationConstraint></CreateBucketConfiguration>"
        }
        var request = request(.PUT, path: "/\(location.bucket)", payload: SigV4.hex(SHA256.hash(data: Data(configuration.utf8))))
        if !configuration.isEmpty { request.body = .bytes(ByteBuffer(string: configuration)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 16)
        guard (200..<300).contains(response.status.code) || String(buffer: body).contains("BucketAlreadyOwnedByYou") else {
            throw S3Error("creating bucket \(location.bucket) failed: \(response.status.code) \(String(buffer: body).prefix(300))")
        }
    }

    public func put(_ key: String, from staged: URL, size: Int64, sha256: String, contentType: String) async throws {
        var request = self.request(.PUT, key, payload: sha256, headers: [("content-type", contentType)])
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(staged.path)) { handle in
            request.body = .stream(handle.readChunks(chunkLength: .kibibytes(256)), length: .known(size))
            let response = try await http.execute(request, timeout: .minutes(30))
            let body = try await response.body.collect(upTo: 1 << 16)
            guard (200..<300).contains(response.status.code) else {
                throw S3Error("PUT \(key) failed: \(response.status.code) \(String(buffer: body).prefix(300))")
            }
        }
        try? FileManager.default.removeItem(at: staged)
    }

    public func read(_ key: String, range: ClosedRange<Int64>) async throws -> ResponseBody {
        let request = self.request(.GET, key, headers: [("range", "bytes=\(range.lowerBound)-\(range.upperBound)")])
        let response = try await http.execute(request, timeout: .minutes(30))
        guard response.status == .partialContent || response.status == .ok else {
            _ = try? await response.body.collect(upTo: 1 << 16)
            throw S3Error("GET \(key) failed: \(response.status.code)")
        }
        return ResponseBody(contentLength: Int(range.count)) { writer in
            for try await chunk in response.body { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
    }

    public func delete(_ key: String) async throws {
        let response = try await http.execute(request(.DELETE, key), timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard (200..<300).contains(response.status.code) || response.status == .notFound else {
            throw S3Error("DELETE \(key) failed: \(response.status.code)")
        }
    }

    /// ListObjectsV2, page by page. The XML is read for `<Key>` and `<LastModified>` only.
    public func list(prefix: String) async throws -> [(key: String, modified: Date)] {
        var found: [(key: String, modified: Date)] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let path = "/\(location.bucket)"
            let host = location.endpoint.split(separator: "/").last.map(String.init) ?? ""
            let signed = signer.sign(
                method: "GET", path: path, query: query, headers: [("host", host)], payloadSHA256: SigV4.emptyPayload, date: Date())
            let queryString = query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
            var request = HTTPClientRequest(url: location.endpoint + path + "?" + queryString)
            for (name, value) in signed { request.headers.add(name: name, value: value) }
            let response = try await http.execute(request, timeout: .seconds(60))
            let xml = String(buffer: try await response.body.collect(upTo: 16 << 20))
            guard response.status == .ok else { throw S3Error("listing \(prefix) failed: \(response.status.code) \(xml.prefix(300))") }
            for object in Self.elements("Contents", in: xml) {
                guard let key = Self.elements("Key", in: object).first, let stamp = Self.elements("LastModified", in: object).first,
                    let modified = Self.isoDate(stamp)
                else { continue }
                found.append((Self.unescape(key), modified))
            }
            token = Self.elements("IsTruncated", in: xml).first == "true" ? Self.elements("NextContinuationToken", in: xml).first : nil
        } while token != nil
        return found
    }

    static func elements(_ name: String, in xml: String) -> [String] {
        var out: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            out.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return out
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func isoDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    public func withLocalCopy<T: Sendable>(of key: String, _ body: @Sendable (String) async throws -> T) async throws -> T {
        let copy = try stagingFile("copy")
        defer { try? FileManager.default.removeItem(at: copy) }
        let response = try await http.execute(request(.GET, key), timeout: .minutes(30))
        guard response.status == .ok else {
            _ = try? await response.body.collect(upTo: 1 << 16)
            throw S3Error("GET \(key) failed: \(response.status.code)")
        }
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(copy.path), options: .newFile(replaceExisting: true)) { handle in
            var writer = handle.bufferedWriter()
            for try await chunk in response.body { _ = try await writer.write(contentsOf: chunk) }
            try await writer.flush()
        }
        return try await body(copy.path)
    }
}
