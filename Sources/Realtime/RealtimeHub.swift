import FluentKit
import Foundation
import Jobs
import Logging
import NIOCore
import PlazaKit
import Storage
import Synchronization

/// How the gateway treats connections.
public struct RealtimeSettings: Sendable, Equatable {
    /// Frames a connection may have waiting before it counts as too slow and is closed (4008): an SSE
    /// stream's queue, or a WebSocket's frames not yet handed to its channel.
    public var sendQueueCapacity: Int
    /// Bytes a WebSocket may have written and not yet taken by the client (beyond the kernel's socket buffer)
    /// before it counts as too slow.
    public var sendBufferBytes: Int = 256 * 1024
    /// Topics one connection may follow at once.
    public var maxSubscriptions: Int
    /// Events a reconnecting client may be replayed per topic; beyond that it is told to reload.
    public var maxReplay: Int
    /// The largest frame a client may send, in bytes (a bigger one closes the connection with 1009).
    public var maxInboundFrame: Int
    /// How long a closing connection waits for the client's close answer before the socket is dropped (with
    /// whatever it still had to send, the close frame among it).
    public var closeTimeout: Duration = .seconds(15)
    /// How often the server pings each WebSocket (a client that has not answered the last ping by the next is
    /// dropped) and writes a comment line to each SSE stream.
    public var pingInterval: Duration = .seconds(30)

    public init(sendQueueCapacity: Int = 1024, maxSubscriptions: Int = 100, maxReplay: Int = 5000, maxInboundFrame: Int = 16 * 1024) {
        self.sendQueueCapacity = sendQueueCapacity
        self.maxSubscriptions = maxSubscriptions
        self.maxReplay = maxReplay
        self.maxInboundFrame = maxInboundFrame
    }
}

/// This instance's connections and what they follow; hands each event of the log to the connections
/// subscribed to its topic.
public final class RealtimeHub: Sendable {
    public let topics: Topics
    public let settings: RealtimeSettings
    let outbox: Outbox
    let logger: Logger
    let presence: Presence
    private let subscribers = Mutex<[String: [UUID: Connection]]>([:])
    private let connections = Mutex<[UUID: Connection]>([:])
    /// Per event loop, the events waiting to be written to its sockets.
    private let fanOuts = Mutex<[ObjectIdentifier: LoopFanOut]>([:])
    /// Tasks the sockets start (acting on a client's frames, cleaning up after a socket), which no structured
    /// task owns: tracked so that ``shutdown()`` waits for them and none starts after it.
    private let tasks = Mutex<(closed: Bool, running: [UUID: Task<Void, Never>])>((false, [:]))

    public init(outbox: Outbox, topics: Topics = Topics(), settings: RealtimeSettings = .init(), logger: Logger) {
        self.outbox = outbox
        self.topics = topics
        self.settings = settings
        self.logger = logger
        self.presence = Presence(store: outbox.store, instance: UUID())
    }

    /// The service that keeps this instance's presence rows alive and its connections' heartbeat going, and
    /// closes them when the server stops (run it beside the server).
    public var keeper: RealtimeKeeper { RealtimeKeeper(hub: self) }

    /// The outbox subscription that feeds this hub (every instance receives every event).
    public func subscription() -> Subscription {
        Subscription("realtime.gateway", topics: [RealtimePublisher.outboxTopic], delivery: .broadcast) { [self] envelope in
            deliver(envelope)
        }
    }

    /// How many connections this instance holds.
    public var connectionCount: Int { connections.withLock { $0.count } }

    /// How many of this instance's connections follow `topic`.
    func followers(of topic: String) -> Int { subscribers.withLock { $0[topic]?.count ?? 0 } }

    /// The people connected to a topic, on every instance (each once).
    public func present(on topic: String) async throws -> [UUID] {
        try await presence.users(on: topic)
    }

    /// Ends the connections of a user — all of them, or those of the given sessions — when the session ends or
    /// the account is disabled; their sockets close with 4001.
    public func endConnections(of user: UUID, sessions: Set<UUID>? = nil) {
        let ending = connections.withLock { connections in
            connections.values.filter { connection in
                guard connection.principal.id == user else { return false }
                guard let sessions else { return true }
                return connection.principal.sessionID.map(sessions.contains) ?? false
            }
        }
        for connection in ending { connection.end(.sessionEnded) }
    }

    func connect(_ principal: Principal, sink: any FrameSink) -> Connection {
        let connection = Connection(principal: principal, sink: sink)
        connections.withLock { $0[connection.id] = connection }
        return connection
    }

    /// Pings every WebSocket and writes a comment to every SSE stream (``RealtimeKeeper`` calls it).
    func heartbeat() {
        for connection in connections.withLock({ Array($0.values) }) { connection.sink.heartbeat() }
    }

