import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// A role as admins manage it.
public struct RoleInfo: Codable, Sendable, Equatable, APISchema {
    public var name: String
    /// `system` (held everywhere), `organisation` (held in one organisation) or `app` (held in an app).
    public var scope: String
    public var description: String
    /// Action names, prefixes ending in `.*`, or `*`.
    public var permissions: [String]
    /// Whether Plaza itself relies on the role (it can be edited but not deleted).
    public var builtIn: Bool

    public static var schema: JSONSchema {
        .object(
            properties: [
                "name": .text, "scope": .string(enumValues: RoleInfo.scopes), "description": .text, "permissions": .array(.text),
                "builtIn": .boolean,
            ],
            required: ["name", "scope", "description", "permissions", "builtIn"])
    }

    public static let scopes = ["system", "organisation", "app"]
}

/// `POST /api/v1/admin/roles`.
public struct NewRole: Codable, Sendable, APISchema {
    public var name: String
    public var scope: String
    public var description: String
    public var permissions: [String]
    public init(name: String, scope: String, description: String, permissions: [String]) {
        self.name = name
        self.scope = scope
        self.description = description
        self.permissions = permissions
    }
    static let namePattern = "^[a-z][a-z0-9-]{1,39}$"
    static let descriptionLimit = TextLimit.atMost(500)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "name": .string(description: "2 to 40 lowercase letters, digits and hyphens, starting with a letter.", pattern: namePattern),
                "scope": .string(enumValues: RoleInfo.scopes), "description": descriptionLimit.schema,
                "permissions": .array(.string(description: "An action, a prefix ending in .*, or *.")),
            ],
            required: ["name", "scope", "description", "permissions"])
    }
}

/// `PUT /api/v1/admin/roles/{name}`.
public struct RoleChange: Codable, Sendable, APISchema {
    public var description: String
    public var permissions: [String]
    public init(description: String, permissions: [String]) {
        self.description = description
        self.permissions = permissions
    }
    public static var schema: JSONSchema {
        .object(
            properties: ["description": NewRole.descriptionLimit.schema, "permissions": .array(.text)], required: ["description", "permissions"])
    }
}

/// `POST /api/v1/admin/users/{id}/roles`.
public struct RoleGrant: Codable, Sendable, APISchema {
    public var role: String
    /// For app roles: the app (`marketplace`, `astro`, …) or `*` for every app. Leave out for system roles.
    public var app: String?
    public init(role: String, app: String? = nil) {
        self.role = role
        self.app = app
    }
    public static var schema: JSONSchema {
        .object(properties: ["role": .string(description: "A system or app role."), "app": .text], required: ["role"])
    }
}

/// A role was created, changed or deleted: every instance reloads the permissions of all roles.
public struct RolesChanged: DomainEvent {
    public static let topic = "identity.roles.changed"
    public var role: String
}

extension IdentityPolicy {
    /// Creating, changing and deleting roles (admins only).
    public static let manageRoles: Action = "identity.role.manage"
}

extension IdentityService {
    /// Every role, by scope and name.
    public func roles() async throws -> [RoleInfo] {
        try await store.sql.raw("SELECT * FROM identity_roles ORDER BY scope, name").all().map(role(row:))
    }

    /// Adds the installation's app roles that `identity_roles` lacks (an app installed since the last start), then
    /// loads every role's permissions. A role already there keeps what admins made of its description and
    /// permissions.
    public func prepareRoles() async throws {
        try await store.transaction { transaction in
            for role in catalogue.appRoles {
                try await transaction.sql.raw(
                    """
                    INSERT INTO identity_roles (name, scope, description, permissions)
                    VALUES (\(bind: role.name), 'app', \(bind: role.description), '[]') ON CONFLICT (name) DO NOTHING
                    """
                ).run()
            }
        }
        try await loadRolePermissions()
    }

    /// Reads every role's permissions into the policy (at start, after migrations, and when a role changes).
    public func loadRolePermissions() async throws {
        let roles = try await roles()
        rolePermissions.replace(with: Dictionary(uniqueKeysWithValues: roles.map { ($0.name, $0.permissions) }))
    }

