import Foundation
import PlazaKit
import Synchronization

/// How a subscriber hears an event.
public enum Delivery: String, Sendable {
    /// On every instance, as soon as the event is numbered, at most once per instance (pushing to
    /// connected WebSockets, clearing a cache). Failures are logged, not retried.
    case broadcast
    /// Exactly once across all instances, as a durable job with retries (sending an email, indexing).
    case work
}

/// A module's interest in some topics.
public struct Subscription: Sendable {
    public var name: String
    /// Exact topics, or prefixes ending in `*` (`booking.*`); `*` alone matches everything.
    public var topics: [String]
    public var delivery: Delivery
    public var handler: @Sendable (EventEnvelope) async throws -> Void

    public init(_ name: String, topics: [String], delivery: Delivery, handler: @escaping @Sendable (EventEnvelope) async throws -> Void) {
        self.name = name
        self.topics = topics
        self.delivery = delivery
        self.handler = handler
    }

    public func matches(_ topic: String) -> Bool {
        topics.contains { pattern in
            pattern.hasSuffix("*") ? topic.hasPrefix(pattern.dropLast()) : pattern == topic
        }
    }
}

/// The subscribers of this process. Modules subscribe at start-up; the dispatcher reads it.
public final class EventBus: Sendable {
    private let subscriptions = Registry<Subscription>("subscription")
    public init() {}

    /// Adds a subscriber; a name subscribed before throws ``DuplicateName`` (its work jobs are keyed by it).
    public func subscribe(_ subscription: Subscription, owner: String = #fileID) throws {
        try subscriptions.add(subscription.name, subscription, owner: owner)
    }

    public func subscribers(of topic: String, delivery: Delivery) -> [Subscription] {
        subscriptions.values.filter { $0.delivery == delivery && $0.matches(topic) }
    }

    public func subscriber(named name: String) -> Subscription? { subscriptions[name] }
}
