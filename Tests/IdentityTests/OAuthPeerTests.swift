import Foundation
import Identity
import PlazaTesting
import Testing

@Suite("OAuth with a real OpenID Connect client", .timeLimit(.minutes(3)))
struct OAuthPeerTests {
    /// `plaza …` on a data directory; fails the test with what it printed.
    func plaza(_ arguments: [String], in directory: String) throws -> String {
        let run = try PlazaProcess.run(arguments + ["--data-dir", directory], environment: ["PLAZA_BCRYPT_COST": "10"])
        guard run.status == 0 else { throw CommandFailed(output: run.stdout + run.stderr) }
        return run.stdout
    }

    struct CommandFailed: Error, CustomStringConvertible { var output: String; var description: String { output } }

    /// `key=value` lines, as `plaza oauth clients create` prints them.
    func values(_ output: String) -> [String: String] {
        Dictionary(
            output.split(separator: "\n").compactMap { line in
                line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            }, uniquingKeysWith: { $1 })
    }

    @Test(
        "Authlib completes code + PKCE (through the pages), verifies the ID token, refreshes, revokes; a service uses client_credentials; introspection agrees"
    )
    func authlib() async throws {
        try #require(PythonPeer.isInstalled, "run scripts/deps.sh test to install authlib into .venv")
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Set up with the CLI, as an operator would: demo people, an app and a resource server.
        _ = try plaza(["seed", "--demo"], in: directory)
        let redirect = "http://127.0.0.1:9/callback"
        let app = values(
            try plaza(
                [
                    "oauth", "clients", "create", "--name", "Authlib app", "--redirect-uri", redirect, "--scope",
                    "openid profile email offline_access",
                ], in: directory))
        let service = values(
            try plaza(
                [
                    "oauth", "clients", "create", "--name", "Resource server", "--scope", "plaza", "--grants", "client_credentials",
                ], in: directory))
        #expect(try plaza(["oauth", "clients", "list"], in: directory).contains("Resource server"))
        let server = try await ServerProcess(settings: ["PLAZA_DATA_DIR": directory, "PLAZA_BCRYPT_COST": "10"])
        defer { server.stop() }
        let (status, output) = try await PythonPeer.run([
            PythonPeer.script("oidc_client.py"), server.url, IdentityDemo.email(for: "customer"), IdentityDemo.password,
            try #require(app["client_id"]), try #require(app["client_secret"]),
            try #require(service["client_id"]), try #require(service["client_secret"]), redirect,
        ])
        #expect(status == 0 && output.contains("\nok"), "\(output)\nserver:\n\(server.log)")
    }

    @Test("real Chromium: the sign-in and consent pages' forms lead on to the client (CSP form-action), for a loopback redirect on any port")
    func chromium() async throws {
        try #require(PythonPeer.isInstalled, "run scripts/deps.sh test to install selenium into .venv")
        try #require(FileManager.default.fileExists(atPath: "/usr/bin/chromedriver"), "run scripts/deps.sh test to install chromium-driver")
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try plaza(["seed", "--demo"], in: directory)
        // Registered without a port: the app listens wherever it can (RFC 8252 §7.3).
        let app = values(
            try plaza(
                [
                    "oauth", "clients", "create", "--name", "Desktop app", "--public", "--redirect-uri", "http://127.0.0.1/callback",
                    "--grants", "authorization_code",
                ], in: directory))
        let server = try await ServerProcess(settings: ["PLAZA_DATA_DIR": directory, "PLAZA_BCRYPT_COST": "10"])
        defer { server.stop() }
        let shots = PythonPeer.repository.appendingPathComponent(".build/screenshots/oidc").path
        let (status, output) = try await PythonPeer.run([
            PythonPeer.script("browser_oidc.py"), server.url, try #require(app["client_id"]), IdentityDemo.email(for: "customer"),
            IdentityDemo.password, shots,
        ])
        #expect(status == 0 && output.contains("\nok"), "\(output)\nserver:\n\(server.log)")
    }
}
