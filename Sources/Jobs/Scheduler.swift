import Foundation
import Logging
import PlazaKit
import ServiceLifecycle

/// A job that recurs on a cron schedule.
public struct RecurringJob: Sendable {
    public var name: String
    public var schedule: CronSchedule
    public var queue: String
    /// Makes the payload for the occurrence at the given time.
    public var payload: @Sendable (Date) throws -> String

    public init(_ name: String, schedule: CronSchedule, queue: String = "default") {
        self.name = name
        self.schedule = schedule
        self.queue = queue
        self.payload = { date in
            String(decoding: try PlazaJSON.encoder().encode(["scheduledFor": date]), as: UTF8.self)
        }
    }
}

/// Keeps the next occurrence of every recurring job enqueued.
///
/// Every instance runs one; the unique key `cron:<name>:<time>` makes the others' enqueues no-ops, so each
/// occurrence runs once. Occurrences missed while no instance ran are not made up.
public final class Scheduler: Service, Sendable {
    public let jobs: [RecurringJob]
    let queue: JobQueue
    let logger: Logger
    let interval: Duration

    public init(jobs: [RecurringJob], queue: JobQueue, logger: Logger, interval: Duration = .seconds(30)) {
        self.jobs = jobs
        self.queue = queue
        self.logger = logger
        self.interval = interval
    }

    /// Enqueues each job's next occurrence; returns how many were new.
    @discardableResult
    public func tick() async throws -> Int {
        let now = queue.store.clock.now()
        var enqueued = 0
        for job in jobs {
            guard let next = job.schedule.next(after: now) else { continue }
            var request = try JobRequest(
                job.name, payload: [String: String](), queue: job.queue, runAt: next,
                uniqueKey: "cron:\(job.name):\(Int(next.timeIntervalSince1970))")
            request.payload = try job.payload(next)
            if try await queue.enqueue(request) != nil { enqueued += 1 }
        }
        return enqueued
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await tick()
            } catch {
                logger.error("scheduler tick failed", metadata: ["error": "\(error)"])
            }
            _ = try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }
}
