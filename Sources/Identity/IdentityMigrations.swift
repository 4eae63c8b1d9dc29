import FluentKit
import Foundation
import PlazaKit
import SQLKit
import Storage

/// Creates Identity's tables and its lookup data (genders, the system and app roles).
public struct CreateIdentity: AsyncMigration {
    public init() {}
    public var name: String { "0005_create_identity" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_genders")
            .field("id", .string, .identifier(auto: false))
            .field("label", .string, .required)
            .create()
        try await database.schema("identity_users")
            .field("id", .uuid, .identifier(auto: false))
            .field("email", .string, .required)
            .field("password_hash", .string)
            .field("first_name", .string, .required)
            .field("last_name", .string, .required)
            .field("bio", .string)
            .field("birth_date", .string)
            .field("mobile", .string)
            .field("gender_id", .string, .references("identity_genders", "id"))
            .field("avatar_file_id", .uuid)
            .field("locale", .string, .required)
            .field("time_zone", .string, .required)
            .field("status", .string, .required)
            .field("email_verified", .bool, .required)
            .field("phone_verified", .bool, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "email")
            .create()
        try await database.schema("identity_organisations")
            .field("id", .uuid, .identifier(auto: false))
            .field("name", .string, .required)
            .field("slug", .string, .required)
            .field("type", .string, .required)
            .field("parent_id", .uuid, .references("identity_organisations", "id"))
            .field("status", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "slug")
            .create()
        try await database.schema("identity_memberships")
            .field("organisation_id", .uuid, .required, .references("identity_organisations", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("role", .string, .required)
            .field("created_at", .datetime, .required)
            .compositeIdentifier(over: "organisation_id", "user_id", "role")
            .create()
        try await database.schema("identity_roles")
            .field("name", .string, .identifier(auto: false))
            .field("scope", .string, .required)
            .field("description", .string, .required)
            .field("permissions", .string, .required)
            .create()
        // System roles have app ''; app roles name their app, or '*' for every app.
        try await database.schema("identity_role_grants")
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("role", .string, .required, .references("identity_roles", "name"))
            .field("app", .string, .required)
            .field("granted_at", .datetime, .required)
            .compositeIdentifier(over: "user_id", "role", "app")
            .create()
        try await database.schema("identity_sessions")
            .field("id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("revoked_reason", .string)
            .field("ip", .string)
            .field("user_agent", .string)
            .create()
        // Every refresh token ever issued for a session, by hash: a second use of one revokes the session.
        try await database.schema("identity_refresh_tokens")
            .field("token_hash", .string, .identifier(auto: false))
            .field("session_id", .uuid, .required, .references("identity_sessions", "id", onDelete: .cascade))
            .field("created_at", .datetime, .required)
            .field("used_at", .datetime)
            .create()
        try await database.schema("identity_signing_keys")
            .field("kid", .string, .identifier(auto: false))
            .field("private_pem", .string, .required)
            .field("created_at", .datetime, .required)
            .field("retired_at", .datetime)
            .create()
        try await database.execute(
            "CREATE INDEX identity_users_name ON identity_users (last_name, first_name)",
            "CREATE INDEX identity_memberships_user ON identity_memberships (user_id)",
            "CREATE INDEX identity_sessions_user ON identity_sessions (user_id, revoked_at)",
            "CREATE INDEX identity_refresh_tokens_session ON identity_refresh_tokens (session_id)")

        let sql = database.sql
        for (id, label) in [("female", "Female"), ("male", "Male"), ("non-binary", "Non-binary"), ("unspecified", "Prefer not to say")] {
            try await sql.insert(into: "identity_genders").columns("id", "label").values(SQLBind(id), SQLBind(label)).run()
        }
        let roles: [(String, String, String, [String])] = [
            ("admin", "system", "Runs the whole installation.", ["*"]),
            ("employee", "system", "Staff: manages bookings, requests and finances.", []),
            ("operator", "system", "IT operator: system logs, jobs, delivery.", ["operations.*"]),
            ("owner", "organisation", "Owns an organisation and manages its members.", []),
            ("manager", "organisation", "Manages an organisation's offers and requests.", []),
            ("member", "organisation", "Belongs to an organisation.", []),
            // App roles come from the core's catalogue and the installed apps, added at every migrate
            // (`IdentityService.prepareRoles`). Installations made before that have the roles this list once
            // seeded for apps to come (provider, brand, creator, supplier): unused rows until those apps arrive.
        ]
        for (name, scope, description, permissions) in roles {
            let list = String(decoding: try JSONEncoder().encode(permissions), as: UTF8.self)
            try await sql.insert(into: "identity_roles").columns("name", "scope", "description", "permissions")
                .values(SQLBind(name), SQLBind(scope), SQLBind(description), SQLBind(list)).run()
        }
    }

    public func revert(on database: any Database) async throws {
        for table in [
            "identity_signing_keys", "identity_refresh_tokens", "identity_sessions", "identity_role_grants", "identity_roles",
            "identity_memberships", "identity_organisations", "identity_users", "identity_genders",
        ] {
            try await database.schema(table).delete()
        }
    }
}
