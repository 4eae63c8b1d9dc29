import Foundation
import Logging
import Metrics
import PlazaKit
import ServiceLifecycle
import Synchronization

/// Runs due jobs: claims as many as it has free slots, runs them concurrently, and sleeps until an
/// enqueue, a NOTIFY from another instance or the poll interval wakes it.
///
/// On graceful shutdown it stops claiming and waits for the jobs it is running to finish.
public final class JobWorker: Service, Sendable {
    public let id: String
    let queue: JobQueue
    let registry: JobRegistry
    let logger: Logger
    private let running = Mutex(0)

    public init(queue: JobQueue, registry: JobRegistry, logger: Logger, id: String = "worker-\(PlazaID.make().uuidString.prefix(13))") {
        self.queue = queue
        self.registry = registry
        self.logger = logger
        self.id = id
    }

    public func run() async throws {
        let wakeup = queue.wakeup
        // Jobs that finished since the last round; their completion rides on the next claim's transaction.
        let finished = JobList()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let free = queue.settings.concurrency - running.withLock { $0 }
                    let done = finished.takeAll()
                    var claimedAll = false
                    do {
                        let (completed, jobs) = try await queue.completeAndClaim(done, limit: max(0, free), worker: id)
                        if completed < done.count {
                            logger.warning(
                                "jobs finished after their lease passed to another worker", metadata: ["count": "\(done.count - completed)"])
                        }
                        claimedAll = free > 0 && jobs.count == free
                        for job in jobs {
                            running.withLock { $0 += 1 }
                            group.addTask {
                                if await self.execute(job) { finished.append(job) }
                                self.running.withLock { $0 -= 1 }
                                wakeup.ring()
                            }
                        }
                    } catch {
                        finished.append(contentsOf: done) // try those again next round
                        logger.error("job claim failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                    if claimedAll { continue } // there may be more due work
                    await wakeup.wait(timeout: queue.settings.pollInterval)
                }
                logger.info("job worker stopping", metadata: ["worker": "\(id)", "inFlight": "\(running.withLock { $0 })"])
            }
            // Every job has finished; record the last completions before the database closes.
            let done = finished.takeAll()
            if !done.isEmpty {
                do {
                    _ = try await queue.completeAndClaim(done, limit: 0, worker: id)
                } catch {
                    logger.error("could not record finished jobs at shutdown", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        } onGracefulShutdown: {
            wakeup.ring()
        }
    }

    /// Claims and runs due jobs one batch at a time until none is due; returns how many ran.
    /// Tests and the CLI use it to drain the queue without starting a service.
    @discardableResult
    public func runDue(limit: Int = 10_000) async throws -> Int {
        var ran = 0
        var done: [JobRecord] = []
        while true {
            let batch = min(max(1, queue.settings.concurrency), limit - ran)
            let (_, jobs) = try await queue.completeAndClaim(done, limit: max(0, batch), worker: id)
            done = []
            if jobs.isEmpty { break }
            let succeeded = JobList()
            await withDiscardingTaskGroup { group in
                for job in jobs {
                    group.addTask { if await self.execute(job) { succeeded.append(job) } }
                }
            }
            done = succeeded.takeAll()
            ran += jobs.count
        }
        return ran
    }

    /// Runs one job. A failure is recorded at once (retry or dead letter); a success is returned as
    /// `true` for the caller to record in its next batch.
    func execute(_ job: JobRecord) async -> Bool {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.id)"
        logger[metadataKey: "jobName"] = "\(job.name)"
        logger[metadataKey: "attempt"] = "\(job.attempts)"
        let context = JobContext(job: job, logger: logger, queue: queue, worker: id)
        let started = ContinuousClock.now
        let heartbeat = Task { [queue, id] in
            let interval = queue.settings.lease / 3
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                try await queue.extendLease(job, worker: id)
            }
        }
        defer { heartbeat.cancel() }
        do {
            guard let handler = registry.handler(for: job.name) else { throw UnknownJob(name: job.name) }
            try await handler(job, context)
            record(job, outcome: "succeeded", since: started)
            return true
        } catch {
            heartbeat.cancel()
            // reflecting: PostgresNIO hides details from plain descriptions, and operators need them here.
            let message = error is PlazaError ? String(describing: error) : String(reflecting: error)
            do {
                let state = try await queue.fail(job, worker: id, error: message)
                record(job, outcome: state == .dead ? "dead" : "retried", since: started)
                logger.warning("job failed", metadata: ["error": "\(message)", "state": "\(state?.rawValue ?? "lease lost")"])
            } catch {
                logger.error("could not record a job failure", metadata: ["error": "\(error)"])
            }
            return false
        }
    }

    private func record(_ job: JobRecord, outcome: String, since started: ContinuousClock.Instant) {
        let dimensions = [("queue", job.queue), ("name", job.name), ("outcome", outcome)]
        Counter(label: "plaza_jobs_processed_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "plaza_job_duration_seconds", dimensions: [("queue", job.queue), ("name", job.name)])
            .recordInterval(since: started)
    }
}

extension Metrics.Timer {
    func recordInterval(since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        recordNanoseconds(Int64(elapsed.timeInterval * 1e9))
    }
}

/// Jobs collected by concurrent tasks (the ones that finished, waiting to be recorded).
final class JobList: Sendable {
    private let jobs = Mutex<[JobRecord]>([])
    func append(_ job: JobRecord) { jobs.withLock { $0.append(job) } }
    func append(contentsOf more: [JobRecord]) { jobs.withLock { $0.append(contentsOf: more) } }
    func takeAll() -> [JobRecord] {
        jobs.withLock { list in
            defer { list.removeAll() }; return list
        }
    }
}
