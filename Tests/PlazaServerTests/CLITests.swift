import Foundation
import PlazaTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("The plaza command", .enabled(if: FileManager.default.fileExists(atPath: PlazaProcess.binary.path), "build the plaza executable first"))
struct CLITests {
    @Test("a bad setting stops the start with one line naming it, and a non-zero exit")
    func badConfigurationIsOneLine() throws {
        let dir = temporaryDirectory()
        for (arguments, environment, key) in [
            (["serve", "--data-dir", dir, "--port", "99999"], [String: String](), "PLAZA_PORT"),
            (["serve", "--data-dir", dir], ["PLAZA_DATABASE_URL": "mysql://nope"], "PLAZA_DATABASE_URL"),
            (["migrate", "--data-dir", dir], ["PLAZA_LOG_LEVEL": "shouty"], "PLAZA_LOG_LEVEL"),
        ] {
            let output = try PlazaProcess.run(arguments, environment: environment)
            #expect(output.status != 0)
            let lines = output.stderr.split(separator: "\n")
            #expect(lines.count == 1, "stderr was: \(output.stderr)")
            #expect(lines.first?.hasPrefix("plaza: configuration error: \(key)") == true, "stderr was: \(output.stderr)")
        }
        let bad = try PlazaProcess.run(["jobs", "retry", "not-an-id", "--data-dir", dir])
        #expect(bad.status != 0)
        #expect(bad.stderr == "plaza: not-an-id is not a job id (a UUID)\n")
    }

    @Test("migrate, seed, jobs, openapi, backup and restore work on SQLite")
    func maintenanceCommands() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let migrated = try PlazaProcess.run(["migrate", "--data-dir", dir])
        #expect(migrated.status == 0)
        #expect(migrated.stdout.hasPrefix("Applied "))
        #expect(try PlazaProcess.run(["migrate", "--data-dir", dir]).stdout == "The database is up to date.\n")
        #expect(try PlazaProcess.run(["seed", "--demo", "--data-dir", dir]).stdout.hasPrefix("Demo data seeded."))
        #expect(try PlazaProcess.run(["seed", "--demo", "--data-dir", dir]).stdout.hasPrefix("Demo data was already there."))
        #expect(try PlazaProcess.run(["jobs", "list", "--data-dir", dir]).status == 0)

        let openapi = try PlazaProcess.run(["openapi", "--data-dir", dir])
        #expect(openapi.stdout.contains("\"openapi\": \"3.1.0\""))

        let backup = dir + "/backup.sqlite"
        let backedUp = try PlazaProcess.run(["backup", backup, "--data-dir", dir])
        #expect(backedUp.status == 0, "\(backedUp.stderr)")
        #expect(FileManager.default.fileExists(atPath: backup))
        #expect(try PlazaProcess.run(["backup", backup, "--data-dir", dir]).stderr.contains("already exists"))

        // Lose the database, restore it, and find the demo data again.
        let other = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: other) }
        let restored = try PlazaProcess.run(["restore", backup, "--data-dir", other])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try PlazaProcess.run(["seed", "--demo", "--data-dir", other]).stdout.hasPrefix("Demo data was already there."))
        let notABackup = dir + "/junk.sqlite"
        try "junk".write(toFile: notABackup, atomically: true, encoding: .utf8)
        let refused = try PlazaProcess.run(["restore", notABackup, "--data-dir", other])
        #expect(refused.status != 0)
    }

    @Test("serve --demo starts, answers, reuses its data on the next start, and stops cleanly on SIGTERM")
    func serveDemo() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for expected in ["Demo data seeded.", "Demo data already present"] {
            let process = Process()
            process.executableURL = PlazaProcess.binary
            process.arguments = ["serve", "--demo", "--data-dir", dir, "--port", "0"]
            process.environment = PlazaProcess.cleanEnvironment.merging(["PLAZA_LOG_LEVEL": "warning"]) { $1 }
            let outPath = dir + "/serve.out"
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { process.terminate() } } // never leave a server behind a failed test
            // The banner names the URL, with the port the system picked.
            var banner = ""
            let deadline = Date().addingTimeInterval(30)
            while !banner.contains(expected), Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
                banner = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            }
            #expect(banner.contains(expected), "banner: \(banner)")
            let url = try #require(banner.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init))
            let (data, response) = try await URLSession.shared.data(from: URL(string: url + "/health")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self) == "{\"status\":\"ok\"}")
            process.terminate() // SIGTERM
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("plaza serve stops on SIGTERM while clients hold connections that sent no request, or half of one")
    func stopsWithIdleConnections() async throws {
        let server = try await ServerProcess(settings: [:])
        let idle = try #require(ServerProcess.connection(to: server.port))
        let half = try #require(ServerProcess.connection(to: server.port))
        defer { close(idle); close(half) }
        let partial = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" // no blank line: the head is not complete
        #expect(partial.withCString { write(half, $0, strlen($0)) } == partial.utf8.count)
        // Both are accepted (and the half request read) well before the stop; then SIGTERM.
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.stop(grace: .seconds(15)), "plaza serve did not stop within 15 s of SIGTERM:\n\(server.log)")
    }
}
