import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// A session as its owner sees it.
public struct SessionInfo: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var createdAt: Date
    public var lastUsedAt: Date
    public var expiresAt: Date
    public var ip: String?
    public var userAgent: String?
    /// Whether this is the session making the request.
    public var current: Bool

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "createdAt": .dateTime, "lastUsedAt": .dateTime, "expiresAt": .dateTime,
                "ip": .nullable(.text), "userAgent": .nullable(.text), "current": .boolean,
            ],
            required: ["id", "createdAt", "lastUsedAt", "expiresAt", "current"])
    }
}

/// `POST /api/v1/me/password`.
public struct PasswordChange: Codable, Sendable, APISchema {
    public var currentPassword: String
    public var newPassword: String
    public init(currentPassword: String, newPassword: String) {
        self.currentPassword = currentPassword
        self.newPassword = newPassword
    }
    public static var schema: JSONSchema {
        .object(properties: ["currentPassword": .text, "newPassword": Passwords.schema], required: ["currentPassword", "newPassword"])
    }
}

extension IdentityPolicy {
    /// Ending a session: its owner (and admins).
    public static let revokeSession: Action = "identity.session.revoke"
}

extension IdentityService {
    /// The caller's open sessions, newest first.
    public func sessions(caller: Caller) async throws -> [SessionInfo] {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let rows = try await store.sql.raw(
            """
            SELECT * FROM identity_sessions WHERE user_id = \(bind: principal.id) AND revoked_at IS NULL
              AND expires_at > \(bind: store.clock.now()) ORDER BY id DESC
            """
        ).all()
        return try rows.map { row in
            let id = try row.decode(column: "id", as: UUID.self)
            return SessionInfo(
                id: id, createdAt: try row.decode(column: "created_at", as: Date.self),
                lastUsedAt: try row.decode(column: "last_used_at", as: Date.self), expiresAt: try row.decode(column: "expires_at", as: Date.self),
                ip: try row.decode(column: "ip", as: String?.self), userAgent: try row.decode(column: "user_agent", as: String?.self),
                current: id == principal.sessionID)
        }
    }

    /// Ends one session; only its owner (or an admin) may.
    public func revokeSession(_ id: UUID, caller: Caller) async throws {
        guard let row = try await store.sql.raw("SELECT user_id, revoked_at FROM identity_sessions WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("No session has the id \(id).")
        }
        let owner = try row.decode(column: "user_id", as: UUID.self)
        // A session that is not yours does not exist, as far as you can tell.
        guard policy.allowsQuietly(caller, IdentityPolicy.revokeSession, ResourceFacts(ownerID: owner)) else {
            throw PlazaError.notFound("No session has the id \(id).")
        }
        try policy.authorize(caller, IdentityPolicy.revokeSession, ResourceFacts(ownerID: owner))
        guard try row.decodeNil(column: "revoked_at") else { return }
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            try await Self.revoke(
                sessions: [id], of: owner, reason: "ended by its owner", caller: caller, outbox: outbox, revocations: revocations,
                in: transaction)
        }
    }

    /// Changes the caller's password after checking the current one, and ends every other session.
    public func changePassword(_ change: PasswordChange, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let problems = Passwords.problems(with: change.newPassword).map { FieldError(field: "newPassword", message: $0.message) }
        guard problems.isEmpty else { throw PlazaError.validation(problems) }
        let current = try await store.sql.raw("SELECT password_hash FROM identity_users WHERE id = \(bind: principal.id)").first()
        guard try await passwords.verify(change.currentPassword, hash: try current?.decode(column: "password_hash", as: String?.self)) else {
            throw PlazaError.validation(field: "currentPassword", "is not your current password")
        }
        let hash = try await passwords.hash(change.newPassword)
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET password_hash = \(bind: hash), updated_at = \(bind: now) WHERE id = \(bind: principal.id)
                """
            ).run()
            try await transaction.audit(caller, action: "identity.password.change", resourceType: "user", resourceID: principal.id.uuidString)
            try await Self.revokeAllSessions(
                of: principal.id, keeping: principal.sessionID, reason: "password changed", caller: caller, outbox: outbox,
                revocations: revocations, in: transaction)
        }
    }
}
