import Synchronization

/// Gathers work that arrives while earlier work is being processed, and processes it together: the caller
/// of ``submit(_:)`` waits until the batch its item joined is done. A drainer takes everything waiting (up
/// to `maxBatch`), hands it to `process`, and looks again; items arriving meanwhile form the next batch. So a
/// quiet system processes each item at once, and a busy one pays per batch what it would pay per item
/// (a database commit, a statement).
public final class Batcher<Item: Sendable>: Sendable {
    /// Processes a batch; returns, per item in order, `nil` or the error that failed it.
    public typealias Process = @Sendable ([Item]) async -> [(any Error)?]

    private let state = Mutex<(pending: [(Item, CheckedContinuation<Void, any Error>)], draining: Bool)>(([], false))
    private let counts = Mutex<(batches: Int, items: Int)>((0, 0))
    private let maxBatch: Int
    private let process: Process

    public init(maxBatch: Int, process: @escaping Process) {
        precondition(maxBatch >= 1, "a batch holds at least one item")
        self.maxBatch = maxBatch
        self.process = process
    }

    /// Batches processed so far, and the items in them.
    public var totals: (batches: Int, items: Int) { counts.withLock { $0 } }

    /// Waits until `item` has been processed in a batch; throws the error it failed with.
    public func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startDraining = state.withLock { state -> Bool in
                state.pending.append((item, continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            // One drainer at a time; it runs until nothing is waiting.
            if startDraining { Task.detached { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [(Item, CheckedContinuation<Void, any Error>)] in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(maxBatch, state.pending.count)
                defer { state.pending.removeFirst(count) }
                return Array(state.pending.prefix(count))
            }
            guard !batch.isEmpty else { return }
            let outcomes = await process(batch.map(\.0))
            precondition(outcomes.count == batch.count, "a batch's outcomes must match its items")
            counts.withLock { $0 = ($0.batches + 1, $0.items + batch.count) }
            for ((_, continuation), outcome) in zip(batch, outcomes) {
                if let outcome { continuation.resume(throwing: outcome) } else { continuation.resume() }
            }
        }
    }
}
