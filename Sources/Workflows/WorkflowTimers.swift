import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// Timers: a command the engine sends by itself when the time comes, if the instance is still in the
/// state that set it. Each is a row and a job with its time, so it survives restarts and fires once.
extension WorkflowEngine {
    func schedule(_ timer: TimerSpec, for id: UUID, version: Int, in transaction: Transaction) async throws {
        let now = transaction.clock.now()
        let timerID = PlazaID.make(at: now)
        let fireAt = now.addingTimeInterval(timer.after.timeInterval)
        try await transaction.sql.raw(
            """
            INSERT INTO workflow_timers (id, instance_id, version, name, command, fire_at, status)
            VALUES (\(bind: timerID), \(bind: id), \(bind: version), \(bind: timer.name), \(bind: timer.command), \(bind: fireAt), 'pending')
            """
        ).run()
        // A job with its time: it survives restarts like any job and runs once its time has come.
        _ = try await queue.enqueue(
            JobRequest(Self.timerJob, payload: TimerJob(timerId: timerID), runAt: fireAt, maxAttempts: 10, uniqueKey: "workflow-timer:\(timerID)"),
            in: transaction)
    }

    /// Fires a due timer once: in one transaction it sends the timer's command — if the instance is still
    /// in the state that set it — and marks the timer fired (or cancelled when the instance moved on).
    func fireTimer(_ id: UUID) async throws {
        try await store.transaction { transaction in
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT instance_id, version, name, command, status FROM workflow_timers WHERE id = \(bind: id)
                    """
                ).first(), try row.decode(column: "status", as: String.self) == "pending"
            else { return }
            let instanceID = try row.decode(column: "instance_id", as: UUID.self)
            let version = try row.decode(column: "version", as: Int.self)
            let now = transaction.clock.now()
            let current = try await self.instance(instanceID, in: transaction)
            guard current.version == version else {
                try await transaction.sql.raw("UPDATE workflow_timers SET status = 'cancelled' WHERE id = \(bind: id)").run()
                return
            }
            // Claimed first: a second worker running this job at the same moment finds it fired.
            let claimed = try await transaction.sql.raw(
                """
                UPDATE workflow_timers SET status = 'fired', fired_at = \(bind: now) WHERE id = \(bind: id) AND status = 'pending' RETURNING id
                """
            ).first()
            guard claimed != nil else { return }
            _ = try await self.send(
                try row.decode(column: "command", as: String.self), to: instanceID, expectedVersion: version, payload: nil,
                comment: "timer \(try row.decode(column: "name", as: String.self))", caller: .system("workflow timer"), guarded: false,
                in: transaction)
        }
    }

    /// A step that stays in its state (a comment) keeps the state's timers: they move to the new version,
    /// so they still find the instance where they left it.
    func carryTimers(of id: UUID, from version: Int, to newVersion: Int, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            """
            UPDATE workflow_timers SET version = \(bind: newVersion)
            WHERE instance_id = \(bind: id) AND status = 'pending' AND version = \(bind: version)
            """
        ).run()
    }
}
