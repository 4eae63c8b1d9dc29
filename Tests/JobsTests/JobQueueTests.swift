import Foundation
import Jobs
import Logging
import PlazaKit
import PlazaServer
import PlazaTesting
import ServiceLifecycle
import SQLKit
import Storage
import Synchronization
import Testing

struct Numbered: Codable, Sendable { var n: Int }

@Suite("Job queue")
struct JobQueueTests {
    struct Abort: Error {}
    struct Failure: Error, CustomStringConvertible { var description: String { "the printer is on fire" } }

    @Test("a failing job is retried with growing backoff, then dead-lettered with its last error")
    func retriesThenDeadLetters() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock) { plaza in
            let attempts = Mutex(0)
            try plaza.jobRegistry.register("test.fail") { _, _ in
                attempts.withLock { $0 += 1 }
                throw Failure()
            }
            let id = try #require(try await plaza.queue.enqueue(try JobRequest("test.fail", payload: Numbered(n: 1), maxAttempts: 3)))

            #expect(try await plaza.worker.runDue() == 1)
            var job = try #require(try await plaza.queue.find(id))
            #expect(job.state == .pending)
            #expect(job.attempts == 1)
            // First retry waits base × 2⁰ = 2 s, jittered to 1–2 s.
            let firstDelay = job.runAt.timeIntervalSince(clock.now())
            #expect(firstDelay >= 1 && firstDelay <= 2)
            #expect(try await plaza.worker.runDue() == 0, "not due yet")

            clock.advance(by: 2)
            #expect(try await plaza.worker.runDue() == 1)
            job = try #require(try await plaza.queue.find(id))
            let secondDelay = job.runAt.timeIntervalSince(clock.now())
            #expect(secondDelay >= 2 && secondDelay <= 4)

            clock.advance(by: 4)
            #expect(try await plaza.worker.runDue() == 1)
            job = try #require(try await plaza.queue.find(id))
            #expect(job.state == .dead)
            #expect(job.attempts == 3)
            #expect(job.lastError?.contains("the printer is on fire") == true)
            #expect(job.finishedAt != nil)
            clock.advance(by: 3600)
            #expect(try await plaza.worker.runDue() == 0, "dead jobs stay dead")
            #expect(attempts.withLock { $0 } == 3)

            // An operator puts it back in line with fresh attempts.
            let retried = try await plaza.queue.retry(id, caller: .system("test"))
            #expect(retried.state == .pending)
            #expect(retried.attempts == 0)
        }
    }

    @Test("backoff doubles per attempt and stops at the cap")
    func backoffGrowsAndCaps() {
        let base = Duration.seconds(2)
        let cap = Duration.seconds(60)
        #expect(JobQueue.backoff(attempt: 1, base: base, cap: cap, jitter: 1) == 2)
        #expect(JobQueue.backoff(attempt: 2, base: base, cap: cap, jitter: 1) == 4)
        #expect(JobQueue.backoff(attempt: 4, base: base, cap: cap, jitter: 1) == 16)
        #expect(JobQueue.backoff(attempt: 30, base: base, cap: cap, jitter: 1) == 60)
        #expect(JobQueue.backoff(attempt: 3, base: base, cap: cap, jitter: 0.5) == 4)
    }

    @Test("a job whose worker died runs again once its lease expires")
    func expiredLeaseIsTakenOver() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock, configure: { $0.jobs.lease = .seconds(30) }) { plaza in
            let ran = Mutex(0)
            try plaza.jobRegistry.register("test.work") { _, _ in ran.withLock { $0 += 1 } }
            let id = try #require(try await plaza.queue.enqueue(try JobRequest("test.work", payload: Numbered(n: 1))))
            // A worker claims the job and dies without finishing it.
            let claimed = try await plaza.queue.claim(limit: 1, worker: "ghost")
            #expect(claimed.map(\.id) == [id])

            #expect(try await plaza.worker.runDue() == 0, "the lease still holds")
            clock.advance(by: 31)
            #expect(try await plaza.worker.runDue() == 1)
            let job = try #require(try await plaza.queue.find(id))
            #expect(job.state == .succeeded)
            #expect(job.attempts == 2)
            #expect(ran.withLock { $0 } == 1)
            // The ghost coming back cannot finish a job it no longer holds.
            #expect(try await plaza.queue.complete(claimed[0], worker: "ghost") == false)
        }
    }

    @Test("a job whose worker died on its last attempt is dead-lettered, not run again")
    func expiredLeaseOnLastAttemptDies() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock, configure: { $0.jobs.lease = .seconds(30) }) { plaza in
            try plaza.jobRegistry.register("test.work") { _, _ in }
            let id = try #require(try await plaza.queue.enqueue(try JobRequest("test.work", payload: Numbered(n: 1), maxAttempts: 1)))
            _ = try await plaza.queue.claim(limit: 1, worker: "ghost")
            clock.advance(by: 31)
            #expect(try await plaza.worker.runDue() == 0)
            let job = try #require(try await plaza.queue.find(id))
            #expect(job.state == .dead)
            #expect(job.lastError?.contains("lease expired") == true)
        }
    }

    @Test("a unique key drops the duplicate")
    func uniqueKeyDropsDuplicates() async throws {
        try await withTestPlaza { plaza in
            let first = try await plaza.queue.enqueue(try JobRequest("test.once", payload: Numbered(n: 1), uniqueKey: "order-42"))
            let second = try await plaza.queue.enqueue(try JobRequest("test.once", payload: Numbered(n: 2), uniqueKey: "order-42"))
            let other = try await plaza.queue.enqueue(try JobRequest("test.once", payload: Numbered(n: 3), uniqueKey: "order-43"))
            #expect(first != nil)
            #expect(second == nil)
            #expect(other != nil)
            #expect(try await plaza.queue.list(JobFilter(name: "test.once")).items.count == 2)
        }
    }

    @Test("a job enqueued in a rolled-back transaction never exists")
    func enqueueIsTransactional() async throws {
        try await withTestPlaza { (plaza: Plaza) async throws in
            await #expect(throws: Abort.self) {
                try await plaza.store.transaction { transaction in
                    try await plaza.queue.enqueue(try JobRequest("test.never", payload: Numbered(n: 1)), in: transaction)
                    throw Abort()
                }
            }
            #expect(try await plaza.queue.list(JobFilter(name: "test.never")).items.isEmpty)
        }
    }

    @Test("higher priority and earlier runAt go first; other queues are left alone")
    func priorityAndQueues() async throws {
        try await withTestPlaza { plaza in
            try await plaza.queue.enqueue(try JobRequest("low", payload: Numbered(n: 1), priority: 0))
            try await plaza.queue.enqueue(try JobRequest("high", payload: Numbered(n: 2), priority: 10))
            try await plaza.queue.enqueue(try JobRequest("mail", payload: Numbered(n: 3), queue: "mail", priority: 99))
            let claimed = try await plaza.queue.claim(limit: 5, worker: "w", queues: ["default"])
            #expect(claimed.map(\.name) == ["high", "low"])
        }
    }

    @Test("two workers sharing one database never run one job at the same time")
    func twoWorkersNeverOverlap() async throws {
        try await withTestPlaza(configure: { $0.jobs.concurrency = 6 }) { plaza in
            let total = 240
            let running = Mutex<Set<Int>>([])
            let runs = Mutex<[Int: Int]>([:])
            let overlaps = Mutex(0)
            let handler: @Sendable (Numbered, JobContext) async throws -> Void = { payload, _ in
                let clash = running.withLock { !$0.insert(payload.n).inserted }
                if clash { overlaps.withLock { $0 += 1 } }
                try await Task.sleep(for: .milliseconds(1))
                running.withLock { _ = $0.remove(payload.n) }
                runs.withLock { $0[payload.n, default: 0] += 1 }
            }
            try plaza.jobRegistry.register("test.count", payload: Numbered.self, handler: handler)
            try await plaza.store.transaction { transaction in
                for n in 0..<total { try await plaza.queue.enqueue(try JobRequest("test.count", payload: Numbered(n: n)), in: transaction) }
            }
            // A second "process": its own connection pool, queue, registry and worker on the same database.
            let otherStore = try await Store.open(plaza.store.settings, logger: plaza.logger)
            let otherRegistry = JobRegistry()
            try otherRegistry.register("test.count", payload: Numbered.self, handler: handler)
            let otherWorker = JobWorker(
                queue: JobQueue(store: otherStore, settings: plaza.queue.settings), registry: otherRegistry, logger: plaza.logger)
            do {
                async let first = plaza.worker.runDue()
                async let second = otherWorker.runDue()
                let (a, b) = try await (first, second)
                #expect(a + b == total)
                #expect(a > 0 && b > 0, "both workers took part (\(a) and \(b))")
            } catch {
                await otherStore.shutdown()
                throw error
            }
            await otherStore.shutdown()
            #expect(overlaps.withLock { $0 } == 0)
            let counts = runs.withLock { $0 }
            #expect(counts.count == total)
            #expect(counts.values.allSatisfy { $0 == 1 })
            let stats = try await plaza.queue.stats()
            #expect(stats.first { $0.state == .succeeded }?.count == total)
        }
    }

    @Test("on graceful shutdown the worker stops claiming and finishes the job it is running")
    func gracefulShutdownFinishesInFlightJobs() async throws {
        try await withTestPlaza { plaza in
            let started = Wakeup()
            let finished = Mutex(false)
            try plaza.jobRegistry.register("test.slow") { _, _ in
                started.ring()
                try await Task.sleep(for: .milliseconds(300))
                finished.withLock { $0 = true }
            }
            let id = try #require(try await plaza.queue.enqueue(try JobRequest("test.slow", payload: Numbered(n: 1))))
            let group = ServiceGroup(configuration: .init(services: [plaza.worker], logger: plaza.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                await started.wait(timeout: .seconds(10))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(finished.withLock { $0 })
            #expect(try await plaza.queue.find(id)?.state == .succeeded)
        }
    }

    @Test("the operator can cancel a waiting job and purge finished ones, and both are audited")
    func cancelAndPurge() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock) { plaza in
            try plaza.jobRegistry.register("test.ok") { _, _ in }
            let waiting = try #require(
                try await plaza.queue.enqueue(try JobRequest("test.ok", payload: Numbered(n: 1), runAt: clock.now().addingTimeInterval(3600))))
            try await plaza.queue.enqueue(try JobRequest("test.ok", payload: Numbered(n: 2)))
            try await plaza.worker.runDue()
            let cancelled = try await plaza.queue.cancel(waiting, caller: .system("test"))
            #expect(cancelled.state == .cancelled)
            await #expect(throws: PlazaError.self) { try await plaza.queue.cancel(waiting, caller: .system("test")) }
            await #expect(throws: PlazaError.self) { try await plaza.queue.retry(UUID(), caller: .system("test")) }
            clock.advance(by: 10)
            #expect(try await plaza.queue.purge(finishedBefore: clock.now(), caller: .system("test")) == 2)
            #expect(try await plaza.queue.stats().isEmpty)
            let audited = try await plaza.store.sql.raw("SELECT action FROM plaza_audit_log ORDER BY id").all()
                .map { try $0.decode(column: "action", as: String.self) }
            #expect(audited == ["jobs.job.cancel", "jobs.job.purge"])
        }
    }
}
