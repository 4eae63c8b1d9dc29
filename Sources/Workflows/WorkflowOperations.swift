import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// An instance with everything an operator looks at.
public struct WorkflowDetail: Codable, Sendable, Equatable {
    public var instance: WorkflowInstance
    public var history: [WorkflowStep]
    public var activities: [ActivityRecord]
    /// The definition drawn as a Mermaid state diagram.
    public var diagram: String?
}

/// Filters for the operators' list.
public struct WorkflowQuery: Sendable, Equatable {
    public var definition: String?
    public var state: String?
    /// Only instances with a failed activity (true) or without (false).
    public var failed: Bool?
    /// Only instances not moved since.
    public var idleSince: Date?

    public init(definition: String? = nil, state: String? = nil, failed: Bool? = nil, idleSince: Date? = nil) {
        self.definition = definition
        self.state = state
        self.failed = failed
        self.idleSince = idleSince
    }

    /// Reads `?definition=&state=&failed=true|false&idleMinutes=`; a bad value is a 422 naming it.
    public init(query: [String: String], now: Date = Date()) throws {
        self.init(definition: query["definition"], state: query["state"])
        if let failed = query["failed"] {
            guard let value = Bool(failed) else { throw PlazaError.validation(field: "failed", "must be true or false") }
            self.failed = value
        }
        if let idle = query["idleMinutes"] {
            guard let minutes = Int(idle), minutes > 0 else { throw PlazaError.validation(field: "idleMinutes", "must be a positive whole number") }
            idleSince = now.addingTimeInterval(-Double(minutes) * 60)
        }
    }
}

extension WorkflowEngine {
    /// Instances newest first, filtered; for operators.
    public func instances(_ query: WorkflowQuery, page: PageRequest, caller: Caller) async throws -> Page<WorkflowInstance> {
        try policy.authorize(caller, WorkflowPolicy.operate)
        var sql: SQLQueryString = "SELECT * FROM workflow_instances WHERE 1 = 1"
        if let definition = query.definition { sql += " AND definition = \(bind: definition)" }
        if let state = query.state { sql += " AND state = \(bind: state)" }
        if let failed = query.failed { sql += failed ? " AND failure IS NOT NULL" : " AND failure IS NULL" }
        if let idle = query.idleSince { sql += " AND updated_at < \(bind: idle)" }
        if let cursor = page.cursor { sql += " AND id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        let items = try await store.sql.raw(sql).all().map(instance)
        return .byID(items, limit: page.limit, id: \.id)
    }

    /// One instance with its history and activities; for operators.
    public func detail(_ id: UUID, caller: Caller) async throws -> WorkflowDetail {
        try policy.authorize(caller, WorkflowPolicy.operate)
        let instance = try await instance(id)
        return WorkflowDetail(
            instance: instance, history: try await history(id), activities: try await activities(of: id),
            diagram: definition(instance.definition)?.mermaid)
    }

    /// Stops an instance for good: no more commands, its pending timers and activities dropped; the
    /// history records who and why.
    @discardableResult
    public func cancel(_ id: UUID, reason: String, caller: Caller) async throws -> WorkflowInstance {
        try policy.authorize(caller, WorkflowPolicy.operate)
        try Self.reasonLimit.require(reason, field: "reason")
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return try await store.transaction { transaction in
            let current = try await self.instance(id, in: transaction)
            guard current.cancelledAt == nil else { throw Self.conflict("The instance is cancelled already.", current) }
            let now = transaction.clock.now()
            let moved = try await transaction.sql.raw(
                """
                UPDATE workflow_instances SET cancelled_at = \(bind: now), version = version + 1, updated_at = \(bind: now)
                WHERE id = \(bind: id) AND version = \(bind: current.version) RETURNING version
                """
            ).first()
            guard moved != nil else { throw Self.conflict("Another command moved the instance first.", try await self.instance(id, in: transaction)) }
            try await transaction.sql.raw(
                """
                INSERT INTO workflow_history (instance_id, version, at, actor_id, from_state, to_state, command, comment)
                VALUES (\(bind: id), \(bind: current.version + 1), \(bind: now), \(bind: caller.principal?.id), \(bind: current.state),
                        \(bind: current.state), 'operator.cancel', \(bind: reason))
                """
            ).run()
            try await transaction.sql.raw("UPDATE workflow_timers SET status = 'cancelled' WHERE instance_id = \(bind: id) AND status = 'pending'")
                .run()
            try await transaction.sql.raw(
                """
                UPDATE workflow_activities SET status = 'cancelled', updated_at = \(bind: now)
                WHERE instance_id = \(bind: id) AND status IN ('scheduled', 'failed')
                """
            ).run()
            try await transaction.audit(
                caller, action: "workflows.instance.cancel", resourceType: "workflow", resourceID: id.uuidString.lowercased(),
                details: .object(["reason": .string(reason), "state": .string(current.state)]))
            return try await self.instance(id, in: transaction)
        }
    }

    /// Gives a failed activity a fresh set of attempts and runs it now; the instance's failure clears.
    @discardableResult
    public func resetActivity(_ id: UUID, caller: Caller) async throws -> ActivityRecord {
        try await restartActivity(id, fresh: true, caller: caller)
    }

    /// Gives a failed activity one more attempt, now; its attempts so far still count.
    @discardableResult
    public func retryActivity(_ id: UUID, caller: Caller) async throws -> ActivityRecord {
        try await restartActivity(id, fresh: false, caller: caller)
    }

    private func restartActivity(_ id: UUID, fresh: Bool, caller: Caller) async throws -> ActivityRecord {
        try policy.authorize(caller, WorkflowPolicy.operate)
        let verb = fresh ? "reset" : "retried"
        guard let record = try await activity(id) else { throw PlazaError.notFound("There is no activity \(id).") }
        guard record.status == .failed else {
            throw PlazaError.conflict("Only a failed activity can be \(verb); this one is \(record.status.rawValue).")
        }
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            // A reset starts the count again (the attempts its policy had when it was scheduled, kept in the row
            // so the console can reset without the app's code); a retry allows exactly one more.
            let updated = try await transaction.sql.raw(
                """
                UPDATE workflow_activities
                SET status = 'scheduled', attempts = \(unsafeRaw: fresh ? "0" : "attempts"),
                    max_attempts = \(unsafeRaw: fresh ? "policy_attempts" : "attempts + 1"),
                       next_attempt_at = NULL, updated_at = \(bind: now)
                WHERE id = \(bind: id) AND status = 'failed' RETURNING id
                """
            ).first()
            guard updated != nil else { throw PlazaError.conflict("The activity changed meanwhile; it is no longer failed.") }
            try await transaction.sql.raw(
                "UPDATE workflow_instances SET failure = NULL, updated_at = \(bind: now) WHERE id = \(bind: record.instanceId)"
            ).run()
            // A unique key per restart, so the attempt is not taken for the one that failed.
            _ = try await self.queue.enqueue(
                JobRequest(
                    Self.activityJob, payload: ActivityJob(activityId: id), maxAttempts: 5,
                    uniqueKey: "workflow-activity:\(id):\(verb):\(PlazaID.make(at: now))"),
                in: transaction)
            try await transaction.audit(
                caller, action: fresh ? "workflows.activity.reset" : "workflows.activity.retry", resourceType: "workflow",
                resourceID: record.instanceId.uuidString.lowercased(),
                details: .object(["activity": .string(record.name), "lastError": record.lastError.map(JSONValue.string) ?? .null]))
        }
        return try await activity(id) ?? record
    }
}
