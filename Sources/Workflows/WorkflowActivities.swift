import Foundation
import Jobs
import Logging
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// What an activity's code knows when it runs, and what it asks for next.
public struct ActivityContext: Sendable {
    public let instance: WorkflowInstance
    public let activity: String
    /// The same on every attempt of this activity for this transition: pass it to outside services
    /// (a payment provider's `Idempotency-Key`) so that an attempt repeated after a crash changes nothing.
    public let idempotencyKey: String
    /// 1 for the first attempt.
    public let attempt: Int
    let followUp = FollowUpSlot()

    struct FollowUp: Sendable {
        var command: String
        var payload: JSONValue?
    }

    /// Where ``then(send:payload:)`` leaves its command for the engine (the context is a value; this is shared).
    final class FollowUpSlot: Sendable {
        let value = Mutex<FollowUp?>(nil)
    }

    /// Moves the instance on when the activity succeeds: `command` is sent in the same transaction that
    /// records the success (so the step's result and the next step commit together, or neither does). If the
    /// instance no longer takes the command by then, the activity still succeeds and nothing is sent.
    public func then(send command: String, payload: JSONValue? = nil) {
        followUp.value.withLock { $0 = FollowUp(command: command, payload: payload) }
    }
}

public typealias ActivityHandler = @Sendable (ActivityContext) async throws -> Void

/// Thrown by an activity that must not be retried (a card declined, an address that does not exist).
public enum ActivityFailure: Error, CustomStringConvertible {
    case permanent(String)
    case timedOut(Duration)

    public var description: String {
        switch self {
        case .permanent(let reason): reason
        case .timedOut(let limit): "timed out after \(limit)"
        }
    }
}

/// An activity of an instance, as operators see it.
public struct ActivityRecord: Codable, Sendable, Equatable {
    /// `scheduled` until an attempt succeeds or the last one fails (the job queue shows which attempt is
    /// running now).
    public enum Status: String, Codable, Sendable { case scheduled, succeeded, failed, cancelled }
    public var id: UUID
    public var instanceId: UUID
    public var version: Int
    public var name: String
    public var status: Status
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
}

extension WorkflowEngine {
    static let activityJob = "workflows.activity"
    static let timerJob = "workflows.timer"

    struct ActivityJob: Codable, Sendable { var activityId: UUID }
    struct TimerJob: Codable, Sendable { var timerId: UUID }

    /// The code behind an activity name used in definitions.
    /// Registers the code of an activity; a name registered before throws ``DuplicateName``.
    public func registerActivity(_ name: String, owner: String = #fileID, _ handler: @escaping ActivityHandler) throws {
        try activityHandlers.add(name, handler, owner: owner)
    }

    /// Registers the engine's jobs: activities (each attempt a job), timers and signals.
    public func register(in registry: JobRegistry) throws {
        try registry.register(Self.activityJob, payload: ActivityJob.self) { [self] job, _ in try await runActivity(job.activityId) }
        try registry.register(Self.timerJob, payload: TimerJob.self) { [self] job, _ in try await fireTimer(job.timerId) }
        try registry.register(Self.signalJob, payload: SignalJob.self) { [self] job, _ in try await deliver(job) }
    }

    /// What entering a state starts for one instance (as it is after the step).
    struct Entry {
        var activities: [ActivitySpec]
        var timers: [TimerSpec]
        var signals: [SignalSpec]
        var instance: WorkflowInstance
    }

