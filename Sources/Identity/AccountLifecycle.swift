import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// `DELETE /api/v1/me`.
public struct AccountDeletion: Codable, Sendable, APISchema {
    public var password: String
    public init(password: String) {
        self.password = password
    }
    public static var schema: JSONSchema { .object(properties: ["password": .text], required: ["password"]) }
}

/// Everything Plaza holds about a person, as `GET /api/v1/me/export` hands it over.
public struct DataExport: Codable, Sendable, APISchema {
    public var exportedAt: Date
    public var profile: Me
    public var sessions: [SessionInfo]
    public var activity: [AuditEntry]
    public static var schema: JSONSchema {
        .object(
            properties: [
                "exportedAt": .dateTime, "profile": Me.schema, "sessions": .array(SessionInfo.schema), "activity": .array(AuditEntry.schema),
            ],
            required: ["exportedAt", "profile", "sessions", "activity"])
    }
}

extension IdentityService {
    /// The job that erases an account once its grace period has passed.
    public static let purgeJob = "identity.user.purge"
    /// How long a deleted account can still be restored by an admin.
    public static let deletionGrace: TimeInterval = 30 * 86400

    /// Deletes the caller's account after checking the password: it stops working now (sessions end, sign-in
    /// refused) and is erased after the grace period, during which an admin can restore it.
    public func deleteAccount(_ input: AccountDeletion, caller: Caller, queue: JobQueue) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let row = try await store.sql.raw("SELECT password_hash FROM identity_users WHERE id = \(bind: principal.id)").first()
        guard try await passwords.verify(input.password, hash: try row?.decode(column: "password_hash", as: String?.self)) else {
            throw PlazaError.validation(field: "password", "is not your current password")
        }
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET status = 'deleted', updated_at = \(bind: now) WHERE id = \(bind: principal.id)
                """
            ).run()
            try await transaction.audit(caller, action: "identity.user.delete", resourceType: "user", resourceID: principal.id.uuidString)
            try await outbox.append(UserStatusChanged(userId: principal.id, status: "deleted"), key: principal.id.uuidString, in: transaction)
            try await Self.revokeAllSessions(
                of: principal.id, reason: "account deleted", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
            try await queue.enqueue(
                try JobRequest(
                    Self.purgeJob, payload: ["userId": principal.id.uuidString], runAt: now.addingTimeInterval(Self.deletionGrace),
                    uniqueKey: "purge:\(principal.id)"),
                in: transaction)
            transaction.onCommit { revocations.setUser(principal.id, disabled: true) }
        }
    }

    /// Erases an account whose grace period has passed, unless an admin restored it meanwhile.
    public func purge(user: UUID) async throws {
        try await store.transaction { transaction in
            // Locked on PostgreSQL (SQLite's writer is alone already), so an admin's restore waits rather than
            // racing the erasure: a restored account is never erased.
            let lock: SQLQueryString = transaction.dialect == .postgres ? " FOR UPDATE" : ""
            guard let row = try await transaction.sql.raw("SELECT status FROM identity_users WHERE id = \(bind: user)" + lock).first(),
                try row.decode(column: "status", as: String.self) == "deleted"
            else { return }
            for hook in self.forgetHooks.all { try await hook(user, transaction) }
            // Memberships, grants, sessions, tokens and codes go with the row (ON DELETE CASCADE).
            try await transaction.sql.raw("DELETE FROM identity_users WHERE id = \(bind: user)").run()
            try await transaction.audit(.system("retention"), action: "identity.user.purge", resourceType: "user", resourceID: user.uuidString)
            try await self.outbox.append(UserPurged(userId: user), key: user.uuidString, caller: .system("retention"), in: transaction)
        }
    }

    /// Everything about the caller: profile, roles, organisations, sessions and their own audit trail.
    public func export(caller: Caller) async throws -> DataExport {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let activity = try await store.sql.raw(
            """
            SELECT * FROM plaza_audit_log WHERE actor_id = \(bind: principal.id) ORDER BY id
            """
        ).all().map { row in
            AuditEntry(
                id: try row.decode(column: "id", as: UUID.self), occurredAt: try row.decode(column: "occurred_at", as: Date.self),
                actorID: principal.id, actorKind: try row.decode(column: "actor_kind", as: String.self),
                action: try row.decode(column: "action", as: String.self), resourceType: try row.decode(column: "resource_type", as: String.self),
                resourceID: try row.decode(column: "resource_id", as: String?.self),
                organisationID: try row.decode(column: "organisation_id", as: UUID?.self), ip: try row.decode(column: "ip", as: String?.self),
                requestID: try row.decode(column: "request_id", as: String?.self),
                details: try row.decode(column: "details", as: String?.self).flatMap {
                    try? PlazaJSON.decoder().decode(JSONValue.self, from: Data($0.utf8))
                })
        }
        return DataExport(
            exportedAt: store.clock.now(), profile: try await me(principal.id), sessions: try await sessions(caller: caller), activity: activity)
    }
}
