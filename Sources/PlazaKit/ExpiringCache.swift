import Foundation
import Synchronization

/// Values by key until a time of their own, at most `capacity` of them: when full, what expired goes, and if
/// that is not enough, everything does (the next lookups miss and refill it). For principals behind a token or
/// a cookie, which are read far more often than they change.
public final class ExpiringCache<Value: Sendable>: Sendable {
    private struct Entry { var value: Value; var until: Date }
    private let entries = Mutex<[String: Entry]>([:])
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public func value(for key: String, at now: Date) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.until > now else {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func remember(_ value: Value, for key: String, until: Date, now: Date) {
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.until > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(value: value, until: until)
        }
    }

    public func remove(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// Forgets the values `matches` picks (a session whose standing changed).
    public func removeAll(where matches: (Value) -> Bool) {
        entries.withLock { entries in entries = entries.filter { !matches($0.value.value) } }
    }
}
