import FluentKit
import Storage

/// Creates threads, participants, messages and reports.
public struct CreateConversations: AsyncMigration {
    public init() {}
    public var name: String { "0013_create_conversations" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("conversations")
            .field("id", .uuid, .identifier(auto: false))
            .field("subject", .string)
            .field("context_type", .string)
            .field("context_id", .string)
            .field("created_by", .uuid, .required)
            .field("message_count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("last_message_at", .datetime)
            .create()
        try await database.schema("conversation_participants")
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("user_id", .uuid, .required)
            .field("last_read_seq", .int, .required)
            .field("joined_at", .datetime, .required)
            .compositeIdentifier(over: "conversation_id", "user_id")
            .create()
        try await database.schema("conversation_messages")
            .field("id", .uuid, .identifier(auto: false))
            .field("conversation_id", .uuid, .required, .references("conversations", "id", onDelete: .cascade))
            .field("seq", .int, .required)
            .field("author_id", .uuid, .required)
            .field("body", .string)
            .field("attachments", .string, .required)
            .field("created_at", .datetime, .required)
            .field("edited_at", .datetime)
            .field("deleted_at", .datetime)
            .field("removed_by", .uuid)
            .field("removed_reason", .string)
            .unique(on: "conversation_id", "seq")
            .create()
        try await database.schema("conversation_reports")
            .field("id", .uuid, .identifier(auto: false))
            .field("message_id", .uuid, .required, .references("conversation_messages", "id", onDelete: .cascade))
            .field("reporter_id", .uuid, .required)
            .field("reason", .string, .required)
            .field("created_at", .datetime, .required)
            .field("resolved_at", .datetime)
            .field("resolved_by", .uuid)
            .create()
        try await database.execute(
            "CREATE INDEX conversation_participants_user ON conversation_participants (user_id)",
            "CREATE INDEX conversations_context ON conversations (context_type, context_id)",
            "CREATE INDEX conversation_reports_open ON conversation_reports (resolved_at, created_at)")
    }

    public func revert(on database: any Database) async throws {
        for table in ["conversation_reports", "conversation_messages", "conversation_participants", "conversations"] {
            try await database.schema(table).delete()
        }
    }
}
