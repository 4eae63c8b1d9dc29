import Foundation
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
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...500).contains(reason.count) else { throw PlazaError.validation(field: "reason", "must be 1 to 500 characters") }
        return try await store.transaction { transaction in
            let current = try await self.instance(id, in: transaction)
            guard current.cancelledAt == nil else { throw Self.conflict("The instance is cancelled already.", current) }
            let now = transaction.clock.now()
            let moved = try await transaction.sql.raw("""
                UPDATE workflow_instances SET cancelled_at = \(bind: now), version = version + 1, updated_at = \(bind: now)
                WHERE id = \(bind: id) AND version = \(bind: current.version) RETURNING version
                """).first()
            guard moved != nil else { throw Self.conflict("Another command moved the instance first.", try await self.instance(id, in: transaction)) }
            try await transaction.sql.raw("""
                INSERT INTO workflow_history (instance_id, version, at, actor_id, from_state, to_state, command, comment)
                VALUES (\(bind: id), \(bind: current.version + 1), \(bind: now), \(bind: caller.principal?.id), \(bind: current.state),
                        \(bind: current.state), 'operator.cancel', \(bind: reason))
                """).run()
            try await transaction.sql.raw("UPDATE workflow_timers SET status = 'cancelled' WHERE instance_id = \(bind: id) AND status = 'pending'").run()
            try await transaction.sql.raw("""
                UPDATE workflow_activities SET status = 'cancelled', updated_at = \(bind: now)
                WHERE instance_id = \(bind: id) AND status IN ('scheduled', 'failed')
                """).run()
            try await transaction.audit(
                caller, action: "workflows.instance.cancel", resourceType: "workflow", resourceID: id.uuidString.lowercased(),
                details: .object(["reason": .string(reason), "state": .string(current.state)]))
            return try await self.instance(id, in: transaction)
        }
    }
}
