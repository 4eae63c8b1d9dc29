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
    let id: UUID
    let worker: String
}

/// Activities finishing at the same moment record their successes together: one transaction and a handful of
/// set-based statements for the whole batch (the activities' rows, the instances their follow-ups move, the
/// history, and whatever the new states start), instead of a transaction each. Each success is still all or
/// nothing with its follow-up: one whose instance moved meanwhile fails alone (its job runs the activity
/// again), the rest commit.
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
        var definition: WorkflowDefinition
        var transition: WorkflowDefinition.Transition
        var next: WorkflowInstance
    }

    private func record(_ batch: [ActivitySuccess], in transaction: Transaction) async throws -> ([(any Error)?], [WorkflowInstance]) {
        let now = transaction.clock.now()
        var outcomes = [(any Error)?](repeating: nil, count: batch.count)

        // The follow-ups the instances (as read) still take; one per instance in a batch, the others try again.
        var moves: [Move] = []
        var claimed = Set<UUID>()
        for (index, success) in batch.enumerated() {
            guard let followUp = success.followUp, success.instance.cancelledAt == nil,
                  let definition = definition(success.instance.definition),
                  let transition = definition.transition(followUp.command, from: success.instance.state)
            else { continue }
            guard claimed.insert(success.instance.id).inserted else {
                outcomes[index] = Self.conflict("Another activity of the instance moved it first.", success.instance)
                continue
            }
            var next = success.instance
            next.state = transition.target(from: success.instance.state)
            next.version += 1
            next.updatedAt = now
            next.allowedCommands = definition.commands(in: next.state)
            moves.append(Move(index: index, definition: definition, transition: transition, next: next))
        }
        if !moves.isEmpty {
            // The versions in the WHERE are the checks, as for a single command.
            var sql: SQLQueryString = "UPDATE workflow_instances SET state = CASE id"
            for move in moves { sql += " WHEN \(bind: move.next.id) THEN \(bind: move.next.state)" }
            sql += " END, version = version + 1, updated_at = \(bind: now) WHERE "
            for (position, move) in moves.enumerated() {
                sql += "\(unsafeRaw: position == 0 ? "" : " OR ")(id = \(bind: move.next.id) AND version = \(bind: move.next.version - 1))"
            }
            sql += " RETURNING id"
            let updated = Set(try await transaction.sql.raw(sql).all().map { try $0.decode(column: "id", as: UUID.self) })
            for move in moves where !updated.contains(move.next.id) {
                outcomes[move.index] = Self.conflict("The instance moved while the activity ran.", batch[move.index].instance)
            }
            moves.removeAll { !updated.contains($0.next.id) }
        }

        // Jobs run in process finish here: done with their success, or back in line after a conflict.
        for (worker, items) in Dictionary(grouping: batch.indices.compactMap { index in batch[index].inlineJob.map { (index, $0) } }, by: \.1.worker) {
            try await queue.complete(items.filter { outcomes[$0.0] == nil }.map(\.1.id), worker: worker, in: transaction)
            try await queue.release(items.filter { outcomes[$0.0] != nil }.map(\.1.id), worker: worker, retryAt: now.addingTimeInterval(1), in: transaction)
        }
        let succeeded = batch.indices.filter { outcomes[$0] == nil }
        if !succeeded.isEmpty {
            var sql: SQLQueryString = "UPDATE workflow_activities SET status = 'succeeded', attempts = CASE id"
            for index in succeeded { sql += " WHEN \(bind: batch[index].record.id) THEN \(bind: batch[index].attempt)" }
            sql += " END, last_error = NULL, next_attempt_at = NULL, updated_at = \(bind: now) WHERE status = 'scheduled' AND id IN ("
            for (position, index) in succeeded.enumerated() { sql += "\(unsafeRaw: position == 0 ? "" : ", ")\(bind: batch[index].record.id)" }
            sql += ")"
            // An activity cancelled meanwhile stays cancelled (its instance's cancel moved the version, so it moved nothing).
            try await transaction.sql.raw(sql).run()
        }

        guard !moves.isEmpty else { return (outcomes, []) }
        var sql: SQLQueryString = "INSERT INTO workflow_history (instance_id, version, at, actor_id, from_state, to_state, command, payload, comment) VALUES "
        for (position, move) in moves.enumerated() {
            let success = batch[move.index]
            let payload = try success.followUp?.payload.map(Self.encode)
            sql += """
                \(unsafeRaw: position == 0 ? "" : ", ")(\(bind: move.next.id), \(bind: move.next.version), \(bind: now), \(bind: UUID?.none),
                \(bind: success.instance.state), \(bind: move.next.state), \(bind: move.transition.command), \(bind: payload),
                \(bind: "activity \(success.record.name)"))
                """
        }
        try await transaction.sql.raw(sql).run()
        try await schedule(
            moves.map { Entry(activities: $0.transition.activities, timers: $0.transition.timers, signals: $0.transition.signals, instance: $0.next) },
            in: transaction)
        return (outcomes, moves.map(\.next))
    }
}
