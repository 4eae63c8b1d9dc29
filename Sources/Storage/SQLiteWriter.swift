import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import Synchronization
import VaporCSQLite

/// The one connection a SQLite store writes through, with statements run on the calling thread.
///
/// SQLite has one writer, and group commit (``GroupCommit``) already runs every write of the process through it
/// one after another. Through SQLiteNIO each statement hops to a thread pool and back — two thread wake-ups of
/// 20–40 µs for a statement that itself takes a few microseconds in the page cache — and those hops, not
/// SQLite, were most of a busy writer's time (session 7's profile: 38 % of samples in futex wake-ups and
/// context switches, 1.6 % in SQLite's VDBE). Here a statement runs inline: prepared once and kept (a small
/// cache keyed by its SQL), bound, stepped, its rows decoded, all before `execute` returns.
///
/// What may wait long goes to the writer's own thread instead, so a cooperative thread never waits on an
/// fsync or on another process: `COMMIT`, and any statement that finds the file locked by another connection
/// (the CLI, a migration) — it is tried once without waiting, and on `SQLITE_BUSY` again on that thread with a
/// busy timeout. (A statement inline may still read pages from the disk on a cache miss.) The thread is the
/// writer's alone: SQLiteNIO's readers, whose connections wait for a lock without end, may fill the store's
/// other threads, and a `COMMIT` queued behind them would never run.
///
/// The same SQLite library as SQLiteNIO's reading pool (SQLiteNIO's vendored copy): two copies of SQLite in one
/// process would not see each other's POSIX locks.
final class SQLiteWriter: Sendable {
    /// How long a statement waits for another process's lock before it fails with "database is locked".
    static let busyTimeoutMilliseconds: Int32 = 10_000
    /// Prepared statements kept; a batch's dynamic statements (IN lists of varying length) take what is left
    /// and the least recently used are finalized.
    static let cachedStatements = 96

    private let connection: Mutex<Connection>
    /// One thread, for what may wait long (see above).
    private let threadPool: NIOThreadPool
    let eventLoop: any EventLoop
    let logger: Logger

    private static let initialized: Bool = {
        sqlite_nio_sqlite3_initialize() == SQLITE_OK
    }()

