import Foundation
import NIOCore
import PlazaKit
import Synchronization

/// One client's connection: what it is subscribed to, and where its frames go (a ``FrameSink``: the
/// WebSocket's channel, or an SSE response's queue).
///
/// Every frame goes to the sink under this connection's lock, so the order frames are decided in — an
/// answer, a replayed event, a live one — is the order they are written in, whichever thread decided them.
/// (Live events are decided on the socket's event loop, in log order; a passing signal is decided when it
/// comes and may overtake an event still waiting for that loop — signals are not ordered with events.)
final class Connection: Sendable {
    /// A frame waiting to be written; `eventID` is set for events (SSE writes it as the `id:` field).
    struct Outgoing: Sendable {
        var eventID: Int64?
        var frame: EncodedFrame

        init(eventID: Int64? = nil, frame: EncodedFrame) {
            self.eventID = eventID
            self.frame = frame
        }

        init(_ text: String) {
            self.init(frame: EncodedFrame(text))
        }
    }

    let id: UUID
    let principal: Principal
    let sink: any FrameSink
    /// The sink's event loop, read once: the hub groups an event's deliveries by it.
    let eventLoop: (any EventLoop)?
    private let state = Mutex(State())

    struct State {
        /// Per topic: the highest event id sent, and events held back while a replay runs.
        var topics: [String: TopicState] = [:]
        var ending: Ending?
        /// The client has gone: nothing is sent or subscribed any more.
        var closed = false
    }

    /// Why the server ends a connection (the WebSocket close code says which).
    enum Ending: Sendable, Equatable {
        case tooSlow
        case sessionEnded
        case shuttingDown

        var closeCode: UInt16 {
            switch self {
            case .tooSlow: RealtimeCloseCode.tooSlow
            case .sessionEnded: RealtimeCloseCode.sessionEnded
            case .shuttingDown: 1001
            }
        }

        var reason: String {
            switch self {
            case .tooSlow: "too slow: the send queue is full"
            case .sessionEnded: "the session ended"
            case .shuttingDown: "the server is restarting"
            }
        }
    }

    struct TopicState {
        var lastSent: Int64
        var pending: [Outgoing]?
    }

    init(principal: Principal, sink: any FrameSink) {
        id = UUID()
        self.principal = principal
        self.sink = sink
        self.eventLoop = sink.eventLoop
    }

    var subscriptionCount: Int { state.withLock { $0.topics.count } }
    var isClosed: Bool { state.withLock { $0.closed } }

    func close() {
        state.withLock { $0.closed = true }
    }

    func isSubscribed(_ topic: String) -> Bool { state.withLock { $0.topics[topic] != nil } }

    /// Starts a subscription. With `replayingFrom`, live events are held back until ``finishReplay(_:)``.
    func subscribe(_ topic: String, replayingFrom lastEventId: Int64?) {
        state.withLock { $0.topics[topic] = TopicState(lastSent: lastEventId ?? 0, pending: lastEventId == nil ? nil : []) }
    }

    func unsubscribe(_ topic: String) {
        _ = state.withLock { $0.topics.removeValue(forKey: topic) }
    }

    /// A live event for `topic`: sent at once, held while a replay runs, dropped if already sent. With
    /// `batched`, the caller is on the sink's event loop and drains the sink itself after a batch of offers.
    func offer(_ topic: String, id: Int64, frame: EncodedFrame, batched: Bool = false) {
        state.withLock { state in
            guard var topicState = state.topics[topic] else { return }
            if topicState.pending != nil {
                topicState.pending!.append(Outgoing(eventID: id, frame: frame))
                state.topics[topic] = topicState
                return
            }
            guard id > topicState.lastSent else { return }
            topicState.lastSent = id
            state.topics[topic] = topicState
            push(Outgoing(eventID: id, frame: frame), in: &state, batched: batched)
        }
    }

    /// An event read back from the log during a replay.
    func replay(_ topic: String, id: Int64, frame: EncodedFrame) {
        state.withLock { state in
            guard var topicState = state.topics[topic], id > topicState.lastSent else { return }
            topicState.lastSent = id
            state.topics[topic] = topicState
            push(Outgoing(eventID: id, frame: frame), in: &state, batched: false)
        }
    }