    public func createRole(_ input: NewRole, caller: Caller) async throws -> RoleInfo {
        var errors = permissionProblems(Self.tidy(input.permissions))
        let name = input.name
        if !name.wholly(matches: NewRole.namePattern) {
            errors.append(FieldError(field: "name", message: "must be 2 to 40 lowercase letters, digits and hyphens, starting with a letter"))
        }
        if !RoleInfo.scopes.contains(input.scope) { errors.append(FieldError(field: "scope", message: "must be system, organisation or app")) }
        NewRole.descriptionLimit.check(input.description, field: "description", into: &errors)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let role = RoleInfo(name: name, scope: input.scope, description: input.description, permissions: Self.tidy(input.permissions), builtIn: false)
        try await changeRoles(role.name, caller: caller, action: "identity.role.create") { transaction in
            if try await transaction.sql.raw("SELECT name FROM identity_roles WHERE name = \(bind: name)").first() != nil {
                throw PlazaError.conflict("A role named \(name) exists.")
            }
            try await transaction.sql.raw(
                """
                INSERT INTO identity_roles (name, scope, description, permissions)
                VALUES (\(bind: name), \(bind: role.scope), \(bind: role.description), \(bind: try Self.encode(role.permissions)))
                """
            ).run()
        }
        return role
    }

    /// Changes a role's description and permissions. `admin` keeps `*`: admins may take every declared action
    /// whatever its list says, and an installation must not lock itself out.
    public func updateRole(_ name: String, _ change: RoleChange, caller: Caller) async throws -> RoleInfo {
        var errors = permissionProblems(Self.tidy(change.permissions))
        NewRole.descriptionLimit.check(change.description, field: "description", into: &errors)
        if name == SystemRole.admin { errors.append(FieldError(field: "name", message: "admin always holds every permission")) }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let permissions = Self.tidy(change.permissions)
        try await changeRoles(name, caller: caller, action: "identity.role.update") { transaction in
            let updated = try await transaction.sql.raw(
                """
                UPDATE identity_roles SET description = \(bind: change.description), permissions = \(bind: try Self.encode(permissions))
                WHERE name = \(bind: name) RETURNING name
                """
            ).all()
            guard !updated.isEmpty else { throw PlazaError.notFound("No role is named \(name).") }
        }
        guard let role = try await roles().first(where: { $0.name == name }) else { throw PlazaError.notFound("No role is named \(name).") }
        return role
    }

