import Foundation
import PlazaKit
import Synchronization

/// One client's connection: what it is subscribed to and a bounded queue of frames waiting to be written.
///
/// Frames go into an `AsyncStream` that keeps at most `capacity` of them; the writer task drains it into the
/// socket. When a frame does not fit, the client is too slow: the stream is finished and the connection is
/// closed with 4008, so memory per connection stays bounded whatever the client does.
final class Connection: Sendable {
    /// A frame waiting to be written; `eventID` is set for events (SSE writes it as the `id:` field).
    struct Outgoing: Sendable {
        var eventID: Int64?
        var text: String
    }

    let id: UUID
    let principal: Principal
    let frames: AsyncStream<Outgoing>
    private let continuation: AsyncStream<Outgoing>.Continuation
    private let state = Mutex(State())

    struct State {
        /// Per topic: the highest event id sent, and events held back while a replay runs.
        var topics: [String: TopicState] = [:]
        var ending: Ending?
    }

    /// Why the server ends a connection (the WebSocket close code says which).
    enum Ending: Sendable, Equatable {
        case tooSlow
        case sessionEnded

        var closeCode: UInt16 { self == .tooSlow ? RealtimeCloseCode.tooSlow : RealtimeCloseCode.sessionEnded }
        var reason: String { self == .tooSlow ? "too slow: the send queue is full" : "the session ended" }
    }

    struct TopicState {
        var lastSent: Int64
        var pending: [Outgoing]?
    }

    init(principal: Principal, capacity: Int) {
        id = UUID()
        self.principal = principal
        (frames, continuation) = AsyncStream.makeStream(of: Outgoing.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    var subscriptionCount: Int { state.withLock { $0.topics.count } }
    var ending: Ending? { state.withLock { $0.ending } }

    func isSubscribed(_ topic: String) -> Bool { state.withLock { $0.topics[topic] != nil } }

    /// Starts a subscription. With `replayingFrom`, live events are held back until ``finishReplay(_:)``.
    func subscribe(_ topic: String, replayingFrom lastEventId: Int64?) {
        state.withLock { $0.topics[topic] = TopicState(lastSent: lastEventId ?? 0, pending: lastEventId == nil ? nil : []) }
    }

    func unsubscribe(_ topic: String) {
        _ = state.withLock { $0.topics.removeValue(forKey: topic) }
    }

    /// A live event for `topic`: sent at once, held while a replay runs, dropped if already sent.
    func offer(_ topic: String, id: Int64, frame: String) {
        let send: Bool = state.withLock { state in
            guard var topicState = state.topics[topic] else { return false }
            if topicState.pending != nil {
                topicState.pending!.append(Outgoing(eventID: id, text: frame))
                state.topics[topic] = topicState
                return false
            }
            guard id > topicState.lastSent else { return false }
            topicState.lastSent = id
            state.topics[topic] = topicState
            return true
        }
        if send { enqueue(Outgoing(eventID: id, text: frame)) }
    }

    /// An event read back from the log during a replay.
    func replay(_ topic: String, id: Int64, frame: String) {
        let send: Bool = state.withLock { state in
            guard var topicState = state.topics[topic], id > topicState.lastSent else { return false }
            topicState.lastSent = id
            state.topics[topic] = topicState
            return true
        }
        if send { enqueue(Outgoing(eventID: id, text: frame)) }
    }

    /// Ends a replay: the live events that arrived meanwhile and are newer than the replay go out, in order.
    func finishReplay(_ topic: String) {
        let frames: [Outgoing] = state.withLock { state in
            guard var topicState = state.topics[topic], let pending = topicState.pending else { return [] }
            var out: [Outgoing] = []
            for event in pending.sorted(by: { ($0.eventID ?? 0) < ($1.eventID ?? 0) }) where (event.eventID ?? 0) > topicState.lastSent {
                topicState.lastSent = event.eventID ?? 0
                out.append(event)
            }
            topicState.pending = nil
            state.topics[topic] = topicState
            return out
        }
        for frame in frames { enqueue(frame) }
    }

    /// Queues a control frame (an answer, an error) for the writer.
    func enqueue(_ frame: String) {
        enqueue(Outgoing(eventID: nil, text: frame))
    }

    /// Queues a frame for the writer; a full queue marks the connection too slow and ends its stream.
    func enqueue(_ frame: Outgoing) {
        if case .dropped = continuation.yield(frame) { end(.tooSlow) }
    }

    /// Ends the connection from the server's side: its writer closes the socket with the ending's code.
    func end(_ ending: Ending) {
        state.withLock { if $0.ending == nil { $0.ending = ending } }
        continuation.finish()
    }

    func finish() {
        continuation.finish()
    }
}
