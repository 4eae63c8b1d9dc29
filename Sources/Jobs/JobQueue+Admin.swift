import Foundation
import PlazaKit
import SQLKit
import Storage

/// Counts of jobs per queue and state, for `/metrics`, `plaza jobs list` and the operators' pages.
public struct JobStats: Codable, Sendable, Equatable {
    public var queue: String
    public var state: JobState
    public var count: Int
}

/// Filters for listing jobs.
public struct JobFilter: Sendable, Equatable {
    public var state: JobState?
    public var queue: String?
    public var name: String?
    public init(state: JobState? = nil, queue: String? = nil, name: String? = nil) {
        self.state = state
        self.queue = queue
        self.name = name
    }
}

extension JobQueue {
    /// Jobs, newest first, with keyset pagination.
    public func list(_ filter: JobFilter = .init(), page: PageRequest = .init()) async throws -> Page<JobRecord> {
        let select = store.sql.select().column("*").from(Self.table)
        if let state = filter.state { select.where("state", .equal, state.rawValue) }
        if let queue = filter.queue { select.where("queue", .equal, queue) }
        if let name = filter.name { select.where("name", .equal, name) }
        if let cursor = page.cursor { select.where("id", .lessThan, try Cursor.decodeID(cursor)) }
        let rows = try await select.orderBy("id", .descending).limit(page.limit + 1).all()
        return .byID(try rows.map(Self.decode), limit: page.limit, id: \.id)
    }

    public func find(_ id: UUID) async throws -> JobRecord? {
        try await store.sql.select().column("*").from(Self.table).where("id", .equal, id).first().map(Self.decode)
    }

    /// Puts a dead, cancelled or failed-and-waiting job back in line with a fresh set of attempts.
    public func retry(_ id: UUID, caller: Caller) async throws -> JobRecord {
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let rows = try await transaction.sql.raw(
                """
                UPDATE plaza_jobs SET state = 'pending', attempts = 0, run_at = \(bind: now), updated_at = \(bind: now),
                       finished_at = NULL, locked_by = NULL, locked_until = NULL
                WHERE id = \(bind: id) AND state IN ('dead', 'cancelled', 'pending')
                RETURNING *
                """
            ).all()
            guard let row = rows.first else {
                let exists = try await transaction.sql.select().column("state").from(Self.table).where("id", .equal, id).first()
                if exists == nil { throw PlazaError.notFound("No job has the id \(id).") }
                throw PlazaError.conflict("Only dead, cancelled or waiting jobs can be retried; this one is running or done.")
            }
            try await transaction.audit(caller, action: "jobs.job.retry", resourceType: "job", resourceID: id.uuidString)
            if transaction.dialect == .postgres {
                try await transaction.sql.raw("SELECT pg_notify(\(bind: Self.channel), 'retry')").run()
            }
            let wakeup = self.wakeup
            transaction.onCommit { wakeup.ring() }
            return try Self.decode(row)
        }
    }

    /// Cancels a job that has not started.
    public func cancel(_ id: UUID, caller: Caller) async throws -> JobRecord {
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let rows = try await transaction.sql.raw(
                """
                UPDATE plaza_jobs SET state = 'cancelled', finished_at = \(bind: now), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND state = 'pending'
                RETURNING *
                """
            ).all()
            guard let row = rows.first else {
                let exists = try await transaction.sql.select().column("state").from(Self.table).where("id", .equal, id).first()
                if exists == nil { throw PlazaError.notFound("No job has the id \(id).") }
                throw PlazaError.conflict("Only waiting jobs can be cancelled.")
            }
            try await transaction.audit(caller, action: "jobs.job.cancel", resourceType: "job", resourceID: id.uuidString)
            return try Self.decode(row)
        }
    }

    /// Deletes finished jobs (succeeded, dead, cancelled) that finished before `before`; returns how many.
    @discardableResult
    public func purge(states: [JobState] = [.succeeded, .dead, .cancelled], finishedBefore before: Date, caller: Caller) async throws -> Int {
        let states = states.filter { $0 != .pending && $0 != .running }.map(\.rawValue)
        guard !states.isEmpty else { return 0 }
        return try await store.transaction { transaction in
            let rows = try await transaction.sql.raw(
                """
                DELETE FROM plaza_jobs WHERE state IN (\(binds: states)) AND finished_at < \(bind: before) RETURNING id
                """
            ).all()
            if !rows.isEmpty {
                try await transaction.audit(
                    caller, action: "jobs.job.purge", resourceType: "job",
                    details: ["count": .number(Double(rows.count)), "states": .array(states.map(JSONValue.string))])
            }
            return rows.count
        }
    }

    /// How many jobs each queue holds in each state.
    public func stats() async throws -> [JobStats] {
        let rows = try await store.sql.raw(
            """
            SELECT queue, state, COUNT(*) AS count FROM plaza_jobs GROUP BY queue, state ORDER BY queue, state
            """
        ).all()
        return try rows.map { row in
            JobStats(
                queue: try row.decode(column: "queue", as: String.self),
                state: JobState(rawValue: try row.decode(column: "state", as: String.self)) ?? .pending,
                count: try row.decode(column: "count", as: Int.self))
        }
    }
}
