import Foundation
import Synchronization

/// In-memory token buckets. Each instance keeps its own: with N instances behind a balancer a client gets
/// up to N times the configured rate, which keeps the hot path free of database writes.
public final class RateLimiter: Sendable {
    /// One key's tokens, with its own rule's size and refill: buckets of different rules share the map.
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var capacity: Double
        var refill: Double
    }

    public enum Decision: Equatable, Sendable {
        case allowed(remaining: Int)
        /// Refused; the client may try again after this many seconds.
        case limited(retryAfter: Int)
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxKeys: Int

    public init(maxKeys: Int = 100_000) {
        self.maxKeys = maxKeys
    }

    /// Takes one token from `key`'s bucket, which holds `limit.capacity` tokens refilled over `limit.period`.
    public func take(_ key: String, limit: RateLimit, now: ContinuousClock.Instant = .now) -> Decision {
        let refill = limit.refillPerSecond
        let capacity = Double(limit.capacity)
        return buckets.withLock { buckets in
            if buckets.count >= maxKeys { Self.evictFull(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now, capacity: capacity, refill: refill)
            let elapsed = (now - bucket.updated).timeInterval
            bucket.tokens = min(capacity, bucket.tokens + max(0, elapsed) * refill)
            bucket.updated = now
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .allowed(remaining: Int(bucket.tokens))
            }
            let wait = (1 - bucket.tokens) / refill
            return .limited(retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }

    /// Drops buckets that have refilled completely: forgetting them changes nothing.
    private static func evictFull(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + (now - bucket.updated).timeInterval * bucket.refill < bucket.capacity
        }
    }
}

/// `capacity` requests per `period` for each signed-in person (each client address when signed out): a route's own
/// limit (``Endpoint/rateLimit``), or the edge's for a path prefix.
public struct RateLimit: Sendable, Equatable {
    public var capacity: Int
    public var period: Duration

    public init(_ capacity: Int, per period: Duration) {
        self.capacity = capacity
        self.period = period
    }

    public var refillPerSecond: Double { Double(capacity) / max(period.timeInterval, 0.001) }

    /// The 429 a limited request gets.
    public func refusal(retryAfter: Int) -> PlazaError {
        PlazaError(
            .tooManyRequests, code: "rate-limited", title: "Too many requests",
            detail: "Slow down: at most \(capacity) requests per \(Int(period.timeInterval)) seconds. Try again in \(retryAfter) s.",
            headers: ["Retry-After": String(retryAfter)])
    }
}
