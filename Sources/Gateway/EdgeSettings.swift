import Foundation
import PlazaKit

/// Configuration of the HTTP edge.
public struct EdgeSettings: Sendable, Equatable {
    /// The largest request body accepted, in bytes.
    public var maxBodySize: Int
    /// Origins allowed to call the API from a browser; `*` allows any origin (without credentials).
    public var corsOrigins: [String]
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (nginx in front of Plaza).
    public var trustedProxies: [IPAddressRange]
    /// Rate limit rules; the longest matching prefix applies.
    public var rateLimits: [RateLimitRule]
    /// The Content-Security-Policy sent with every response.
    public var contentSecurityPolicy: String
    /// Paths whose routes read their body as a stream and hold it to limits of their own (uploads):
    /// ``maxBodySize`` does not apply to them.
    public var streamingBodyPaths: Set<String> = ["/api/v1/files"]

    public init(
        maxBodySize: Int = 2 * 1024 * 1024, corsOrigins: [String] = [], trustedProxies: [IPAddressRange] = [],
        rateLimits: [RateLimitRule] = RateLimitRule.defaults,
        contentSecurityPolicy: String = EdgeSettings.strictCSP
    ) {
        self.maxBodySize = maxBodySize
        self.corsOrigins = corsOrigins
        self.trustedProxies = trustedProxies
        self.rateLimits = rateLimits
        self.contentSecurityPolicy = contentSecurityPolicy
    }

    /// Pages load only their own scripts, styles, images and sockets, and cannot be framed.
    public static let strictCSP =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}

/// A token bucket rule for requests whose path starts with `prefix`.
public struct RateLimitRule: Sendable, Equatable, CustomStringConvertible {
    public var prefix: String
    /// Burst size: how many requests a fresh client may make at once.
    public var capacity: Int
    /// The period over which `capacity` tokens refill.
    public var period: Duration

    public init(prefix: String, capacity: Int, period: Duration) {
        self.prefix = prefix
        self.capacity = capacity
        self.period = period
    }

    public var limit: RateLimit { RateLimit(capacity, per: period) }

    /// 600 API (and GraphQL) requests a minute per client; 20 a minute on the sign-in, sign-up, verification and
    /// reset routes of the API, and 30 on their pages (a page view and its post count alike).
    public static let defaults = [
        RateLimitRule(prefix: "/api/", capacity: 600, period: .seconds(60)),
        RateLimitRule(prefix: "/graphql", capacity: 600, period: .seconds(60)),
        RateLimitRule(prefix: "/api/v1/auth/", capacity: 20, period: .seconds(60)),
        RateLimitRule(prefix: "/sign-", capacity: 30, period: .seconds(60)),
        RateLimitRule(prefix: "/verify-email", capacity: 30, period: .seconds(60)),
        RateLimitRule(prefix: "/reset-password", capacity: 30, period: .seconds(60)),
    ]

    /// Parses `PREFIX=COUNT/PERIOD`, where PERIOD is `s`, `min`, `h` or a number with one of those units
    /// (`/api/=600/min`, `/api/v1/auth/=5/10s`).
    public init(parsing text: String) throws {
        struct Bad: Error, CustomStringConvertible { let description: String }
        let parts = text.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0].hasPrefix("/") else {
            throw Bad(description: "\"\(text)\" is not PREFIX=COUNT/PERIOD (for example /api/=600/min)")
        }
        let rate = parts[1].split(separator: "/", maxSplits: 1).map(String.init)
        guard rate.count == 2, let count = Int(rate[0]), count > 0 else {
            throw Bad(description: "\"\(parts[1])\" is not COUNT/PERIOD (for example 600/min)")
        }
        var unit = rate[1]
        var multiple = 1.0
        if let numberEnd = unit.firstIndex(where: { !$0.isNumber && $0 != "." }), numberEnd != unit.startIndex {
            multiple = Double(unit[..<numberEnd]) ?? 1
            unit = String(unit[numberEnd...])
        }
        let seconds: Double
        switch unit {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: throw Bad(description: "unknown period \"\(rate[1])\" (use s, min or h)")
        }
        self.init(prefix: parts[0], capacity: count, period: .milliseconds(Int64(seconds * multiple * 1000)))
    }

    public var description: String { "\(prefix)=\(capacity)/\(Int(period.timeInterval))s" }
}