    /// Records and queues what taking transitions starts, in their transaction: the activities of every
    /// instance in one statement and their jobs in another, sent in one round trip with `preceding`
    /// statements of the caller's that nothing here reads (a start's instance and first step, a step's
    /// history; see ``Transaction/run(together:)``).
    func schedule(_ entries: [Entry], after preceding: [SQLQueryString] = [], in transaction: Transaction) async throws {
        let now = transaction.clock.now()
        var preceding = preceding
        var rows: [(id: UUID, entry: Entry, spec: ActivitySpec)] = []
        for entry in entries {
            if !entry.signals.isEmpty || !entry.timers.isEmpty {
                // Signals and timers are written on their own, after what they refer to.
                try await transaction.run(together: preceding)
                preceding = []
            }
            try await enqueue(entry.signals, from: entry.instance.id, version: entry.instance.version, in: transaction)
            for activity in entry.activities { rows.append((PlazaID.make(at: now), entry, activity)) }
            for timer in entry.timers { try await schedule(timer, for: entry.instance.id, version: entry.instance.version, in: transaction) }
        }
        guard !rows.isEmpty else {
            try await transaction.run(together: preceding)
            return
        }
        var sql: SQLQueryString =
            "INSERT INTO workflow_activities (id, instance_id, version, name, status, attempts, max_attempts, policy_attempts, "
            + "created_at, updated_at) VALUES "
        for (index, row) in rows.enumerated() {
            sql += """
                \(unsafeRaw: index == 0 ? "" : ", ")(\(bind: row.id), \(bind: row.entry.instance.id),\
                 \(bind: row.entry.instance.version), \(bind: row.spec.name),
                'scheduled', 0, \(bind: row.spec.retry.maxAttempts), \(bind: row.spec.retry.maxAttempts), \(bind: now), \(bind: now))
                """
        }
        try await enqueueOrRunInline(
            try rows.map { row in
                (
                    try Self.attemptJob(row.id, attempt: 1, at: nil),
                    ActivityRecord(
                        id: row.id, instanceId: row.entry.instance.id, version: row.entry.instance.version, name: row.spec.name, status: .scheduled,
                        attempts: 0, maxAttempts: row.spec.retry.maxAttempts, nextAttemptAt: nil, lastError: nil),
                    row.entry.instance
                )
            },
            after: preceding + [sql], in: transaction)
    }

    /// One job per attempt; a worker that dies mid-attempt leaves the job to be claimed again (the
    /// activity's idempotency key makes that harmless).
    private func enqueueAttempt(_ activityID: UUID, attempt: Int, at runAt: Date?, in transaction: Transaction) async throws {
        _ = try await queue.enqueue(try Self.attemptJob(activityID, attempt: attempt, at: runAt), in: transaction)
    }

    static func attemptJob(_ activityID: UUID, attempt: Int, at runAt: Date?) throws -> JobRequest {
        try JobRequest(
            activityJob, payload: ActivityJob(activityId: activityID), runAt: runAt, maxAttempts: 5,
            uniqueKey: "workflow-activity:\(activityID):\(attempt)")
    }

    /// An activity and its instance, in one read.
    func activityWithInstance(_ id: UUID) async throws -> (ActivityRecord, WorkflowInstance)? {
        guard
            let row = try await store.sql.raw(
                """
                SELECT i.*, a.id AS a_id, a.instance_id AS a_instance_id, a.version AS a_version, a.name AS a_name, a.status AS a_status,
                       a.attempts AS a_attempts, a.max_attempts AS a_max_attempts, a.next_attempt_at AS a_next_attempt_at,
                       a.last_error AS a_last_error
                FROM workflow_activities a JOIN workflow_instances i ON i.id = a.instance_id WHERE a.id = \(bind: id)
                """
            ).first()
        else { return nil }
        return (try Self.activityRecord(row, prefix: "a_"), try instance(row))
    }

    func activity(_ id: UUID) async throws -> ActivityRecord? {
        guard let row = try await store.sql.raw("SELECT * FROM workflow_activities WHERE id = \(bind: id)").first() else { return nil }
        return try Self.activityRecord(row)
    }

    /// Every activity of an instance, oldest first.
    public func activities(of instance: UUID) async throws -> [ActivityRecord] {
        try await store.sql.raw("SELECT * FROM workflow_activities WHERE instance_id = \(bind: instance) ORDER BY created_at, name")
            .all().map { try Self.activityRecord($0) }
    }

    /// An activity from its row; `prefix` names its columns when they share a row with its instance's.
    static func activityRecord(_ row: any SQLRow, prefix: String = "") throws -> ActivityRecord {
        func column<T: Decodable>(_ name: String, _ type: T.Type) throws -> T { try row.decode(column: prefix + name, as: type) }
        return ActivityRecord(
            id: try column("id", UUID.self), instanceId: try column("instance_id", UUID.self), version: try column("version", Int.self),
            name: try column("name", String.self), status: ActivityRecord.Status(rawValue: try column("status", String.self)) ?? .failed,
            attempts: try column("attempts", Int.self), maxAttempts: try column("max_attempts", Int.self),
            nextAttemptAt: try column("next_attempt_at", Date?.self), lastError: try column("last_error", String?.self))
    }

    /// Runs one attempt: success ends the activity (and sends its follow-up command, in one transaction);
    /// a failure schedules the next attempt after the backoff, or — after the last attempt, or for a
    /// permanent failure — marks the activity and its instance failed. An attempt a crash cut short is not
    /// counted: the job runs it again with the same attempt number and idempotency key.
    func runActivity(_ id: UUID) async throws {
        guard let (record, instance) = try await activityWithInstance(id), record.status == .scheduled else { return }
        try await runActivity(record, of: instance, inlineJob: nil)
    }

