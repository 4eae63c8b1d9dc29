import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
@testable import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import SQLKit
import Testing

/// Merging accounts touches every module, so it is tested where every module is: here, on the demo data.
@Suite("Merging two accounts (seed 002)")
struct MergeTests {
    func count(_ plaza: Plaza, _ sql: SQLQueryString) async throws -> Int {
        try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM " + sql).first()?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test(
        "with the code its owner got, an account's requests, threads, messages, inbox, organisations and roles join another; it cannot sign in again")
    func merge() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            #expect(try await Demo.seed(plaza))
            let staff = try await signIn(plaza, IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
            let ada = try await person(plaza, "ada@example.com")
            let old = try await signIn(plaza, IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
            _ = try await plaza.identity.createOrganisation(NewOrganisation(name: "Old Household", type: "team"), caller: caller(old))
            let requests = try await count(plaza, "marketplace_requests WHERE customer_id = \(bind: old.id)")
            let threads = try await count(plaza, "conversation_participants WHERE user_id = \(bind: old.id)")
            let messages = try await count(plaza, "conversation_messages WHERE author_id = \(bind: old.id)")
            #expect(requests > 0 && threads > 0 && messages > 0, "the demo customer has history to move")
            try await plaza.testApplication().test(.router) { client in
                let path = "/api/v1/admin/users/\(ada.id)/merge"
                let early = try await client.executeRequest(
                    uri: path + "/confirm", method: .post, headers: staff.headers, body: json(MergeConfirmation(sourceUserId: old.id, code: "123456"))
                )
                #expect(early.status == .conflict, "no merge is waiting")
                #expect(
                    try await client.executeRequest(uri: path, method: .post, headers: old.headers, body: json(MergeRequest(sourceUserId: ada.id)))
                        .status == .forbidden)
                let itself = try await client.executeRequest(
                    uri: path, method: .post, headers: staff.headers, body: json(MergeRequest(sourceUserId: ada.id)))
                #expect(itself.status == .unprocessableContent)
                #expect(
                    try await client.executeRequest(uri: path, method: .post, headers: staff.headers, body: json(MergeRequest(sourceUserId: old.id)))
                        .status == .accepted)
                let wrong = try await client.executeRequest(
                    uri: path + "/confirm", method: .post, headers: staff.headers, body: json(MergeConfirmation(sourceUserId: old.id, code: "000000"))
                )
                #expect(wrong.status == .badRequest && String(buffer: wrong.body).contains("code-invalid"))
                #expect(try await plaza.identity.me(old.id).status == "active", "nothing moved without the code")
                let issued = try #require(try await plaza.issuedCodes().last { $0.purpose == .confirmMerge })
                #expect(issued.userId == old.id && issued.email == IdentityDemo.email(for: "customer"), "the code goes to the merged account's owner")

                let done = try await client.executeRequest(
                    uri: path + "/confirm", method: .post, headers: staff.headers,
                    body: json(MergeConfirmation(sourceUserId: old.id, code: issued.code)))
                #expect(done.status == .ok, "\(String(buffer: done.body))")
                let result = try decode(MergeResult.self, done)
                #expect(result.moved["marketplace.requests"] == requests && result.moved["conversations.threads"] == threads)
                #expect(result.moved["conversations.messages"] == messages && result.moved["identity.memberships"] == 1)

                #expect(try await count(plaza, "marketplace_requests WHERE customer_id = \(bind: ada.id)") == requests)
                #expect(try await count(plaza, "conversation_participants WHERE user_id = \(bind: old.id)") == 0)
                #expect(try await plaza.identity.me(ada.id).organisations.map(\.name) == ["Old Household"])
                let mine = try await client.executeRequest(
                    uri: "/api/v1/marketplace/requests?role=customer", method: .get, headers: ada.headers, body: nil)
                #expect(try decode(Paged<ServiceRequest>.self, mine).items.count == requests, "Ada sees the requests as hers")

                let login = try await client.executeRequest(
                    uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
                    body: json(Credentials(email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)))
                #expect(login.status == .forbidden && String(buffer: login.body).contains("account-merged"))
                #expect(
                    try await client.executeRequest(uri: "/api/v1/me", method: .get, headers: old.headers, body: nil).status == .unauthorized,
                    "its tokens stop at once")
                let enable = try await client.executeRequest(
                    uri: "/api/v1/admin/users/\(old.id)/enable", method: .post, headers: staff.headers, body: nil)
                #expect(enable.status == .conflict, "a merged account is not brought back")
                let audit = try await plaza.store.sql.raw("SELECT details FROM plaza_audit_log WHERE action = 'identity.user.merge'").all()
                #expect(audit.count == 1)
            }
        }
    }

    @Test("the admin's user page merges by email: a code to the other account's owner, then the merge")
    func page() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            #expect(try await Demo.seed(plaza))
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                try await browser.signIn(email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                #expect(try await browser.get("/admin/users/\(ada.id)").status == .ok && browser.lastPage.contains(#"id="merge-request-form""#))
                let unknown = try await browser.post("/admin/users/\(ada.id)/merge", [("sourceEmail", "nobody@example.com")])
                #expect(unknown.status == .unprocessableContent && browser.lastPage.contains("sourceEmail"))
                let customer = IdentityDemo.email(for: "customer")
                #expect(try await browser.post("/admin/users/\(ada.id)/merge", [("sourceEmail", customer)]).status == .seeOther)
                let code = try #require(try await plaza.issuedCodes().last { $0.purpose == .confirmMerge }).code
                let wrong = try await browser.post("/admin/users/\(ada.id)/merge/confirm", [("sourceEmail", customer), ("code", "000000")])
                #expect(wrong.status == .badRequest)
                let done = try await browser.post("/admin/users/\(ada.id)/merge/confirm", [("sourceEmail", customer), ("code", code)])
                #expect(done.location == "/admin/users/\(ada.id)?notice=merged")
                let status = try await plaza.store.sql.raw("SELECT status FROM identity_users WHERE email = \(bind: customer)").first()?
                    .decode(column: "status", as: String.self)
                #expect(status == "merged")
            }
        }
    }

    @Test("two provider profiles cannot become one: the merge is refused and nothing moves")
    func providersCollide() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            #expect(try await Demo.seed(plaza))
            let rows = try await plaza.store.sql.raw("SELECT user_id FROM marketplace_providers ORDER BY user_id LIMIT 2").all()
            let (target, source) = (try rows[0].decode(column: "user_id", as: UUID.self), try rows[1].decode(column: "user_id", as: UUID.self))
            try await plaza.identity.requestMerge(into: target, MergeRequest(sourceUserId: source), caller: admin)
            let code = try #require(try await plaza.issuedCodes().last { $0.purpose == .confirmMerge }).code
            await #expect(throws: PlazaError.conflict("Both accounts have a provider profile in the marketplace; remove one of them before merging."))
            {
                _ = try await plaza.identity.confirmMerge(into: target, MergeConfirmation(sourceUserId: source, code: code), caller: admin)
            }
            #expect(try await plaza.identity.me(source).status == "active")
            #expect(try await count(plaza, "marketplace_providers WHERE user_id = \(bind: source)") == 1)
        }
    }
}