    /// Closes every connection because the server stops (1001 on a WebSocket, the end of an SSE stream).
    func endAll() {
        for connection in connections.withLock({ Array($0.values) }) { connection.end(.shuttingDown) }
    }

    func disconnect(_ connection: Connection) async {
        forget(connection)
        await leave(connection)
    }

    /// A socket closed (on its event loop): it stops receiving at once; its presence goes in a task.
    func socketClosed(_ connection: Connection) {
        forget(connection)
        spawn { await self.leave(connection) }
    }

    private func leave(_ connection: Connection) async {
        do { try await presence.left(connection) } catch { logger.warning("presence cleanup failed", metadata: ["error": "\(error)"]) }
    }

    /// Runs `body` in a task of its own unless the hub has shut down; `false` if it has.
    @discardableResult
    func spawn(_ body: @escaping @Sendable () async -> Void) -> Bool {
        tasks.withLock { state in
            guard !state.closed else { return false }
            let id = UUID()
            // Inserted in the same critical section it is made in, so its own removal always comes after.
            state.running[id] = Task {
                await body()
                _ = self.tasks.withLock { $0.running.removeValue(forKey: id) }
            }
            return true
        }
    }

    /// Whether ``shutdown()`` has begun.
    var isShutDown: Bool { tasks.withLock { $0.closed } }

    /// Closes every socket (1001) and waits for the work sockets started; call it before the store closes.
    /// Sockets that close later leave nothing to do with the database.
    public func shutdown() async {
        let running = tasks.withLock { state in
            state.closed = true
            return Array(state.running.values)
        }
        endAll()
        for task in running { await task.value }
    }

    private func forget(_ connection: Connection) {
        // Closed first: a subscription being made right now checks it after registering, and undoes itself.
        connection.close()
        connections.withLock { _ = $0.removeValue(forKey: connection.id) }
        subscribers.withLock { subscribers in
            for topic in Array(subscribers.keys) where subscribers[topic]?[connection.id] != nil {
                subscribers[topic]![connection.id] = nil
                if subscribers[topic]!.isEmpty { subscribers[topic] = nil }
            }
        }
        connection.sink.finish()
    }

    /// Acts on one text frame from a client; everything it answers goes through the connection's queue, so
    /// answers and events keep their order.
    func receive(_ text: String, from connection: Connection) async {
        guard !connection.isClosed else { return }
        let frame: ClientFrame
        do {
            frame = try ClientFrame.parse(text)
        } catch {
            switch error {
            case .notJSON:
                connection.enqueue(ServerFrame.error(.badFrame, "Frames are JSON objects with a type."))
            case .missing(let field):
                connection.enqueue(ServerFrame.error(.badFrame, "The frame needs \(field)."))
            case .nul(let field):
                connection.enqueue(ServerFrame.error(.badFrame, "The frame's \(field) \(InputText.nulMessage)."))
            case .unknownType(let type):
                connection.enqueue(ServerFrame.error(.unknownType, "Unknown frame type \(type); use subscribe, unsubscribe or ping."))
            }
            return
        }
        switch frame {
        case .ping:
            connection.enqueue(ServerFrame.pong)
        case .unsubscribe(let topic):
            connection.unsubscribe(topic)
            subscribers.withLock { subscribers in
                subscribers[topic]?[connection.id] = nil
                if subscribers[topic]?.isEmpty == true { subscribers[topic] = nil }
            }
            try? await presence.left(connection, topic: topic)
            connection.enqueue(ServerFrame.unsubscribed(topic))
        case .subscribe(let topic, let lastEventId):
            await subscribe(connection, to: topic, after: lastEventId)
        case .presence(let topic):
            guard connection.isSubscribed(topic) else {
                return connection.enqueue(ServerFrame.error(.forbidden, "Subscribe to \(topic) to see who is there.", topic: topic))
            }
            do {
                connection.enqueue(ServerFrame.presence(topic, users: try await presence.users(on: topic)))
            } catch {
                logger.error("presence read failed", metadata: ["error": "\(error)"])
            }
        }
    }

