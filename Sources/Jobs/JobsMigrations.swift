import FluentKit
import Storage

/// Creates the job queue table and its indexes.
public struct CreateJobs: AsyncMigration {
    public init() {}
    public var name: String { "0002_create_jobs" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(JobQueue.table)
            .field("id", .uuid, .identifier(auto: false))
            .field("queue", .string, .required)
            .field("name", .string, .required)
            .field("payload", .string, .required)
            .field("priority", .int, .required)
            .field("run_at", .datetime, .required)
            .field("state", .string, .required)
            .field("attempts", .int, .required)
            .field("max_attempts", .int, .required)
            .field("unique_key", .string)
            .field("locked_by", .string)
            .field("locked_until", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("finished_at", .datetime)
            .unique(on: "unique_key")
            .create()
        try await database.execute(
            "CREATE INDEX plaza_jobs_due ON plaza_jobs (queue, state, run_at)",
            "CREATE INDEX plaza_jobs_lease ON plaza_jobs (state, locked_until)",
            "CREATE INDEX plaza_jobs_finished ON plaza_jobs (state, finished_at)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(JobQueue.table).delete()
    }
}

/// Creates the outbox (the event log).
public struct CreateOutbox: AsyncMigration {
    public init() {}
    public var name: String { "0003_create_outbox" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(Outbox.table)
            .field("id", .uuid, .identifier(auto: false))
            .field("seq", .int64)
            .field("topic", .string, .required)
            .field("event_key", .string)
            .field("payload", .string, .required)
            .field("occurred_at", .datetime, .required)
            .field("request_id", .string)
            .unique(on: "seq")
            .create()
        try await database.execute(
            "CREATE INDEX plaza_outbox_unnumbered ON plaza_outbox (occurred_at, id) WHERE seq IS NULL",
            "CREATE INDEX plaza_outbox_topic ON plaza_outbox (topic, seq)",
            "CREATE INDEX plaza_outbox_age ON plaza_outbox (occurred_at)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(Outbox.table).delete()
    }
}

/// The migrations of the Jobs module, in order.
public enum JobsMigrations {
    public static var all: MigrationList { MigrationList([CreateJobs(), CreateOutbox()]) }
}
