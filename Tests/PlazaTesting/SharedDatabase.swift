import AppHost
import Foundation
import PlazaKit
import PlazaServer
import Storage

/// A database the test and another process (`plaza serve`, `workflow-peer`, the `plaza` CLI) open: the other
/// process's settings for it, and the test's own migrated Plaza on it (which runs no workers unless the test
/// drives them). SQLite: a file in a directory of its own; PostgreSQL: a copy of the template database.
public struct SharedDatabase: Sendable {
    public let directory: String
    public let settings: [String: String]
    public let plaza: Plaza
    let database: DatabaseSettings?

    /// `settings` are the other process's besides the database's (its `PLAZA_*` keys).
    public static func make(apps: AppList = AppList(), settings extra: [String: String] = [:]) async throws -> SharedDatabase {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-shared-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var settings = extra.merging(["PLAZA_LOG_LEVEL": extra["PLAZA_LOG_LEVEL"] ?? "warning"]) { $1 }
        var config = PlazaConfig()
        config.apps = apps
        config.logLevel = .warning
        var database: DatabaseSettings?
        if TestDatabase.isPostgres {
            let made = try await TestDatabase.make(apps: apps)
            guard case .postgres(let url) = made.location else { throw PlazaError.conflict("expected PostgreSQL") }
            settings["PLAZA_DATABASE_URL"] = url
            config.databaseURL = url
            database = made
        } else {
            settings["PLAZA_DATA_DIR"] = directory
            config.dataDirectory = directory
        }
        let plaza = try await Plaza.open(config)
        do {
            _ = try await plaza.migrate()
        } catch {
            await plaza.shutdown()
            throw error
        }
        return SharedDatabase(directory: directory, settings: settings, plaza: plaza, database: database)
    }

    public func close() async {
        await plaza.shutdown()
        if let database { await TestDatabase.drop(database) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