    /// Ends a replay: the live events that arrived meanwhile and are newer than the replay go out, in order.
    func finishReplay(_ topic: String) {
        state.withLock { state in
            guard var topicState = state.topics[topic], let pending = topicState.pending else { return }
            topicState.pending = nil
            for event in pending.sorted(by: { ($0.eventID ?? 0) < ($1.eventID ?? 0) }) where (event.eventID ?? 0) > topicState.lastSent {
                topicState.lastSent = event.eventID ?? 0
                push(event, in: &state, batched: false)
            }
            state.topics[topic] = topicState
        }
    }

    /// Queues a control frame (an answer, an error, a signal).
    func enqueue(_ frame: String) {
        enqueue(Outgoing(frame))
    }

    func enqueue(_ frame: Outgoing) {
        state.withLock { push(frame, in: &$0, batched: false) }
    }

    /// Hands a frame to the sink; one the sink cannot take marks the connection too slow and ends it.
    private func push(_ frame: Outgoing, in state: inout State, batched: Bool) {
        guard state.ending == nil else { return }
        if !sink.push(frame, drainLater: !batched) {
            state.ending = .tooSlow
            sink.end(.tooSlow)
        }
    }

    /// Ends the connection from the server's side: the sink closes it with the ending's code.
    func end(_ ending: Ending) {
        let first: Bool = state.withLock { state in
            guard state.ending == nil else { return false }
            state.ending = ending
            return true
        }
        if first { sink.end(ending) }
    }
}

/// Where one connection's frames are written.
protocol FrameSink: Sendable {
    /// The event loop whose thread writes this sink, when writes can be grouped per loop (``RealtimeHub``
    /// delivers an event to a loop's connections in one task on that loop).
    var eventLoop: (any EventLoop)? { get }
    /// Takes a frame, in the order of calls (made under the connection's lock); `false` when the client is too
    /// slow to take more. With `drainLater: false` the caller is on ``eventLoop`` and calls ``drain()`` itself.
    func push(_ frame: Connection.Outgoing, drainLater: Bool) -> Bool
    /// Writes what was pushed (on ``eventLoop``).
    func drain()
    /// Keeps the connection alive through proxies and finds clients that have gone (the hub calls it every
    /// `pingInterval`).
    func heartbeat()
    /// Closes from the server's side, saying why.
    func end(_ ending: Connection.Ending)
    /// The connection is gone: drop what is still waiting.
    func finish()
}

/// The SSE response's queue: an `AsyncStream` keeping at most `capacity` frames, drained by the response's
/// writer. A frame that does not fit means the client is too slow.
final class StreamSink: FrameSink {
    let frames: AsyncStream<Connection.Outgoing>
    private let continuation: AsyncStream<Connection.Outgoing>.Continuation

    init(capacity: Int) {
        (frames, continuation) = AsyncStream.makeStream(of: Connection.Outgoing.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    var eventLoop: (any EventLoop)? { nil }

    func push(_ frame: Connection.Outgoing, drainLater: Bool) -> Bool {
        if case .dropped = continuation.yield(frame) { return false }
        return true
    }

    func drain() {}

    /// An SSE comment line; a queue too full to take it will refuse the next event too.
    func heartbeat() {
        _ = push(Connection.Outgoing(frame: .empty), drainLater: true)
    }

    func end(_ ending: Connection.Ending) {
        continuation.finish()
    }

    func finish() {
        continuation.finish()
    }
}

/// A frame's JSON text, encoded once for every connection that sends it: as it is (SSE wraps it in a
/// message) and as a whole unmasked WebSocket text frame, header included, which sockets write as is.
struct EncodedFrame: Sendable {
    let json: ByteBuffer
    let webSocket: ByteBuffer

    init(json: ByteBuffer) {
        self.json = json
        // RFC 6455 §5.2: FIN and the text opcode, then the length in 7 bits, or 126 and 16 bits, or 127 and 64.
        var frame = ByteBuffer()
        frame.reserveCapacity(json.readableBytes + 10)
        frame.writeInteger(UInt8(0x81))
        switch json.readableBytes {
        case ..<126: frame.writeInteger(UInt8(json.readableBytes))
        case ..<65536: frame.writeInteger(UInt8(126)); frame.writeInteger(UInt16(json.readableBytes))
        default: frame.writeInteger(UInt8(127)); frame.writeInteger(UInt64(json.readableBytes))
        }
        frame.writeImmutableBuffer(json)
        webSocket = frame
    }

    init(_ text: String) {
        self.init(json: ByteBuffer(string: text))
    }

    /// Nothing: an SSE heartbeat.
    static let empty = EncodedFrame(json: ByteBuffer())
}
