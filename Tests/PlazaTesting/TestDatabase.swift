import AppHost
import Foundation
import Logging
import PlazaKit
import PlazaServer
import SQLKit
import Storage
import Testing

/// A private database for one test, copied from a template migrated once per test process.
public enum TestDatabase {
    /// Set to a `postgres://` URL of a server the tests may create databases on to run the PostgreSQL pass.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["PLAZA_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var isPostgres: Bool { postgresURL != nil }

    static let logger: Logger = {
        var logger = Logger(label: "plaza.tests")
        // Expected failures (jobs that fail on purpose) log warnings; keep the test output to real problems.
        logger.logLevel = .error
        return logger
    }()

    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Creates a fresh database migrated for the core and `apps`, and returns where it is.
    public static func make(apps: AppList = AppList()) async throws -> DatabaseSettings {
        DispatchHeartbeat.started
        TimerWatch.started
        let start = ContinuousClock.now
        let settings = try await Templates.shared.copy(apps: apps)
        let took = start.duration(to: .now)
        // In a full PostgreSQL pass on two cores a test waits 20–90 s for its copy (the template first, then
        // some 200 CREATEs competing with everything else that runs); past two minutes something is wrong.
        if took > .seconds(120) { FileHandle.standardError.write(Data("!! making \(settings.databaseName) took \(took)\n".utf8)) }
        return settings
    }

    /// Deletes a database made by ``make()``: a SQLite file at once; a PostgreSQL database in the background.
    ///
    /// Why in the background: every test makes and drops a database through the one admin pool, and in a full
    /// PostgreSQL pass the drops queued behind each other and behind the next tests' CREATEs — a test often
    /// waited 15 s or more for its DROP (2026-11-30), enough to fail one with a one-minute limit. Nothing
    /// waits for a drop: ``Janitor`` runs them one at a time, and databases a finished test process left
    /// behind are dropped when the next one starts (``Templates``).
    public static func drop(_ settings: DatabaseSettings) async {
        switch settings.location {
        case .sqlite(let path):
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        case .postgres:
            // A cluster thrown away after the pass (scripts/test.sh's) keeps them: every DROP DATABASE forces a
            // checkpoint, and the checkpointer was the bottleneck that every test's CREATE queued behind.
            guard ProcessInfo.processInfo.environment["PLAZA_TEST_KEEP_DATABASES"] != "1" else { return }
            Janitor.drops.yield(settings.databaseName)
        }
    }

    /// A name for a test database: its kind, this process's id (so a later process can tell a leftover from a
    /// database still in use), and a random part.
    static func newName(_ kind: Character) -> String {
        "\(kind)\(getpid())_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
    }

    /// The URL of another database on the test server.
    static func url(_ base: String, database: String) -> String {
        var components = URLComponents(string: base)!
        components.path = "/" + database
        return components.string!
    }
}

