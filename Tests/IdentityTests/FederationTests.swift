import Foundation
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing
import NIOCore

@Suite("Federation: signing in to one Plaza through another", .timeLimit(.minutes(5)))
struct FederationTests {
    @Test("admins add and remove providers through the API; bad input is refused; the sign-in page offers each")
    func administration() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            let admin = try await signIn(plaza, IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
            let customer = try await signIn(plaza, IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
            try await plaza.testApplication().test(.router) { client in
                let path = "/api/v1/admin/federation/providers"
                let good = FederationProviderInput(
                    name: "Keycloak", issuer: "https://sso.example/realms/plaza", clientId: "plaza", clientSecret: "s3cret")
                #expect(try await client.executeRequest(uri: path, method: .post, headers: customer.headers, body: json(good)).status == .forbidden)
                let bad = try await client.executeRequest(
                    uri: path, method: .post, headers: admin.headers,
                    body: json(FederationProviderInput(name: "", issuer: "http://sso.example", clientId: "", clientSecret: "x")))
                #expect(bad.status == .unprocessableContent)
                #expect(Set(try decode(Problem.self, bad).errors?.map(\.field) ?? []) == ["name", "issuer", "clientId"])
                let added = try decode(
                    FederationProvider.self, try await client.executeRequest(uri: path, method: .post, headers: admin.headers, body: json(good)))
                let listed = try decode(
                    FederationProviderList.self, try await client.executeRequest(uri: path, method: .get, headers: admin.headers, body: nil))
                #expect(listed.items.map(\.id) == [added.id] && !String(describing: listed).contains("s3cret"))
                let page = try await client.executeRequest(uri: "/sign-in?next=/account", method: .get, headers: [:], body: nil)
                #expect(String(buffer: page.body).contains("/sign-in/federated/\(added.id.uuidString.lowercased())?next=%2Faccount"))
                #expect(String(buffer: page.body).contains("Sign in with Keycloak"))
                #expect(
                    try await client.executeRequest(uri: "\(path)/\(added.id)", method: .delete, headers: admin.headers, body: nil).status
                        == .noContent)
                #expect(try await plaza.identity.federation.providers().isEmpty)
                let stale = try await client.executeRequest(
                    uri: "/sign-in/federated/callback?code=x&state=unknown", method: .get, headers: [:], body: nil)
                #expect(stale.status == .badRequest)
            }
        }
    }

    func plaza(_ arguments: [String], in directory: String) throws -> [String: String] {
        let run = try PlazaProcess.run(arguments + ["--data-dir", directory], environment: ["PLAZA_BCRYPT_COST": "10"])
        guard run.status == 0 else { throw OAuthPeerTests.CommandFailed(output: run.stdout + run.stderr) }
        return Dictionary(
            run.stdout.split(separator: "\n").compactMap { line in
                line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            }, uniquingKeysWith: { $1 })
    }

    @Test("B links by verified email, follows the link next time, makes new accounts, refuses unverified addresses on either side")
    func twoProcesses() async throws {
        try #require(PythonPeer.isInstalled, "run scripts/deps.sh test to install requests into .venv")
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer { for directory in [a, b] { try? FileManager.default.removeItem(atPath: directory) } }
        // A, the provider: the demo people (their addresses verified), and B registered as a client.
        _ = try plaza(["seed", "--demo"], in: a)
        let portB = ServerProcess.freePort()
        let publicB = "http://localhost:\(portB)"
        let client = try plaza(["oauth", "clients", "create", "--name", "Plaza B", "--redirect-uri", publicB + Federation.callbackPath], in: a)
        // B: one person with A's customer address, verified; one with A's employee address, not verified.
        var config = PlazaConfig()
        config.dataDirectory = b
        config.identityBcryptCost = 4
        let local = try await Plaza.open(config)
        _ = try await local.migrate()
        for (email, verified) in [("customer@demo.plaza.test", true), ("employee@demo.plaza.test", false)] {
            let me = try await local.identity.register(
                Registration(email: email, password: "correct horse", firstName: "Local", lastName: "Person"), caller: .system("test"))
            if verified { try await local.store.sql.raw("UPDATE identity_users SET email_verified = \(bind: true) WHERE id = \(bind: me.id)").run() }
        }
        await local.shutdown()

        let providerA = try await ServerProcess(settings: ["PLAZA_DATA_DIR": a, "PLAZA_BCRYPT_COST": "10"])
        defer { providerA.stop() }
        let added = try plaza(
            [
                "federation", "add", "--name", "Plaza A", "--issuer", providerA.url,
                "--client-id", try #require(client["client_id"]), "--client-secret=" + (try #require(client["client_secret"])),
            ], in: b)
        #expect(added["provider_id"] != nil)
        let relyingB = try await ServerProcess(settings: ["PLAZA_DATA_DIR": b, "PLAZA_BCRYPT_COST": "10", "PLAZA_PUBLIC_URL": publicB], port: portB)
        defer { relyingB.stop() }
        let (status, output) = try await PythonPeer.run([PythonPeer.script("federation.py"), publicB, providerA.url, IdentityDemo.password])
        #expect(status == 0 && output.contains("\nok"), "\(output)\nA:\n\(providerA.log)\nB:\n\(relyingB.log)")
    }
}
