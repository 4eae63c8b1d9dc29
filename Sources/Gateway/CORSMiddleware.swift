import HTTPTypes
import Hummingbird
import PlazaKit

/// Answers CORS preflights and marks responses for browsers calling from allowed origins.
///
/// With `*` any origin may call without credentials; named origins may also send cookies.
public struct CORSMiddleware<Context: PlazaRequestContext>: RouterMiddleware {
    let origins: Set<String>
    let allowsAny: Bool
    static var allowedMethods: String { "GET, POST, PUT, PATCH, DELETE, OPTIONS" }
    static var allowedHeaders: String { "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-CSRF-Token" }
    static var exposedHeaders: String { "X-Request-Id, Retry-After, Location" }

    public init(origins: [String]) {
        self.allowsAny = origins.contains("*")
        self.origins = Set(origins.filter { $0 != "*" })
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowsAny || origins.contains(origin) else {
            return try await next(request, context)
        }
        let credentials = origins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var response = Response(status: .noContent)
            apply(origin: origin, credentials: credentials, to: &response.headers)
            response.headers[.accessControlAllowMethods] = Self.allowedMethods
            response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        apply(origin: origin, credentials: credentials, to: &response.headers)
        response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        return response
    }

    private func apply(origin: String, credentials: Bool, to headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = credentials ? origin : "*"
        if credentials { headers[.accessControlAllowCredentials] = "true" }
        headers[.vary] = "Origin"
    }
}
