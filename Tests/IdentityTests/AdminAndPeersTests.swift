import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import ServiceLifecycle
import Testing

@testable import Identity

func adminTokens(_ client: some TestClientProtocol, plaza: Plaza) async throws -> TokenPair? {
    try await Demo.seed(plaza)
    return try await client.execute(
        uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
        body: body(Credentials(email: "admin@demo.plaza.test", password: "plaza-demo"))
    ) { response in decoded(TokenPair.self, response) }
}

@Suite("Administration")
struct AdminTests {
    @Test("admins search users; disabling one ends its live token at once; enabling lets it sign in again")
    func searchAndDisable() async throws {
        try await withTestPlaza(apps: [NotesApp.self]) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let admin = try #require(try await adminTokens(client, plaza: plaza))
                let user = try #require(try await signUp(client, email: "target@example.com", role: "note-taker"))
                try await client.execute(
                    uri: "/api/v1/admin/users?q=TARGET&role=note-taker&status=active", method: .get, headers: bearer(admin.accessToken)
                ) { response in
                    #expect(response.status == .ok)
                    #expect(decoded(PageOf<UserSummary>.self, response)?.items.map(\.email) == ["target@example.com"])
                }
                try await client.execute(uri: "/api/v1/admin/users?limit=3", method: .get, headers: bearer(admin.accessToken)) { response in
                    let page = decoded(PageOf<UserSummary>.self, response)
                    #expect(page?.items.count == 3)
                    #expect(page?.nextCursor != nil)
                }
                try await client.execute(uri: "/api/v1/admin/users?status=sleeping", method: .get, headers: bearer(admin.accessToken)) { response in
                    #expect(response.status == .unprocessableContent)
                }
                try await client.execute(uri: "/api/v1/admin/users", method: .get, headers: bearer(user.accessToken)) { response in
                    #expect(response.status == .forbidden)
                }
                let id = try #require(
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { decoded(Me.self, $0)?.id })
                try await client.execute(uri: "/api/v1/admin/users/\(id)/disable", method: .post, headers: bearer(admin.accessToken)) { response in
                    #expect(decoded(UserSummary.self, response)?.status == "disabled")
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "target@example.com", password: "correct horse"))
                ) { response in #expect(response.status == .forbidden) }
                try await client.execute(uri: "/api/v1/admin/users/\(id)/enable", method: .post, headers: bearer(admin.accessToken)) { response in
                    #expect(decoded(UserSummary.self, response)?.status == "active")
                }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "target@example.com", password: "correct horse"))
                ) { response in #expect(response.status == .ok) }
                try await client.execute(uri: "/api/v1/admin/users/\(UUID())/disable", method: .post, headers: bearer(admin.accessToken)) {
                    response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }

    @Test("PyJWT verifies Plaza's access tokens with the keys from /oauth/jwks")
    func pyjwtVerifiesTokens() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "peer@example.com"))
                let jwks = try await client.execute(uri: "/oauth/jwks", method: .get) { String(buffer: $0.body) }
                let script = """
                    import json, sys, jwt
                    jwks, token, issuer = sys.argv[1], sys.argv[2], sys.argv[3]
                    header = jwt.get_unverified_header(token)
                    key = next(k for k in json.loads(jwks)["keys"] if k["kid"] == header["kid"])
                    public = jwt.PyJWK(key).key
                    claims = jwt.decode(token, public, algorithms=["ES256"], audience="plaza", issuer=issuer)
                    print(claims["sub"], header["alg"])
                    try:
                        jwt.decode(token, public, algorithms=["ES256"], audience="someone-else")
                        print("wrong audience accepted")
                    except jwt.InvalidAudienceError:
                        print("audience checked")
                    """
                #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install PyJWT into .venv")
                let (status, text) = try await PythonPeer.run(["-c", script, jwks, tokens.accessToken, plaza.config.baseURL])
                let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { decoded(Me.self, $0) }
                #expect(status == 0, "\(text)")
                #expect(text.contains("\(me?.id.uuidString ?? "?") ES256"), "\(text)")
                #expect(text.contains("audience checked"), "\(text)")
            }
        }
    }
}

