import FluentKit
import Foundation
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// The durable job queue: enqueue in the caller's transaction, claim with a lease, finish or retry.
///
/// Every method is safe to call from several processes sharing one PostgreSQL database.
public struct JobQueue: Sendable {
    public static let table = "plaza_jobs"
    /// The PostgreSQL NOTIFY channel that wakes workers on every instance.
    public static let channel = "plaza_jobs"

    public let store: Store
    public let settings: JobSettings
    /// Rung after a commit that enqueued something, and by NOTIFY from other instances.
    public let wakeup: Wakeup

    /// When this queue last dead-lettered expired jobs (see ``completeAndClaim(_:limit:worker:queues:)``).
    private let lastReap = LastReap()

    private final class LastReap: Sendable {
        let value = Mutex<Date?>(nil)
    }

    public init(store: Store, settings: JobSettings = .init(), wakeup: Wakeup = .init()) {
        self.store = store
        self.settings = settings
        self.wakeup = wakeup
    }

    // MARK: Enqueue

    /// Enqueues a job in the caller's transaction; returns its id, or `nil` if its unique key was taken.
    @discardableResult
    public func enqueue(_ request: JobRequest, in transaction: Transaction) async throws -> UUID? {
        try await enqueue([request], in: transaction).first
    }

    /// Enqueues jobs in the caller's transaction with one statement; returns the ids of those enqueued
    /// (jobs whose unique key was taken are dropped). `preceding` statements of the caller's are sent with the
    /// jobs' insert in one round trip (``Transaction/run(together:)``: they must not read what the insert
    /// writes, nor it what they write).
    @discardableResult
    public func enqueue(_ requests: [JobRequest], after preceding: [SQLQueryString] = [], in transaction: Transaction) async throws -> [UUID] {
        try await insert(requests, claimedBy: nil, after: preceding, in: transaction).map(\.id)
    }

    /// Enqueues jobs that this process runs itself right after the commit: they are written claimed by
    /// `worker` for one lease, so no worker needs to find them — and if the process dies before finishing
    /// them, the lease runs out and any worker runs them. Finish them with ``finishClaimed(_:worker:in:)``. Jobs
    /// whose unique key was taken are dropped.
    public func enqueueClaimed(
        _ requests: [JobRequest], worker: String, after preceding: [SQLQueryString] = [], in transaction: Transaction
    ) async throws -> [JobRecord] {
        try await insert(requests, claimedBy: worker, after: preceding, in: transaction)
    }

    private func insert(
        _ requests: [JobRequest], claimedBy worker: String?, after preceding: [SQLQueryString], in transaction: Transaction
    ) async throws -> [JobRecord] {
        guard !requests.isEmpty else {
            try await transaction.run(together: preceding)
            return []
        }
        let now = transaction.clock.now()
        let until = worker.map { _ in now.addingTimeInterval(settings.lease.timeInterval) }
        let records = requests.map { request in
            JobRecord(
                id: PlazaID.make(at: now), queue: request.queue, name: request.name, payload: request.payload, priority: request.priority,
                runAt: request.runAt ?? now, state: worker == nil ? .pending : .running, attempts: worker == nil ? 0 : 1,
                maxAttempts: max(1, request.maxAttempts ?? settings.defaultMaxAttempts), uniqueKey: request.uniqueKey, lockedBy: worker,
                lockedUntil: until, lastError: nil, createdAt: now, updatedAt: now, finishedAt: nil)
        }
        var sql: SQLQueryString = """
            INSERT INTO plaza_jobs (id, queue, name, payload, priority, run_at, state, attempts, max_attempts, unique_key, locked_by, locked_until,
                                    created_at, updated_at) VALUES\(unsafeRaw: " ")
            """
        for (index, job) in records.enumerated() {
            sql += """
                \(unsafeRaw: index == 0 ? "" : ", ")(\(bind: job.id), \(bind: job.queue), \(bind: job.name), \(bind: job.payload),\
                 \(bind: job.priority),
                \(bind: job.runAt), \(bind: job.state.rawValue), \(bind: job.attempts), \(bind: job.maxAttempts), \(bind: job.uniqueKey),
                \(bind: job.lockedBy), \(bind: job.lockedUntil), \(bind: now), \(bind: now))
                """
        }
        sql += " ON CONFLICT (unique_key) DO NOTHING RETURNING id"
        let inserted = Set(try await transaction.run(together: preceding + [sql]).map { try $0.decode(column: "id", as: UUID.self) })
        guard !inserted.isEmpty else { return [] }
        // Jobs for the workers: listeners on other instances learn of them at the commit (once per queue is
        // enough for them to look), this process's workers wake.
        if worker == nil {
            if transaction.dialect == .postgres {
                for queue in Set(requests.map(\.queue)).sorted() where transaction.firstTime("jobs.notify.\(queue)") {
                    try await transaction.sql.raw("SELECT pg_notify(\(bind: Self.channel), \(bind: queue))").run()
                }
            }
            let wakeup = self.wakeup
            transaction.onCommit { wakeup.ring() }
        }
        return records.filter { inserted.contains($0.id) }
    }

