/// A first-in-first-out async lock: SQLite allows one writer at a time, so Plaza queues its own
/// writers in memory instead of letting them spin on the file lock.
actor WriteGate {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
