import FluentKit
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// What one module moved from the merged account to the one it joined: `{"files": 3}`.
public typealias MergeCounts = [String: Int]

/// A module's part in a merge: move every reference to `from` over to `into`, inside the merge's
/// transaction, and say how many rows moved. Throwing stops the whole merge (nothing moves), with the
/// refusal passed on — a module that cannot merge two of its records says so.
public typealias MergeHook = @Sendable (_ from: UUID, _ into: UUID, _ transaction: Transaction) async throws -> MergeCounts

/// The hooks every module registered, run in registration order.
public final class MergeHooks: Sendable {
    private let hooks = Registry<MergeHook>("merge hook")

    /// Registers a module's part; a name registered before throws ``DuplicateName``.
    public func register(_ name: String, owner: String = #fileID, _ hook: @escaping MergeHook) throws {
        try hooks.add(name, hook, owner: owner)
    }

    var all: [(name: String, hook: MergeHook)] { hooks.names.compactMap { name in hooks[name].map { (name, $0) } } }
}

/// A module's part in erasing an account (at the end of its grace period), inside the transaction that
/// deletes the account: remove or blank every row of its own that holds the person, keeping what others
/// need (a request's history) without what identifies them.
public typealias ForgetHook = @Sendable (_ user: UUID, _ transaction: Transaction) async throws -> Void

/// The hooks every module and app registered for erasing an account, run in registration order.
public final class ForgetHooks: Sendable {
    private let hooks = Registry<ForgetHook>("forget hook")

    /// Registers a module's part; a name registered before throws ``DuplicateName``.
    public func register(_ name: String, owner: String = #fileID, _ hook: @escaping ForgetHook) throws {
        try hooks.add(name, hook, owner: owner)
    }

    var all: [ForgetHook] { hooks.values }
}

/// `POST /api/v1/admin/users/{id}/merge`: the account to merge into this one.
public struct MergeRequest: Codable, Sendable, Equatable, APISchema {
    public var sourceUserId: UUID
    public init(sourceUserId: UUID) { self.sourceUserId = sourceUserId }
    public static var schema: JSONSchema { .object(properties: ["sourceUserId": .uuid], required: ["sourceUserId"]) }
}

/// `POST /api/v1/admin/users/{id}/merge/confirm`: the code the merged account's owner received.
public struct MergeConfirmation: Codable, Sendable, Equatable, APISchema {
    public var sourceUserId: UUID
    public var code: String
    public init(sourceUserId: UUID, code: String) {
        self.sourceUserId = sourceUserId
        self.code = code
    }
    public static var schema: JSONSchema { .object(properties: ["sourceUserId": .uuid, "code": .text], required: ["sourceUserId", "code"]) }
}

/// A finished merge: what moved, module by module.
public struct MergeResult: Codable, Sendable, Equatable, APISchema {
    public var targetUserId: UUID
    public var sourceUserId: UUID
    public var moved: [String: Int]
    public static var schema: JSONSchema {
        .object(
            properties: ["targetUserId": .uuid, "sourceUserId": .uuid, "moved": .anyObject], required: ["targetUserId", "sourceUserId", "moved"])
    }
}

/// Two accounts became one; caches keyed by either should forget them.
public struct UsersMerged: DomainEvent {
    public static let topic = "identity.users.merged"
    public var sourceUserId: UUID
    public var targetUserId: UUID
}

extension IdentityService {
    /// Starts merging `source` into `target` (seed 002): the source account's owner gets a one-time code
    /// (valid a day), which an admin then confirms with. Nothing changes until then.
    public func requestMerge(into target: UUID, _ request: MergeRequest, caller: Caller) async throws {
        try policy.authorize(caller, IdentityPolicy.manageUsers)
        let source = request.sourceUserId
        guard source != target else { throw PlazaError.validation(field: "sourceUserId", "must be another account than the one merged into") }
        let codes = self.codes
        try await store.transaction { transaction in
            let accounts = try await Self.mergeable(target, source, in: transaction)
            try await transaction.sql.raw(
                """
                UPDATE identity_merges SET cancelled_at = \(bind: transaction.clock.now())
                WHERE source_id = \(bind: source) AND completed_at IS NULL AND cancelled_at IS NULL
                """
            ).run()
            try await transaction.sql.raw(
                """
                INSERT INTO identity_merges (id, target_id, source_id, requested_by, requested_at)
                VALUES (\(bind: PlazaID.make(at: transaction.clock.now())), \(bind: target), \(bind: source), \(bind: caller.principal?.id),
                        \(bind: transaction.clock.now()))
                """
            ).run()
            try await codes.issue(.confirmMerge, user: source, email: accounts.source.email, locale: accounts.source.locale, in: transaction)
            try await transaction.audit(
                caller, action: "identity.user.merge-requested", resourceType: "user", resourceID: target.uuidString,
                details: ["sourceUserId": .string(source.uuidString)])
        }
    }

