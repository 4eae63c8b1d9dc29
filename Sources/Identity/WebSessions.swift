import FluentKit
import Foundation
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// A browser's session: the cookie value to set and when it lapses.
public struct WebSession: Sendable, Equatable {
    /// 256 random bits; only its SHA-256 is stored, like a refresh token's.
    public var token: String
    public var sessionID: UUID
    public var userID: UUID
    public var expiresAt: Date
}

/// The cookies the web pages use.
public enum WebSessionCookie {
    /// The session cookie: HttpOnly, SameSite=Lax, Secure when the client came over TLS.
    public static let name = "plaza_session"
}

extension IdentityService {
    /// Signs a browser in: the same checks as ``login(_:caller:userAgent:)`` (throttle, status, verified
    /// email, audit), but the session is held by a cookie instead of a refresh token.
    public func signIn(_ credentials: Credentials, caller: Caller, userAgent: String?) async throws -> WebSession {
        switch try await beginSignIn(credentials, caller: caller, userAgent: userAgent) {
        case .done(let session): return session
        case .secondFactor: throw Self.mfaRequired
        }
    }

    /// The password, then a browser session, or a challenge for the sign-in page's code step.
    public func beginSignIn(_ credentials: Credentials, caller: Caller, userAgent: String?) async throws -> SignInStep<WebSession> {
        let (userID, email) = try await checkPassword(credentials, caller: caller)
        if try await isMFAEnabled(userID) { return .secondFactor(try await challenge(user: userID, caller: caller)) }
        return .done(try await openWebSession(user: userID, email: email, amr: "pwd", caller: caller, userAgent: userAgent))
    }

    /// The sign-in page's code step.
    public func completeSignIn(_ verification: MFAVerification, caller: Caller, userAgent: String?) async throws -> WebSession {
        let (userID, email, amr) = try await answer(verification, caller: caller)
        return try await openWebSession(user: userID, email: email, amr: amr, caller: caller, userAgent: userAgent)
    }

    func openWebSession(user userID: UUID, email: String, amr: String, caller: Caller, userAgent: String?) async throws -> WebSession {
        let token = Self.newRefreshToken()
        let hash = Self.hash(token)
        let sessionID = try await openSession(user: userID, email: email, amr: amr, caller: caller, userAgent: userAgent) { session, _, transaction in
            try await transaction.sql.raw("UPDATE identity_sessions SET cookie_hash = \(bind: hash) WHERE id = \(bind: session)").run()
        }
        return WebSession(
            token: token, sessionID: sessionID, userID: userID,
            expiresAt: store.clock.now().addingTimeInterval(settings.refreshTokenLifetime.timeInterval))
    }

    /// The principal a session cookie stands for, or nil when the cookie is unknown, expired or revoked.
    ///
    /// A principal is read from the database at most once a minute per cookie; between reads, the revocation
    /// list (kept current on every instance) decides, so signing out or disabling a user still acts at once.
    public func authenticate(sessionCookie token: String) async throws -> Principal? {
        let hash = Self.hash(token)
        let now = store.clock.now()
        if let cached = webSessionCache.value(for: hash, at: now) {
            if try await revocations.isRevoked(user: cached.id, session: cached.sessionID) {
                webSessionCache.remove(hash)
                return nil
            }
            return enforcingMFA(cached)
        }
        guard
            let row = try await store.sql.raw(
                """
                SELECT s.id, s.user_id, s.expires_at, s.revoked_at, s.last_used_at, s.amr, u.status
                FROM identity_sessions s JOIN identity_users u ON u.id = s.user_id
                WHERE s.cookie_hash = \(bind: hash)
                """
            ).first()
        else { return nil }
        let session = try row.decode(column: "id", as: UUID.self)
        let user = try row.decode(column: "user_id", as: UUID.self)
        let expires = try row.decode(column: "expires_at", as: Date.self)
        guard try row.decodeNil(column: "revoked_at"), expires > now, try row.decode(column: "status", as: String.self) == "active",
            try await !revocations.isRevoked(user: user, session: session)
        else { return nil }
        // Recording use at most every ten minutes keeps page views from being writes.
        if try row.decode(column: "last_used_at", as: Date.self) < now.addingTimeInterval(-600) {
            try await store.transaction { transaction in
                try await transaction.sql.raw("UPDATE identity_sessions SET last_used_at = \(bind: now) WHERE id = \(bind: session)").run()
            }
        }
        var principal = try await principal(user: user, session: session, on: store.sql)
        if (try row.decode(column: "amr", as: String?.self) ?? "").split(separator: " ").contains("mfa") { principal.assurance = .multiFactor }
        webSessionCache.remember(principal, for: hash, until: min(now.addingTimeInterval(60), expires), now: now)
        return enforcingMFA(principal)
    }
}

/// Lets a session be held by a browser cookie (`identity_sessions.cookie_hash`).
public struct CreateWebSessions: AsyncMigration {
    public init() {}
    public var name: String { "0010_create_web_sessions" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_sessions").field("cookie_hash", .string).update()
        try await database.execute("CREATE UNIQUE INDEX identity_sessions_cookie ON identity_sessions (cookie_hash)")
    }

    public func revert(on database: any Database) async throws {
        try await database.execute("DROP INDEX identity_sessions_cookie")
        try await database.schema("identity_sessions").deleteField("cookie_hash").update()
    }
}
