import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix
import PlazaKit
import SQLKit
import Synchronization

/// The database every service writes through: connection pools for one SQLite file or one PostgreSQL
/// database, the clock, and the transaction helper.
public final class Store: Sendable {
    public let settings: DatabaseSettings
    public let databases: Databases
    public let clock: any PlazaClock
    public let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let groupCommit: GroupCommit?
    private let open = Mutex(0)

    /// Opens the pools (connections are made on first use) and, on SQLite, switches the file to WAL.
    public static func open(
        _ settings: DatabaseSettings, clock: any PlazaClock = SystemClock(), logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> Store {
        let store = try Store(settings: settings, clock: clock, logger: logger, eventLoopGroup: eventLoopGroup)
        if case .sqlite = settings.location {
            do {
                // WAL lets readers run while one writer writes; the setting is stored in the file.
                try await store.sql.raw("PRAGMA journal_mode = WAL").run()
            } catch {
                await store.shutdown()
                throw error
            }
        }
        return store
    }

    private init(settings: DatabaseSettings, clock: any PlazaClock, logger: Logger, eventLoopGroup: any EventLoopGroup) throws {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        let databases = Databases(threadPool: .singleton, on: eventLoopGroup)
        self.databases = databases
        switch settings.location {
        case .sqlite(let path):
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqlite)
            let synchronous = settings.synchronous
            groupCommit = GroupCommit { batch in
                guard let database = databases.database(logger: logger, on: eventLoopGroup.any()) else {
                    return batch.map { _ in PlazaError(.serviceUnavailable, code: "database-closed", title: "Unavailable", detail: "The database is shut down.") }
                }
                return await Self.commit(batch, on: database, synchronous: synchronous, clock: clock)
            }
        case .postgres(let url):
            // PostgresNIO's async client and its connection pool: statements inside a transaction cost about
            // a fifth of what they cost through the older EventLoopFuture pool (measured: bench --ping).
            var configuration = try PostgresURL.clientConfiguration(url)
            configuration.options.maximumConnections = settings.poolSize * Array(eventLoopGroup.makeIterator()).count
            configuration.options.minimumConnections = 0
            databases.use(.postgres(configuration: configuration, sqlLogLevel: .trace, logger: logger), as: .psql)
            groupCommit = nil
        }
    }

    public var dialect: Dialect { settings.dialect }

    /// A database handle for reads and Fluent queries outside a transaction.
    public var db: any Database {
        guard let database = databases.database(logger: logger, on: eventLoopGroup.any()) else {
            preconditionFailure("the store was used after shutdown")
        }
        return database
    }

    /// An SQLKit handle for reads outside a transaction.
    public var sql: any SQLDatabase { db as! any SQLDatabase }

    /// Runs `body` in one transaction: it commits when `body` returns and rolls back when it throws.
    ///
    /// On SQLite, which has one writer, transactions queue in this process and are committed in groups
    /// (``GroupCommit``): each body runs in a savepoint of a shared `BEGIN IMMEDIATE` transaction, and returns
    /// only after the shared `COMMIT`. A body must never open another transaction inside itself.
    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        open.withLock { $0 += 1 }
        defer { open.withLock { $0 -= 1 } }
        let clock = self.clock
        switch dialect {
        case .postgres:
            // SQLKit's session rather than Fluent's `transaction`: the async path through PostgresNIO's client
            // costs a fraction per statement of Fluent's future-wrapped one (measured with `plaza-bench --ping`).
            let (value, transaction) = try await sql.withSession { session in
                guard let database = session as? any Database else {
                    preconditionFailure("a Fluent PostgreSQL session is always a Fluent database")
                }
                try await session.raw("BEGIN").run()
                let transaction = Transaction(db: database, dialect: .postgres, clock: clock)
                do {
                    let value = try await body(transaction)
                    try await session.raw("COMMIT").run()
                    return (value, transaction)
                } catch {
                    try? await session.raw("ROLLBACK").run()
                    throw error
                }
            }
            transaction.runCommitHooks()
            return value
        case .sqlite:
            guard let groupCommit else { preconditionFailure("SQLite store without group commit") }
            let slot = Slot<(T, Transaction)>()
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                groupCommit.submit(GroupCommit.Write(
                    body: { transaction in
                        let value = try await body(transaction)
                        slot.value.withLock { $0 = (value, transaction) }
                    },
                    finish: { error in
                        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                    }))
            }
            guard let (value, transaction) = slot.value.withLock({ $0 }) else { preconditionFailure("a committed write left no value") }
            transaction.runCommitHooks()
            return value
        }
    }

    /// Commits a batch of SQLite writes in one transaction (see ``GroupCommit``).
    private static func commit(
        _ batch: [GroupCommit.Write], on database: any Database, synchronous: DatabaseSettings.Synchronous, clock: any PlazaClock
    ) async -> [(any Error)?] {
        let synchronous = synchronous == .full ? "FULL" : "NORMAL"
        let single = batch.count == 1
        do {
            return try await database.withConnection { connection in
                let sql = connection as! any SQLDatabase
                // A bounded wait covers other processes (the CLI) holding the file lock.
                // Connection settings, cheap enough to restate per batch (the pool may reconnect).
                try await sql.raw("PRAGMA busy_timeout = 10000").run()
                try await sql.raw("PRAGMA synchronous = \(unsafeRaw: synchronous)").run()
                try await sql.raw("BEGIN IMMEDIATE").run()
                var outcomes: [(any Error)?] = []
                do {
                    for write in batch {
                        // Alone, a write needs no savepoint: its failure rolls the transaction back.
                        if !single { try await sql.raw("SAVEPOINT write").run() }
                        do {
                            try await write.body(Transaction(db: connection, dialect: .sqlite, clock: clock))
                            if !single { try await sql.raw("RELEASE write").run() }
                            outcomes.append(nil)
                        } catch {
                            if single { throw error }
                            // If even this fails the transaction is unusable: the whole batch fails below.
                            try await sql.raw("ROLLBACK TO write").run()
                            try await sql.raw("RELEASE write").run()
                            outcomes.append(error)
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
                return outcomes
            }
        } catch {
            return batch.map { _ in error }
        }
    }

    /// On SQLite, how many database transactions carried how many writes so far (see ``GroupCommit``).
    public var groupCommitTotals: (batches: Int, writes: Int)? { groupCommit?.totals.withLock { $0 } }

    /// Transactions open or waiting for a connection right now (a `/metrics` gauge).
    public var openTransactions: Int { open.withLock { $0 } }

    /// How many connections the pools may open in all.
    public var poolCapacity: Int {
        let loops = Array(eventLoopGroup.makeIterator()).count
        return dialect == .postgres ? settings.poolSize * loops : loops
    }

    /// Checks that the database answers (`/ready`).
    public func ping() async throws {
        try await sql.raw("SELECT 1").run()
    }

    /// Closes every connection. The store cannot be used afterwards.
    public func shutdown() async {
        await databases.shutdownAsync()
    }
}

/// A value handed from the task that computes it to the one that waits for it.
final class Slot<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
