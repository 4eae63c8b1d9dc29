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

struct OrganisationPageBody: Decodable { var items: [Organisation]; var nextCursor: String? }
struct GenderListBody: Decodable { var items: [Gender] }

@Suite("Profiles and organisation lists")
struct ProfileTests {
    @Test("PATCH /api/v1/me changes only the fields sent, clears with an empty string, and refuses bad fields whole")
    func updateProfile() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "profile@example.com"))
                let genders = try await client.execute(uri: "/api/v1/genders", method: .get, headers: bearer(tokens.accessToken)) { response in
                    decoded(GenderListBody.self, response)?.items.map(\.id)
                }
                #expect(genders?.contains("non-binary") == true)

                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: bearer(tokens.accessToken),
                    body: body(
                        ProfileUpdate(
                            bio: "Analyst", birthDate: "1990-02-28", mobile: "+380 50 123 45 67", gender: "female", locale: "uk",
                            timeZone: "Europe/Kyiv"))
                ) { response in
                    #expect(response.status == .ok)
                    let me = decoded(Me.self, response)
                    #expect(me?.firstName == "Ada", "absent fields stay")
                    #expect(me?.bio == "Analyst")
                    #expect(me?.mobile == "+380501234567")
                    #expect(me?.phoneVerified == false)
                    #expect(me?.locale == "uk")
                }

                // Every problem at once, and nothing written.
                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: bearer(tokens.accessToken),
                    body: body(
                        ProfileUpdate(
                            firstName: " ", birthDate: "1990-02-30", mobile: "12345", gender: "robot", locale: "fr", timeZone: "Mars/Olympus"))
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    let fields = Set(decoded(Problem.self, response)?.errors?.map(\.field) ?? [])
                    #expect(fields == ["firstName", "birthDate", "mobile", "gender", "locale", "timeZone"])
                }
                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: bearer(tokens.accessToken), body: body(ProfileUpdate(bio: "", mobile: ""))
                ) { response in
                    let me = decoded(Me.self, response)
                    #expect(me?.bio == nil)
                    #expect(me?.mobile == nil)
                    #expect(me?.gender == "female", "untouched by the refused request")
                    #expect(me?.birthDate == "1990-02-28")
                }
                try await client.execute(uri: "/api/v1/me", method: .patch, body: body(ProfileUpdate(bio: "x"))) { response in
                    #expect(response.status == .unauthorized)
                }
                let audited = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'identity.profile.update'")
                    .first()
                #expect(try audited?.decode(column: "n", as: Int.self) == 2)
            }
        }
    }

    @Test("E.164 numbers and birth dates are checked as people type them")
    func fieldRules() {
        #expect(IdentityService.isE164(IdentityService.normalise(mobile: "+44 (20) 7946-0000")))
        #expect(!IdentityService.isE164("+0123456789"))
        #expect(!IdentityService.isE164("0501234567"))
        #expect(!IdentityService.isE164("+1234567"))
        let today = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(IdentityService.birthDateProblem("2000-01-01", today: today) == nil)
        #expect(IdentityService.birthDateProblem("2000-1-1", today: today) != nil)
        #expect(IdentityService.birthDateProblem("2099-01-01", today: today) != nil)
        #expect(IdentityService.birthDateProblem("1899-12-31", today: today) != nil)
    }

    @Test("GET /api/v1/organisations lists your own, every one for admins, by name and type, in cursor pages")
    func listOrganisations() async throws {
        // The test app brings a type (study-group) beside the core's (team).
        try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.rateLimits = [] }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let owner = try #require(try await signUp(client, email: "owner@example.com"))
                let other = try #require(try await signUp(client, email: "other@example.com"))
                for (name, type) in [("Acme Brands", "team"), ("Acme Supply", "team"), ("Kyiv Runners", "study-group")] {
                    try await client.execute(
                        uri: "/api/v1/organisations", method: .post, headers: bearer(owner.accessToken),
                        body: body(NewOrganisation(name: name, type: type))
                    ) { response in #expect(response.status == .created) }
                }
                func list(_ query: String, _ headers: HTTPFields) async throws -> OrganisationPageBody? {
                    try await client.execute(uri: "/api/v1/organisations\(query)", method: .get, headers: headers) { response in
                        #expect(response.status == .ok, "\(String(buffer: response.body))")
                        return decoded(OrganisationPageBody.self, response)
                    }
                }
                #expect(try await list("", bearer(owner.accessToken))?.items.count == 3)
                #expect(try await list("", bearer(other.accessToken))?.items.isEmpty == true, "outsiders see none")
                #expect(try await list("?q=acme", bearer(owner.accessToken))?.items.map(\.name).sorted() == ["Acme Brands", "Acme Supply"])
                #expect(try await list("?type=study-group", bearer(owner.accessToken))?.items.map(\.name) == ["Kyiv Runners"])
                let admin = [HTTPField.Name.testPrincipal: TestAuthentication.header(roles: ["admin"])]
                let first = try #require(try await list("?limit=2", HTTPFields(admin.map { HTTPField(name: $0.key, value: $0.value) })))
                #expect(first.items.count == 2)
                let cursor = try #require(first.nextCursor)
                let second = try await list("?limit=2&cursor=\(cursor)", HTTPFields(admin.map { HTTPField(name: $0.key, value: $0.value) }))
                #expect(second?.items.count == 1)
                #expect(second?.nextCursor == nil)
                try await client.execute(uri: "/api/v1/organisations?type=club", method: .get, headers: bearer(owner.accessToken)) { response in
                    #expect(response.status == .unprocessableContent)
                }
            }
        }
    }

    @Test("owners rename, move and archive an organisation; a loop in the hierarchy is refused; outsiders see 404")
    func organisationSettings() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let owner = try #require(try await signUp(client, email: "owner@example.com"))
                let outsider = try #require(try await signUp(client, email: "outsider@example.com"))
                func create(_ name: String) async throws -> Organisation? {
                    try await client.execute(
                        uri: "/api/v1/organisations", method: .post, headers: bearer(owner.accessToken),
                        body: body(NewOrganisation(name: name, type: "team"))
                    ) { decoded(Organisation.self, $0) }
                }
                let group = try #require(try await create("Group"))
                let branch = try #require(try await create("Branch"))
                func patch(_ id: UUID, _ update: OrganisationUpdate, _ token: String) async throws -> (HTTPResponse.Status, String) {
                    try await client.execute(uri: "/api/v1/organisations/\(id)", method: .patch, headers: bearer(token), body: body(update)) {
                        ($0.status, String(buffer: $0.body))
                    }
                }
                let moved = try await patch(branch.id, OrganisationUpdate(name: "Kyiv Branch", parentId: group.id.uuidString), owner.accessToken)
                #expect(moved.0 == .ok, "\(moved.1)")
                #expect(moved.1.contains("Kyiv Branch"))
                let loop = try await patch(group.id, OrganisationUpdate(parentId: branch.id.uuidString), owner.accessToken)
                #expect(loop.0 == .unprocessableContent)
                #expect(loop.1.contains("would put the organisation under itself"))
                #expect(try await patch(group.id, OrganisationUpdate(type: "club", status: "gone"), owner.accessToken).0 == .unprocessableContent)
                #expect(try await patch(group.id, OrganisationUpdate(name: "Mine"), outsider.accessToken).0 == .notFound)
                try await client.execute(uri: "/api/v1/organisations/\(group.id)/children", method: .get, headers: bearer(owner.accessToken)) {
                    response in
                    #expect(decoded(OrganisationPageBody.self, response)?.items.map(\.name) == ["Kyiv Branch"])
                }
                let archived = try await patch(branch.id, OrganisationUpdate(parentId: "", status: "archived"), owner.accessToken)
                #expect(archived.0 == .ok)
                let after = try PlazaJSON.decoder().decode(Organisation.self, from: Data(archived.1.utf8))
                #expect(after.status == "archived")
                #expect(after.parentId == nil)
            }
        }
    }
}