/// Makes the template once and hands out copies; an actor so copies of one template never race.
actor Templates {
    static let shared = Templates()
    /// One template per set of apps (core tests migrate the core alone; an app's tests add the app's tables).
    private var templates: [[String]: Task<DatabaseSettings, any Error>] = [:]
    private var adminStore: Task<Store, any Error>?

    /// A store on the server's maintenance database, for CREATE and DROP DATABASE. One per process,
    /// made by the first caller (the actor may be re-entered while it connects, hence the task).
    func admin() async throws -> Store {
        if let adminStore { return try await adminStore.value }
        guard let url = TestDatabase.postgresURL else { preconditionFailure("no PostgreSQL test server") }
        let logger = TraceLog.logger("admin", base: TestDatabase.logger)
        let task = Task { try await Store.open(DatabaseSettings(location: .postgres(url: url), poolSize: 2), logger: logger) }
        adminStore = task
        return try await task.value
    }

    func copy(apps: AppList) async throws -> DatabaseSettings {
        let template = try await templateSettings(apps: apps)
        switch template.location {
        case .sqlite(let path):
            let copy = TestDatabase.directory.appendingPathComponent("\(TestDatabase.newName("t")).sqlite").path
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            return DatabaseSettings(location: .sqlite(path: copy))
        case .postgres(let url):
            // WAL_LOG: FILE_COPY forces two checkpoints per copy, and under a full pass's writes those were what
            // every test's CREATE queued behind.
            let name = TestDatabase.newName("t")
            try await admin().sql.raw("CREATE DATABASE \(unsafeRaw: name) TEMPLATE \(unsafeRaw: template.databaseName) STRATEGY WAL_LOG").run()
            return DatabaseSettings(location: .postgres(url: TestDatabase.url(url, database: name)), poolSize: 2)
        }
    }

    private func templateSettings(apps: AppList) async throws -> DatabaseSettings {
        if let template = templates[apps.ids] { return try await template.value }
        let first = templates.isEmpty
        let task = Task { try await Self.makeTemplate(apps: apps, admin: TestDatabase.isPostgres ? try await self.admin() : nil, first: first) }
        templates[apps.ids] = task
        return try await task.value
    }

    private static func makeTemplate(apps: AppList, admin: Store?, first: Bool) async throws -> DatabaseSettings {
        let settings: DatabaseSettings
        let suffix = apps.ids.map { "_" + $0.replacingOccurrences(of: "-", with: "_") }.joined()
        if let admin, let base = TestDatabase.postgresURL {
            if first { await dropLeftovers(admin: admin) }
            let name = "plaza_template_\(getpid())\(suffix)"
            try await dropDatabase(name, admin: admin)
            try await admin.sql.raw("CREATE DATABASE \(unsafeRaw: name)").run()
            settings = DatabaseSettings(location: .postgres(url: TestDatabase.url(base, database: name)), poolSize: 1)
        } else {
            let path = TestDatabase.directory.appendingPathComponent("template\(suffix).sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            settings = DatabaseSettings(location: .sqlite(path: path))
        }
        let store = try await Store.open(settings, logger: TestDatabase.logger)
        do {
            try await store.migrate(try Plaza.migrations(apps: apps))
        } catch {
            await store.shutdown()
            throw error
        }
        // Closing the last connection checkpoints the WAL, so the file alone is the whole database.
        await store.shutdown()
        return settings
    }
}

extension Templates {
    /// Drops a database, ending any sessions still on it (a finished test's abandoned work).
    static func dropDatabase(_ name: String, admin: Store) async throws {
        try await admin.sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
    }

    /// Drops the test databases of test processes that have ended (a process stopped before its drops ran,
    /// or killed): names carry their process's id (``TestDatabase/newName(_:)``).
    private static func dropLeftovers(admin: Store) async {
        struct Row: Decodable { let datname: String }
        let rows =
            (try? await admin.sql.raw("SELECT datname FROM pg_database WHERE datname ~ '^([te][0-9]+_|plaza_template_[0-9]+(_[a-z0-9_]+)?$)'").all(
                decoding: Row.self)) ?? []
        for name in rows.map(\.datname) {
            let digits = (name.hasPrefix("plaza_template_") ? name.dropFirst("plaza_template_".count) : name.dropFirst()).prefix { $0 != "_" }
            guard let pid = Int32(digits), pid != getpid(), kill(pid, 0) == -1, errno == ESRCH else { continue }
            try? await dropDatabase(name, admin: admin)
        }
    }
}

/// Runs the PostgreSQL drops of ``TestDatabase/drop(_:)`` one at a time, for the life of the test process.
enum Janitor {
    static let drops: AsyncStream<String>.Continuation = {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        Task.detached {
            for await name in stream {
                await TestDatabase.timed("dropping \(name)") {
                    try? await Templates.dropDatabase(name, admin: Templates.shared.admin())
                }
            }
        }
        return continuation
    }()
}

extension TestDatabase {
    /// A new database with nothing in it (not even migrations), for tests of migrating itself.
    public static func makeEmpty() async throws -> DatabaseSettings {
        let name = newName("e")
        if let base = postgresURL {
            try await Templates.shared.admin().sql.raw("CREATE DATABASE \(unsafeRaw: name)").run()
            return DatabaseSettings(location: .postgres(url: url(base, database: name)), poolSize: 2)
        }
        return DatabaseSettings(location: .sqlite(path: directory.appendingPathComponent("\(name).sqlite").path))
    }

    /// Opens a store on a fresh copy of the migrated template, runs `body`, then closes and drops it.
    public static func withStore<T: Sendable>(clock: any PlazaClock = SystemClock(), _ body: (Store) async throws -> T) async throws -> T {
        let settings = try await make()
        let name = settings.databaseName
        let store = try await Store.open(settings, clock: clock, logger: TraceLog.logger(name, base: logger))
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body(store)) } catch { outcome = .failure(error) }
        await timed("closing the store of \(name)") { await store.shutdown() }
        await drop(settings)
        return try outcome.get()
    }

    /// Opens `instances` stores on one fresh copy of the migrated template — on PostgreSQL each with its own
    /// pool, as several `plaza serve` processes would have; on SQLite each its own connections to one file —
    /// runs `body`, then closes and drops them.
    public static func withStores<T: Sendable>(_ instances: Int, clock: any PlazaClock = SystemClock(), _ body: ([Store]) async throws -> T)
        async throws -> T
    {
        let settings = try await make()
        let name = settings.databaseName
        var stores: [Store] = []
        let outcome: Result<T, any Error>
        do {
            for index in 0..<instances {
                stores.append(try await Store.open(settings, clock: clock, logger: TraceLog.logger("\(name)-\(index)", base: logger)))
            }
            outcome = .success(try await body(stores))
        } catch { outcome = .failure(error) }
        for store in stores { await timed("closing a store of \(name)") { await store.shutdown() } }
        await drop(settings)
        return try outcome.get()
    }

    /// Runs a cleanup step, saying on stderr (with the test's name) when it took long, and in the trace always:
    /// a cleanup that hangs or crawls should name itself.
    static func timed(_ step: String, _ work: () async -> Void) async {
        let step = Test.current.map { "\(step) (\"\($0.displayName ?? $0.name)\")" } ?? step
        let start = ContinuousClock.now
        TraceLog.note("\(step): begins")
        await work()
        let took = start.duration(to: .now)
        TraceLog.note("\(step): took \(took)")
        if took > .seconds(3) { FileHandle.standardError.write(Data("!! \(step) took \(took)\n".utf8)) }
    }
}

extension DatabaseSettings {
    /// The database's name (PostgreSQL) or file name (SQLite), for messages.
    var databaseName: String {
        switch location {
        case .sqlite(let path): URL(fileURLWithPath: path).lastPathComponent
        case .postgres(let url): String(URLComponents(string: url)?.path.dropFirst() ?? "")
        }
    }
}
