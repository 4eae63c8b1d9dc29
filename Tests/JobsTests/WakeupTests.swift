import Foundation
import Jobs
import PlazaKit
import Synchronization
import Testing

@Suite("Wakeup: the doorbell of waiting loops")
struct WakeupTests {
    @Test("a wait ends when its task is cancelled, whether before it waits or while it waits")
    func cancelledWaitsEnd() async {
        let wakeup = Wakeup()
        let ended = Count()
        // Only cancellation can end these waits (an hour's timeout, no ring). The whole run is bounded: a wait
        // that never ends must fail the test, not hang the pass.
        let outcome = await withDeadline(.seconds(30)) {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<20_000 {
                    group.addTask {
                        if index.isMultiple(of: 2) { withUnsafeCurrentTask { $0?.cancel() } }
                        await wakeup.wait(timeout: .seconds(3_600))
                        ended.add()
                    }
                }
                group.cancelAll()
            }
        }
        #expect(ended.value == 20_000)
        if case .timedOut = outcome { Issue.record("cancelled waits did not end within 30 s") }
    }

    @Test("a ring wakes every waiter; a ring with nobody waiting is kept for the next wait, once")
    func ringing() async throws {
        let wakeup = Wakeup()
        let woken = Count()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await wakeup.wait(timeout: .seconds(3_600))
                    woken.add()
                }
            }
            // Ring until all three have been woken (a ring before a waiter registers is kept for one of them).
            let deadline = ContinuousClock.now + .seconds(20)
            while woken.value < 3, ContinuousClock.now < deadline {
                wakeup.ring()
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(woken.value == 3)
            group.cancelAll()
        }

        let fresh = Wakeup()
        fresh.ring()
        fresh.ring()
        let start = ContinuousClock.now
        await fresh.wait(timeout: .seconds(30))
        #expect(start.duration(to: .now) < .seconds(10), "the kept ring ends the first wait at once")
        let second = ContinuousClock.now
        await fresh.wait(timeout: .milliseconds(200))
        #expect(second.duration(to: .now) >= .milliseconds(200), "two rings with nobody waiting are kept once")
    }

    @Test("a wait nobody rings ends when its timeout passes")
    func timesOut() async {
        let wakeup = Wakeup()
        let start = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(100))
        let took = start.duration(to: .now)
        #expect(took >= .milliseconds(100) && took < .seconds(20))
    }
}

private final class Count: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