    /// Opens the file (on the writer's thread: opening may read and recover a WAL) and applies `pragmas` once.
    static func open(path: String, pragmas: [String], eventLoop: any EventLoop, logger: Logger) async throws -> SQLiteWriter {
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        do {
            return try await open(path: path, pragmas: pragmas, threadPool: threadPool, eventLoop: eventLoop, logger: logger)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    private static func open(
        path: String, pragmas: [String], threadPool: NIOThreadPool, eventLoop: any EventLoop, logger: Logger
    ) async throws -> SQLiteWriter {
        let opened = try await threadPool.runIfActive { () throws -> OpenedHandle in
            guard initialized else { throw SQLiteWriteError(code: SQLITE_ERROR, message: "SQLite could not be initialised") }
            var handle: OpaquePointer?
            let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
            let result = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
            guard result == SQLITE_OK, let handle else {
                let error = SQLiteWriteError(code: result, message: handle.map(Self.message) ?? "cannot open \(path)")
                sqlite_nio_sqlite3_close_v2(handle)
                throw error
            }
            for pragma in pragmas {
                let result = sqlite_nio_sqlite3_exec(handle, pragma, nil, nil, nil)
                guard result == SQLITE_OK else {
                    let error = SQLiteWriteError(code: result, message: Self.message(handle))
                    sqlite_nio_sqlite3_close_v2(handle)
                    throw error
                }
            }
            return OpenedHandle(raw: handle)
        }
        return SQLiteWriter(connection: Connection(handle: opened.raw), threadPool: threadPool, eventLoop: eventLoop, logger: logger)
    }

    /// A handle crossing from the pool thread that opened it to the writer that owns it.
    private struct OpenedHandle: @unchecked Sendable { let raw: OpaquePointer }

    private init(connection: consuming Connection, threadPool: NIOThreadPool, eventLoop: any EventLoop, logger: Logger) {
        self.connection = Mutex(connection)
        self.threadPool = threadPool
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Runs one statement: inline unless the file is locked by another process (then on the pool, waiting).
    func run(_ sql: String, _ binds: [SQLiteData] = [], onRow: (SQLiteWriterRow) -> Void = { _ in }) async throws {
        let outcome = try connection.withLock { try $0.runWithoutWaiting(sql, binds, onRow: onRow) }
        guard outcome == .busy else { return }
        for row in try await runOnPool(sql, binds) { onRow(row) }
    }

    /// Runs a statement on the pool, waiting up to the busy timeout for another process's lock: for what may
    /// wait on the disk (`COMMIT`) or on a lock.
    @discardableResult
    func runOnPool(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteWriterRow] {
        try await threadPool.runIfActive {
            try self.connection.withLock { connection in
                var rows: [SQLiteWriterRow] = []
                try connection.runWaiting(sql, binds) { rows.append($0) }
                return rows
            }
        }
    }

    /// Finalizes the kept statements and closes the file (on the writer's thread, which may be waiting for a
    /// lock), then stops the thread. Statements afterwards fail with "the database is closed".
    func close() async {
        try? await threadPool.runIfActive { self.connection.withLock { $0.close() } }
        try? await threadPool.shutdownGracefully()
    }

    static func message(_ handle: OpaquePointer) -> String {
        sqlite_nio_sqlite3_errmsg(handle).map { String(cString: $0) } ?? "unknown error"
    }

    enum Outcome { case done, busy }

    /// The handle and its statement cache; used only under the writer's lock (hence unchecked: its pointers
    /// move between the threads that take the lock, never at once).
    struct Connection: ~Copyable, @unchecked Sendable {
        private var handle: OpaquePointer?
        private var statements: [String: Cached] = [:]
        private var uses = 0

        struct Cached {
            var statement: OpaquePointer
            var lastUse: Int
        }

        init(handle: OpaquePointer) {
            self.handle = handle
        }

        /// Runs `sql` without waiting for a lock: `.busy` if another process holds it before any row came.
        mutating func runWithoutWaiting(_ sql: String, _ binds: [SQLiteData], onRow: (SQLiteWriterRow) -> Void) throws -> Outcome {
            do {
                try run(sql, binds, onRow: onRow)
                return .done
            } catch let error as SQLiteWriteError where error.isBusy && !error.afterRows {
                return .busy
            }
        }

        /// Runs `sql`, waiting up to the busy timeout for another process's lock.
        mutating func runWaiting(_ sql: String, _ binds: [SQLiteData], onRow: (SQLiteWriterRow) -> Void) throws {
            sqlite_nio_sqlite3_busy_timeout(handle, SQLiteWriter.busyTimeoutMilliseconds)
            defer { sqlite_nio_sqlite3_busy_timeout(handle, 0) }
            try run(sql, binds, onRow: onRow)
        }

        mutating func run(_ sql: String, _ binds: [SQLiteData], onRow: (SQLiteWriterRow) -> Void) throws {
            guard let handle else { throw SQLiteWriteError(code: SQLITE_MISUSE, message: "the database is closed") }
            let statement = try prepared(sql, on: handle)
            defer { release(sql, statement) }
            for (index, value) in binds.enumerated() {
                try check(Self.bind(value, at: Int32(index + 1), to: statement), on: handle)
            }
            var columns: SQLiteWriterRow.Columns?
            var afterRows = false
            while true {
                let result = sqlite_nio_sqlite3_step(statement)
                if result == SQLITE_DONE { return }
                guard result == SQLITE_ROW else {
                    var error = SQLiteWriteError(code: result, message: SQLiteWriter.message(handle))
                    error.afterRows = afterRows
                    throw error
                }
                let names = columns ?? SQLiteWriterRow.Columns(statement)
                columns = names
                afterRows = true
                onRow(SQLiteWriterRow(columns: names, values: try (0..<Int32(names.names.count)).map { try Self.value(at: $0, of: statement) }))
            }
        }

        /// A kept statement for `sql`, or a new one (kept if there is room once the least used one is dropped).
        private mutating func prepared(_ sql: String, on handle: OpaquePointer) throws -> OpaquePointer {
            uses += 1
            if let cached = statements.removeValue(forKey: sql) { return cached.statement }
            var statement: OpaquePointer?
            let result = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard result == SQLITE_OK, let statement else {
                throw SQLiteWriteError(code: result, message: SQLiteWriter.message(handle))
            }
            return statement
        }

        /// Resets a statement after use and keeps it (taken out of the cache while in use; a row handler must
        /// not run statements — the writer's lock is held while rows are handed out).
        private mutating func release(_ sql: String, _ statement: OpaquePointer) {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
            if statements.count >= SQLiteWriter.cachedStatements,
                let oldest = statements.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                sqlite_nio_sqlite3_finalize(oldest.value.statement)
                statements.removeValue(forKey: oldest.key)
            }
            if let replaced = statements.updateValue(Cached(statement: statement, lastUse: uses), forKey: sql) {
                sqlite_nio_sqlite3_finalize(replaced.statement)
            }
        }

        private func check(_ result: Int32, on handle: OpaquePointer) throws {
            guard result == SQLITE_OK else { throw SQLiteWriteError(code: result, message: SQLiteWriter.message(handle)) }
        }

        private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
            switch value {
            case .integer(let value): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
            case .float(let value): sqlite_nio_sqlite3_bind_double(statement, index, value)
            case .null: sqlite_nio_sqlite3_bind_null(statement, index)
            case .text(let value):
                sqlite_nio_sqlite3_bind_text64(statement, index, value, UInt64(value.utf8.count), SQLITE_TRANSIENT, UInt8(SQLITE_UTF8))
            case .blob(let value):
                value.withUnsafeReadableBytes {
                    sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), SQLITE_TRANSIENT)
                }
            }
        }

