import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

@Suite("Roles and their permissions")
struct RoleTests {
    @Test("admins make a role with permissions; its holders may do what it lists, at once as it changes")
    func customRole() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let admin = try #require(try await adminTokens(client, plaza: plaza))
                let helper = try #require(try await signUp(client, email: "helper@example.com"))
                let helperID = try #require(
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(helper.accessToken)) {
                        decoded(Me.self, $0)?.id
                    })

                // Misspelt permissions and names are refused whole.
                try await client.execute(
                    uri: "/api/v1/admin/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(NewRole(name: "Support Desk", scope: "galaxy", description: "", permissions: ["identity.users.reed", "Bad Perm"]))
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    let messages = decoded(Problem.self, response)?.errors?.map { "\($0.field): \($0.message)" } ?? []
                    #expect(messages.contains("permissions: identity.users.reed covers no action Plaza knows"), "\(messages)")
                    #expect(messages.contains("permissions: Bad Perm is not an action, a prefix ending in .*, or *"), "\(messages)")
                    #expect(messages.contains { $0.hasPrefix("name:") })
                    #expect(messages.contains { $0.hasPrefix("scope:") })
                }
                try await client.execute(
                    uri: "/api/v1/admin/roles", method: .post, headers: bearer(helper.accessToken),
                    body: body(NewRole(name: "support", scope: "system", description: "Help desk", permissions: ["identity.user.read"]))
                ) { response in #expect(response.status == .forbidden) }
                try await client.execute(
                    uri: "/api/v1/admin/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(NewRole(name: "support", scope: "system", description: "Help desk", permissions: ["identity.user.read"]))
                ) { response in
                    #expect(response.status == .created)
                    #expect(decoded(RoleInfo.self, response)?.builtIn == false)
                }
                try await client.execute(
                    uri: "/api/v1/admin/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(NewRole(name: "support", scope: "system", description: "again", permissions: []))
                ) { response in #expect(response.status == .conflict) }

                try await client.execute(
                    uri: "/api/v1/admin/users/\(helperID)/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "support"))
                ) { response in #expect(response.status == .ok) }
                let support = try #require(
                    try await client.execute(
                        uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                        body: body(Credentials(email: "helper@example.com", password: "correct horse"))
                    ) { decoded(TokenPair.self, $0) })
                try await client.execute(uri: "/api/v1/admin/users?q=helper", method: .get, headers: bearer(support.accessToken)) { response in
                    #expect(response.status == .ok, "the role's permission lets its holder search users")
                }
                try await client.execute(uri: "/api/v1/admin/users/\(helperID)/disable", method: .post, headers: bearer(support.accessToken)) {
                    response in
                    #expect(response.status == .forbidden, "but not manage them")
                }

                // Taking the permission away applies to the live token at once.
                try await client.execute(
                    uri: "/api/v1/admin/roles/support", method: .put, headers: bearer(admin.accessToken),
                    body: body(RoleChange(description: "Help desk", permissions: []))
                ) { response in #expect(response.status == .ok) }
                try await client.execute(uri: "/api/v1/admin/users?q=helper", method: .get, headers: bearer(support.accessToken)) { response in
                    #expect(response.status == .forbidden)
                }

                // A held role cannot be deleted; Plaza's own roles never; admin keeps every permission.
                try await client.execute(uri: "/api/v1/admin/roles/support", method: .delete, headers: bearer(admin.accessToken)) { response in
                    #expect(response.status == .conflict)
                }
                try await client.execute(uri: "/api/v1/admin/roles/operator", method: .delete, headers: bearer(admin.accessToken)) { response in
                    #expect(response.status == .conflict)
                }
                try await client.execute(
                    uri: "/api/v1/admin/roles/admin", method: .put, headers: bearer(admin.accessToken),
                    body: body(RoleChange(description: "x", permissions: []))
                ) { response in #expect(response.status == .unprocessableContent) }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(helperID)/roles/revoke", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "support"))
                ) { response in #expect(response.status == .ok) }
                try await client.execute(uri: "/api/v1/admin/roles/support", method: .delete, headers: bearer(admin.accessToken)) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/api/v1/admin/roles/support", method: .delete, headers: bearer(admin.accessToken)) { response in
                    #expect(response.status == .notFound)
                }
                let audit = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action LIKE 'identity.role.%'").first()
                #expect(try audit?.decode(column: "n", as: Int.self) == 5, "create, grant, update, revoke, delete")
            }
        }
    }

    @Test("a custom organisation role gives its permissions inside its organisation only")
    func organisationRole() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let admin = try #require(try await adminTokens(client, plaza: plaza))
                try await client.execute(
                    uri: "/api/v1/admin/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(
                        NewRole(
                            name: "bookkeeper", scope: "organisation", description: "Reads the books", permissions: ["identity.organisation.read"]))
                ) { response in #expect(response.status == .created) }
                let owner = try #require(try await signUp(client, email: "owner@example.com"))
                let keeper = try #require(try await signUp(client, email: "keeper@example.com"))
                let keeperID = try #require(
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(keeper.accessToken)) { decoded(Me.self, $0)?.id })
                let org = try #require(
                    try await client.execute(
                        uri: "/api/v1/organisations", method: .post, headers: bearer(owner.accessToken),
                        body: body(NewOrganisation(name: "Ledger Co", type: "team"))
                    ) { decoded(Organisation.self, $0) })
                try await plaza.store.transaction { transaction in
                    try await IdentityService.addMembership(
                        user: keeperID, organisation: org.id, roles: ["member"], at: transaction.clock.now(), in: transaction)
                }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(keeperID)", method: .put, headers: bearer(owner.accessToken),
                    body: body(MemberRoles(roles: ["bookkeeper"]))
                ) { response in #expect(response.status == .ok, "\(String(buffer: response.body))") }
                try await client.execute(uri: "/api/v1/organisations/\(org.id)", method: .get, headers: bearer(keeper.accessToken)) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(keeperID)", method: .put, headers: bearer(owner.accessToken),
                    body: body(MemberRoles(roles: ["treasurer"]))
                ) { response in #expect(response.status == .unprocessableContent) }
                // A system grant of an organisation role makes no sense and is refused.
                try await client.execute(
                    uri: "/api/v1/admin/users/\(keeperID)/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "bookkeeper"))
                ) { response in #expect(response.status == .unprocessableContent) }
            }
        }
    }
}

@Suite("Signing keys across instances")
struct SigningKeyRaceTests {
    @Test("a token signed with a key this instance has not read yet verifies after one re-read of the ring")
    func unknownKidReloads() async throws {
        try await withTestPlaza { plaza in
            let settings = plaza.config.identitySettings
            let b = TokenIssuer(store: plaza.store, settings: settings)
            let principal = Principal(id: UUID(), sessionID: UUID())
            _ = try await b.issue(for: principal, sessionID: principal.sessionID!) // b has read the ring
            // Another instance rotates; b has not heard of it (no event reaches this lone issuer).
            let a = TokenIssuer(store: plaza.store, settings: settings)
            _ = try await plaza.store.transaction { transaction in try await a.rotate(in: transaction) }
            await a.reload()
            let (token, _) = try await a.issue(for: principal, sessionID: principal.sessionID!)
            let verified = try await b.verify(token)
            #expect(verified.principal.id == principal.id)
            // A made-up key id does not make every request read the database: the re-read waits 5 s.
            let forged = "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vcGUifQ." + token.split(separator: ".").dropFirst().joined(separator: ".")
            await #expect(throws: PlazaError.self) { _ = try await b.verify(forged) }
        }
    }
}
