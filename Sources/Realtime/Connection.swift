import Foundation
import PlazaKit
import Synchronization

/// One client's connection: what it is subscribed to and a bounded queue of frames waiting to be written.
///
/// Frames go into an `AsyncStream` that keeps at most `capacity` of them; the writer task drains it into the
/// socket. When a frame does not fit, the client is too slow: the stream is finished and the connection is
/// closed with 4008, so memory per connection stays bounded whatever the client does.
final class Connection: Sendable {
    let id: UUID
    let principal: Principal
    let frames: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let state = Mutex(State())

    struct State {
        /// Per topic: the highest event id sent, and events held back while a replay runs.
        var topics: [String: TopicState] = [:]
        var overflowed = false
    }

    struct TopicState {
        var lastSent: Int64
        var pending: [(id: Int64, frame: String)]?
    }

    init(principal: Principal, capacity: Int) {
        id = UUID()
        self.principal = principal
        (frames, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    var subscriptionCount: Int { state.withLock { $0.topics.count } }
    var overflowed: Bool { state.withLock { $0.overflowed } }

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
                topicState.pending!.append((id, frame))
                state.topics[topic] = topicState
                return false
            }
            guard id > topicState.lastSent else { return false }
            topicState.lastSent = id
            state.topics[topic] = topicState
            return true
        }
        if send { enqueue(frame) }
    }

    /// An event read back from the log during a replay.
    func replay(_ topic: String, id: Int64, frame: String) {
        let send: Bool = state.withLock { state in
            guard var topicState = state.topics[topic], id > topicState.lastSent else { return false }
            topicState.lastSent = id
            state.topics[topic] = topicState
            return true
        }
        if send { enqueue(frame) }
    }

    /// Ends a replay: the live events that arrived meanwhile and are newer than the replay go out, in order.
    func finishReplay(_ topic: String) {
        let frames: [String] = state.withLock { state in
            guard var topicState = state.topics[topic], let pending = topicState.pending else { return [] }
            var out: [String] = []
            for event in pending.sorted(by: { $0.id < $1.id }) where event.id > topicState.lastSent {
                topicState.lastSent = event.id
                out.append(event.frame)
            }
            topicState.pending = nil
            state.topics[topic] = topicState
            return out
        }
        for frame in frames { enqueue(frame) }
    }

    /// Queues a frame for the writer; a full queue marks the connection too slow and ends its stream.
    func enqueue(_ frame: String) {
        if case .dropped = continuation.yield(frame) {
            state.withLock { $0.overflowed = true }
            continuation.finish()
        }
    }

    func finish() {
        continuation.finish()
    }
}
