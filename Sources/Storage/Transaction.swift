import Foundation
import PlazaKit
import SQLKit
import Synchronization

/// An open database transaction. Everything written through ``sql`` commits or rolls back together.
///
/// Work that must only happen once the data is durable (waking a worker, pushing to a socket) is
/// registered with ``onCommit(_:)`` and runs after `COMMIT`, never after a rollback.
public final class Transaction: Sendable {
    /// The transaction's connection, for SQLKit queries.
    public let sql: any SQLDatabase
    public let dialect: Dialect
    /// The store's clock, for timestamps written in this transaction.
    public let clock: any PlazaClock
    private let commitHooks = Mutex<[@Sendable () -> Void]>([])
    private let rollbackHooks = Mutex<[@Sendable () -> Void]>([])
    private let marks = Mutex<Set<String>>([])

    init(sql: any SQLDatabase, dialect: Dialect, clock: any PlazaClock) {
        self.sql = sql
        self.dialect = dialect
        self.clock = clock
    }

    /// Runs statements in order and returns the last one's rows — on PostgreSQL in one round trip, the earlier
    /// ones as data-modifying `WITH` clauses of the last (a workflow's start is three inserts and a fourth for
    /// its jobs: one round trip instead of four). On SQLite, whose statements cost no round trip, they simply
    /// run one by one. So that both engines do the same, the statements must:
    /// - be `INSERT`, `UPDATE` or `DELETE` (a `SELECT` in a `WITH` clause runs only if the last statement
    ///   reads it) without a `WITH` of their own;
    /// - not read what another of them writes, nor write the same rows or unique keys (on PostgreSQL they all
    ///   see the snapshot from before the call). Foreign keys between them are fine: they are checked when
    ///   the whole statement ends.
    @discardableResult
    public func run(together statements: [SQLQueryString]) async throws -> [any SQLRow] {
        guard let last = statements.last else { return [] }
        switch dialect {
        case .sqlite:
            for statement in statements.dropLast() { try await sql.raw(statement).run() }
            return try await sql.raw(last).all()
        case .postgres:
            var combined: SQLQueryString = ""
            for (index, statement) in statements.dropLast().enumerated() {
                combined += "\(unsafeRaw: index == 0 ? "WITH" : ",") together\(unsafeRaw: String(index)) AS (" + statement + ") "
            }
            return try await sql.raw(combined + last).all()
        }
    }

    /// `true` the first time it is asked with `key` in this transaction, for work done once per transaction
    /// however many times a service is called in it (one NOTIFY for many enqueued jobs).
    public func firstTime(_ key: String) -> Bool {
        marks.withLock { $0.insert(key).inserted }
    }

    /// Runs `work` after the transaction commits.
    public func onCommit(_ work: @escaping @Sendable () -> Void) {
        commitHooks.withLock { $0.append(work) }
    }

    /// Runs `work` if the transaction rolls back instead (to give back what the work reserved).
    public func onRollback(_ work: @escaping @Sendable () -> Void) {
        rollbackHooks.withLock { $0.append(work) }
    }

    /// A transaction inside this one (a savepoint of it): its own hooks and marks, handed to this one if it is
    /// released (``absorb(_:)``), dropped — its rollback hooks run — if it is rolled back.
    func nested() -> Transaction {
        Transaction(sql: sql, dialect: dialect, clock: clock)
    }

    /// Takes a released nested transaction's hooks and marks: they now end with this one.
    func absorb(_ child: Transaction) {
        let (commits, rollbacks, childMarks) = (child.commitHooks.withLock { $0 }, child.rollbackHooks.withLock { $0 }, child.marks.withLock { $0 })
        commitHooks.withLock { $0.append(contentsOf: commits) }
        rollbackHooks.withLock { $0.append(contentsOf: rollbacks) }
        marks.withLock { $0.formUnion(childMarks) }
    }

    /// Runs the hooks of how the transaction ended, once.
    func ended(committed: Bool) {
        let (commits, rollbacks) = (commitHooks.withLock { $0 }, rollbackHooks.withLock { $0 })
        commitHooks.withLock { $0.removeAll() }
        rollbackHooks.withLock { $0.removeAll() }
        for hook in committed ? commits : rollbacks { hook() }
    }
}

/// Whether an error is a unique constraint refusing a row (PostgreSQL's 23505, SQLite's "UNIQUE constraint
/// failed"): a concurrent writer got there first, which callers answer with 409 rather than 500.
public func isUniqueViolation(_ error: any Error) -> Bool {
    let text = String(reflecting: error)
    return text.contains("23505") || text.contains("UNIQUE constraint failed")
}
