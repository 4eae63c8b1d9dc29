import Foundation
import Jobs
import Logging
import ServiceLifecycle
import SQLKit
import Storage

/// Activities run in the process that scheduled them, right after the transition commits, instead of
/// waiting for a worker to find their jobs. The jobs are written already claimed by this process's inline
/// worker id, with a lease: if the process dies, the lease runs out and any worker runs them. At most `limit`
/// activities' code runs in process at once; the rest go to the queue as usual. On graceful shutdown no new
/// ones start, and those running finish and are recorded before the database closes.
struct InlineState {
    /// Whose claim the jobs carry; `nil` while activities do not run in process.
    var worker: String?
    var limit = 0
    /// Claimed or running activities' code (what the limit counts).
    var slots = 0
    /// Runs not finished yet, their results included (what shutdown waits for).
    var inFlight = 0
    var drained: [CheckedContinuation<Void, Never>] = []
}

extension WorkflowEngine {
    /// Starts running activities in process (the server's ``InlineActivities`` service does this).
    public func runActivitiesInline(worker: String, limit: Int) {
        inline.withLock { state in
            state.worker = worker
            state.limit = max(1, limit)
        }
    }

    /// Stops starting activities in process and waits for those running to finish and be recorded.
    public func stopRunningActivitiesInline() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = inline.withLock { state -> Bool in
                state.worker = nil
                guard state.inFlight > 0 else { return true }
                state.drained.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    /// Reserves up to `wanted` slots; returns the worker to claim for and how many were granted.
    func reserveInline(_ wanted: Int) -> (worker: String, granted: Int)? {
        inline.withLock { state in
            guard let worker = state.worker, wanted > 0 else { return nil }
            let granted = min(wanted, state.limit - state.slots)
            guard granted > 0 else { return nil }
            state.slots += granted
            state.inFlight += granted
            return (worker, granted)
        }
    }

    /// Gives back slots (a rolled-back schedule, a finished handler) and in-flight runs (a finished run).
    func releaseInline(slots: Int, inFlight: Int) {
        let waiters = inline.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.slots -= slots
            state.inFlight -= inFlight
            guard state.inFlight == 0 else { return [] }
            defer { state.drained.removeAll() }
            return state.drained
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Claims `jobs` for running in process as far as slots allow, in the scheduling transaction; the rest
    /// are queued. The claimed ones start once the transaction commits.
    func enqueueOrRunInline(
        _ jobs: [(job: JobRequest, record: ActivityRecord, instance: WorkflowInstance)], after preceding: [SQLQueryString],
        in transaction: Transaction
    ) async throws {
        guard let (worker, granted) = reserveInline(jobs.count) else {
            try await queue.enqueue(jobs.map(\.job), after: preceding, in: transaction)
            return
        }
        transaction.onRollback { [self] in releaseInline(slots: granted, inFlight: granted) }
        let mine = Array(jobs.prefix(granted))
        let claimed = try await queue.enqueueClaimed(mine.map(\.job), worker: worker, after: preceding, in: transaction)
        try await queue.enqueue(jobs.dropFirst(granted).map(\.job), in: transaction)
        // What each attempt needs to know, as this transaction wrote it: no read before it runs.
        let byKey = Dictionary(uniqueKeysWithValues: mine.compactMap { item in item.job.uniqueKey.map { ($0, item) } })
        transaction.onCommit { [self] in
            let unused = granted - claimed.count
            if unused > 0 { releaseInline(slots: unused, inFlight: unused) }
            for job in claimed {
                guard let item = job.uniqueKey.flatMap({ byKey[$0] }) else {
                    releaseInline(slots: 1, inFlight: 1)
                    continue
                }
                Task { await self.runInline(item.record, of: item.instance, job: job, worker: worker) }
            }
        }
    }

    /// Runs an activity this process scheduled and holds the job of, keeping the job's lease while it runs.
    /// Whatever goes wrong outside the activity's own code leaves the job to its lease: a worker runs it then.
    ///
    /// It runs on what the scheduling transaction wrote; if the instance is cancelled or moved meanwhile, the
    /// success records nothing (the version and the activity's status are checked when it is recorded).
    private func runInline(_ record: ActivityRecord, of instance: WorkflowInstance, job: JobRecord, worker: String) async {
        defer { releaseInline(slots: 0, inFlight: 1) }
        let queue = self.queue
        let heartbeat = Task {
            while true {
                do { try await Task.sleep(for: queue.settings.lease / 3) } catch { return }
                // A missed extension is tried again at the next beat; the lease outlasts two of them.
                try? await queue.extendLease(job, worker: worker)
            }
        }
        defer { heartbeat.cancel() }
        do {
            try await runActivity(record, of: instance, inlineJob: InlineJob(job: job, worker: worker))
        } catch {
            Logger(label: "plaza.workflows").warning(
                "an activity run in process did not finish; its job runs again when its lease ends",
                metadata: ["activity": "\(record.id)", "error": "\(String(reflecting: error))"])
        }
    }
}

/// The service `plaza serve` runs beside its job worker: activities run in process while it runs; on
/// graceful shutdown it waits for those running before the database closes.
public struct InlineActivities: Service {
    let engine: WorkflowEngine
    let worker: String
    let limit: Int

    public init(engine: WorkflowEngine, worker: String, limit: Int) {
        self.engine = engine
        self.worker = worker
        self.limit = limit
    }

    public func run() async throws {
        engine.runActivitiesInline(worker: worker, limit: limit)
        try? await gracefulShutdown()
        await engine.stopRunningActivitiesInline()
    }
}
