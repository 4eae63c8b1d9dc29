import Foundation
import Logging
import NIOPosix
import PlazaTesting
import PostgresNIO
import SQLKit
@testable import Storage
import Testing

/// Named prepared statements on PostgreSQL (``PostgresStatements``), on one connection of a client of the
/// test's own, so the test knows which connection has prepared what.
@Suite("PostgreSQL prepared statements", .enabled(if: TestDatabase.isPostgres))
struct PostgresStatementsTests {
    /// Runs `body` with one connection of a fresh database as a ``PostgresSessionDatabase``.
    func withSession(enabled: Bool = true, _ body: (PostgresSessionDatabase, PostgresStatements) async throws -> Void) async throws {
        let settings = try await TestDatabase.make()
        guard case .postgres(let url) = settings.location else { return }
        var configuration = try PostgresURL.clientConfiguration(url)
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let running = Task { await client.run() }
        let statements = PostgresStatements(enabled: enabled)
        do {
            try await client.withConnection { connection in
                try await body(PostgresSessionDatabase(connection: connection, statements: statements, logger: Logger(label: "test")), statements)
            }
        } catch {
            running.cancel()
            await TestDatabase.drop(settings)
            throw error
        }
        running.cancel()
        await TestDatabase.drop(settings)
    }

    func prepared(_ db: any SQLDatabase) async throws -> Set<String> {
        Set(try await db.raw("SELECT name FROM pg_prepared_statements").all().map { try $0.decode(column: "name", as: String.self) })
    }

    @Test("a statement that comes back is prepared once and run by name; each run reads its own binds, NULLs included")
    func repeatedStatementsAreKept() async throws {
        try await withSession { db, statements in
            try await db.raw("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)").run()
            for id in 1...6 {
                let body: String? = id.isMultiple(of: 2) ? nil : "note \(id)"
                try await db.raw("INSERT INTO notes (id, body) VALUES (\(bind: id), \(bind: body))").run()
            }
            for id in 1...6 {
                let row = try #require(try await db.raw("SELECT id, body FROM notes WHERE id = \(bind: id)").first())
                #expect(try row.decode(column: "id", as: Int.self) == id)
                #expect(try row.decode(column: "body", as: String?.self) == (id.isMultiple(of: 2) ? nil : "note \(id)"))
            }
            // The INSERT (a NULL goes typed as its Swift type says, as PostgresKit sends it, so one statement serves
            // both) and the SELECT.
            #expect(statements.keptCount == 2)
            let names = try await prepared(db)
            let texts = try await db.raw("SELECT statement FROM pg_prepared_statements").all().map {
                try $0.decode(column: "statement", as: String.self)
            }
            #expect(names.count == 2 && names.allSatisfy { $0.hasPrefix("plaza_") }, "\(names): \(texts)")
            let count = try await db.raw("SELECT COUNT(*) AS n FROM notes").first()!.decode(column: "n", as: Int.self)
            #expect(count == 6)
            // A NULL whose type only the bind can say.
            let nothing: String? = nil
            for _ in 1...4 {
                let isNull = try await db.raw("SELECT \(bind: nothing) IS NULL AS is_null").first()!.decode(column: "is_null", as: Bool.self)
                #expect(isNull)
            }
        }
    }

    @Test("a kept SELECT * whose table a migration changed fails once on that connection, then runs unnamed and sees the new column")
    func changedTable() async throws {
        try await withSession { db, statements in
            try await db.raw("CREATE TABLE things (id BIGINT PRIMARY KEY)").run()
            try await db.raw("INSERT INTO things (id) VALUES (1)").run()
            for _ in 1...4 { _ = try await db.raw("SELECT * FROM things WHERE id = \(bind: 1)").first() }
            #expect(statements.keptCount == 1)
            try await db.raw("ALTER TABLE things ADD COLUMN label TEXT DEFAULT 'new'").run()
            await #expect(throws: (any Error).self) { _ = try await db.raw("SELECT * FROM things WHERE id = \(bind: 1)").first() }
            let row = try #require(try await db.raw("SELECT * FROM things WHERE id = \(bind: 1)").first())
            #expect(try row.decode(column: "label", as: String.self) == "new")
        }
    }

    @Test("a statement first met inside a failed transaction is refused there once, then runs unnamed on that connection")
    func spoiledNameFallsBackToUnnamed() async throws {
        try await withSession { db, statements in
            try await db.raw("CREATE TABLE tallies (n BIGINT)").run()
            try await db.raw("INSERT INTO tallies (n) VALUES (\(bind: 1))").run()
            try await db.raw("INSERT INTO tallies (n) VALUES (\(bind: 2))").run()
            #expect(statements.keptCount == 0, "two sightings: still unnamed")

            try await db.raw("BEGIN").run()
            await #expect(throws: (any Error).self) { try await db.raw("SELECT 1 / \(bind: 0) AS boom").run() }
            // Its third sighting makes it a named statement, whose preparation the failed transaction refuses.
            await #expect(throws: (any Error).self) { try await db.raw("INSERT INTO tallies (n) VALUES (\(bind: 3))").run() }
            try await db.raw("ROLLBACK").run()
            #expect(statements.keptCount == 1)

            for n in 4...6 { try await db.raw("INSERT INTO tallies (n) VALUES (\(bind: n))").run() }
            let values = try await db.raw("SELECT n FROM tallies ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
            #expect(values == [1, 2, 4, 5, 6])
            #expect(!(try await prepared(db)).contains("plaza_0"), "the spoiled name was never prepared here")
        }
    }

    @Test("turned off (PLAZA_DATABASE_PREPARED_STATEMENTS=false), nothing is prepared; only data statements are ever kept")
    func turnedOff() async throws {
        try await withSession(enabled: false) { db, statements in
            for _ in 1...5 { _ = try await db.raw("SELECT \(bind: 7)::int8 AS seven").first() }
            #expect(statements.keptCount == 0)
            #expect(try await prepared(db).isEmpty)
        }
        #expect(PostgresStatements.isKeepable("  WITH x AS (SELECT 1) SELECT * FROM x"))
        #expect(PostgresStatements.isKeepable("\nselect 1"))
        #expect(!PostgresStatements.isKeepable("BEGIN"))
        #expect(!PostgresStatements.isKeepable("CREATE TABLE t (a int)"))
        #expect(!PostgresStatements.isKeepable("SET LOCAL lock_timeout = 1"))
    }
}
