import Foundation
import PlazaKit
import Synchronization
import Testing

@Suite("withDeadline")
struct DeadlineTests {
    struct Boom: Error {}

    @Test("work that finishes in time answers with its value or its error")
    func finishes() async {
        // A minute, not seconds: the deadline's timer is a dispatch timer, independent of the task pool, and in the
        // full suite on two cores the pool has been busy for over five seconds at a time (seen 2026-12-07).
        guard case .finished(.success(let value)) = await withDeadline(.seconds(60), { 42 }) else {
            Issue.record("expected the value")
            return
        }
        #expect(value == 42)
        guard case .finished(.failure(let error)) = await withDeadline(.seconds(60), { () throws -> Int in throw Boom() }) else {
            Issue.record("expected the error")
            return
        }
        #expect(error is Boom)
    }

    @Test("work that ignores cancellation is left behind at the deadline, not waited for", .timeLimit(.minutes(1)))
    func abandons() async {
        final class Gate: Sendable { let open = Mutex(false); let ended = Mutex(false) }
        let gate = Gate()
        let started = ContinuousClock.now
        let outcome = await withDeadline(.milliseconds(100)) {
            // Blocking and deaf to cancellation, as careless activity code can be.
            while !gate.open.withLock({ $0 }) { usleep(2_000) }
            gate.ended.withLock { $0 = true }
        }
        let waited = ContinuousClock.now - started
        guard case .timedOut = outcome else {
            Issue.record("expected a timeout")
            return
        }
        #expect(waited < .seconds(5))
        #expect(!gate.ended.withLock { $0 }, "still running when the answer came")
        gate.open.withLock { $0 = true }
    }

    @Test("cancelling the caller cancels the work")
    func cancellation() async {
        final class Seen: Sendable { let cancelled = Mutex(false) }
        let seen = Seen()
        let caller = Task {
            await withDeadline(.seconds(30)) {
                do { try await Task.sleep(for: .seconds(30)) } catch { seen.cancelled.withLock { $0 = true }; throw error }
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        caller.cancel()
        guard case .finished(.failure(let error)) = await caller.value else {
            Issue.record("expected the work's cancellation")
            return
        }
        #expect(error is CancellationError)
        #expect(seen.cancelled.withLock { $0 })
    }
}
