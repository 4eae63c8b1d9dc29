import FluentKit
import Storage

/// Creates notifications, inboxes, deliveries and their attempts, preferences, quiet hours and push subscriptions.
public struct CreateNotifications: AsyncMigration {
    public init() {}
    public var name: String { "0014_create_notifications" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("notifications")
            .field("id", .uuid, .identifier(auto: false))
            .field("template", .string, .required)
            .field("category", .string, .required)
            .field("audience", .string, .required)
            .field("data", .string, .required)
            .field("email", .string)
            .field("phone", .string)
            .field("locale", .string)
            .field("dedupe_key", .string)
            .field("created_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("fanned_out_at", .datetime)
            .field("recipients", .int, .required)
            .unique(on: "dedupe_key")
            .create()
        try await database.schema("notification_inbox")
            .field("id", .uuid, .identifier(auto: false))
            .field("notification_id", .uuid, .required, .references("notifications", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("category", .string, .required)
            .field("title", .string, .required)
            .field("body", .string, .required)
            .field("link", .string)
            .field("created_at", .datetime, .required)
            .field("read_at", .datetime)
            .unique(on: "notification_id", "user_id")
            .create()
        try await database.schema("notification_deliveries")
            .field("id", .uuid, .identifier(auto: false))
            .field("notification_id", .uuid, .required, .references("notifications", "id", onDelete: .cascade))
            .field("user_id", .uuid, .references("identity_users", "id", onDelete: .cascade))
            .field("channel", .string, .required)
            .field("address", .string, .required)
            .field("template", .string, .required)
            .field("subject", .string, .required)
            .field("content", .string)
            .field("state", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime)
            .field("claimed_until", .datetime)
            .field("last_error", .string)
            .field("provider_ref", .string)
            .field("provider_status", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("sent_at", .datetime)
            .unique(on: "notification_id", "channel", "address")
            .create()
        try await database.schema("notification_delivery_attempts")
            .field("delivery_id", .uuid, .required, .references("notification_deliveries", "id", onDelete: .cascade))
            .field("attempt", .int, .required)
            .field("at", .datetime, .required)
            .field("outcome", .string, .required)
            .field("error", .string)
            .field("milliseconds", .int, .required)
            .compositeIdentifier(over: "delivery_id", "attempt")
            .create()
        try await database.schema("notification_preferences")
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("category", .string, .required)
            .field("channel", .string, .required)
            .field("enabled", .bool, .required)
            .compositeIdentifier(over: "user_id", "category", "channel")
            .create()
        try await database.schema("notification_quiet_hours")
            .field("user_id", .uuid, .identifier(auto: false), .references("identity_users", "id", onDelete: .cascade))
            .field("starts", .string, .required)
            .field("ends", .string, .required)
            .create()
        try await database.schema("notification_push_subscriptions")
            .field("id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("endpoint", .string, .required)
            .field("p256dh", .string, .required)
            .field("auth", .string, .required)
            .field("user_agent", .string)
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime)
            .unique(on: "endpoint")
            .create()
        try await database.execute(
            "CREATE INDEX notification_inbox_user ON notification_inbox (user_id, notification_id)",
            "CREATE INDEX notification_deliveries_state ON notification_deliveries (state, updated_at)",
            "CREATE INDEX notification_deliveries_provider ON notification_deliveries (provider_ref)",
            "CREATE INDEX notification_deliveries_user ON notification_deliveries (user_id, created_at)",
            "CREATE INDEX notification_push_user ON notification_push_subscriptions (user_id)")
    }

    public func revert(on database: any Database) async throws {
        for table in [
            "notification_push_subscriptions", "notification_quiet_hours", "notification_preferences", "notification_delivery_attempts",
            "notification_deliveries", "notification_inbox", "notifications",
        ] {
            try await database.schema(table).delete()
        }
    }
}
