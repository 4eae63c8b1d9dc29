import Foundation
import NIOPosix
import PlazaKit
import PlazaServer
import PlazaTesting
import SQLKit
@testable import Storage
import Synchronization
import Testing

@Suite("Storage")
struct StorageTests {
    struct Boom: Error {}

    func auditCount(_ store: Store, action: String? = nil) async throws -> Int {
        let select = store.sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(AuditLogTable.name)
        if let action { select.where("action", .equal, action) }
        return try await select.first()!.decode(column: "n", as: Int.self)
    }

    @Test("migrations apply on an empty database, and a second run changes nothing")
    func migrationsApplyOnceAndAreIdempotent() async throws {
        let settings = try await TestDatabase.makeEmpty()
        let store = try await Store.open(settings, logger: .init(label: "test"))
        do {
            #expect(try await store.pendingMigrations(Plaza.migrations) == Plaza.migrations.names)
            let first = try await store.migrate(Plaza.migrations)
            #expect(first == Plaza.migrations.names)
            let second = try await store.migrate(Plaza.migrations)
            #expect(second.isEmpty)
            #expect(try await store.pendingMigrations(Plaza.migrations).isEmpty)
            // The tables exist and are usable.
            try await store.transaction { try await $0.audit(.system("test"), action: "test.migrated", resourceType: "db") }
            #expect(try await auditCount(store, action: "test.migrated") == 1)
        } catch {
            await store.shutdown()
            await TestDatabase.drop(settings)
            throw error
        }
        await store.shutdown()
        await TestDatabase.drop(settings)
    }

