import FluentKit
import SQLKit
import Storage

/// The OAuth 2.1 / OpenID Connect provider's tables: registered clients, authorization codes (by hash,
/// single use), the consents people gave, which sessions belong to which client, and revoked
/// client-credentials grants (those have no session row to mark).
public struct CreateOAuth: AsyncMigration {
    public init() {}
    public var name: String { "0018_create_oauth" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_oauth_clients")
            .field("id", .uuid, .identifier(auto: false))
            .field("name", .string, .required)
            // NULL for a public client (a browser or native app that cannot keep a secret).
            .field("secret_hash", .string)
            .field("redirect_uris", .string, .required)
            .field("scopes", .string, .required)
            .field("grants", .string, .required)
            .field("created_at", .datetime, .required)
            .field("created_by", .uuid)
            .field("deleted_at", .datetime)
            .create()
        try await database.schema("identity_oauth_codes")
            .field("code_hash", .string, .identifier(auto: false))
            .field("client_id", .uuid, .required, .references("identity_oauth_clients", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("redirect_uri", .string, .required)
            .field("scope", .string, .required)
            .field("nonce", .string)
            .field("code_challenge", .string, .required)
            .field("auth_time", .datetime, .required)
            .field("amr", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            // The session the code was exchanged for: a second exchange ends it (RFC 6749 §4.1.2).
            .field("session_id", .uuid)
            // When a second exchange was tried: if that happens before the first has stored its session,
            // the first one fails instead.
            .field("reused_at", .datetime)
            .create()
        try await database.schema("identity_oauth_consents")
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("client_id", .uuid, .required, .references("identity_oauth_clients", "id", onDelete: .cascade))
            .field("scope", .string, .required)
            .field("granted_at", .datetime, .required)
            .compositeIdentifier(over: "user_id", "client_id")
            .create()
        try await database.schema("identity_oauth_sessions")
            .field("session_id", .uuid, .identifier(auto: false), .references("identity_sessions", "id", onDelete: .cascade))
            .field("client_id", .uuid, .required, .references("identity_oauth_clients", "id", onDelete: .cascade))
            .field("scope", .string, .required)
            .field("auth_time", .datetime, .required)
            .field("amr", .string, .required)
            .create()
        try await database.schema("identity_oauth_revoked_grants")
            .field("grant_id", .uuid, .identifier(auto: false))
            .field("client_id", .uuid, .required)
            .field("revoked_at", .datetime, .required)
            .create()
        try await database.execute(
            "CREATE INDEX identity_oauth_codes_expiry ON identity_oauth_codes (expires_at)",
            "CREATE INDEX identity_oauth_sessions_client ON identity_oauth_sessions (client_id)")
    }

    public func revert(on database: any Database) async throws {
        for table in [
            "identity_oauth_revoked_grants", "identity_oauth_sessions", "identity_oauth_consents", "identity_oauth_codes", "identity_oauth_clients",
        ] {
            try await database.schema(table).delete()
        }
    }
}
