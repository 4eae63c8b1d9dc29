import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Jobs
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

@Suite("Account lifecycle and role grants")
struct LifecycleTests {
    @Test("a deleted account stops working at once and is erased after the grace period")
    func deleteAndPurge() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(clock: clock) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "leaving@example.com"))
                try await client.execute(uri: "/api/v1/me/export", method: .get, headers: bearer(tokens.accessToken)) { response in
                    let export = decoded(DataExport.self, response)
                    #expect(export?.profile.email == "leaving@example.com")
                    #expect(export?.activity.map(\.action).contains("identity.session.create") == true)
                    #expect(export?.sessions.count == 1)
                }
                try await client.execute(
                    uri: "/api/v1/me", method: .delete, headers: bearer(tokens.accessToken), body: body(AccountDeletion(password: "nope"))
                ) {
                    #expect($0.status == .unprocessableContent)
                }
                try await client.execute(
                    uri: "/api/v1/me", method: .delete, headers: bearer(tokens.accessToken), body: body(AccountDeletion(password: "correct horse"))
                ) {
                    #expect($0.status == .noContent)
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "leaving@example.com", password: "correct horse"))
                ) { #expect($0.status == .forbidden) }
                #expect(try await plaza.worker.runDue() == 0, "not erased during the grace period")
                clock.advance(by: IdentityService.deletionGrace + 1)
                #expect(try await plaza.worker.runDue() >= 1)
                #expect(try await plaza.store.sql.raw("SELECT id FROM identity_users WHERE email = 'leaving@example.com'").first() == nil)
            }
        }
    }

    @Test("admins grant and revoke roles; revoking ends the user's sessions")
    func grantAndRevoke() async throws {
        try await withTestPlaza(apps: [NotesApp.self]) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let admin = try #require(try await adminTokens(client, plaza: plaza))
                let user = try #require(try await signUp(client, email: "promoted@example.com"))
                let id = try #require(
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { decoded(Me.self, $0)?.id })
                try await client.execute(uri: "/api/v1/admin/roles", method: .get, headers: bearer(admin.accessToken)) { response in
                    #expect(decoded(RoleList.self, response)?.items.map(\.name).contains("note-taker") == true)
                }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(id)/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "note-taker", app: "notes"))
                ) { response in #expect(decoded(Me.self, response)?.appRoles == ["*": ["customer"], "notes": ["note-taker"]]) }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(id)/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "operator", app: "astro"))
                ) { #expect($0.status == .unprocessableContent) }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(id)/roles", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "operator", app: nil))
                ) { response in #expect(decoded(Me.self, response)?.roles.contains("operator") == true) }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(id)/roles", method: .post, headers: bearer(user.accessToken),
                    body: body(RoleGrant(role: "admin", app: nil))
                ) { #expect($0.status == .forbidden) }
                try await client.execute(
                    uri: "/api/v1/admin/users/\(id)/roles/revoke", method: .post, headers: bearer(admin.accessToken),
                    body: body(RoleGrant(role: "operator", app: nil))
                ) { response in #expect(decoded(Me.self, response)?.roles.contains("operator") == false) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(user.accessToken)) { #expect($0.status == .unauthorized) }
            }
        }
    }
}
