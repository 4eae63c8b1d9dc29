import Foundation
import Synchronization

/// Group commit for SQLite, which has one writer at a time: transactions that wait for the writer are run
/// one after another inside a single database transaction — each in a savepoint of its own — and committed
/// together, so a busy server pays one `BEGIN`, one `COMMIT` and (with `synchronous = FULL`) one fsync for
/// many writes instead of one each. Nothing is weaker: no caller hears its write succeeded before the shared
/// `COMMIT` is durable; a write that throws is rolled back to its savepoint and the others go on; a failed
/// `COMMIT` fails every write in it.
///
/// Writes run in the order they arrived, so each sees the ones before it, exactly as if each had committed
/// on its own. As with any write transaction, a body must not open another transaction (it would wait for
/// the batch it is part of).
final class GroupCommit: Sendable {
    /// One transaction's body and where its outcome goes.
    struct Write: Sendable {
        let body: @Sendable (Transaction) async throws -> Void
        /// Called once: `nil` after the batch committed, or the error that failed this write.
        let finish: @Sendable ((any Error)?) -> Void
    }

    /// Runs a batch in one database transaction; returns, per write, `nil` or the error that failed it.
    typealias Committer = @Sendable ([Write]) async -> [(any Error)?]

    private let state = Mutex<(pending: [Write], draining: Bool)>(([], false))
    /// Batches committed (or failed) so far, and the writes in them.
    let totals = Mutex<(batches: Int, writes: Int)>((0, 0))
    private let maxBatch: Int
    private let committer: Committer

    init(maxBatch: Int = 64, committer: @escaping Committer) {
        self.maxBatch = maxBatch
        self.committer = committer
    }

    func submit(_ write: Write) {
        let startDraining = state.withLock { state -> Bool in
            state.pending.append(write)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        // One drainer at a time: it takes whatever is waiting, commits it, and looks again.
        if startDraining { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Write] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(maxBatch, state.pending.count)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            guard !batch.isEmpty else { return }
            let outcomes = await committer(batch)
            totals.withLock { $0 = ($0.batches + 1, $0.writes + batch.count) }
            for (write, outcome) in zip(batch, outcomes) { write.finish(outcome) }
        }
    }
}