    /// Removes jobs that `worker` wrote claimed (``enqueueClaimed(_:worker:after:in:)``) and has run, in the
    /// caller's transaction with the record of what they did. Such a job is only a lease against a crash;
    /// the caller's own rows are the record (an activity's status and attempts), so a finished one leaves no
    /// row behind: nothing to purge, and no second version of the row in five indexes (measured: 5 % more
    /// workflows/s on PostgreSQL than marking them succeeded). A job whose lease passed to another worker
    /// meanwhile (its attempt moved on) is left alone.
    public func finishClaimed(_ jobs: [JobRecord], worker: String, in transaction: Transaction) async throws {
        guard let statement = Self.finishingClaimed(jobs, worker: worker) else { return }
        try await transaction.sql.raw(statement).run()
    }

    /// ``finishClaimed(_:worker:in:)``'s statement, for a caller that sends it with others
    /// (``Transaction/run(together:)``); `nil` for no jobs.
    public static func finishingClaimed(_ jobs: [JobRecord], worker: String) -> SQLQueryString? {
        guard !jobs.isEmpty else { return nil }
        var held: SQLQueryString = ""
        for (index, job) in jobs.enumerated() {
            held += "\(unsafeRaw: index == 0 ? "" : " OR ")(id = \(bind: job.id) AND attempts = \(bind: job.attempts))"
        }
        return "DELETE FROM plaza_jobs WHERE state = 'running' AND locked_by = \(bind: worker) AND (\(held))"
    }

    /// Enqueues a job in a transaction of its own.
    @discardableResult
    public func enqueue(_ request: JobRequest) async throws -> UUID? {
        try await store.transaction { try await self.enqueue(request, in: $0) }
    }

    // MARK: Claim and finish

    /// Claims up to `limit` due jobs for `worker`, holding each for one lease.
    ///
    /// A job whose worker's lease expired is due again, so a job whose worker died runs again.
    public func claim(limit: Int, worker: String, queues: [String]? = nil) async throws -> [JobRecord] {
        try await completeAndClaim([], limit: limit, worker: worker, queues: queues).claimed
    }

    /// Marks a claimed job done. Returns `false` if the lease was lost to another worker meanwhile.
    @discardableResult
    public func complete(_ job: JobRecord, worker: String) async throws -> Bool {
        try await completeAndClaim([job], limit: 0, worker: worker).completed == 1
    }

