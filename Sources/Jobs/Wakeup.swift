import Foundation
import Synchronization

/// A doorbell for waiting loops: `ring()` wakes every loop waiting now, or the next one to wait.
///
/// A ring while nobody waits is remembered (once), so a ring between two waits is never lost.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
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

    /// Waits until rung or until `timeout` passes, whichever comes first.
    public func wait(timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Timed out (or cancelled because the bell rang): release this waiter only.
                let mine = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                mine?.resume()
            }
            await group.next()
            group.cancelAll()
        }
    }
}