    func runActivity(_ record: ActivityRecord, of instance: WorkflowInstance, inlineJob: InlineJob?) async throws {
        guard let definition = definition(instance.definition), let spec = definition.activity(named: record.name) else {
            throw PlazaError.notFound("No definition has the activity \(record.name).")
        }
        guard let handler = activityHandlers[record.name] else {
            throw PlazaError.notFound("No code is registered for the activity \(record.name).")
        }
        let attempt = record.attempts + 1
        let context = ActivityContext(
            instance: instance, activity: record.name,
            idempotencyKey: "\(record.instanceId.uuidString.lowercased()):\(record.version):\(record.name)",
            attempt: attempt)
        do {
            // The in-process limit counts activities' code running, not results waiting to be recorded: the
            // slot is free once the code returns, so the next steps those results start may run in process.
            defer { if inlineJob != nil { releaseInline(slots: 1, inFlight: 0) } }
            try await Self.run(handler, context, within: spec.retry.timeout)
        } catch {
            try await recordFailure(error, of: record, attempt: attempt, retry: spec.retry, inlineJob: inlineJob)
            return
        }
        // Recorded with the successes of other activities finishing now, in one transaction.
        try await successes.submit(
            ActivitySuccess(
                record: record, instance: instance, attempt: attempt, followUp: context.followUp.value.withLock { $0 }, inlineJob: inlineJob))
    }

    /// A failed attempt: the next one after the backoff, or — after the last, or for a permanent failure —
    /// the activity and its instance marked failed.
    private func recordFailure(
        _ failure: any Error, of record: ActivityRecord, attempt: Int, retry: RetryPolicy, inlineJob: InlineJob?
    ) async throws {
        let id = record.id
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            // The attempt's job is done either way: a retry is a job of its own.
            if let inlineJob { try await self.queue.finishClaimed([inlineJob.job], worker: inlineJob.worker, in: transaction) }
            let message = String(String(describing: failure).prefix(1000))
            let permanent: Bool = if case ActivityFailure.permanent = failure { true } else { false }
            if permanent || attempt >= record.maxAttempts {
                let failed = try await transaction.sql.raw(
                    """
                    UPDATE workflow_activities SET status = 'failed', attempts = \(bind: attempt), last_error = \(bind: message),
                           next_attempt_at = NULL, updated_at = \(bind: now)
                    WHERE id = \(bind: id) AND status = 'scheduled' RETURNING id
                    """
                ).first()
                // Only a failure operators can act on marks the instance (not one cancelled or done meanwhile).
                guard failed != nil else { return }
                try await transaction.sql.raw(
                    """
                    UPDATE workflow_instances SET failure = \(bind: "\(record.name): \(message)"), updated_at = \(bind: now)
                    WHERE id = \(bind: record.instanceId) AND cancelled_at IS NULL
                    """
                ).run()
            } else {
                let next = now.addingTimeInterval(retry.backoff(after: attempt))
                let waiting = try await transaction.sql.raw(
                    """
                    UPDATE workflow_activities SET attempts = \(bind: attempt), last_error = \(bind: message), next_attempt_at = \(bind: next),
                           updated_at = \(bind: now)
                    WHERE id = \(bind: id) AND status = 'scheduled' RETURNING id
                    """
                ).first()
                // Cancelled while it ran: no next attempt.
                if waiting != nil { try await self.enqueueAttempt(id, attempt: attempt + 1, at: next, in: transaction) }
            }
        }
    }

    /// `handler` given `limit`: past it the attempt counts as failed and the next one is scheduled; a handler
    /// that does not notice its cancellation is left to end on its own (its idempotency key makes an overlap
    /// with the next attempt harmless, and whatever it asks for afterwards is ignored).
    static func run(_ handler: @escaping ActivityHandler, _ context: ActivityContext, within limit: Duration) async throws {
        switch await withDeadline(limit, { try await handler(context) }) {
        case .finished(let result): try result.get()
        case .timedOut: throw ActivityFailure.timedOut(limit)
        }
    }
}

/// Who may operate workflows (retry, reset, cancel, read any instance).
public enum WorkflowPolicy {
    public static let operate: Action = "workflows.operate"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(operate, .systemRole(SystemRole.operator), .systemRole(SystemRole.admin))
        return policy
    }
}
