import Foundation
import Logging
import PlazaKit
import SQLKit
import ServiceLifecycle
import Storage
import Synchronization

/// Numbers committed events and hands them on. One runs in every instance.
///
/// Numbering happens after commit, under a lock (an advisory transaction lock on PostgreSQL, the write gate
/// on SQLite), so `seq` order is commit-visible order and a reader tailing `seq > n` never skips an event
/// that committed late. In the numbering transaction each `work` subscriber gets a job (unique per
/// subscriber and event, so exactly once); after it, every instance's broadcaster reads the new events.
public final class OutboxDispatcher: Service, Sendable {
    /// The job that delivers one event to one `work` subscriber.
    public static let deliveryJob = "plaza.event.deliver"
    static let advisoryLock: Int64 = 0x706C_617A_616F_7574 // "plazaout"

    let outbox: Outbox
    let bus: EventBus
    let queue: JobQueue
    let logger: Logger
    let pollInterval: Duration
    let batchSize: Int
    private let cursor = Mutex<Int64?>(nil)

    public init(
        outbox: Outbox, bus: EventBus, queue: JobQueue, registry: JobRegistry, logger: Logger, pollInterval: Duration = .seconds(1),
        batchSize: Int = 500
    ) throws {
        self.outbox = outbox
        self.bus = bus
        self.queue = queue
        self.logger = logger
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        try registry.register(Self.deliveryJob, payload: DeliveryPayload.self) { [bus] payload, _ in
            guard let subscriber = bus.subscriber(named: payload.subscriber) else {
                throw UnknownSubscriber(name: payload.subscriber)
            }
            try await subscriber.handler(payload.event)
        }
    }

    public func run() async throws {
        let wakeup = outbox.wakeup
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var again = false
                do {
                    switch try await sequence() {
                    case .busy: again = true // another instance is numbering; look again shortly
                    case .numbered(let count): again = count == batchSize
                    }
                    let delivered = try await broadcast()
                    again = again || delivered == batchSize
                } catch {
                    logger.error("outbox dispatch failed", metadata: ["error": "\(error)"])
                }
                if again {
                    try? await Task.sleep(for: .milliseconds(10))
                } else {
                    await wakeup.wait(timeout: pollInterval)
                }
            }
        } onGracefulShutdown: {
            wakeup.ring()
        }
    }

    public enum SequenceResult: Equatable, Sendable {
        case numbered(Int)
        /// Another instance holds the numbering lock.
        case busy
    }

    /// Numbers the committed events that have no number yet, and enqueues their `work` deliveries.
    @discardableResult
    public func sequence() async throws -> SequenceResult {
        let batchSize = self.batchSize
        let (bus, queue, outbox) = (self.bus, self.queue, self.outbox)
        return try await outbox.store.transaction { transaction in
            if transaction.dialect == .postgres {
                let row = try await transaction.sql.raw(
                    "SELECT pg_try_advisory_xact_lock(\(bind: Self.advisoryLock)) AS locked"
                ).first()
                guard try row?.decode(column: "locked", as: Bool.self) == true else { return .busy }
            }
            let rows = try await transaction.sql.raw(
                """
                SELECT * FROM plaza_outbox WHERE seq IS NULL ORDER BY occurred_at, id LIMIT \(literal: batchSize)
                """
            ).all()
            guard !rows.isEmpty else { return .numbered(0) }
            let last = try await transaction.sql.raw("SELECT COALESCE(MAX(seq), 0) AS seq FROM plaza_outbox").first()
            var seq = try last?.decode(column: "seq", as: Int64.self) ?? 0
            for row in rows {
                seq += 1
                var event = try Outbox.decode(row)
                event.seq = seq
                try await transaction.sql.raw("UPDATE plaza_outbox SET seq = \(bind: seq) WHERE id = \(bind: event.id)").run()
                for subscriber in bus.subscribers(of: event.topic, delivery: .work) {
                    let request = try JobRequest(
                        Self.deliveryJob, payload: DeliveryPayload(subscriber: subscriber.name, event: event),
                        queue: "events", uniqueKey: "event:\(subscriber.name):\(event.id)")
                    try await queue.enqueue(request, in: transaction)
                }
            }
            if transaction.dialect == .postgres {
                try await transaction.sql.raw("SELECT pg_notify(\(bind: Outbox.channel), 'numbered')").run()
            }
            let wakeup = outbox.wakeup
            transaction.onCommit { wakeup.ring() }
            return .numbered(rows.count)
        }
    }

    /// Starts this instance's broadcasting at the end of the log (when it has not started yet): events numbered
    /// from now on reach its `broadcast` subscribers. ``run()`` does this on its first pass; code that starts
    /// the dispatcher beside work of its own (tests) calls it first, so that work's events are not taken
    /// for history.
    public func broadcastFromNow() async throws {
        guard cursor.withLock({ $0 }) == nil else { return }
        let latest = try await outbox.latestSeq()
        cursor.withLock { if $0 == nil { $0 = latest } }
    }

    /// Hands numbered events this instance has not seen to its `broadcast` subscribers; returns how many events.
    ///
    /// The first call starts from the end of the log: an instance does not replay history when it starts.
    @discardableResult
    public func broadcast() async throws -> Int {
        guard let after = cursor.withLock({ $0 }) else {
            try await broadcastFromNow()
            return 0
        }
        let events = try await outbox.events(after: after, limit: batchSize)
        for event in events {
            for subscriber in bus.subscribers(of: event.topic, delivery: .broadcast) {
                do {
                    try await subscriber.handler(event)
                } catch {
                    logger.warning(
                        "broadcast subscriber failed",
                        metadata: ["subscriber": "\(subscriber.name)", "event": "\(event.id)", "error": "\(error)"])
                }
            }
            if let seq = event.seq { cursor.withLock { $0 = seq } }
        }
        return events.count
    }
}

struct DeliveryPayload: Codable, Sendable {
    var subscriber: String
    var event: EventEnvelope
}

struct UnknownSubscriber: Error, CustomStringConvertible {
    let name: String
    var description: String { "no subscriber named \(name) in this process" }
}
