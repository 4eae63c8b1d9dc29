import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// Named prepared statements for the SQL a PostgreSQL store runs again and again.
///
/// Through an unnamed statement PostgreSQL parses, analyses and plans every execution — a quarter of its CPU
/// in the workflow benchmark, whose statements are a handful of texts repeated thousands of times a second.
/// A text that has come back ``promoteAfter`` times becomes a named statement, prepared on each connection
/// the first time it runs there (PostgresNIO keeps them per connection) and executed by name after that.
/// Texts seen fewer times, statements other than SELECT/INSERT/UPDATE/DELETE/WITH, and statements with a
/// bind PostgresKit encodes through `Codable` (JSON of a Codable value, a nil of a type with no fixed
/// PostgreSQL type) run unnamed as before.
///
/// Bounded: at most ``maxKept`` texts are ever kept (connections never forget a statement they prepared,
/// so one-off texts — lists of variable length — must not be kept), and at most ``maxSightings`` texts are
/// counted at a time.
///
/// When a name fails on a connection it may be spoiled there for good: PostgresNIO keeps a failed preparation
/// as the answer to every later run of that name (a preparation fails inside a transaction that already
/// failed, or while a migration holds a lock), and a prepared `SELECT *` fails with 0A000 once a migration
/// changes its table's columns. So a name that has never succeeded on a connection is given up there at its
/// first error, and one that has, at 0A000 or 26000 (the statement is gone); that connection then runs the
/// text unnamed. What a connection knew is dropped when it closes.
///
/// Named statements outlive a transaction, so a pooler in transaction mode (PgBouncer before 1.21, or without
/// `max_prepared_statements`) cannot stand between Plaza and PostgreSQL; `PLAZA_DATABASE_PREPARED_STATEMENTS=false`
/// turns them off.
final class PostgresStatements: Sendable {
    static let promoteAfter = 3
    static let maxKept = 256
    static let maxSightings = 4_096

    struct Key: Hashable, Sendable {
        var sql: String
        var types: [PostgresDataType]
    }

    private struct State {
        var sightings: [Key: Int] = [:]
        var kept: [Key: String] = [:]
        var connections: [PostgresConnection.ID: Known] = [:]
    }

    /// What one connection has shown: names that ran there, and names given up there.
    private struct Known {
        var succeeded: Set<String> = []
        var refused: Set<String> = []
    }

    let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool) {
        self.enabled = enabled
    }

    /// The name `key` runs under on `connection`, or nil to run it unnamed (keeping statements is off, the
    /// text has not come back often enough yet, or the name was given up on that connection); `hasRun` says
    /// whether it has succeeded there before.
    func name(for key: Key, on connection: PostgresConnection) -> (name: String, hasRun: Bool)? {
        guard enabled else { return nil }
        let (kept, firstSeen): ((name: String, hasRun: Bool)?, Bool) = state.withLock { state in
            let firstSeen = state.connections[connection.id] == nil
            let known = state.connections[connection.id] ?? Known()
            if firstSeen { state.connections[connection.id] = known }
            if let name = state.kept[key] {
                return (known.refused.contains(name) ? nil : (name, known.succeeded.contains(name)), firstSeen)
            }
            guard state.kept.count < Self.maxKept else { return (nil, firstSeen) }
            let seen = (state.sightings[key] ?? 0) + 1
            guard seen >= Self.promoteAfter else {
                // Full of texts seen once or twice (lists of varying length): start counting afresh, so a text
                // that repeats is still found.
                if state.sightings.count >= Self.maxSightings && state.sightings[key] == nil { state.sightings.removeAll(keepingCapacity: true) }
                state.sightings[key] = seen
                return (nil, firstSeen)
            }
            state.sightings[key] = nil
            let name = "plaza_\(state.kept.count)"
            state.kept[key] = name
            return ((name, false), firstSeen)
        }
        if firstSeen {
            let id = connection.id
            connection.closeFuture.whenComplete { [self] _ in _ = state.withLock { $0.connections.removeValue(forKey: id) } }
        }
        return kept
    }

    /// A name ran on a connection for the first time: from now on only a vanished statement gives it up there.
    func succeeded(_ name: String, on connection: PostgresConnection.ID) {
        _ = state.withLock { $0.connections[connection]?.succeeded.insert(name) }
    }

    /// A named run failed with `sqlState`: gives the name up on this connection if it may be spoiled there.
    func failed(_ name: String, on connection: PostgresConnection.ID, sqlState: String?) {
        state.withLock { state in
            guard let known = state.connections[connection] else { return }
            if !known.succeeded.contains(name) || sqlState == "0A000" || sqlState == "26000" {
                state.connections[connection]?.refused.insert(name)
            }
        }
    }

    /// How many texts are kept (for tests).
    var keptCount: Int { state.withLock { $0.kept.count } }

    /// Whether a statement may be kept: plain data statements only (never BEGIN, COMMIT, SET or DDL).
    static func isKeepable(_ sql: String) -> Bool {
        let head = sql.utf8.lazy.drop { $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }.prefix(6)
        let word = String(decoding: head, as: UTF8.self).uppercased()
        return ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(word) || word.hasPrefix("WITH")
    }
}

