import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// A PostgreSQL store's reads and transactions: PostgresNIO's async client and its pool, with the code that
/// uses a leased connection running on that connection's event loop (``EventLoopExecutor``).
///
/// Through Fluent's driver each statement's answer arrived on the connection's loop and resumed the caller on
/// the cooperative pool — two thread wake-ups per statement, which on this 2-core machine were a fifth of the
/// workflow benchmark's time (637 → 781 workflows/s with the same statements). Fluent keeps its own pool for
/// migrations only.
struct PostgresClientDatabase: SQLDatabase {
    let client: PostgresClient
    let statements: PostgresStatements
    let logger: Logger
    let eventLoop: any EventLoop
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    /// Leases a connection and runs `body` on its event loop with it.
    func withConnection<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let (logger, statements) = (self.logger, self.statements)
        return try await client.withConnection { connection in
            try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                try await body(PostgresSessionDatabase(connection: connection, statements: statements, logger: logger))
            }
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await withConnection { try await $0.execute(sql: query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await execute(sql: query, onRow) }
        return promise.futureResult
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let box = try await withConnection { session in UncheckedBox(value: try await closure(session)) }
        return box.value
    }

    /// `withSession`'s result is not required to be Sendable; it only passes back to the caller that asked.
    private struct UncheckedBox<Value>: @unchecked Sendable { let value: Value }
}
