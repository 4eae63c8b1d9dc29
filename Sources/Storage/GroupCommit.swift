import Foundation
import FluentKit
import PlazaKit
import SQLKit

/// Group commit for SQLite, which has one writer at a time: transactions that wait for the writer are run
/// one after another inside a single database transaction — each in a savepoint of its own — and committed
/// together (a ``Batcher``), so a busy server pays one `BEGIN`, one `COMMIT` and (with `synchronous = FULL`)
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

    /// Runs a batch in one database transaction; returns, per write, `nil` or the error that failed it.
    static func commit(
        _ batch: [Write], on database: any Database, synchronous: DatabaseSettings.Synchronous, clock: any PlazaClock
    ) async -> [(any Error)?] {
        let synchronous = synchronous == .full ? "FULL" : "NORMAL"
        let single = batch.count == 1
        do {
            return try await database.withConnection { connection in
                let sql = connection as! any SQLDatabase
                // A bounded wait covers other processes (the CLI) holding the file lock.
                // Connection settings, cheap enough to restate per batch (the pool may reconnect).
                try await sql.raw("PRAGMA busy_timeout = 10000").run()
                try await sql.raw("PRAGMA synchronous = \(unsafeRaw: synchronous)").run()
                try await sql.raw("BEGIN IMMEDIATE").run()
                var outcomes: [(any Error)?] = []
                do {
                    for write in batch {
                        // Alone, a write needs no savepoint: its failure rolls the transaction back.
                        if !single { try await sql.raw("SAVEPOINT write").run() }
                        do {
                            try await write.body(Transaction(db: connection, dialect: .sqlite, clock: clock))
                            if !single { try await sql.raw("RELEASE write").run() }
                            outcomes.append(nil)
                        } catch {
                            if single { throw error }
                            // If even this fails the transaction is unusable: the whole batch fails below.
                            try await sql.raw("ROLLBACK TO write").run()
                            try await sql.raw("RELEASE write").run()
                            outcomes.append(error)
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
                return outcomes
            }
        } catch {
            return batch.map { _ in error }
        }
    }
}