@Suite("Identity across instances", .enabled(if: TestDatabase.isPostgres, "needs PLAZA_TEST_DATABASE_URL"))
struct IdentityInstancesTests {
    @Test("a user disabled, or a role changed, on one instance applies at once on another sharing the database")
    func disableReachesOtherInstances() async throws {
        try await withTestPlaza(configure: { $0.jobs.pollInterval = .seconds(30) }) { a in
            let b = try await Plaza.open(a.config, database: a.store.settings, logger: a.logger)
            try await b.identity.loadRolePermissions() // what `plaza serve` does when it migrates
            try await a.dispatcher.broadcastFromNow()
            try await b.dispatcher.broadcastFromNow()
            let groupA = ServiceGroup(configuration: .init(services: a.backgroundServices, logger: a.logger))
            let groupB = ServiceGroup(configuration: .init(services: b.backgroundServices, logger: b.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await groupA.run() }
                tasks.addTask { try await groupB.run() }
                try await Task.sleep(for: .milliseconds(500)) // listeners connect; dispatchers find the end of the log
                try await a.testApplication().test(.router) { clientA in
                    try await b.testApplication().test(.router) { clientB in
                        let admin = try #require(try await adminTokens(clientA, plaza: a))
                        let user = try #require(try await signUp(clientA, email: "roaming@example.com"))
                        // b accepts the token (it verifies with the shared keys, no database read) …
                        try await clientB.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { #expect($0.status == .ok) }
                        let id = try #require(
                            try await clientA.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { decoded(Me.self, $0)?.id }
                        )
                        try await clientA.execute(uri: "/api/v1/admin/users/\(id)/disable", method: .post, headers: bearer(admin.accessToken)) {
                            response in
                            #expect(response.status == .ok)
                        }
                        // … and refuses it as soon as the event arrives (polling is 30 s: only NOTIFY is this fast).
                        let started = ContinuousClock.now
                        var refused = false
                        while !refused, ContinuousClock.now - started < .seconds(5) {
                            refused = try await clientB.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) {
                                $0.status == .unauthorized
                            }
                            if !refused { try await Task.sleep(for: .milliseconds(20)) }
                        }
                        #expect(refused, "instance b still accepted a disabled user's token after 5 s")

                        // A role made on a, granted to someone: b lets its holder search users, then stops at once
                        // when a takes the permission away.
                        try await clientA.execute(
                            uri: "/api/v1/admin/roles", method: .post, headers: bearer(admin.accessToken),
                            body: body(NewRole(name: "support", scope: "system", description: "", permissions: ["identity.user.read"]))
                        ) { #expect($0.status == .created) }
                        let helper = try #require(try await signUp(clientA, email: "helper@example.com"))
                        let helperID = try #require(
                            try await clientA.execute(uri: "/api/v1/me", method: .get, headers: bearer(helper.accessToken)) {
                                decoded(Me.self, $0)?.id
                            })
                        try await clientA.execute(
                            uri: "/api/v1/admin/users/\(helperID)/roles", method: .post, headers: bearer(admin.accessToken),
                            body: body(RoleGrant(role: "support"))
                        ) { #expect($0.status == .ok) }
                        let support = try #require(
                            try await clientA.execute(
                                uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                                body: body(Credentials(email: "helper@example.com", password: "correct horse"))
                            ) { decoded(TokenPair.self, $0) })
                        func statusOnB() async throws -> HTTPResponse.Status {
                            try await clientB.execute(uri: "/api/v1/admin/users", method: .get, headers: bearer(support.accessToken)) { $0.status }
                        }
                        func waitOnB(for status: HTTPResponse.Status) async throws -> Bool {
                            let started = ContinuousClock.now
                            while ContinuousClock.now - started < .seconds(5) {
                                if try await statusOnB() == status { return true }
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            return false
                        }
                        #expect(try await waitOnB(for: .ok), "instance b never learned the new role's permissions")
                        try await clientA.execute(
                            uri: "/api/v1/admin/roles/support", method: .put, headers: bearer(admin.accessToken),
                            body: body(RoleChange(description: "", permissions: []))
                        ) { #expect($0.status == .ok) }
                        #expect(try await waitOnB(for: .forbidden), "instance b still honoured a removed permission after 5 s")
                    }
                }
                await groupA.triggerGracefulShutdown()
                await groupB.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await b.shutdown()
        }
    }
}

struct PageOf<Item: Decodable>: Decodable {
    var items: [Item]
    var nextCursor: String?
}
