import Foundation
import PlazaKit
import Storage

extension WorkflowEngine {
    /// Starts an instance in a transaction of its own (a client starting a process by itself, as the
    /// benchmark's clients do; modules start theirs in the transaction of the domain change).
    ///
    /// Not batched like activities' successes: measured, a batcher in front of the starts made them slower
    /// (PostgreSQL 930–973 → 809–850 workflows/s, SQLite 1,770 → 1,490): it let one start transaction run at a
    /// time where separate ones run side by side on PostgreSQL's connections, and on SQLite group commit
    /// already shares the commits.
    public func start(
        _ name: String, subject: String? = nil, owner: UUID?, participants: [UUID] = [], parent: UUID? = nil, payload: JSONValue? = nil,
        caller: Caller
    ) async throws -> WorkflowInstance {
        try await store.transaction { transaction in
            try await self.start(
                name, subject: subject, owner: owner, participants: participants, parent: parent, payload: payload, caller: caller, in: transaction)
        }
    }
}
