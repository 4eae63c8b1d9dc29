import Foundation

extension Process {
    /// Waits (blocking the calling thread) until the process exits or `limit` passes; says whether it exited.
    func waitForExit(upTo limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        return !isRunning
    }

    /// Ends the process for good, blocking for at most `grace` + a moment: SIGTERM, then SIGKILL if it is still
    /// there after `grace`. Says whether it stopped by itself.
    ///
    /// Never an unbounded `waitUntilExit()`: a child that does not stop (a shutdown that hangs, a SIGTERM the
    /// child inherited blocked from the test process's threads) would hold a thread of the two-thread pool for
    /// good, and a whole test pass with it.
    @discardableResult
    func end(grace: Duration) -> Bool {
        guard isRunning else { return true }
        terminate()
        let stopped = waitForExit(upTo: grace)
        if !stopped { kill(processIdentifier, SIGKILL) }
        waitUntilExit()
        return stopped
    }
}
