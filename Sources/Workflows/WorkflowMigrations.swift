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
            .field("parent_id", .uuid)
            .field("participants", .string, .required)
            .field("failure", .string)
            .field("cancelled_at", .datetime)
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
        try await database.schema("workflow_activities")
            .field("id", .uuid, .identifier(auto: false))
            .field("instance_id", .uuid, .required, .references("workflow_instances", "id", onDelete: .cascade))
            .field("version", .int, .required)
            .field("name", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("max_attempts", .int, .required)
            .field("policy_attempts", .int, .required)
            .field("next_attempt_at", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "instance_id", "version", "name")
            .create()
        try await database.schema("workflow_timers")
            .field("id", .uuid, .identifier(auto: false))
            .field("instance_id", .uuid, .required, .references("workflow_instances", "id", onDelete: .cascade))
            .field("version", .int, .required)
            .field("name", .string, .required)
            .field("command", .string, .required)
            .field("fire_at", .datetime, .required)
            .field("status", .string, .required)
            .field("fired_at", .datetime)
            .create()
        try await database.execute(
            "CREATE INDEX workflow_activities_status ON workflow_activities (status, updated_at)",
            "CREATE INDEX workflow_instances_listing ON workflow_instances (definition, state, updated_at)",
            "CREATE INDEX workflow_instances_subject ON workflow_instances (subject)",
            "CREATE INDEX workflow_instances_parent ON workflow_instances (parent_id)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("workflow_timers").delete()
        try await database.schema("workflow_activities").delete()
        try await database.schema("workflow_history").delete()
        try await database.schema("workflow_instances").delete()
    }
}
