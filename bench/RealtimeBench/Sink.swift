import NIOCore
import Synchronization

/// Microseconds on the monotonic clock both the publisher and the subscribers read.
func nowMicros() -> UInt64 { NIODeadline.now().uptimeNanoseconds / 1_000 }

/// Where every subscriber reports what it received; one lock taken per socket read, not per event.
final class Sink: Sendable {
    struct Samples {
        var sentAt: [UInt64] = []
        var latency: [UInt32] = []
    }

    private let samples = Mutex(Samples())
    let closed = Atomic<Int>(0)
    private let closeReasons = Mutex([String: Int]())

    func record(sentAt: [UInt64], receivedAt: UInt64) {
        guard !sentAt.isEmpty else { return }
        samples.withLock { samples in
            for sent in sentAt {
                samples.sentAt.append(sent)
                samples.latency.append(UInt32(clamping: receivedAt &- sent))
            }
        }
    }

    /// Everything received since the last call.
    func take() -> Samples {
        samples.withLock { samples in
            defer { samples = Samples() }
            return samples
        }
    }

    func connectionClosed(_ reason: String) {
        closed.add(1, ordering: .relaxed)
        closeReasons.withLock { $0[reason, default: 0] += 1 }
    }

    var closeSummary: String {
        closeReasons.withLock { reasons in
            reasons.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        }
    }
}
