import Foundation
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// The answer of `/ready`.
public struct ReadinessReport: Codable, Sendable, Equatable {
    public var status: String
    public var database: String
    public var migrations: String
    public var pendingMigrations: [String]

    public var isReady: Bool { status == "ready" }
}

/// Checks that the database answers and that every migration this binary knows has been applied.
public final class Readiness: Sendable {
    let store: Store
    let expected: [String]
    let timeout: Duration
    /// Once the schema is current it stays current for this binary, so the check is not repeated.
    private let migrationsCurrent = Mutex(false)

    public init(store: Store, migrations: MigrationList, timeout: Duration = .seconds(2)) {
        self.store = store
        self.expected = migrations.names
        self.timeout = timeout
    }

    public func check() async -> ReadinessReport {
        let store = self.store
        let reachable: Void? = await withTimeout(timeout) { try await store.ping() }
        guard reachable != nil else {
            return ReadinessReport(status: "unavailable", database: "unreachable", migrations: "unknown", pendingMigrations: [])
        }
        if migrationsCurrent.withLock({ $0 }) {
            return ReadinessReport(status: "ready", database: "ok", migrations: "current", pendingMigrations: [])
        }
        let applied = await withTimeout(timeout) {
            let rows = try await store.sql.raw("SELECT name FROM _fluent_migrations").all()
            return Set(try rows.map { try $0.decode(column: "name", as: String.self) })
        }
        let pending = expected.filter { !(applied ?? []).contains($0) }
        if pending.isEmpty { migrationsCurrent.withLock { $0 = true } }
        return ReadinessReport(
            status: pending.isEmpty ? "ready" : "unavailable", database: "ok",
            migrations: pending.isEmpty ? "current" : "pending", pendingMigrations: pending)
    }
}

/// Runs `work`, giving up after `timeout`; its result, or `nil` when it threw or ran out of time.
///
/// A task group would wait for `work` to notice its cancellation, and a database driver that is
/// still connecting may not notice for seconds; so the answer is taken from whichever finishes
/// first and the loser is cancelled and left to end on its own.
func withTimeout<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async -> T? {
    let answer = FirstAnswer<T?>()
    return await withCheckedContinuation { continuation in
        answer.arm(continuation)
        let worker = Task { answer.give(try? await work()) }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            answer.give(nil)
            worker.cancel()
        }
        answer.onGiven { timer.cancel() }
    }
}

/// Resumes a continuation with the first value given; later ones are dropped.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Never>?
        var given = false
        var whenGiven: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<Value, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    func onGiven(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.given { return true }
            state.whenGiven = action
            return false
        }
        if runNow { action() }
    }

    func give(_ value: Value) {
        let taken = state.withLock { state -> (CheckedContinuation<Value, Never>, (@Sendable () -> Void)?)? in
            guard !state.given, let continuation = state.continuation else { return nil }
            state.given = true
            state.continuation = nil
            return (continuation, state.whenGiven)
        }
        guard let (continuation, whenGiven) = taken else { return }
        continuation.resume(returning: value)
        whenGiven?()
    }
}