    @Test("a rolled-back transaction writes nothing and runs no commit hooks")
    func rollbackWritesNothing() async throws {
        try await TestDatabase.withStore { store in
            let hookRan = Mutex(false)
            await #expect(throws: Boom.self) {
                try await store.transaction { transaction in
                    try await transaction.audit(.system("test"), action: "test.rolled-back", resourceType: "thing")
                    transaction.onCommit { hookRan.withLock { $0 = true } }
                    throw Boom()
                }
            }
            #expect(try await auditCount(store, action: "test.rolled-back") == 0)
            #expect(hookRan.withLock { $0 } == false)

            try await store.transaction { transaction in
                try await transaction.audit(.system("test"), action: "test.committed", resourceType: "thing")
                transaction.onCommit { hookRan.withLock { $0 = true } }
            }
            #expect(try await auditCount(store, action: "test.committed") == 1)
            #expect(hookRan.withLock { $0 })
        }
    }

    @Test("concurrent writers queue instead of failing with 'database is locked'")
    func concurrentWritersAllCommit() async throws {
        try await TestDatabase.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        try await store.transaction { transaction in
                            // Read then write inside one transaction: the pattern plain BEGIN deadlocks on.
                            _ = try await transaction.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log").all()
                            try await transaction.audit(.system("test"), action: "test.concurrent", resourceType: "n", resourceID: "\(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await auditCount(store, action: "test.concurrent") == 40)
        }
    }

    @Test("concurrent writers are committed in groups, each as if alone: its own value or error, its own hooks, and the order kept")
    func groupCommit() async throws {
        try await TestDatabase.withStore { store in
            final class Hooks: Sendable { let ran = Mutex(0) }
            let hooks = Hooks()
            let outcomes = try await withThrowingTaskGroup(of: (Int, Int?).self) { group in
                for index in 0..<120 {
                    group.addTask {
                        do {
                            let seen = try await store.transaction { transaction -> Int in
                                // Read-modify-write: each sees exactly the writes committed or batched before it.
                                let count = try await transaction.sql.raw(
                                    """
                                    SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'test.grouped'
                                    """
                                ).first()!.decode(column: "n", as: Int.self)
                                try await transaction.audit(.system("test"), action: "test.grouped", resourceType: "n", resourceID: "\(count)")
                                transaction.onCommit { hooks.ran.withLock { $0 += 1 } }
                                if index % 7 == 0 { throw Boom() } // written, then rolled back to its savepoint
                                return count
                            }
                            return (index, seen)
                        } catch is Boom {
                            return (index, nil)
                        }
                    }
                }
                return try await group.reduce(into: [Int: Int?]()) { $0[$1.0] = $1.1 }
            }
            let failed = outcomes.filter { $0.value == nil }.keys.sorted()
            #expect(failed == Array(stride(from: 0, to: 120, by: 7)))
            if store.dialect == .sqlite {
                // One writer: grouped or not, the writes are serial — each saw all the ones before it and none after.
                let committed = outcomes.compactMap(\.value.self).compactMap { $0 }.sorted()
                #expect(committed == Array(0..<(120 - failed.count)))
            }
            #expect(try await auditCount(store, action: "test.grouped") == 120 - failed.count)
            #expect(hooks.ran.withLock { $0 } == 120 - failed.count, "hooks run for committed writes only")
            if let totals = store.groupCommitTotals {
                #expect(totals.writes >= 120)
                #expect(totals.batches < totals.writes, "some writes shared a commit: \(totals)")
            }
        }
    }

    @Test("rollback hooks run for a write that throws, alone or in a group, and never for one that commits")
    func rollbackHooks() async throws {
        try await TestDatabase.withStore { store in
            final class Ended: Sendable { let log = Mutex<[String]>([]) }
            let ended = Ended()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try? await store.transaction { transaction in
                            transaction.onCommit { ended.log.withLock { $0.append("commit \(index)") } }
                            transaction.onRollback { ended.log.withLock { $0.append("rollback \(index)") } }
                            try await transaction.audit(.system("test"), action: "test.hooks", resourceType: "n", resourceID: "\(index)")
                            if index.isMultiple(of: 3) { throw Boom() }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let log = Set(ended.log.withLock { $0 })
            #expect(log.count == 20)
            for index in 0..<20 { #expect(log.contains(index.isMultiple(of: 3) ? "rollback \(index)" : "commit \(index)")) }
            #expect(try await auditCount(store, action: "test.hooks") == 13)
        }
    }

    @Test("an audit entry records who, what, where and under which request")
    func auditEntryRecordsCaller() async throws {
        try await TestDatabase.withStore { store in
            let user = UUID()
            let organisation = UUID()
            let caller = Caller(principal: Principal(id: user), requestID: "req-1", ip: "203.0.113.9")
            let entry = try await store.transaction { transaction in
                try await transaction.audit(
                    caller, action: "booking.booking.cancel", resourceType: "booking", resourceID: "b-1",
                    organisationID: organisation, details: ["reason": "weather"])
            }
            let row = try #require(try await store.sql.select().column("*").from(AuditLogTable.name).where("id", .equal, entry.id).first())
            #expect(try row.decode(column: "actor_id", as: UUID.self) == user)
            #expect(try row.decode(column: "actor_kind", as: String.self) == "user")
            #expect(try row.decode(column: "ip", as: String.self) == "203.0.113.9")
            #expect(try row.decode(column: "request_id", as: String.self) == "req-1")
            #expect(try row.decode(column: "organisation_id", as: UUID.self) == organisation)
            #expect(try row.decode(column: "details", as: String.self).contains("weather"))
        }
    }

    @Test("SQLite databases run in WAL mode with foreign keys on")
    func sqlitePragmas() async throws {
        try await TestDatabase.withStore { store in
            guard store.dialect == .sqlite else { return }
            let mode = try await store.sql.raw("PRAGMA journal_mode").first()!.decode(column: "journal_mode", as: String.self)
            #expect(mode.lowercased() == "wal")
            let keys = try await store.sql.raw("PRAGMA foreign_keys").first()!.decode(column: "foreign_keys", as: Int.self)
            #expect(keys == 1)
        }
    }

    @Test(
        "SQLite's writer reads back what it writes — integers, reals, text with NUL and non-ASCII, blobs, NULLs — and keeps statements right past its cache"
    )
    func sqliteWriterRoundTrips() async throws {
        try await TestDatabase.withStore { store in
            guard store.dialect == .sqlite else { return }
            let text = "naïve \u{0} дані 🚀"
            let read = try await store.transaction { transaction -> (Int, Double, String, [UInt8], Bool) in
                let sql = transaction.sql
                try await sql.raw("CREATE TEMP TABLE kinds (i INTEGER, r REAL, t TEXT, b BLOB, n TEXT)").run()
                try await sql.raw("INSERT INTO kinds VALUES (\(bind: Int.max), \(bind: 0.25), \(bind: text), \(bind: Data([0, 255, 7])), NULL)").run()
                // More distinct statements than the writer keeps prepared: the first ones are finalized, then
                // prepared again, and still give the right answers.
                for index in 0..<(SQLiteWriter.cachedStatements + 20) {
                    let row = try await sql.raw("SELECT \(unsafeRaw: String(index)) + \(bind: 1) AS v").first()
                    #expect(try row?.decode(column: "v", as: Int.self) == index + 1)
                }
                let row = try #require(try await sql.raw("SELECT * FROM kinds").first())
                #expect(row.allColumns == ["i", "r", "t", "b", "n"])
                #expect(!row.contains(column: "missing"))
                return (
                    try row.decode(column: "i", as: Int.self), try row.decode(column: "r", as: Double.self),
                    try row.decode(column: "t", as: String.self), Array(try row.decode(column: "b", as: Data.self)),
                    try row.decodeNil(column: "n")
                )
            }
            #expect(read.0 == Int.max)
            #expect(read.1 == 0.25)
            #expect(read.2 == text)
            #expect(read.3 == [0, 255, 7])
            #expect(read.4)
        }
    }

    @Test("SQLite's writer waits for another connection's write lock instead of failing, and a unique violation reads as one")
    func sqliteWriterWaitsForOtherWriters() async throws {
        try await TestDatabase.withStore { store in
            guard case .sqlite(let path) = store.settings.location else { return }
            // Another writer on the same file — what the CLI is beside a running server.
            let other = try await SQLiteWriter.open(
                path: path, pragmas: ["PRAGMA busy_timeout = 10000"], eventLoop: MultiThreadedEventLoopGroup.singleton.any(), logger: store.logger)
            try await other.run("BEGIN IMMEDIATE")
            let write = Task {
                try await store.transaction { try await $0.audit(.system("test"), action: "test.waited", resourceType: "lock") }
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await auditCount(store, action: "test.waited") == 0, "the write waits while the other holds the lock")
            try await other.runOnPool("COMMIT")
            try await write.value
            #expect(try await auditCount(store, action: "test.waited") == 1)
            await other.close()

            let error = await #expect(throws: (any Error).self) {
                try await store.transaction { transaction in
                    try await transaction.sql.raw("CREATE TEMP TABLE once (v TEXT UNIQUE)").run()
                    try await transaction.sql.raw("INSERT INTO once VALUES ('a'), ('a')").run()
                }
            }
            #expect(error.map(isUniqueViolation) == true, "\(String(describing: error))")
        }
    }

    @Test(
        "SQLite's writer: a statement that fails leaves its kept statement usable, foreign keys hold inside a transaction, and a closed writer refuses work"
    )
    func sqliteWriterErrors() async throws {
        try await TestDatabase.withStore { store in
            guard case .sqlite(let path) = store.settings.location else { return }
            try await store.transaction { transaction in
                try await transaction.sql.raw("CREATE TABLE parents (id INTEGER PRIMARY KEY)").run()
                try await transaction.sql.raw("CREATE TABLE children (parent INTEGER NOT NULL REFERENCES parents (id), v TEXT UNIQUE)").run()
                try await transaction.sql.raw("INSERT INTO parents VALUES (1)").run()
            }
            let insert = { (value: String, parent: Int) in
                try await store.transaction { try await $0.sql.raw("INSERT INTO children VALUES (\(bind: parent), \(bind: value))").run() }
            }
            try await insert("a", 1)
            await #expect(throws: (any Error).self, "a duplicate") { try await insert("a", 1) }
            await #expect(throws: (any Error).self, "a child of no parent") { try await insert("b", 2) }
            try await insert("b", 1) // the same SQL, kept and reset after each failure
            let count = try await store.sql.raw("SELECT COUNT(*) AS n FROM children").first()?.decode(column: "n", as: Int.self)
            #expect(count == 2)

            let writer = try await SQLiteWriter.open(
                path: path, pragmas: [], eventLoop: MultiThreadedEventLoopGroup.singleton.any(), logger: store.logger)
            await writer.close()
            await #expect(throws: SQLiteWriteError.self) { try await writer.run("SELECT 1") }
        }
    }

    @Test("writes outside a transaction cannot starve a group's COMMIT of threads: two of them waiting for the lock the group holds all finish")
    func outsideWritesDoNotDeadlockTheWriter() async throws {
        try await TestDatabase.withStore { store in
            guard store.dialect == .sqlite else { return }
            try await store.transaction { try await $0.sql.raw("CREATE TABLE counters (n INTEGER)").run() }
            let group = Task {
                try await store.transaction { transaction in
                    try await transaction.sql.raw("INSERT INTO counters VALUES (1)").run()
                    // Holds the write lock while the others queue for it on the read pool's two threads.
                    try await Task.sleep(for: .milliseconds(300))
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            // Not how services write (they use transactions), but nothing stops it: SQLiteNIO's connections wait
            // for the lock without end, on both of the store's read threads.
            let outside = (0..<2).map { _ in Task { try await store.sql.raw("INSERT INTO counters VALUES (2)").run() } }
            let finished = await withDeadline(.seconds(20)) {
                try await group.value
                for write in outside { try await write.value }
            }
            guard case .finished(let result) = finished else {
                Issue.record("the group's COMMIT never ran")
                return
            }
            try result.get()
            let count = try await store.sql.raw("SELECT COUNT(*) AS n FROM counters").first()?.decode(column: "n", as: Int.self)
            #expect(count == 3)
        }
    }

    @Test(
        "statements run together: a parent and its child in one call (the foreign key holds), the last one's rows returned, an empty call does nothing"
    )
    func runTogether() async throws {
        try await TestDatabase.withStore { store in
            let rows = try await store.transaction { transaction -> [String] in
                try await transaction.sql.raw("CREATE TABLE owners (id TEXT PRIMARY KEY)").run()
                try await transaction.sql.raw("CREATE TABLE pets (owner TEXT NOT NULL REFERENCES owners (id), name TEXT NOT NULL)").run()
                #expect(try await transaction.run(together: []).isEmpty)
                return try await transaction.run(together: [
                    "INSERT INTO owners (id) VALUES (\(bind: "ann"))",
                    "INSERT INTO pets (owner, name) VALUES (\(bind: "ann"), \(bind: "Rex")), (\(bind: "ann"), \(bind: "Tom")) RETURNING name",
                ]).map { try $0.decode(column: "name", as: String.self) }
            }
            #expect(rows.sorted() == ["Rex", "Tom"])
            await #expect(throws: (any Error).self, "a child whose parent is not among them") {
                try await store.transaction { transaction in
                    try await transaction.run(together: [
                        "INSERT INTO owners (id) VALUES (\(bind: "bob"))",
                        "INSERT INTO pets (owner, name) VALUES (\(bind: "eve"), \(bind: "Kit"))",
                    ])
                }
            }
            let owners = try await store.sql.raw("SELECT id FROM owners ORDER BY id").all().map { try $0.decode(column: "id", as: String.self) }
            #expect(owners == ["ann"], "the failed call wrote nothing")
        }
    }

    @Test("database settings never print a PostgreSQL password")
    func locationDescriptionHidesPassword() {
        let location = DatabaseSettings.Location.postgres(url: "postgres://plaza:secret@db:5432/plaza")
        #expect(!location.description.contains("secret"))
        #expect(location.description.contains("db:5432"))
    }
}
