import Foundation
import SQLKit
import Storage

/// Backups and restores, the way each engine does them best.
public enum Maintenance {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes a consistent copy of the database to `file`. SQLite: an online backup (`VACUUM INTO`) while
    /// the server keeps running. PostgreSQL: `pg_dump --format=custom`.
    /// Returns a sentence saying what was done.
    public static func backup(_ plaza: Plaza, to file: String) async throws -> String {
        let target = URL(fileURLWithPath: file).standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: target) else {
            throw Failure(description: "\(file) already exists; choose a new file name")
        }
        switch plaza.store.settings.location {
        case .sqlite(let path):
            let quoted = target.replacingOccurrences(of: "'", with: "''")
            try await plaza.store.sql.raw("VACUUM INTO '\(unsafeRaw: quoted)'").run()
            return "SQLite: backed up \(path) to \(target) (online backup, VACUUM INTO)"
        case .postgres(let url):
            try run("pg_dump", ["--format=custom", "--file=\(target)", "--dbname=\(url)"])
            return "PostgreSQL: pg_dump wrote \(target)"
        }
    }

    /// Replaces the database with the backup in `file`. Stop `plaza serve` first.
    /// SQLite: checks the file is a Plaza database, then swaps it in atomically. PostgreSQL: `pg_restore --clean`.
    public static func restore(_ config: PlazaConfig, from file: String) async throws -> String {
        let source = URL(fileURLWithPath: file).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: source) else {
            throw Failure(description: "\(file) does not exist")
        }
        switch config.database.location {
        case .sqlite(let path):
            // Open the backup on its own to prove it is a Plaza database before touching the live file.
            let probe = try await Store.open(DatabaseSettings(location: .sqlite(path: source)), logger: .init(label: "plaza.restore"))
            do {
                _ = try await probe.sql.raw("SELECT COUNT(*) AS n FROM _fluent_migrations").all()
                await probe.shutdown()
            } catch {
                await probe.shutdown()
                throw Failure(description: "\(file) is not a Plaza SQLite backup (no migration table)")
            }
            let fileManager = FileManager.default
            let staging = path + ".restoring"
            try? fileManager.removeItem(atPath: staging)
            try fileManager.createDirectory(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
            try fileManager.copyItem(atPath: source, toPath: staging)
            for suffix in ["-wal", "-shm"] { try? fileManager.removeItem(atPath: path + suffix) }
            guard rename(staging, path) == 0 else { throw Failure(description: "could not move the backup into \(path)") }
            return "SQLite: restored \(source) into \(path)"
        case .postgres(let url):
            try run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--dbname=\(url)", source])
            return "PostgreSQL: pg_restore loaded \(source)"
        }
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw Failure(description: "could not start \(tool): is the PostgreSQL client installed?")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message =
                String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").first.map(String.init) ?? "exit code \(process.terminationStatus)"
            throw Failure(description: "\(tool) failed: \(message)")
        }
    }
}
