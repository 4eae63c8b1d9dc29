import Dispatch
import Synchronization

/// How work given a time limit ended.
public enum DeadlineOutcome<Value: Sendable>: Sendable {
    case finished(Result<Value, any Error>)
    case timedOut
}

/// Runs `work` and answers with whichever comes first: its result or the deadline.
///
/// A task group would wait for `work` to notice its cancellation — a database driver still connecting, or an
/// activity's code that never checks, may not notice for seconds or at all — so the loser is cancelled and left
/// to end on its own. Work that outlives its deadline may therefore still be running when this returns.
/// Cancelling the caller cancels `work`.
public func withDeadline<Value: Sendable>(
    _ timeout: Duration, _ work: @escaping @Sendable () async throws -> Value
) async -> DeadlineOutcome<Value> {
    let answer = FirstAnswer<DeadlineOutcome<Value>>()
    let worker = Task {
        do {
            answer.give(.finished(.success(try await work())))
        } catch {
            answer.give(.finished(.failure(error)))
        }
    }
    // A dispatch timer rather than a sleeping task: one task less per call (GraphQL runs every request through here).
    let timer = DispatchWorkItem { answer.give(.timedOut) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval, execute: timer)
    let outcome = await withTaskCancellationHandler {
        await answer.value()
    } onCancel: {
        worker.cancel()
    }
    timer.cancel()
    if case .timedOut = outcome { worker.cancel() }
    return outcome
}

/// The first value given, for one waiter; later ones are dropped.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var given = false
        var waiter: CheckedContinuation<Value, Never>?
    }
    private let state = Mutex(State())

    func give(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard !state.given else { return nil }
            state.given = true
            guard let waiter = state.waiter else {
                state.value = value
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: value)
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if state.given, let value = state.value { return value }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
