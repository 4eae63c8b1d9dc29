import Foundation
import Gateway
import Hummingbird
import HummingbirdCore
import Identity
import Logging
import PlazaKit
import Realtime
import ServiceLifecycle
import Web

extension Plaza {
    /// The router with the edge middlewares and every module's routes, each guarded as it declares.
    ///
    /// Middleware order: the edge (ids, errors, headers, logs, metrics) wraps CORS, then authentication, then rate
    /// limits, then the pages' error drawing.
    ///
    /// Authentication (bearer tokens, then the pages' session cookie) runs inside the edge, so its refusals are
    /// problem+json, and before rate limits, so signed-in users are limited per user. Page errors are drawn
    /// innermost, where the principal is known, so a signed-out browser is sent to the sign-in page. `extraAuthentication` runs just before
    /// it (tests sign
    /// requests in with it).
    public func buildRouter(
        extraAuthentication: (any MiddlewareProtocol<Request, Response, AppRequestContext>)? = nil,
        extraRoutes: RouteTable<AppRequestContext> = .init()
    ) -> Router<AppRequestContext> {
        var table = self.routes
        table.add(contentsOf: extraRoutes)
        let routes = table
        let router = Router(context: AppRequestContext.self)
        var accessLog = Logger(label: "plaza.access")
        accessLog.logLevel = config.logLevel
        _ = PlazaMetrics.registry // metrics must be bootstrapped before the first request records any
        router.add(
            middleware: EdgeMiddleware<AppRequestContext>(
                settings: config.edge, accessLog: accessLog, envelopes: config.apps.types.flatMap { $0.manifest.errorEnvelopes },
                allowedMethods: { routes.methods(matching: $0) }))
        router.add(middleware: CORSMiddleware<AppRequestContext>(origins: config.edge.corsOrigins))
        if let extraAuthentication { router.add(middleware: extraAuthentication) }
        router.add(middleware: BearerAuthentication<AppRequestContext>(identity: identity))
        router.add(middleware: SessionCookieAuthentication<AppRequestContext>(identity: identity))
        router.add(middleware: RateLimitMiddleware<AppRequestContext>(rules: config.edge.rateLimits, limiter: rateLimiter))
        router.add(middleware: PageErrors<AppRequestContext>(pages: pages))
        routes.register(on: router, policy: policy, idempotency: idempotency, limiter: rateLimiter)
        return router
    }
}

/// The Hummingbird application `plaza serve` runs: the router, the HTTP server, and the module services.
public func buildApplication(_ plaza: Plaza, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = plaza.buildRouter()
    return Application(
        router: router,
        server: plaza.server(for: router),
        configuration: .init(address: .hostname(plaza.config.host, port: plaza.config.port), serverName: "Plaza"),
        services: plaza.services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? plaza.config.port) },
        logger: plaza.logger)
}

extension Plaza {
    /// HTTP/1.1 with WebSocket upgrades decided by the same router (the realtime route decides who may
    /// upgrade); the realtime sessions that follow are NIO handlers, pinged by ``RealtimeKeeper``.
    public func server(for router: Router<AppRequestContext>) -> HTTPServerBuilder {
        let upgrades = router.buildResponder()
        let hub = realtime
        return HTTPServerBuilder { responder in RealtimeServerChannel(responder: responder, upgrades: upgrades, hub: hub) }
    }
}
