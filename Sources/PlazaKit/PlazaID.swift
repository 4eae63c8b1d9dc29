import Foundation
import Synchronization

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit counter, then random bits.
///
/// Ids sort by creation time, which keeps B-tree inserts local and lets lists page by id. Within one process
/// they are strictly increasing even inside one millisecond (RFC 9562 §6.2, method 1: the 12 `rand_a` bits
/// are a counter seeded at random each millisecond), so "newest first" by id matches creation order.
public enum PlazaID {
    /// Counters of the milliseconds ids were recently made for, least recently used evicted first. Keyed by
    /// millisecond rather than "the last one" so that clocks taking turns (the wall clock and a test clock)
    /// each stay ordered.
    private struct State {
        var counters: [UInt64: (counter: UInt16, used: UInt64)] = [:]
        var tick: UInt64 = 0

        mutating func next(for millis: UInt64, using rng: inout SystemRandomNumberGenerator) -> (UInt64, UInt16) {
            tick += 1
            var millis = millis
            while true {
                if let entry = counters[millis] {
                    guard entry.counter < 0xFFF else {
                        millis += 1 // 4,096 ids in one millisecond: borrow the next one
                        continue
                    }
                    counters[millis] = (entry.counter + 1, tick)
                    return (millis, entry.counter + 1)
                }
                if counters.count >= 1024 {
                    let keep = counters.sorted { $0.value.used > $1.value.used }.prefix(512)
                    counters = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
                let seed = UInt16.random(in: 0..<0x400, using: &rng) // leave room to count up
                counters[millis] = (seed, tick)
                return (millis, seed)
            }
        }
    }
    private static let state = Mutex(State())

    /// A new version-7 UUID for the given instant.
    public static func make(at date: Date = Date()) -> UUID {
        var rng = SystemRandomNumberGenerator()
        let wanted = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let (millis, counter) = state.withLock { $0.next(for: wanted, using: &rng) }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8((millis >> UInt64(8 * (5 - i))) & 0xFF) }
        bytes[6] = 0x70 | UInt8(counter >> 8) // version 7 and the counter's high bits
        bytes[7] = UInt8(counter & 0xFF)
        let random = rng.next() as UInt64
        for i in 8..<16 { bytes[i] = UInt8((random >> UInt64(8 * (i - 8))) & 0xFF) }
        bytes[8] = (bytes[8] & 0x3F) | 0x80 // RFC 9562 variant
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}
