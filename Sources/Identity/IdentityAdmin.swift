import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// A user as admins see them in lists.
public struct UserSummary: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var email: String
    public var firstName: String
    public var lastName: String
    public var mobile: String?
    public var status: String
    public var emailVerified: Bool
    public var createdAt: Date

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "email": .string(format: "email"), "firstName": .text, "lastName": .text, "mobile": .nullable(.text),
                "status": .string(enumValues: ["active", "disabled", "deleted", "merged"]), "emailVerified": .boolean, "createdAt": .dateTime,
            ],
            required: ["id", "email", "firstName", "lastName", "status", "emailVerified", "createdAt"])
    }
}

/// Filters for the admin user search.
public struct UserQuery: Sendable, Equatable {
    /// Matches name, email or mobile (case-insensitive, anywhere in the text).
    public var text: String?
    public var role: String?
    public var status: String?
    public var organisationID: UUID?

    public init(text: String? = nil, role: String? = nil, status: String? = nil, organisationID: UUID? = nil) {
        self.text = text
        self.role = role
        self.status = status
        self.organisationID = organisationID
    }

    public init(query: [String: String]) throws {
        var errors: [FieldError] = []
        let status = query["status"]
        if let status, !["active", "disabled", "deleted", "merged"].contains(status) {
            errors.append(FieldError(field: "status", message: "must be active, disabled, deleted or merged"))
        }
        var organisation: UUID?
        if let raw = query["organisationId"] {
            organisation = UUID(uuidString: raw)
            if organisation == nil { errors.append(FieldError(field: "organisationId", message: "must be a UUID")) }
        }
        if !errors.isEmpty { throw PlazaError.validation(errors) }
        self.init(text: query["q"].flatMap { $0.isEmpty ? nil : $0 }, role: query["role"], status: status, organisationID: organisation)
    }
}

/// The actions Identity guards.
public enum IdentityPolicy {
    public static let readUsers: Action = "identity.user.read"
    public static let manageUsers: Action = "identity.user.manage"

    /// Admins hold every declared action; nobody else manages accounts yet.
    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(readUsers, .systemRole(SystemRole.admin))
        policy.allow(manageUsers, .systemRole(SystemRole.admin))
        policy.allow(manageRoles, .systemRole(SystemRole.admin))
        policy.allow(manageOAuthClients, .systemRole(SystemRole.admin))
        policy.allow(manageFederation, .systemRole(SystemRole.admin))
        policy.allow(revokeSession, .owner)
        addOrganisationRules(to: &policy)
        return policy
    }
}

extension IdentityService {
    /// Searches users by name, email, mobile, role, status and organisation; newest first, cursor pages.
    public func searchUsers(_ query: UserQuery, page: PageRequest) async throws -> Page<UserSummary> {
        var sql: SQLQueryString = "SELECT u.* FROM identity_users u WHERE 1 = 1"
        if let text = query.text {
            // LIKE's own wildcards in the search text are taken literally by dropping them.
            let pattern = "%" + text.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            sql += """
                 AND (LOWER(u.email) LIKE \(bind: pattern) OR LOWER(u.first_name) LIKE \(bind: pattern)
                   OR LOWER(u.last_name) LIKE \(bind: pattern) OR LOWER(u.first_name || ' ' || u.last_name) LIKE \(bind: pattern)
                   OR u.mobile LIKE \(bind: pattern))
                """
        }
        if let status = query.status { sql += " AND u.status = \(bind: status)" }
        if let role = query.role {
            sql += " AND EXISTS (SELECT 1 FROM identity_role_grants g WHERE g.user_id = u.id AND g.role = \(bind: role))"
        }
        if let organisation = query.organisationID {
            sql += " AND EXISTS (SELECT 1 FROM identity_memberships m WHERE m.user_id = u.id AND m.organisation_id = \(bind: organisation))"
        }
        if let cursor = page.cursor { sql += " AND u.id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY u.id DESC LIMIT \(literal: page.limit + 1)"
        let rows = try await store.sql.raw(sql).all()
        return .byID(try rows.map(Self.summary), limit: page.limit, id: \.id)
    }

    /// Disables or re-enables an account. Disabling ends its sessions; its live tokens stop working at once on
    /// every instance.
    public func setStatus(of user: UUID, to status: String, caller: Caller) async throws -> UserSummary {
        guard ["active", "disabled"].contains(status) else { throw PlazaError.validation(field: "status", "must be active or disabled") }
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let updated = try await transaction.sql.raw(
                """
                UPDATE identity_users SET status = \(bind: status), updated_at = \(bind: now) WHERE id = \(bind: user) AND status \
                <> 'merged' RETURNING id
                """
            ).all()
            if updated.isEmpty, try await transaction.sql.raw("SELECT 1 AS x FROM identity_users WHERE id = \(bind: user)").first() != nil {
                throw PlazaError.conflict("This account was merged into another; it cannot be enabled or disabled.")
            }
            guard !updated.isEmpty else { throw PlazaError.notFound("No user has the id \(user).") }
            try await transaction.audit(
                caller, action: status == "active" ? "identity.user.enable" : "identity.user.disable", resourceType: "user",
                resourceID: user.uuidString)
            try await outbox.append(UserStatusChanged(userId: user, status: status), key: user.uuidString, caller: caller, in: transaction)
            if status != "active" {
                try await Self.revokeAllSessions(
                    of: user, reason: "account disabled", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
            }
            transaction.onCommit { revocations.setUser(user, disabled: status != "active") }
        }
        guard let summary = try await searchUser(user) else { throw PlazaError.notFound("No user has the id \(user).") }
        return summary
    }

    /// Ends every session of a user (an admin's "sign out everywhere").
    public func revokeSessions(of user: UUID, caller: Caller) async throws -> Int {
        let (outbox, revocations) = (self.outbox, self.revocations)
        return try await store.transaction { transaction in
            try await Self.revokeAllSessions(
                of: user, reason: "revoked by an admin", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
        }
    }

    func searchUser(_ id: UUID) async throws -> UserSummary? {
        try await store.sql.raw("SELECT * FROM identity_users WHERE id = \(bind: id)").first().map(Self.summary)
    }

    static func summary(_ row: any SQLRow) throws -> UserSummary {
        UserSummary(
            id: try row.decode(column: "id", as: UUID.self), email: try row.decode(column: "email", as: String.self),
            firstName: try row.decode(column: "first_name", as: String.self), lastName: try row.decode(column: "last_name", as: String.self),
            mobile: try row.decode(column: "mobile", as: String?.self), status: try row.decode(column: "status", as: String.self),
            emailVerified: try row.decode(column: "email_verified", as: Bool.self), createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}

extension IdentityService {
    /// Which of these ids are active accounts (other modules check people before involving them).
    public func activeUsers(among ids: [UUID]) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        return Set(
            try await store.sql.raw(
                """
                SELECT id FROM identity_users WHERE id IN (\(binds: ids)) AND status = 'active'
                """
            ).all().map { try $0.decode(column: "id", as: UUID.self) })
    }
}
