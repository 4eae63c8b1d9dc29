import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One invalid field in a request: `{ "field": "email", "message": "is required" }`.
public struct FieldError: Codable, Sendable, Equatable {
    public var field: String
    public var message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// An RFC 9457 problem details document, the body of every error Plaza's API returns.
public struct Problem: Codable, Sendable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    public var requestId: String?
    public var errors: [FieldError]?

    public init(
        type: String? = nil, title: String, status: Int, detail: String? = nil,
        instance: String? = nil, requestId: String? = nil, errors: [FieldError]? = nil
    ) {
        self.type = type ?? "about:blank"
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
        self.requestId = requestId
        self.errors = errors
    }

    /// The media type of the body.
    public static let mediaType = "application/problem+json"
}

/// An error that knows its HTTP form. Services throw these; the edge renders them as problem+json.
///
/// `code` is a short stable slug (`validation`, `not-found`, `conflict`); it becomes the problem's
/// `type` URI (`https://plaza.dev/problems/<code>`), which clients may switch on.
public struct PlazaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var title: String
    public var detail: String?
    public var errors: [FieldError]
    public var headers: [String: String]

    public init(
        _ status: HTTPResponse.Status, code: String, title: String, detail: String? = nil,
        errors: [FieldError] = [], headers: [String: String] = [:]
    ) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(detail ?? title)" }

    public static func validation(_ errors: [FieldError], detail: String? = nil) -> PlazaError {
        PlazaError(
            .unprocessableContent, code: "validation", title: "Validation failed",
            detail: detail ?? errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), errors: errors)
    }
    public static func validation(field: String, _ message: String) -> PlazaError {
        validation([FieldError(field: field, message: message)])
    }
    public static func badRequest(_ detail: String, code: String = "bad-request") -> PlazaError {
        PlazaError(.badRequest, code: code, title: "Bad request", detail: detail)
    }
    public static func notFound(_ detail: String) -> PlazaError {
        PlazaError(.notFound, code: "not-found", title: "Not found", detail: detail)
    }
    public static func conflict(_ detail: String) -> PlazaError {
        PlazaError(.conflict, code: "conflict", title: "Conflict", detail: detail)
    }
    public static func payloadTooLarge(limit: Int, size: Int? = nil) -> PlazaError {
        PlazaError(
            .contentTooLarge, code: "payload-too-large", title: "Payload too large",
            detail: size.map { "The body is \($0) bytes; the limit is \(limit)." } ?? "The body is larger than \(limit) bytes.")
    }
    public static func unauthorized(_ detail: String = "Authentication is required.") -> PlazaError {
        PlazaError(.unauthorized, code: "unauthorized", title: "Unauthorized", detail: detail)
    }
    public static func forbidden(_ detail: String = "You are not allowed to do this.") -> PlazaError {
        PlazaError(.forbidden, code: "forbidden", title: "Forbidden", detail: detail)
    }

    /// The problem document for this error.
    public func problem(instance: String? = nil, requestId: String? = nil) -> Problem {
        Problem(
            type: "https://plaza.dev/problems/\(code)", title: title, status: Int(status.code), detail: detail,
            instance: instance, requestId: requestId, errors: errors.isEmpty ? nil : errors)
    }
}

extension PlazaError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestId = (context as? any PlazaRequestContext)?.requestID
        return Response.problem(self.problem(instance: request.uri.path, requestId: requestId), headers: headers)
    }
}

extension Response {
    /// A problem+json response.
    public static func problem(_ problem: Problem, headers extra: [String: String] = [:]) -> Response {
        let data = (try? PlazaJSON.encoder().encode(problem)) ?? Data("{\"title\":\"Internal error\",\"status\":500}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = Problem.mediaType
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = HTTPResponse.Status(code: problem.status)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A refusal in another standard's own form (OAuth's `{"error", "error_description"}`), answered as it is wherever it
/// surfaces: the edge sends its response rather than logging an unhandled error and answering 500.
public protocol AnsweredInItsOwnForm: Error {
    var response: Response { get }
}
