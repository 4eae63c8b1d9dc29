import Foundation
import PlazaKit
import SQLKit
import Storage

/// A fact a module announces after changing its data (`booking.confirmed`, `user.registered`).
public protocol DomainEvent: Codable, Sendable {
    /// The event's topic: `<module>.<resource>.<verb>` by convention.
    static var topic: String { get }
}

/// An event as subscribers receive it. `seq` is its place in the delivery order, assigned after commit.
public struct EventEnvelope: Codable, Sendable, Equatable {
    public var id: UUID
    public var seq: Int64?
    public var topic: String
    /// What the event is about (an aggregate id), so consumers can route or filter without decoding.
    public var key: String?
    /// The event's JSON, as text.
    public var payload: String
    public var occurredAt: Date
    public var requestID: String?

    /// Decodes the payload as the given event type.
    public func decode<E: Decodable>(_ type: E.Type) throws -> E {
        try PlazaJSON.decoder().decode(E.self, from: Data(payload.utf8))
    }
}

extension EventEnvelope: APISchema {
    public static var schemaName: String { "Event" }
    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "seq": .nullable(.integer()), "topic": .text, "key": .nullable(.text),
                "payload": .string(description: "The event's JSON, as text."), "occurredAt": .dateTime,
                "requestID": .nullable(.text),
            ],
            required: ["id", "topic", "payload", "occurredAt"])
    }
}

/// Appends events in the caller's transaction and reads the numbered log back.
public struct Outbox: Sendable {
    public static let table = "plaza_outbox"
    /// The PostgreSQL NOTIFY channel that wakes dispatchers (after an append) and broadcasters (after numbering).
    public static let channel = "plaza_outbox"

    public let store: Store
    /// Rung after a commit that appended events, and by NOTIFY from other instances.
    public let wakeup: Wakeup

    public init(store: Store, wakeup: Wakeup = .init()) {
        self.store = store
        self.wakeup = wakeup
    }

    /// Appends an event to be delivered if, and only if, `transaction` commits.
    @discardableResult
    public func append<E: DomainEvent>(_ event: E, key: String? = nil, caller: Caller? = nil, in transaction: Transaction) async throws -> UUID {
        let payload = String(decoding: try PlazaJSON.encoder().encode(event), as: UTF8.self)
        return try await append(topic: E.topic, payload: payload, key: key, caller: caller, in: transaction)
    }

    /// Appends an event given as a topic and JSON text.
    @discardableResult
    public func append(topic: String, payload: String, key: String? = nil, caller: Caller? = nil, in transaction: Transaction) async throws -> UUID {
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        try await transaction.sql.raw(
            """
            INSERT INTO plaza_outbox (id, seq, topic, event_key, payload, occurred_at, request_id)
            VALUES (\(bind: id), NULL, \(bind: topic), \(bind: key), \(bind: payload), \(bind: now), \(bind: caller?.requestID))
            """
        ).run()
        if transaction.dialect == .postgres {
            try await transaction.sql.raw("SELECT pg_notify(\(bind: Self.channel), 'appended')").run()
        }
        let wakeup = self.wakeup
        transaction.onCommit { wakeup.ring() }
        return id
    }

    /// Numbered events after `seq`, in order: how realtime clients resume after a reconnect.
    public func events(after seq: Int64, topics: [String]? = nil, key: String? = nil, limit: Int = 500) async throws -> [EventEnvelope] {
        let select = store.sql.select().column("*").from(Self.table)
            .where("seq", .greaterThan, seq)
        if let topics, !topics.isEmpty { select.where("topic", .in, topics) }
        if let key { select.where("event_key", .equal, key) }
        let rows = try await select.orderBy("seq").limit(limit).all()
        return try rows.map(Self.decode)
    }

    /// The highest number given out so far (0 when the log is empty).
    public func latestSeq() async throws -> Int64 {
        let row = try await store.sql.raw("SELECT COALESCE(MAX(seq), 0) AS seq FROM plaza_outbox").first()
        return try row?.decode(column: "seq", as: Int64.self) ?? 0
    }

    /// Deletes numbered events older than `before`; returns how many.
    @discardableResult
    public func prune(before: Date) async throws -> Int {
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                DELETE FROM plaza_outbox WHERE seq IS NOT NULL AND occurred_at < \(bind: before) RETURNING id
                """
            ).all().count
        }
    }

    static func decode(_ row: any SQLRow) throws -> EventEnvelope {
        EventEnvelope(
            id: try row.decode(column: "id", as: UUID.self),
            seq: try row.decodeNil(column: "seq") ? nil : row.decode(column: "seq", as: Int64.self),
            topic: try row.decode(column: "topic", as: String.self),
            key: try row.decode(column: "event_key", as: String?.self),
            payload: try row.decode(column: "payload", as: String.self),
            occurredAt: try row.decode(column: "occurred_at", as: Date.self),
            requestID: try row.decode(column: "request_id", as: String?.self))
    }
}
