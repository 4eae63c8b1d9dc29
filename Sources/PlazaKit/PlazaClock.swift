import Foundation

/// The source of "now" for anything that schedules: job leases, backoff, timers, token expiry.
///
/// Services take a clock in `init` so tests can move time forward instead of sleeping.
public protocol PlazaClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemClock: PlazaClock {
    public init() {}
    public func now() -> Date { Date() }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval` (for arithmetic with `Date`).
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
