import FluentKit
import Foundation
import Logging
import PlazaKit
import SQLKit
import ServiceLifecycle
import Storage

/// Who is connected to a topic, across every instance.
///
/// Each subscription is a row of `realtime_presence` (instance, connection, topic, user), written when it
/// starts and deleted when it ends. Instances touch their rows every 30 s; rows not touched for 90 s belong to
/// an instance that died and are swept by whichever instance notices first.
struct Presence: Sendable {
    static let table = "realtime_presence"
    static let touchInterval: Duration = .seconds(30)
    static let staleAfter: TimeInterval = 90
    let store: Store
    let instance: UUID

    func joined(_ connection: Connection, topic: String) async throws {
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                INSERT INTO realtime_presence (connection_id, topic, instance_id, user_id, seen_at)
                VALUES (\(bind: connection.id), \(bind: topic), \(bind: instance), \(bind: connection.principal.id), \(bind: transaction.clock.now()))
                ON CONFLICT (connection_id, topic) DO NOTHING
                """
            ).run()
        }
    }

    func left(_ connection: Connection, topic: String? = nil) async throws {
        try await store.transaction { transaction in
            if let topic {
                try await transaction.sql.raw(
                    "DELETE FROM realtime_presence WHERE connection_id = \(bind: connection.id) AND topic = \(bind: topic)"
                ).run()
            } else {
                try await transaction.sql.raw("DELETE FROM realtime_presence WHERE connection_id = \(bind: connection.id)").run()
            }
        }
    }

    /// The people connected to `topic` on any live instance.
    func users(on topic: String) async throws -> [UUID] {
        let fresh = store.clock.now().addingTimeInterval(-Self.staleAfter)
        return try await store.sql.raw(
            """
            SELECT DISTINCT user_id FROM realtime_presence WHERE topic = \(bind: topic) AND seen_at > \(bind: fresh) ORDER BY user_id
            """
        ).all().map { try $0.decode(column: "user_id", as: UUID.self) }
    }

    /// Marks this instance's rows alive and sweeps rows of instances that stopped touching theirs.
    func touch() async throws {
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw("UPDATE realtime_presence SET seen_at = \(bind: now) WHERE instance_id = \(bind: instance)").run()
            try await transaction.sql.raw(
                "DELETE FROM realtime_presence WHERE seen_at < \(bind: now.addingTimeInterval(-Self.staleAfter))"
            ).run()
        }
    }

    func forgetInstance() async throws {
        try await store.transaction { transaction in
            try await transaction.sql.raw("DELETE FROM realtime_presence WHERE instance_id = \(bind: instance)").run()
        }
    }
}

/// Creates `realtime_presence`.
public struct CreatePresence: AsyncMigration {
    public init() {}
    public var name: String { "0012_create_realtime_presence" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(Presence.table)
            .field("connection_id", .uuid, .required)
            .field("topic", .string, .required)
            .field("instance_id", .uuid, .required)
            .field("user_id", .uuid, .required)
            .field("seen_at", .datetime, .required)
            .compositeIdentifier(over: "connection_id", "topic")
            .create()
        try await database.execute(
            "CREATE INDEX realtime_presence_topic ON realtime_presence (topic, seen_at)",
            "CREATE INDEX realtime_presence_instance ON realtime_presence (instance_id)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(Presence.table).delete()
    }
}
