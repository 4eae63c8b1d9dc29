import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit
import Synchronization

/// In-memory token buckets. Each instance keeps its own: with N instances behind a balancer a client gets
/// up to N times the configured rate, which keeps the hot path free of database writes.
public final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
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

    /// Takes one token from `key`'s bucket under `rule`.
    public func take(_ key: String, rule: RateLimitRule, now: ContinuousClock.Instant = .now) -> Decision {
        let refill = rule.refillPerSecond
        let capacity = Double(rule.capacity)
        return buckets.withLock { buckets in
            if buckets.count >= maxKeys { Self.evictFull(&buckets, now: now, refill: refill, capacity: capacity) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
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
    private static func evictFull(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant, refill: Double, capacity: Double) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + (now - bucket.updated).timeInterval * refill < capacity
        }
    }
}

/// Applies the longest-prefix rule to each request: per user when signed in, per client IP otherwise.
public struct RateLimitMiddleware<Context: PlazaRequestContext>: RouterMiddleware {
    let rules: [RateLimitRule]
    let limiter: RateLimiter

    public init(rules: [RateLimitRule], limiter: RateLimiter = RateLimiter()) {
        self.rules = rules.sorted { $0.prefix.count > $1.prefix.count }
        self.limiter = limiter
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let rule = rules.first(where: { path.hasPrefix($0.prefix) }) else {
            return try await next(request, context)
        }
        let subject = context.principal.map { "user:\($0.id)" } ?? "ip:\(context.client.ip)"
        switch limiter.take("\(rule.prefix)|\(subject)", rule: rule) {
        case .allowed(let remaining):
            var response = try await next(request, context)
            response.headers[.rateLimitLimit] = String(rule.capacity)
            response.headers[.rateLimitRemaining] = String(remaining)
            return response
        case .limited(let retryAfter):
            throw PlazaError(
                .tooManyRequests, code: "rate-limited", title: "Too many requests",
                detail: "Slow down: at most \(rule.capacity) requests per \(Int(rule.period.timeInterval)) seconds. Try again in \(retryAfter) s.",
                headers: ["Retry-After": String(retryAfter)])
        }
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
}
