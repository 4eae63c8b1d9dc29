import FluentKit
import Foundation
import Logging
import SQLKit

/// The ordered list of migrations. Each module contributes its own; the composition root concatenates
/// them in dependency order. Migrations are forward-only: released ones are never edited, new ones are appended.
public struct MigrationList: Sendable {
    public private(set) var migrations: [any Migration] = []
    public init(_ migrations: [any Migration] = []) { self.migrations = migrations }

    public mutating func add(_ migration: any Migration) { migrations.append(migration) }
    public mutating func add(contentsOf other: MigrationList) { migrations.append(contentsOf: other.migrations) }
    public var names: [String] { migrations.map(\.name) }
}

extension Store {
    /// Applies every pending migration; returns the names applied. Running it again applies nothing.
    ///
    /// On PostgreSQL an advisory lock keeps two starting instances from migrating at once.
    @discardableResult
    public func migrate(_ list: MigrationList) async throws -> [String] {
        try await withMigrator(list) { migrator in
            try await migrator.setupIfNeeded().get()
            let pending = try await migrator.previewPrepareBatch().get().map { $0.0.name }
            if !pending.isEmpty { try await migrator.prepareBatch().get() }
            return pending
        }
    }

    /// The names of migrations not yet applied (an empty list means the schema is current).
    public func pendingMigrations(_ list: MigrationList) async throws -> [String] {
        try await withMigrator(list) { migrator in
            try await migrator.setupIfNeeded().get()
            return try await migrator.previewPrepareBatch().get().map { $0.0.name }
        }
    }

    private func withMigrator<T: Sendable>(_ list: MigrationList, _ body: @escaping @Sendable (Migrator) async throws -> T) async throws -> T {
        let migrations = Migrations()
        for migration in list.migrations { migrations.add(migration) }
        let logger = self.logger
        return try await db.withConnection { connection in
            // Every statement runs on this one connection, which holds the lock on PostgreSQL.
            let migrator = Migrator(
                databaseFactory: { _ in connection }, migrations: migrations, on: connection.eventLoop,
                migrationLogLevel: .debug)
            let sql = connection as! any SQLDatabase
            let isPostgres = connection.dialect == .postgres
            if isPostgres { try await sql.raw("SELECT pg_advisory_lock(31632332874152545)").run() }
            do {
                let result = try await body(migrator)
                if isPostgres { try await sql.raw("SELECT pg_advisory_unlock(31632332874152545)").run() }
                return result
            } catch {
                if isPostgres { try? await sql.raw("SELECT pg_advisory_unlock(31632332874152545)").run() }
                logger.error("migration failed", metadata: ["error": "\(String(reflecting: error))"])
                throw error
            }
        }
    }
}

extension Database {
    /// The engine behind this connection, for migrations and queries that differ by dialect.
    public var dialect: Dialect {
        (self as? any SQLDatabase)?.dialect.name == "postgresql" ? .postgres : .sqlite
    }

    /// The connection as SQLKit sees it.
    public var sql: any SQLDatabase { self as! any SQLDatabase }

    /// Runs raw SQL statements in order (DDL that Fluent's schema builder cannot express).
    public func execute(_ statements: String...) async throws {
        for statement in statements {
            try await sql.execute(sql: SQLRaw(statement)) { _ in }
        }
    }
}
