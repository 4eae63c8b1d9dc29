import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A browser as far as Plaza's pages can tell: it keeps cookies, follows nothing by itself, asks for HTML,
/// and posts forms with the CSRF token of the last page it read.
public final class Browser {
    public let client: any TestClientProtocol
    public private(set) var cookies: [String: String] = [:]
    /// Every attribute list of the last `Set-Cookie` seen for a name (`HttpOnly; SameSite=Lax; …`).
    public private(set) var cookieAttributes: [String: String] = [:]
    public private(set) var lastPage = ""
    public var extraHeaders: HTTPFields = [:]

    public init(_ client: any TestClientProtocol, language: String = "en") {
        self.client = client
        extraHeaders[.acceptLanguage] = language
    }

    @discardableResult
    public func get(_ uri: String) async throws -> TestResponse {
        let response = try await client.executeRequest(uri: uri, method: .get, headers: headers(), body: nil)
        absorb(response)
        return response
    }

    /// Posts `fields` as a form; `_csrf` is the last page's token unless `csrf` says otherwise (`.some(nil)` sends none).
    @discardableResult
    public func post(_ uri: String, _ fields: [(String, String)], csrf: String?? = .none, headers extra: HTTPFields = [:]) async throws
        -> TestResponse
    {
        var pairs = fields
        switch csrf {
        case .none: if let token = csrfToken { pairs.append(("_csrf", token)) }
        case .some(.some(let token)): pairs.append(("_csrf", token))
        case .some(.none): break
        }
        var headers = headers()
        headers[.contentType] = "application/x-www-form-urlencoded"
        for field in extra { headers[field.name] = field.value }
        let body = pairs.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let response = try await client.executeRequest(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
        absorb(response)
        return response
    }

    /// The hidden `_csrf` value of the last page read.
    public var csrfToken: String? {
        guard let range = lastPage.range(of: #"name="_csrf" value="([^"]+)""#, options: .regularExpression) else { return nil }
        return String(lastPage[range].dropFirst(#"name="_csrf" value=""#.count).dropLast())
    }

    public func forget(cookie name: String) { cookies[name] = nil }
    public func set(cookie name: String, _ value: String) { cookies[name] = value }

    public func headers() -> HTTPFields {
        var headers = extraHeaders
        headers[.accept] = "text/html,application/xhtml+xml"
        if !cookies.isEmpty { headers[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return headers
    }

    private func absorb(_ response: TestResponse) {
        for header in response.headers[values: .setCookie] {
            let parts = header.split(separator: ";", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let pair = parts.first, let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals])
            let value = String(pair[pair.index(after: equals)...])
            cookieAttributes[name] = parts.count > 1 ? parts[1] : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        if response.headers[.contentType]?.hasPrefix("text/html") == true { lastPage = String(buffer: response.body) }
    }

    public static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

extension TestResponse {
    public var text: String { String(buffer: body) }
    public var location: String? { headers[.location] }
}

extension Browser {
    /// Posts a file the way a browser's `enctype="multipart/form-data"` form does: `fields` first, then the file.
    @discardableResult
    public func upload(_ uri: String, fields: [(String, String)], file: (name: String, field: String, type: String, data: Data)) async throws
        -> TestResponse
    {
        try await upload(uri, fields: fields, files: [file])
    }

    /// Posts fields, then files, as a browser's multipart form does; a file with an empty name and no data
    /// is what a browser sends for a file input left empty.
    @discardableResult
    public func upload(_ uri: String, fields: [(String, String)], files: [(name: String, field: String, type: String, data: Data)]) async throws
        -> TestResponse
    {
        let boundary = "----plaza\(UUID().uuidString)"
        var body = Data()
        for (name, value) in fields {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8))
        }
        for file in files {
            let head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.field)\"; filename=\"\(file.name)\"\r\n"
            body.append(Data((head + "Content-Type: \(file.type)\r\n\r\n").utf8))
            body.append(file.data)
            body.append(Data("\r\n".utf8))
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        var headers = headers()
        headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
        let response = try await client.executeRequest(uri: uri, method: .post, headers: headers, body: ByteBuffer(data: body))
        absorb(response)
        return response
    }
}

extension Browser {
    /// Signs in through the sign-in page.
    @discardableResult
    public func signIn(email: String, password: String) async throws -> TestResponse {
        try await get("/sign-in")
        return try await post("/sign-in", [("email", email), ("password", password), ("next", "")])
    }
}
