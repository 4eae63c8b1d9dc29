import FluentKit
import Storage

/// Creates workflow instances and their history.
public struct CreateWorkflows: AsyncMigration {
    public init() {}
    public var name: String { "0016_create_workflows" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("workflow_instances")
            .field("id", .uuid, .identifier(auto: false))
            .field("definition", .string, .required)
            .field("state", .string, .required)
            .field("version", .int, .required)
            .field("subject", .string)
            .field("owner_id", .uuid)
            .field("participants", .string, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema("workflow_history")
            .field("instance_id", .uuid, .required, .references("workflow_instances", "id", onDelete: .cascade))
            .field("version", .int, .required)
            .field("at", .datetime, .required)
            .field("actor_id", .uuid)
            .field("from_state", .string)
            .field("to_state", .string, .required)
            .field("command", .string, .required)
            .field("payload", .string)
            .field("comment", .string)
            .compositeIdentifier(over: "instance_id", "version")
            .create()
        try await database.execute(
            "CREATE INDEX workflow_instances_listing ON workflow_instances (definition, state, updated_at)",
            "CREATE INDEX workflow_instances_subject ON workflow_instances (subject)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("workflow_history").delete()
        try await database.schema("workflow_instances").delete()
    }
}