    func subscribe(_ connection: Connection, to topic: String, after lastEventId: Int64?) async {
        if connection.isSubscribed(topic) { return connection.enqueue(ServerFrame.subscribed(topic)) }
        guard connection.subscriptionCount < settings.maxSubscriptions else {
            return connection.enqueue(
                ServerFrame.error(
                    .tooManySubscriptions, "A connection may follow at most \(settings.maxSubscriptions) topics.", topic: topic))
        }
        switch await topics.decide(connection.principal, topic) {
        case .unknown:
            return connection.enqueue(ServerFrame.error(.unknownTopic, "No topic is called \(topic).", topic: topic))
        case .refused:
            return connection.enqueue(ServerFrame.error(.forbidden, "You may not follow \(topic).", topic: topic))
        case .allowed:
            break
        }
        // Registered before the replay reads the log, so nothing committed in between is missed; the
        // connection holds live events back until the replay is done and drops what the replay already sent.
        connection.subscribe(topic, replayingFrom: lastEventId)
        subscribers.withLock { $0[topic, default: [:]][connection.id] = connection }
        do { try await presence.joined(connection, topic: topic) } catch { logger.warning("presence write failed", metadata: ["error": "\(error)"]) }
        // The socket may have closed meanwhile, and its clean-up run before this registration or this row:
        // whichever came second removes them (``forget(_:)`` marks the connection closed before it cleans up).
        if connection.isClosed {
            subscribers.withLock { subscribers in
                subscribers[topic]?[connection.id] = nil
                if subscribers[topic]?.isEmpty == true { subscribers[topic] = nil }
            }
            try? await presence.left(connection, topic: topic)
            return
        }
        connection.enqueue(ServerFrame.subscribed(topic))
        guard let lastEventId else { return }
        do {
            var after = lastEventId
            var replayed = 0
            while replayed < settings.maxReplay {
                let page = try await outbox.events(
                    after: after, topics: [RealtimePublisher.outboxTopic], key: topic, limit: min(500, settings.maxReplay - replayed))
                for envelope in page {
                    guard let seq = envelope.seq, let frame = Self.frame(envelope) else { continue }
                    connection.replay(topic, id: seq, frame: frame.encoded)
                    after = seq
                }
                replayed += page.count
                if page.count < 500 { break }
            }
            if replayed >= settings.maxReplay {
                connection.enqueue(
                    ServerFrame.error(
                        .replayTruncated, "More than \(settings.maxReplay) events were missed; reload the data and subscribe again.", topic: topic))
            }
        } catch {
            logger.error("realtime replay failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
            connection.enqueue(ServerFrame.error(.replayTruncated, "The missed events could not be read; reload the data.", topic: topic))
        }
        connection.finishReplay(topic)
    }

    /// The NOTIFY channel that carries signals between instances.
    public static let signalChannel = "plaza_realtime_signal"

    /// A passing signal (someone is typing, a live location): sent to the topic's followers on every instance
    /// now, never stored, never replayed, without an id. With PostgreSQL it travels by NOTIFY (at most about
    /// 7,900 bytes of frame); on SQLite there is only this instance.
    public func signal(_ data: some Encodable, to topic: String) async throws {
        let value = try PlazaJSON.responseBody(data)
        let frame = ServerFrame.signal(topic: topic, data: String(decoding: value, as: UTF8.self))
        guard outbox.store.dialect == .postgres else { return deliverSignal(frame) }
        guard frame.utf8.count < 7800 else { throw PlazaError.payloadTooLarge(limit: 7800, size: frame.utf8.count) }
        // This instance's followers get it at once; the others by NOTIFY, which names the sender so that this
        // instance ignores its own notification.
        deliverSignal(frame)
        try await outbox.store.sql.raw(
            "SELECT pg_notify(\(bind: Self.signalChannel), \(bind: presence.instance.uuidString + "|" + frame))"
        ).run()
    }

    /// A signal from NOTIFY: `<sending instance>|<frame>`; this instance's own are already delivered.
    public func receiveSignal(_ payload: String) {
        guard let bar = payload.firstIndex(of: "|"), payload[..<bar] != presence.instance.uuidString[...] else { return }
        deliverSignal(String(payload[payload.index(after: bar)...]))
    }

    /// A signal frame, to the connections here that follow its topic.
    func deliverSignal(_ frame: String) {
        struct Header: Decodable { var topic: String }
        guard let topic = try? PlazaJSON.decoder().decode(Header.self, from: Data(frame.utf8)).topic else { return }
        let targets = subscribers.withLock { Array(($0[topic] ?? [:]).values) }
        let encoded = EncodedFrame(frame)
        for connection in targets { connection.enqueue(Connection.Outgoing(frame: encoded)) }
    }

    /// An event of the log, to every connection here that follows its topic.
    ///
    /// The frame is encoded once. WebSockets are written a loop at a time (``LoopFanOut``): a task on each
    /// event loop offers the event to that loop's connections and then flushes each, rather than a hop and a
    /// wake-up per connection.
    func deliver(_ envelope: EventEnvelope) {
        guard let seq = envelope.seq, let frame = Self.frame(envelope) else { return }
        let targets = subscribers.withLock { Array(($0[frame.topic] ?? [:]).values) }
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, connections: [Connection])] = [:]
        for connection in targets {
            guard let loop = connection.eventLoop else {
                connection.offer(frame.topic, id: seq, frame: frame.encoded)
                continue
            }
            byLoop[ObjectIdentifier(loop), default: (loop, [])].connections.append(connection)
        }
        for (id, (loop, connections)) in byLoop {
            let fanOut = fanOuts.withLock { fanOuts in
                if let existing = fanOuts[id] { return existing }
                let made = LoopFanOut(loop: loop)
                fanOuts[id] = made
                return made
            }
            fanOut.add(LoopFanOut.Delivery(topic: frame.topic, id: seq, frame: frame.encoded, connections: connections))
        }
    }

    /// The frame of a `realtime.publish` event, made once and sent to every subscriber as it is.
    static func frame(_ envelope: EventEnvelope) -> (topic: String, encoded: EncodedFrame)? {
        guard let event = try? PlazaJSON.decoder().decode(RealtimePublisher.Published.self, from: Data(envelope.payload.utf8)),
            let seq = envelope.seq,
            let data = try? PlazaJSON.encoder().encode(event.data)
        else { return nil }
        return (event.topic, EncodedFrame(ServerFrame.event(topic: event.topic, id: seq, data: String(decoding: data, as: UTF8.self))))
    }
}

