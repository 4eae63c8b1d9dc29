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
        engine.register(definition)
        let (completions, completed) = AsyncStream<Void>.makeStream()
        engine.observe { instance in if instance.state == "done" { completed.yield() } }
        for (activity, command) in [("bench.step1", "second"), ("bench.step2", "third"), ("bench.step3", "finish")] {
            engine.registerActivity(activity) { context in
                // The step's work would go here; its result moves the instance on in the transaction that
                // records the step's success.
                context.then(send: command, payload: ["step": .string(activity)])
            }
        }
        let worker = Task { try await plaza.worker.run() }
        let start = ContinuousClock.now
        func startOne() async throws {
            _ = try await plaza.store.transaction { transaction in
                try await engine.start("bench.three", owner: nil, caller: .console("bench"), in: transaction)
            }
        }
        var started = 0
        while started < min(concurrency, total) {
            try await startOne()
            started += 1
        }
        var done = 0
        for await _ in completions {
            done += 1
            if started < total {
                try await startOne()
                started += 1
            }
            if done == total { break }
        }
        let seconds = (ContinuousClock.now - start).timeInterval
        worker.cancel()
        _ = await worker.result
        return seconds
    }
}
