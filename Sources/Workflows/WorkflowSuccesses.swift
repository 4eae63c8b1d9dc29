import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// An activity attempt that succeeded, with the follow-up command it asked for.
struct ActivitySuccess: Sendable {
    let record: ActivityRecord
    /// The instance as read before the attempt ran; its version is what a follow-up is checked against.
    let instance: WorkflowInstance
    let attempt: Int
    let followUp: ActivityContext.FollowUp?
    /// The attempt's job, when this process runs it in process and completes it with the success.
    let inlineJob: InlineJob?
}

/// A job this process claimed when it scheduled the activity, to run it right after the commit.
struct InlineJob: Sendable {
    let job: JobRecord
    let worker: String
}

/// Activities finishing at the same moment record their successes together: one transaction and a handful of
/// set-based statements for the whole batch (the activities' rows, the instances their follow-ups move, the
/// history, and whatever the new states start), instead of a transaction each. Each success is still all or
/// nothing with its follow-up: one whose instance moved meanwhile is not recorded, and a fresh job runs the
/// activity again (a job of its own, so a busy instance never uses up the attempts of the job queue).
extension WorkflowEngine {
    static let successBatch = 128

    func record(_ batch: [ActivitySuccess]) async -> [(any Error)?] {
        do {
            let (outcomes, moved) = try await store.transaction { transaction in
                try await self.record(batch, in: transaction)
            }
            for instance in moved { announce(instance) }
            return outcomes
        } catch {
            return batch.map { _ in error }
        }
    }

    private struct Move {
        var index: Int
        var transition: WorkflowDefinition.Transition
        var next: WorkflowInstance
    }

    private func record(_ batch: [ActivitySuccess], in transaction: Transaction) async throws -> ([(any Error)?], [WorkflowInstance]) {
        let now = transaction.clock.now()
        // Jobs run in process are done whatever happens below: a rerun is a job of its own. They go with the
        // activities' update (one round trip on PostgreSQL).
        let finished = Dictionary(grouping: batch.compactMap(\.inlineJob), by: \.worker).compactMap { worker, items in
            JobQueue.finishingClaimed(items.map(\.job), worker: worker)
        }
        // The activities still scheduled succeed (one cancelled, or finished by another run, stays as it is).
        let succeeded = Set(
            try await transaction.run(
                together: finished + [
                    """
                    UPDATE workflow_activities SET status = 'succeeded', attempts = \(Self.byID(batch.map { ($0.record.id, $0.attempt) })),
                           last_error = NULL, next_attempt_at = NULL, updated_at = \(bind: now)
                    WHERE status = 'scheduled' AND id IN (\(binds: batch.map(\.record.id))) RETURNING id
                    """
                ]
            ).map { try $0.decode(column: "id", as: UUID.self) })

        // Their follow-ups, if the instances (as read) still take them; one per instance in a batch.
        var moves: [Move] = []
        var rerun: [ActivitySuccess] = []
        var claimed = Set<UUID>()
        for (index, success) in batch.enumerated() where succeeded.contains(success.record.id) {
            guard let followUp = success.followUp, success.instance.cancelledAt == nil,
                let definition = definition(success.instance.definition),
                let transition = definition.transition(followUp.command, from: success.instance.state)
            else { continue }
            guard claimed.insert(success.instance.id).inserted else {
                rerun.append(success)
                continue
            }
            var next = success.instance
            next.state = transition.target(from: success.instance.state)
            next.version += 1
            next.updatedAt = now
            next.allowedCommands = definition.commands(in: next.state)
            moves.append(Move(index: index, transition: transition, next: next))
        }
        if !moves.isEmpty {
            // The versions in the WHERE are the checks, as for a single command.
            var sql: SQLQueryString = """
                UPDATE workflow_instances SET state = \(Self.byID(moves.map { ($0.next.id, $0.next.state) })), version = version + 1,
                       updated_at = \(bind: now) WHERE\(unsafeRaw: " ")
                """
            for (position, move) in moves.enumerated() {
                sql += "\(unsafeRaw: position == 0 ? "" : " OR ")(id = \(bind: move.next.id) AND version = \(bind: move.next.version - 1))"
            }
            sql += " RETURNING id"
            let updated = Set(try await transaction.sql.raw(sql).all().map { try $0.decode(column: "id", as: UUID.self) })
            rerun += moves.filter { !updated.contains($0.next.id) }.map { batch[$0.index] }
            moves.removeAll { !updated.contains($0.next.id) }
        }
        try await runAgain(rerun, in: transaction)

        if !moves.isEmpty {
            var sql: SQLQueryString =
                "INSERT INTO workflow_history (instance_id, version, at, actor_id, from_state, to_state, command, payload, comment) VALUES "
            for (position, move) in moves.enumerated() {
                let success = batch[move.index]
                let payload = try success.followUp?.payload.map(Self.encode)
                sql += """
                    \(unsafeRaw: position == 0 ? "" : ", ")(\(bind: move.next.id), \(bind: move.next.version), \(bind: now), \(bind: UUID?.none),
                    \(bind: success.instance.state), \(bind: move.next.state), \(bind: move.transition.command), \(bind: payload),
                    \(bind: "activity \(success.record.name)"))
                    """
            }
            for move in moves where move.transition.to == nil {
                try await carryTimers(of: move.next.id, from: move.next.version - 1, to: move.next.version, in: transaction)
            }
            // The history goes with the activities the new states start and their jobs: one round trip on PostgreSQL.
            try await schedule(
                moves.map {
                    Entry(activities: $0.transition.activities, timers: $0.transition.timers, signals: $0.transition.signals, instance: $0.next)
                },
                after: [sql], in: transaction)
        }
        return (batch.map { _ in nil }, moves.map(\.next))
    }

    /// Successes whose follow-up found the instance moved: the activity is scheduled again as it was, and a
    /// fresh job runs it a second later on a fresh read (its idempotency key is the same).
    private func runAgain(_ successes: [ActivitySuccess], in transaction: Transaction) async throws {
        guard !successes.isEmpty else { return }
        let now = transaction.clock.now()
        try await transaction.sql.raw(
            """
            UPDATE workflow_activities SET status = 'scheduled', attempts = \(Self.byID(successes.map { ($0.record.id, $0.record.attempts) })),
                   updated_at = \(bind: now)
            WHERE id IN (\(binds: successes.map(\.record.id)))
            """
        ).run()
        try await queue.enqueue(
            try successes.map { success in
                try JobRequest(
                    Self.activityJob, payload: ActivityJob(activityId: success.record.id), runAt: now.addingTimeInterval(1), maxAttempts: 5,
                    uniqueKey: "workflow-activity:\(success.record.id):again:\(PlazaID.make(at: now))")
            },
            in: transaction)
    }

    /// `CASE id WHEN … THEN … END`: a value per row, for an UPDATE of many rows in one statement.
    static func byID(_ values: [(UUID, some Encodable & Sendable)]) -> SQLQueryString {
        var sql: SQLQueryString = "CASE id"
        for (id, value) in values { sql += " WHEN \(bind: id) THEN \(bind: value)" }
        return sql + " END"
    }
}
