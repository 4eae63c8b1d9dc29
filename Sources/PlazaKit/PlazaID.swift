import Foundation
import Synchronization

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit counter, then random bits.
///
/// Ids sort by creation time, which keeps B-tree inserts local and lets lists page by id. Within one process
/// they are strictly increasing even inside one millisecond (RFC 9562 §6.2, method 1: the 12 `rand_a` bits
/// are a counter seeded at random each millisecond), so "newest first" by id matches creation order.
public enum PlazaID {
    private struct State {
        var millis: UInt64 = 0
        var counter: UInt16 = 0
    }
    private static let state = Mutex(State())

    /// A new version-7 UUID for the given instant.
    public static func make(at date: Date = Date()) -> UUID {
        var rng = SystemRandomNumberGenerator()
        let wanted = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let (millis, counter) = state.withLock { state -> (UInt64, UInt16) in
            if wanted > state.millis {
                state.millis = wanted
                state.counter = UInt16.random(in: 0..<0x400, using: &rng)  // leave room to count up
            } else if state.counter < 0xFFF {
                state.counter += 1
            } else {
                // The counter ran out within one millisecond: borrow the next millisecond.
                state.millis += 1
                state.counter = 0
            }
            return (state.millis, state.counter)
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8((millis >> UInt64(8 * (5 - i))) & 0xFF) }
        bytes[6] = 0x70 | UInt8(counter >> 8)  // version 7 and the counter's high bits
        bytes[7] = UInt8(counter & 0xFF)
        let random = rng.next() as UInt64
        for i in 8..<16 { bytes[i] = UInt8((random >> UInt64(8 * (i - 8))) & 0xFF) }
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }
}
