import AppHost
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Identity
import Logging
import PlazaKit
import PlazaServer
import Storage

/// Runs `body` with a whole Plaza on a private, migrated database; closes and drops it afterwards.
public func withTestPlaza<T: Sendable>(
    apps: AppList = AppList(),
    clock: any PlazaClock = SystemClock(),
    configure: (inout PlazaConfig) -> Void = { _ in },
    _ body: (Plaza) async throws -> T
) async throws -> T {
    let database = try await TestDatabase.make(apps: apps)
    var config = PlazaConfig()
    config.apps = apps
    config.logLevel = .warning
    if case .postgres(let url) = database.location { config.databaseURL = url }
    config.databasePoolSize = database.poolSize
    // Tests that are about the second factor ask for it; the rest sign admins in with a password.
    config.mfaRequiredRoles = []
    config.identityBcryptCost = 4 // bcrypt's cost 12 is a quarter second per hash: too slow for tests
    configure(&config)
    let plaza = try await Plaza.open(
        config, database: database, clock: clock, logger: TraceLog.logger(database.databaseName, base: TestDatabase.logger))
    let outcome: Result<T, any Error>
    do {
        // The template is migrated already; what `migrate()` would add and load (the apps' roles), do here.
        try await plaza.identity.prepareRoles()
        outcome = .success(try await body(plaza))
    } catch {
        outcome = .failure(error)
    }
    await TestDatabase.timed("closing the Plaza of \(database.databaseName)") { await plaza.shutdown() }
    await TestDatabase.drop(database)
    return try outcome.get()
}

/// Signs a request in as the principal described by the `X-Test-Principal` header:
/// `<uuid>` optionally followed by `;roles=operator,admin` (system roles) and `;apps=customer,provider`
/// (app roles in every app). Installed only by test routers.
public struct TestAuthentication: RouterMiddleware {
    public typealias Context = AppRequestContext
    public init() {}

    public func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.testPrincipal] else { return try await next(request, context) }
        let parts = header.split(separator: ";")
        guard let first = parts.first, let id = UUID(uuidString: String(first)) else { return try await next(request, context) }
        var context = context
        // A session id, as real tokens carry one, so routes that end "this session" work under test too.
        context.principal = Self.principal(id: id, parts: parts.dropFirst().map(String.init))
        return try await next(request, context)
    }

    /// The principal a header describes (tests compare answers with what the policy says for it).
    public static func principal(header: String) -> Principal? {
        let parts = header.split(separator: ";").map(String.init)
        guard let first = parts.first, let id = UUID(uuidString: first) else { return nil }
        return principal(id: id, parts: Array(parts.dropFirst()))
    }

    static func principal(id: UUID, parts: [String]) -> Principal {
        var roles: Set<String> = []
        var apps: Set<String> = []
        for part in parts {
            if part.hasPrefix("roles=") { roles.formUnion(part.dropFirst("roles=".count).split(separator: ",").map(String.init)) }
            if part.hasPrefix("apps=") { apps.formUnion(part.dropFirst("apps=".count).split(separator: ",").map(String.init)) }
        }
        return Principal(id: id, systemRoles: roles, appRoles: apps.isEmpty ? [:] : ["*": apps], sessionID: UUID())
    }

    /// The header value for a principal with these system roles (and app roles in every app).
    public static func header(id: UUID = UUID(), roles: [String], apps: [String] = []) -> String {
        var header = id.uuidString
        if !roles.isEmpty { header += ";roles=\(roles.joined(separator: ","))" }
        if !apps.isEmpty { header += ";apps=\(apps.joined(separator: ","))" }
        return header
    }
}

extension HTTPField.Name {
    public static let testPrincipal = HTTPField.Name("X-Test-Principal")!
}

extension TestAuthentication {
    /// The middleware installed only when `X-Test-Principal` is set; real bearer tokens work beside it.
    public static var middleware: TestAuthentication { TestAuthentication() }
}

extension Plaza {
    /// The application as tests drive it: the real router plus ``TestAuthentication``.
    public func testApplication() -> some ApplicationProtocol {
        let router = buildRouter(extraAuthentication: TestAuthentication())
        return Application(router: router, server: server(for: router), logger: logger)
    }
}

extension Plaza {
    /// The one-time codes Identity announced, oldest first, as the notifications module receives them.
    public func issuedCodes() async throws -> [CodeIssued] {
        try await dispatcher.sequence()
        return try await outbox.events(after: 0, topics: [CodeIssued.topic]).map { try $0.decode(CodeIssued.self) }
    }
}
