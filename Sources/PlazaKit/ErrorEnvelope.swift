import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// How refusals look on routes where an app speaks another system's API (the UserOrg app answers in Sunbird's
/// shape). The edge draws every refusal under the envelope's path prefix with it — its own 401, 404, 405, 413
/// and 429 included — instead of problem+json; routes there declare ``ErrorFormat/envelope(_:)`` so
/// `/openapi.json` says so.
public struct ErrorEnvelope: Sendable, Equatable {
    /// The body's schema name in `/openapi.json` (`SunbirdError`).
    public let name: String
    public let mediaType: String
    public let schema: JSONSchema
    /// The body of one refusal.
    public let render: @Sendable (_ error: PlazaError, _ problem: Problem) -> Data

    public init(name: String, mediaType: String = "application/json", schema: JSONSchema, render: @escaping @Sendable (PlazaError, Problem) -> Data) {
        self.name = name
        self.mediaType = mediaType
        self.schema = schema
        self.render = render
    }

    public static func == (lhs: ErrorEnvelope, rhs: ErrorEnvelope) -> Bool { lhs.name == rhs.name }

    /// The refusal as a response, with the error's headers (`Retry-After`, `Allow`, `WWW-Authenticate`).
    public func response(_ error: PlazaError, _ problem: Problem) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = mediaType
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: problem.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: render(error, problem))))
    }
}

/// The envelope for the routes under a path prefix.
public struct EnvelopedPrefix: Sendable {
    public let prefix: String
    public let envelope: ErrorEnvelope

    public init(_ prefix: String, _ envelope: ErrorEnvelope) {
        self.prefix = prefix
        self.envelope = envelope
    }
}
