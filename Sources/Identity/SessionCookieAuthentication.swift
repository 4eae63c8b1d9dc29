import Foundation
import Hummingbird
import PlazaKit

/// Signs a page request in from the `plaza_session` cookie.
///
/// Only outside `/api`: the API takes bearer tokens, so a cookie can never carry a cross-site request into it
/// (the pages guard their own forms with CSRF tokens). The one exception is the realtime endpoint, which a
/// page opens with its cookie; there the handshake's `Origin` must be this host, so another site's page
/// cannot open a socket in the visitor's name. A request already signed in (a bearer token) is left alone; a
/// cookie that no longer stands for a session is ignored and the request goes on anonymous.
public struct SessionCookieAuthentication<Context: PlazaRequestContext>: RouterMiddleware {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.principal == nil, !request.uri.path.hasPrefix("/api/") || Self.isSameOriginRealtime(request),
            let cookie = request.cookies[WebSessionCookie.name]?.value, !cookie.isEmpty
        else { return try await next(request, context) }
        var context = context
        context.principal = try await identity.authenticate(sessionCookie: cookie)
        return try await next(request, context)
    }
}

extension SessionCookieAuthentication {
    static func isSameOriginRealtime(_ request: Request) -> Bool {
        request.uri.path.hasPrefix("/api/v1/realtime") && request.comesFromThisSite
    }
}
