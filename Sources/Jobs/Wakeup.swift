import Foundation
import Synchronization

/// A doorbell for waiting loops: `ring()` wakes every loop waiting now, or the next one to wait.
///
/// A ring while nobody waits is remembered (once), so a ring between two waits is never lost. A wait ends
/// when rung, when its timeout passes or when its task is cancelled — each exactly once, whatever order
/// they race in. (It was two child tasks racing, a continuation and a sleep; a sleep that ended before the
/// continuation was registered — at once, in a cancelled task — left the group waiting for a ring forever,
/// which hung whole test passes at shutdown, 2026-11-30.)
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        /// Waits whose end (cancellation) came before they were registered.
        var ended: Set<UUID> = []
    }
    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until rung, until `timeout` passes or until the task is cancelled, whichever comes first.
    public func wait(timeout: Duration) async {
        let id = UUID()
        let timer = Mutex<Task<Void, Never>?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state -> Bool in
                    if state.ended.remove(id) != nil { return false }
                    if state.pending {
                        state.pending = false
                        return false
                    }
                    state.waiters[id] = continuation
                    return true
                }
                guard registered else { return continuation.resume() }
                // Started only now, so it always finds the waiter it is for (unless a ring or a cancellation took
                // it first; then it ends nothing). Cancelled below once the wait is over.
                timer.withLock {
                    $0 = Task.detached { [weak self] in
                        try? await Task.sleep(for: timeout)
                        self?.end(id, beforeRegistered: false)
                    }
                }
            }
        } onCancel: {
            end(id, beforeRegistered: true)
        }
        timer.withLock { $0 }?.cancel()
        // A cancellation that came after the wait had ended noted it as ended-before-registered; forget it.
        _ = state.withLock { $0.ended.remove(id) }
    }

    /// Ends one wait: resumes it if it is registered; otherwise (a cancellation that came first) notes it so
    /// that it does not start waiting.
    private func end(_ id: UUID, beforeRegistered: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            if beforeRegistered { state.ended.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
