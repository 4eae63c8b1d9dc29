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
func withTimeout<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async -> T? {
    guard case .finished(.success(let value)) = await withDeadline(timeout, work) else { return nil }
    return value
}