    /// Marks finished jobs done and claims up to `limit` new ones, in one transaction: a busy worker pays
    /// one commit per round instead of one per job. Before claiming it dead-letters jobs whose worker died on
    /// their last attempt. Jobs whose lease passed to another worker are not counted in `completed`.
    public func completeAndClaim(
        _ finished: [JobRecord], limit: Int, worker: String, queues: [String]? = nil
    ) async throws -> (completed: Int, claimed: [JobRecord]) {
        guard !finished.isEmpty || limit > 0 else { return (0, []) }
        let queues = queues ?? settings.queues
        let lease = settings.lease.timeInterval
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            var completed = 0
            if !finished.isEmpty {
                completed = try await transaction.sql.raw(
                    """
                    UPDATE plaza_jobs SET state = 'succeeded', finished_at = \(bind: now), updated_at = \(bind: now),
                           locked_by = NULL, locked_until = NULL, last_error = NULL
                    WHERE id IN (\(binds: finished.map(\.id))) AND state = 'running' AND locked_by = \(bind: worker)
                    RETURNING id
                    """
                ).all().count
            }
            guard limit > 0 else { return (completed, []) }
            // Leases expire on the scale of a minute: looking for dead workers' jobs once a second is plenty.
            if self.lastReap.value.withLock({ last in
                guard last.map({ now.timeIntervalSince($0) >= 1 || now < $0 }) ?? true else { return false }
                last = now
                return true
            }) {
                _ = try await Self.reap(in: transaction)
            }
            let skipLocked = transaction.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let rows = try await transaction.sql.raw(
                """
                WITH next AS (
                    SELECT id FROM plaza_jobs
                    WHERE queue IN (\(binds: queues))
                      AND ((state = 'pending' AND run_at <= \(bind: now))
                        OR (state = 'running' AND locked_until < \(bind: now) AND attempts < max_attempts))
                    ORDER BY priority DESC, run_at, id
                    LIMIT \(literal: limit)\(unsafeRaw: skipLocked)
                )
                UPDATE plaza_jobs
                SET state = 'running', locked_by = \(bind: worker), locked_until = \(bind: now.addingTimeInterval(lease)),
                    attempts = attempts + 1, updated_at = \(bind: now)
                WHERE id IN (SELECT id FROM next)
                RETURNING *
                """
            ).all()
            let claimed = try rows.map(Self.decode).sorted {
                $0.priority != $1.priority ? $0.priority > $1.priority : $0.runAt < $1.runAt
            }
            return (completed, claimed)
        }
    }

    /// Records a failed attempt: schedules a retry with backoff, or dead-letters the job after its last attempt.
    /// Returns the state the job is left in, or `nil` if the lease was lost meanwhile.
    @discardableResult
    public func fail(_ job: JobRecord, worker: String, error: String) async throws -> JobState? {
        let dead = job.attempts >= job.maxAttempts
        let delay = Self.backoff(attempt: job.attempts, base: settings.baseBackoff, cap: settings.maxBackoff)
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let state: JobState = dead ? .dead : .pending
            let rows = try await transaction.sql.raw(
                """
                UPDATE plaza_jobs SET state = \(bind: state.rawValue), run_at = \(bind: dead ? job.runAt : now.addingTimeInterval(delay)),
                       last_error = \(bind: String(error.prefix(4000))), updated_at = \(bind: now),
                       finished_at = \(bind: dead ? now : nil), locked_by = NULL, locked_until = NULL
                WHERE id = \(bind: job.id) AND state = 'running' AND locked_by = \(bind: worker) AND attempts = \(bind: job.attempts)
                RETURNING id
                """
            ).all()
            return rows.isEmpty ? nil : state
        }
    }

    /// Extends a claimed job's lease (long-running handlers call this through ``JobContext``).
    public func extendLease(_ job: JobRecord, worker: String) async throws {
        try await store.transaction { transaction in
            let until = transaction.clock.now().addingTimeInterval(self.settings.lease.timeInterval)
            try await transaction.sql.raw(
                """
                UPDATE plaza_jobs SET locked_until = \(bind: until)
                WHERE id = \(bind: job.id) AND state = 'running' AND locked_by = \(bind: worker) AND attempts = \(bind: job.attempts)
                """
            ).run()
        }
    }

    /// Dead-letters running jobs whose lease expired on their last attempt (their worker died and no attempt is left);
    /// the claim runs it in its own transaction.
    static func reap(in transaction: Transaction) async throws -> Int {
        let now = transaction.clock.now()
        let rows = try await transaction.sql.raw(
            """
            UPDATE plaza_jobs SET state = 'dead', finished_at = \(bind: now), updated_at = \(bind: now),
                   last_error = 'the worker stopped before finishing the last attempt (lease expired)',
                   locked_by = NULL, locked_until = NULL
            WHERE state = 'running' AND locked_until < \(bind: now) AND attempts >= max_attempts
            RETURNING id
            """
        ).all()
        return rows.count
    }

    /// The delay before retry number `attempt + 1`: exponential in `attempt`, capped, with jitter (50–100%).
    public static func backoff(attempt: Int, base: Duration, cap: Duration, jitter: Double = Double.random(in: 0.5...1)) -> TimeInterval {
        let exponent = Double(max(0, attempt - 1))
        let raw = min(cap.timeInterval, base.timeInterval * pow(2, min(exponent, 40)))
        return raw * jitter
    }

    static func decode(_ row: any SQLRow) throws -> JobRecord {
        try row.decode(model: JobRecord.self, keyDecodingStrategy: .convertFromSnakeCase)
    }
}