/// One event loop's share of the fan-out: the events waiting for its sockets, written by one task on the loop.
///
/// While a write is pending, events that arrive join it, so a loop that falls behind writes several events to
/// each socket with one flush (one `writev`) instead of one each: the batches grow exactly when the load does.
final class LoopFanOut: Sendable {
    struct Delivery: Sendable {
        var topic: String
        var id: Int64
        var frame: EncodedFrame
        var connections: [Connection]
    }

    private let loop: any EventLoop
    private let waiting = Mutex<(deliveries: [Delivery], scheduled: Bool)>(([], false))

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func add(_ delivery: Delivery) {
        let schedule = waiting.withLock { waiting in
            waiting.deliveries.append(delivery)
            guard !waiting.scheduled else { return false }
            waiting.scheduled = true
            return true
        }
        if schedule { loop.execute { self.write() } }
    }

    /// On the loop: the waiting events to their connections, in order, a flush per connection after each run
    /// of at most `run` events — so however far the loop fell behind, a socket never holds more than that many
    /// unflushed frames here (its queue's limit is for clients that do not read, not for this loop's backlog).
    private func write() {
        let deliveries = waiting.withLock { waiting in
            waiting.scheduled = false
            defer { waiting.deliveries = [] }
            return waiting.deliveries
        }
        for start in stride(from: 0, to: deliveries.count, by: Self.run) {
            let run = deliveries[start..<min(start + Self.run, deliveries.count)]
            for delivery in run {
                for connection in delivery.connections { connection.offer(delivery.topic, id: delivery.id, frame: delivery.frame, batched: true) }
            }
            if run.count == 1 {
                for connection in run.first!.connections { connection.sink.drain() }
            } else {
                var drained = Set<ObjectIdentifier>()
                for delivery in run {
                    for connection in delivery.connections where drained.insert(ObjectIdentifier(connection)).inserted { connection.sink.drain() }
                }
            }
        }
    }

    static let run = 64
}

/// Publishes events to a topic, inside the transaction of the change they report.
public struct RealtimePublisher: Sendable {
    static let outboxTopic = "realtime.publish"
    let outbox: Outbox

    public init(outbox: Outbox) {
        self.outbox = outbox
    }

    struct Published: Codable {
        var topic: String
        var data: JSONValue
    }

    /// Appends the event to the log; subscribers get it once `transaction` commits (and never if it does not).
    public func publish(_ data: some Encodable, to topic: String, caller: Caller? = nil, in transaction: Transaction) async throws {
        let value = try PlazaJSON.decoder().decode(JSONValue.self, from: try PlazaJSON.responseBody(data))
        let payload = String(decoding: try PlazaJSON.encoder().encode(Published(topic: topic, data: value)), as: UTF8.self)
        try await outbox.append(topic: Self.outboxTopic, payload: payload, key: topic, caller: caller, in: transaction)
    }
}

/// Lets replay find a topic's events quickly: `plaza_outbox (event_key, seq)`.
public struct CreateRealtimeIndex: AsyncMigration {
    public init() {}
    public var name: String { "0011_index_outbox_by_key" }

    public func prepare(on database: any Database) async throws {
        try await database.execute("CREATE INDEX plaza_outbox_key ON plaza_outbox (event_key, seq)")
    }

    public func revert(on database: any Database) async throws {
        try await database.execute("DROP INDEX plaza_outbox_key")
    }
}