    /// Merges with the code: every module's references to the source move to the target in one
    /// transaction, the source is marked merged (it cannot sign in; its sessions end everywhere), and the
    /// merge is audited with what moved.
    public func confirmMerge(into target: UUID, _ confirmation: MergeConfirmation, caller: Caller) async throws -> MergeResult {
        try policy.authorize(caller, IdentityPolicy.manageUsers)
        let source = confirmation.sourceUserId
        let (codes, outbox, revocations, hooks) = (self.codes, self.outbox, self.revocations, self.mergeHooks)
        guard
            try await store.sql.raw(
                """
                SELECT id FROM identity_merges WHERE target_id = \(bind: target) AND source_id = \(bind: source)
                  AND completed_at IS NULL AND cancelled_at IS NULL
                """
            ).first() != nil
        else { throw PlazaError.conflict("No merge of these accounts is waiting: start one first.") }
        // A wrong code stays counted (five tries); the right one is spent with the merge, so a merge a
        // module refuses leaves the code for another go once the obstacle is gone.
        try await codes.attempt(.confirmMerge, code: confirmation.code, user: source)
        let moved = try await store.transaction { transaction -> [String: Int] in
            let now = transaction.clock.now()
            _ = try await Self.mergeable(target, source, in: transaction)
            _ = try await codes.redeem(.confirmMerge, code: confirmation.code, user: source, in: transaction)
            var moved = try await Self.mergeIdentity(from: source, into: target, in: transaction)
            for (name, hook) in hooks.all {
                for (key, count) in try await hook(source, target, transaction) where count > 0 { moved["\(name).\(key)"] = count }
            }
            try await Self.revokeAllSessions(
                of: source, reason: "account merged", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET status = 'merged', merged_into = \(bind: target), updated_at = \(bind: now) WHERE id = \(bind: source)
                """
            ).run()
            try await transaction.sql.raw(
                """
                UPDATE identity_merges SET completed_at = \(bind: now)
                WHERE target_id = \(bind: target) AND source_id = \(bind: source) AND completed_at IS NULL AND cancelled_at IS NULL
                """
            ).run()
            try await outbox.append(UserStatusChanged(userId: source, status: "merged"), key: source.uuidString, caller: caller, in: transaction)
            try await outbox.append(UsersMerged(sourceUserId: source, targetUserId: target), key: target.uuidString, caller: caller, in: transaction)
            try await transaction.audit(
                caller, action: "identity.user.merge", resourceType: "user", resourceID: target.uuidString,
                details: .object(["sourceUserId": .string(source.uuidString), "moved": .object(moved.mapValues { .number(Double($0)) })]))
            transaction.onCommit { revocations.setUser(source, disabled: true) }
            return moved
        }
        webSessionCache.removeAll { $0.id == source || $0.id == target }
        return MergeResult(targetUserId: target, sourceUserId: source, moved: moved)
    }

    /// Both accounts exist and are active (or the source disabled); returns the source's address and language.
    static func mergeable(_ target: UUID, _ source: UUID, in transaction: Transaction) async throws -> (
        target: UUID, source: (email: String, locale: String)
    ) {
        let rows = try await transaction.sql.raw(
            "SELECT id, email, locale, status FROM identity_users WHERE id IN (\(bind: target), \(bind: source))"
        ).all()
        guard let targetRow = try rows.first(where: { try $0.decode(column: "id", as: UUID.self) == target }) else {
            throw PlazaError.notFound("No user has the id \(target).")
        }
        guard let sourceRow = try rows.first(where: { try $0.decode(column: "id", as: UUID.self) == source }) else {
            throw PlazaError.validation(field: "sourceUserId", "names no account")
        }
        guard try targetRow.decode(column: "status", as: String.self) == "active" else {
            throw PlazaError.conflict("Only an active account can take another in.")
        }
        guard ["active", "disabled"].contains(try sourceRow.decode(column: "status", as: String.self)) else {
            throw PlazaError.conflict("That account is deleted or merged already.")
        }
        return (target, (try sourceRow.decode(column: "email", as: String.self), try sourceRow.decode(column: "locale", as: String.self)))
    }

    /// Identity's own part: organisation memberships and roles join the target's; links to external
    /// providers, OAuth consents and the merge's record move; what only the source needed (its second
    /// factor, codes, challenges) goes.
    static func mergeIdentity(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let sql = transaction.sql
        var moved: [String: Int] = [:]
        moved["identity.memberships"] = try await sql.raw(
            """
            INSERT INTO identity_memberships (organisation_id, user_id, role, created_at)
            SELECT organisation_id, \(bind: target), role, created_at FROM identity_memberships WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING RETURNING organisation_id
            """
        ).all().count
        try await sql.raw("DELETE FROM identity_memberships WHERE user_id = \(bind: source)").run()
        moved["identity.roles"] = try await sql.raw(
            """
            INSERT INTO identity_role_grants (user_id, role, app, granted_at)
            SELECT \(bind: target), role, app, granted_at FROM identity_role_grants WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING RETURNING role
            """
        ).all().count
        try await sql.raw("DELETE FROM identity_role_grants WHERE user_id = \(bind: source)").run()
        moved["identity.federated"] = try await sql.raw(
            """
            UPDATE identity_federated_identities SET user_id = \(bind: target) WHERE user_id = \(bind: source) RETURNING subject
            """
        ).all().count
        moved["identity.consents"] = try await sql.raw(
            """
            INSERT INTO identity_oauth_consents (user_id, client_id, scope, granted_at)
            SELECT \(bind: target), client_id, scope, granted_at FROM identity_oauth_consents WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING RETURNING client_id
            """
        ).all().count
        for table in ["identity_oauth_consents", "identity_mfa_challenges", "identity_recovery_codes", "identity_mfa", "identity_oauth_codes"] {
            try await sql.raw("DELETE FROM \(unsafeRaw: table) WHERE user_id = \(bind: source)").run()
        }
        return moved.filter { $0.value > 0 }
    }
}

/// Merges waiting for their code, and done ones; `identity_users.merged_into` names where a merged
/// account went.
public struct CreateMerges: AsyncMigration {
    public init() {}
    public var name: String { "0021_create_merges" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_merges")
            .field("id", .uuid, .identifier(auto: false))
            .field("target_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("source_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("requested_by", .uuid)
            .field("requested_at", .datetime, .required)
            .field("completed_at", .datetime)
            .field("cancelled_at", .datetime)
            .create()
        try await database.schema("identity_users").field("merged_into", .uuid).update()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_users").deleteField("merged_into").update()
        try await database.schema("identity_merges").delete()
    }
}