        private static func value(at column: Int32, of statement: OpaquePointer) throws -> SQLiteData {
            switch sqlite_nio_sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
            case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
            case SQLITE_NULL: return .null
            case SQLITE_TEXT:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
                return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
            case SQLITE_BLOB:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                    buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
                }
                return .blob(buffer)
            default:
                throw SQLiteWriteError(code: SQLITE_MISMATCH, message: "a column of an unknown type")
            }
        }

        mutating func close() {
            for cached in statements.values { sqlite_nio_sqlite3_finalize(cached.statement) }
            statements.removeAll()
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            handle = nil
        }
    }
}

/// What SQLite said when a statement of the writer failed; reads like SQLiteNIO's errors ("UNIQUE constraint
/// failed: …"), which ``isUniqueViolation(_:)`` and people rely on.
struct SQLiteWriteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    /// The statement had already returned rows (so it is not run again on `SQLITE_BUSY`).
    var afterRows = false

    var isBusy: Bool { code & 0xFF == SQLITE_BUSY }
    var description: String { "SQLite error \(code): \(message)" }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A row the writer read: the statement's column names (shared by its rows) and the row's values.
struct SQLiteWriterRow: SQLRow, @unchecked Sendable {
    final class Columns: @unchecked Sendable {
        let names: [String]
        let index: [String: Int]

        init(_ statement: OpaquePointer) {
            let count = sqlite_nio_sqlite3_column_count(statement)
            names = (0..<count).map { sqlite_nio_sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? "" }
            // The first of two columns with one name wins, as in SQLiteNIO.
            index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        var description: String { "no column named \(column) in the row" }
    }

    let columns: Columns
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }
    func contains(column: String) -> Bool { columns.index[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let index = columns.index[column] else { return true }
        return values[index] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let index = columns.index[column] else { throw MissingColumn(column: column) }
        return try Self.decoder.decode(D.self, from: values[index])
    }

    /// One for all rows: each `SQLiteDataDecoder()` makes a `JSONDecoder`, which decoding only reads.
    private static let decoder = SQLiteDataDecoder()
}

/// The writer as SQLKit sees it: what a SQLite ``Transaction`` hands to the services.
struct SQLiteWriterDatabase: SQLDatabase {
    let writer: SQLiteWriter
    var logger: Logger { writer.logger }
    var eventLoop: any EventLoop { writer.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = try serialize(query)
        logger.trace("Executing query", metadata: ["sql": .string(sql), "binds": .array(binds.map { .string("\($0)") })])
        try await writer.run(sql, binds) { onRow($0) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await execute(sql: query, onRow) }
        return promise.futureResult
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    private func serialize(_ query: any SQLExpression) throws -> (String, [SQLiteData]) {
        var serializer = SQLSerializer(database: self)
        query.serialize(to: &serializer)
        return (serializer.sql, try serializer.binds.map { try Self.encoder.encode($0) })
    }

    /// One for all statements: each `SQLiteDataEncoder()` makes a `JSONEncoder`, which encoding only reads.
    private static let encoder = SQLiteDataEncoder()
}
