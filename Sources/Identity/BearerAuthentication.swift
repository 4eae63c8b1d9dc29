import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// Signs a request in from `Authorization: Bearer <access token>`.
///
/// A request without the header goes on anonymous (routes that need a principal answer 401 themselves);
/// a request whose token does not verify is refused here with a 401, since its sender meant to be signed in.
/// Browsers cannot set headers on a WebSocket, so the realtime endpoints also take `?access_token=`.
public struct BearerAuthentication<Context: PlazaRequestContext>: RouterMiddleware {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // OAuth's client endpoints read Authorization themselves: there it is a client's Basic credentials.
        if OAuthPaths.clientAuthenticated.contains(request.uri.path) { return try await next(request, context) }
        // /metrics reads its own scrape token (PLAZA_METRICS_TOKEN), which is not an access token.
        if request.uri.path == "/metrics" { return try await next(request, context) }
        guard let header = request.headers[.authorization] ?? Self.queryToken(request) else { return try await next(request, context) }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw PlazaError(
                .unauthorized, code: "unauthorized", title: "Unauthorized", detail: "Use Authorization: Bearer <access token>.",
                headers: ["WWW-Authenticate": "Bearer"])
        }
        var context = context
        do {
            context.principal = try await identity.authenticate(bearer: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        } catch var error as PlazaError {
            error.headers["WWW-Authenticate"] = "Bearer error=\"invalid_token\""
            throw error
        }
        // A token an OAuth client holds without the `plaza` scope may read who the person is, nothing more.
        if let principal = context.principal, !principal.scopes.contains(OAuthScope.plaza), request.uri.path != OAuthPaths.userinfo {
            throw PlazaError(
                .forbidden, code: "insufficient-scope", title: "Insufficient scope",
                detail: "This token was not granted the `plaza` scope, which Plaza's API needs.",
                headers: ["WWW-Authenticate": "Bearer error=\"insufficient_scope\", scope=\"plaza\""])
        }
        return try await next(request, context)
    }
}

extension BearerAuthentication {

    /// Paths where a token may come in the query string: only the realtime endpoints, whose URLs are not
    /// logged with their query and are opened by scripts that cannot send headers.
    static func queryToken(_ request: Request) -> String? {
        guard request.uri.path.hasPrefix("/api/v1/realtime"), let token = request.uri.queryParameters["access_token"], !token.isEmpty
        else { return nil }
        return "Bearer " + String(token)
    }
}