    /// Deletes a role nobody holds; Plaza's own roles stay.
    public func deleteRole(_ name: String, caller: Caller) async throws {
        guard !catalogue.builtIn.contains(name) else { throw PlazaError.conflict("\(name) is one of Plaza's own roles and cannot be deleted.") }
        try await changeRoles(name, caller: caller, action: "identity.role.delete") { transaction in
            let held =
                try await transaction.sql.raw(
                    """
                    SELECT (SELECT COUNT(*) FROM identity_role_grants WHERE role = \(bind: name))
                         + (SELECT COUNT(*) FROM identity_memberships WHERE role = \(bind: name)) AS n
                    """
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            if held > 0 { throw PlazaError.conflict("\(held) grant(s) of \(name) remain; revoke them first.") }
            let deleted = try await transaction.sql.raw("DELETE FROM identity_roles WHERE name = \(bind: name) RETURNING name").all()
            guard !deleted.isEmpty else { throw PlazaError.notFound("No role is named \(name).") }
        }
    }

    /// Grants a system or app role. Access tokens carry roles, so the user's next token (at most one token
    /// lifetime away, or at once after signing in again) has it.
    public func grantRole(_ grant: RoleGrant, to user: UUID, caller: Caller) async throws -> Me {
        let app = try await validated(grant)
        try await store.transaction { transaction in
            guard try await Self.account(id: user, in: transaction) != nil else { throw PlazaError.notFound("No user has the id \(user).") }
            try await Self.grant(grant.role, app: app, to: user, at: transaction.clock.now(), in: transaction)
            try await transaction.audit(
                caller, action: "identity.role.grant", resourceType: "user", resourceID: user.uuidString,
                details: ["role": .string(grant.role), "app": .string(app)])
        }
        return try await me(user)
    }

    /// Takes a role away and ends the user's sessions, so no live token keeps the role.
    public func revokeRole(_ grant: RoleGrant, from user: UUID, caller: Caller) async throws -> Me {
        let app = try await validated(grant)
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            let removed = try await transaction.sql.raw(
                """
                DELETE FROM identity_role_grants WHERE user_id = \(bind: user) AND role = \(bind: grant.role) AND app = \(bind: app) RETURNING role
                """
            ).all()
            guard !removed.isEmpty else { throw PlazaError.notFound("The user does not hold \(grant.role)\(app.isEmpty ? "" : " in \(app)").") }
            try await transaction.audit(
                caller, action: "identity.role.revoke", resourceType: "user", resourceID: user.uuidString,
                details: ["role": .string(grant.role), "app": .string(app)])
            try await Self.revokeAllSessions(
                of: user, reason: "role revoked", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
        }
        return try await me(user)
    }

    /// The roles of a scope (organisation roles for memberships, say), built-in and custom.
    func roleNames(scope: String) async throws -> [String] {
        try await roles().filter { $0.scope == scope }.map(\.name)
    }

    /// The app a grant is for: `""` for a system role; an app name or `*` for an app role.
    func validated(_ grant: RoleGrant) async throws -> String {
        let roles = try await roles()
        guard let role = roles.first(where: { $0.name == grant.role }), role.scope != "organisation" else {
            let grantable = roles.filter { $0.scope != "organisation" }.map(\.name).sorted()
            throw PlazaError.validation(field: "role", "must be one of \(grantable.joined(separator: ", "))")
        }
        if role.scope == "system" {
            guard grant.app == nil || grant.app == "" else { throw PlazaError.validation(field: "app", "system roles belong to no app") }
            return ""
        }
        let app = grant.app.flatMap { $0.isEmpty ? nil : $0 } ?? Roles.everyApp
        guard app == Roles.everyApp || (app.count <= 50 && app.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" })) else {
            throw PlazaError.validation(field: "app", "must be * or an app name of lowercase letters, digits and hyphens")
        }
        return app
    }

    /// One field error per permission that is misspelt or covers no declared action.
    func permissionProblems(_ permissions: [String]) -> [FieldError] {
        let declared = policy.declaredActions
        return permissions.compactMap { permission in
            if !RolePermissions.isWellFormed(permission) {
                return FieldError(field: "permissions", message: "\(permission) is not an action, a prefix ending in .*, or *")
            }
            if !declared.isEmpty, !declared.contains(where: { RolePermissions.permission(permission, covers: $0) }) {
                return FieldError(field: "permissions", message: "\(permission) covers no action Plaza knows")
            }
            return nil
        }
    }

    /// Runs a change to the roles table with its audit entry and the event that makes every instance reload.
    private func changeRoles(
        _ name: String, caller: Caller, action: String, _ change: @escaping @Sendable (Transaction) async throws -> Void
    ) async throws {
        let outbox = self.outbox
        try await store.transaction { transaction in
            try await change(transaction)
            try await transaction.audit(caller, action: action, resourceType: "role", resourceID: name)
            try await outbox.append(RolesChanged(role: name), key: name, caller: caller, in: transaction)
        }
        try await loadRolePermissions()
    }

    func role(row: any SQLRow) throws -> RoleInfo {
        let name = try row.decode(column: "name", as: String.self)
        return RoleInfo(
            name: name, scope: try row.decode(column: "scope", as: String.self), description: try row.decode(column: "description", as: String.self),
            permissions: try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "permissions", as: String.self).utf8)),
            builtIn: catalogue.builtIn.contains(name))
    }

    static func encode(_ permissions: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(permissions), as: UTF8.self)
    }

    /// Trimmed, without blanks or repeats, in the order given.
    static func tidy(_ permissions: [String]) -> [String] {
        var seen: Set<String> = []
        return permissions.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