/// One leased connection as an SQLKit database whose repeated statements run by name (``PostgresStatements``).
struct PostgresSessionDatabase: SQLDatabase {
    let connection: PostgresConnection
    let statements: PostgresStatements
    let logger: Logger
    var eventLoop: any EventLoop { connection.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = connection.eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        if logger.logLevel <= .trace {
            logger.trace("Executing query", metadata: ["sql": .string(sql), "binds": .array(binds.map { .string("\($0)") })])
        }
        var bindings = PostgresBindings(capacity: binds.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(binds.count)
        for bind in binds {
            guard try Self.append(bind, to: &bindings, types: &types) else {
                try await connection.sql(queryLogLevel: nil, logger: logger).execute(sql: query, onRow)
                return
            }
        }
        guard PostgresStatements.isKeepable(sql), let (name, hasRun) = statements.name(for: .init(sql: sql, types: types), on: connection) else {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) { onRow($0.sql()) }.get()
            return
        }
        do {
            try await KeptStatement.$current.withValue(.init(name: name, sql: sql, types: types)) {
                for try await row in try await connection.execute(KeptStatement(bindings: bindings), logger: logger) {
                    onRow(row.sql())
                }
            }
        } catch let error as PSQLError {
            statements.failed(name, on: connection.id, sqlState: error.serverInfo?[.sqlState])
            throw error
        }
        if !hasRun { statements.succeeded(name, on: connection.id) }
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await closure(self)
    }

    /// Encodes a bind the way PostgresKit does for the common types and records its type; false for a bind
    /// that needs PostgresKit's `Codable` path (the statement then runs through PostgresKit, unnamed).
    private static func append(_ bind: some Encodable, to bindings: inout PostgresBindings, types: inout [PostgresDataType]) throws -> Bool {
        // (`bind as Optional<Any>`, PostgresKit's test, wraps a generic nil instead of seeing it.)
        if let optional = bind as? any OptionalBind, optional.isNone {
            // A NULL typed as its Swift type says, as PostgresKit sends it (so `$1 IS NULL` knows its type).
            guard let type = optional.wrappedType else { return false }
            bindings.append(PostgresData(type: type, value: nil))
            types.append(type)
        } else if let value = bind as? any PostgresThrowingDynamicTypeEncodable {
            try bindings.append(value, context: .default)
            types.append(value.psqlType)
        } else {
            return false
        }
        return true
    }
}

/// PostgresNIO's prepared statements name their SQL statically (by type); this one reads the name, text and
/// bind types of the statement being run from a task local, set around the one call that reads them.
private struct KeptStatement: PostgresPreparedStatement {
    struct Text: Sendable {
        var name: String
        var sql: String
        var types: [PostgresDataType]
    }

    @TaskLocal static var current: Text?

    typealias Row = PostgresRow
    let bindings: PostgresBindings

    static var name: String { current?.name ?? "" }
    static var sql: String { current?.sql ?? "" }
    static var bindingDataTypes: [PostgresDataType] { current?.types ?? [] }

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// Lets a bind of generic type say that it is a nil optional, and of which PostgreSQL type.
private protocol OptionalBind {
    var isNone: Bool { get }
    var wrappedType: PostgresDataType? { get }
}

extension Optional: OptionalBind {
    var isNone: Bool { self == nil }
    var wrappedType: PostgresDataType? { (Wrapped.self as? any PostgresEncodable.Type)?.psqlType }
}
