import Foundation
import FluentKit
import PlazaKit
import SQLKit
import SQLiteNIO
import Synchronization

/// Group commit for SQLite, which has one writer at a time: transactions that wait for the writer are run
/// one after another inside a single database transaction — each after the first in a savepoint of its own —
/// and committed together (a ``Batcher``), so a busy server pays one `BEGIN`, one `COMMIT` and (with `synchronous = FULL`)
/// one fsync for many writes instead of one each. Nothing is weaker: no caller hears its write succeeded
/// before the shared `COMMIT` is durable; a write that throws is rolled back to its savepoint and the others
/// go on; a failed `COMMIT` fails every write in it.
///
/// Writes run in the order they arrived, so each sees the ones before it, exactly as if each had committed
/// on its own. As with any write transaction, a body must not open another transaction (it would wait for
/// the batch it is part of).
enum GroupCommit {
    /// One transaction's body.
    struct Write: Sendable {
        let body: @Sendable (Transaction) async throws -> Void
    }

    static let maxBatch = 64

    /// The batch failed as a whole; writes that had failed on their own keep their own errors.
    struct GroupFailure: Error {
        var cause: any Error
        var outcomes: [(any Error)?]
    }

    /// The connections of one store whose settings (busy timeout, synchronous) are made: a connection keeps
    /// them for its life, so each is told once rather than before every batch. The store's pool keeps its
    /// connections until it shuts down, so an identifier cannot come back as another connection meanwhile.
    final class Configured: Sendable {
        private let ids = Mutex<Set<ObjectIdentifier>>([])
        func first(_ id: ObjectIdentifier) -> Bool { ids.withLock { $0.insert(id).inserted } }
        func forget(_ id: ObjectIdentifier) { _ = ids.withLock { $0.remove(id) } }
    }

    /// Runs a batch in one database transaction; returns, per write, `nil` or the error that failed it.
    static func commit(
        _ batch: [Write], on database: any Database, synchronous: DatabaseSettings.Synchronous, configured: Configured, clock: any PlazaClock
    ) async -> [(any Error)?] {
        let synchronous = synchronous == .full ? "FULL" : "NORMAL"
        let made = Slot<[Transaction]>()
        let outcomes: [(any Error)?]
        do {
            outcomes = try await database.withConnection { connection in
                let sql = connection as! any SQLDatabase
                let id = try await (connection as! any SQLiteDatabase).withConnection { $0.eventLoop.makeSucceededFuture(ObjectIdentifier($0)) }.get()
                if configured.first(id) {
                    do {
                        // A bounded wait covers other processes (the CLI) holding the file lock.
                        try await sql.raw("PRAGMA busy_timeout = 10000").run()
                        try await sql.raw("PRAGMA synchronous = \(unsafeRaw: synchronous)").run()
                    } catch {
                        configured.forget(id)
                        throw error
                    }
                }
                try await sql.raw("BEGIN IMMEDIATE").run()
                var outcomes: [(any Error)?] = []
                do {
                    // While nothing is kept in the open transaction, a write needs no savepoint: if it fails,
                    // rolling the whole transaction back takes only it, and the next write opens another.
                    var fresh = true
                    for write in batch {
                        let transaction = Transaction(db: connection, dialect: .sqlite, clock: clock)
                        made.value.withLock { $0 = ($0 ?? []) + [transaction] }
                        if fresh {
                            do {
                                try await write.body(transaction)
                                outcomes.append(nil)
                                fresh = false
                            } catch {
                                outcomes.append(error)
                                try? await sql.raw("ROLLBACK").run()  // SQLite may have rolled back already
                                try await sql.raw("BEGIN IMMEDIATE").run()
                            }
                            continue
                        }
                        try await sql.raw("SAVEPOINT write").run()
                        do {
                            try await write.body(transaction)
                            try await sql.raw("RELEASE write").run()
                            outcomes.append(nil)
                        } catch {
                            outcomes.append(error)
                            // If even this fails the transaction is unusable: the whole batch fails below, and
                            // this write keeps its own error.
                            try await sql.raw("ROLLBACK TO write").run()
                            try await sql.raw("RELEASE write").run()
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw GroupFailure(cause: error, outcomes: outcomes)
                }
                return outcomes
            }
        } catch {
            for transaction in made.value.withLock({ $0 }) ?? [] { transaction.ended(committed: false) }
            let failure = error as? GroupFailure
            let cause = failure?.cause ?? error
            return batch.indices.map { index in
                failure.flatMap { index < $0.outcomes.count ? $0.outcomes[index] : nil } ?? cause
            }
        }
        for (transaction, outcome) in zip(made.value.withLock({ $0 }) ?? [], outcomes) { transaction.ended(committed: outcome == nil) }
        return outcomes
    }
}
