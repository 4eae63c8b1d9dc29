import Foundation
import PlazaKit
import SQLKit

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

    /// Runs a batch in one database transaction; returns, per write, `nil` or the error that failed it.
    static func commit(_ batch: [Write], on writer: SQLiteWriter, clock: any PlazaClock) async -> [(any Error)?] {
        let database = SQLiteWriterDatabase(writer: writer)
        var made: [Transaction] = []
        let outcomes: [(any Error)?]
        do {
            try await writer.run("BEGIN IMMEDIATE")
            var collected: [(any Error)?] = []
            do {
                // While nothing is kept in the open transaction, a write needs no savepoint: if it fails,
                // rolling the whole transaction back takes only it, and the next write opens another.
                var fresh = true
                for write in batch {
                    let transaction = Transaction(sql: database, dialect: .sqlite, clock: clock)
                    made.append(transaction)
                    if fresh {
                        do {
                            try await write.body(transaction)
                            collected.append(nil)
                            fresh = false
                        } catch {
                            collected.append(error)
                            try? await writer.run("ROLLBACK") // SQLite may have rolled back already
                            try await writer.run("BEGIN IMMEDIATE")
                        }
                        continue
                    }
                    try await writer.run("SAVEPOINT write")
                    do {
                        try await write.body(transaction)
                        try await writer.run("RELEASE write")
                        collected.append(nil)
                    } catch {
                        collected.append(error)
                        // If even this fails the transaction is unusable: the whole batch fails below, and
                        // this write keeps its own error.
                        try await writer.run("ROLLBACK TO write")
                        try await writer.run("RELEASE write")
                    }
                }
                // The one statement that waits for the disk (the fsync): on the writer's thread, not a cooperative one.
                try await writer.runOnPool("COMMIT")
            } catch {
                try? await writer.run("ROLLBACK")
                throw GroupFailure(cause: error, outcomes: collected)
            }
            outcomes = collected
        } catch {
            for transaction in made { transaction.ended(committed: false) }
            let failure = error as? GroupFailure
            let cause = failure?.cause ?? error
            return batch.indices.map { index in
                failure.flatMap { index < $0.outcomes.count ? $0.outcomes[index] : nil } ?? cause
            }
        }
        for (transaction, outcome) in zip(made, outcomes) { transaction.ended(committed: outcome == nil) }
        return outcomes
    }
}
