import Foundation
import PlazaKit
import PlazaServer
import Synchronization
import Workflows

/// `plaza-bench workflows`: durable three-step workflows completed per second, the Plaza side of
/// bench/workflows.sh (DBOS runs the same workflow from bench/workflows_dbos.py).
///
/// A workflow is an instance of `bench.three`: each of its three steps is an activity (a job with its retry
/// policy) whose handler records the step's result by sending the next command, so every step's outcome is
/// committed before the next begins; the workflow is complete when the `finish` transition has committed.
/// `concurrency` workflows are in flight at once, as DBOS's thread pool runs them.
enum WorkflowBench {
    static let definition = WorkflowDefinition(
        name: "bench.three", initial: "first", states: ["first", "second", "third", "done"], final: ["done"],
        transitions: [
            .init("second", from: ["first"], to: "second", guard: WorkflowPolicy.operate, activities: [ActivitySpec("bench.step2")]),
            .init("third", from: ["second"], to: "third", guard: WorkflowPolicy.operate, activities: [ActivitySpec("bench.step3")]),
            .init("finish", from: ["third"], to: "done", guard: WorkflowPolicy.operate),
        ],
        startActivities: [ActivitySpec("bench.step1")])

    static func run(plaza: Plaza, total: Int, concurrency: Int) async throws -> Double {
        let engine = plaza.workflows
        try engine.register(definition)
        let current = Mutex(Waiting())
        engine.observe { instance in if instance.state == "done" { current.withLock { $0 }.finish(instance.id) } }
        for (activity, command) in [("bench.step1", "second"), ("bench.step2", "third"), ("bench.step3", "finish")] {
            try engine.registerActivity(activity) { context in
                // The step's work would go here; its result moves the instance on in the transaction that
                // records the step's success.
                context.then(send: command, payload: ["step": .string(activity)])
            }
        }
        // As `plaza serve` runs them: activities in process after their transition commits, the worker for the rest.
        engine.runActivitiesInline(worker: "\(plaza.worker.id)-inline", limit: concurrency)
        let worker = Task { try await plaza.worker.run() }
        // Warm-up, as bench/workflows_dbos.py's: connections opened, statements met once.
        try await drive(50, concurrency: concurrency, plaza: plaza, waiting: current.withLock { $0 })
        let waiting = Waiting()
        current.withLock { $0 = waiting }
        let totalsBefore = plaza.store.groupCommitTotals
        let start = ContinuousClock.now
        try await drive(total, concurrency: concurrency, plaza: plaza, waiting: waiting)
        let seconds = (ContinuousClock.now - start).timeInterval
        if let totals = plaza.store.groupCommitTotals, let before = totalsBefore {
            let (writes, batches) = (totals.writes - before.writes, totals.batches - before.batches)
            FileHandle.standardError.write(Data("group commit: \(writes) writes in \(batches) transactions\n".utf8))
        }
        worker.cancel()
        _ = await worker.result
        return seconds
    }

    /// Runs `total` workflows, `concurrency` clients each starting one and waiting for it to complete, then
    /// the next — as DBOS's thread pool runs them.
    static func drive(_ total: Int, concurrency: Int, plaza: Plaza, waiting: Waiting) async throws {
        let engine = plaza.workflows
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while waiting.counter.withLock({ value -> Bool in
                        defer { value += 1 }; return value < total
                    }) {
                        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                            Task {
                                do {
                                    let instance = try await engine.start("bench.three", owner: nil, caller: .console("bench"))
                                    waiting.wait(for: instance.id, continuation)
                                } catch {
                                    continuation.resume(throwing: error)
                                }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Clients waiting for their workflow to complete. A completion may be seen before its client starts
    /// waiting (the observer runs right after the commit), so both orders are handled.
    final class Waiting: Sendable {
        private let state = Mutex<(waiters: [UUID: CheckedContinuation<Void, any Error>], done: Set<UUID>)>(([:], []))
        /// The next workflow a client takes.
        let counter = Mutex(0)

        func wait(for id: UUID, _ continuation: CheckedContinuation<Void, any Error>) {
            let finished = state.withLock { state -> Bool in
                if state.done.remove(id) != nil { return true }
                state.waiters[id] = continuation
                return false
            }
            if finished { continuation.resume() }
        }

        func finish(_ id: UUID) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.done.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
