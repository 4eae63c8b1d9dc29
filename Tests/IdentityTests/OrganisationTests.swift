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

struct MemberListBody: Decodable { var items: [Member] }

@Suite("Organisations, members and invitations")
struct OrganisationTests {
    @Test("create an organisation, invite by email, accept, manage roles, keep an owner")
    func lifecycle() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let owner = try #require(try await signUp(client, email: "owner@acme.test"))
                let guest = try #require(try await signUp(client, email: "guest@acme.test"))
                let outsider = try #require(try await signUp(client, email: "outsider@acme.test"))

                let org = try #require(
                    try await client.execute(
                        uri: "/api/v1/organisations", method: .post, headers: bearer(owner.accessToken),
                        body: body(NewOrganisation(name: "Acme Rockets Ltd.", slug: nil, type: "team", parentId: nil))
                    ) { response in
                        #expect(response.status == .created)
                        return decoded(Organisation.self, response)
                    })
                #expect(org.slug == "acme-rockets-ltd")
                try await client.execute(
                    uri: "/api/v1/organisations", method: .post, headers: bearer(guest.accessToken),
                    body: body(NewOrganisation(name: "Copy", slug: "acme-rockets-ltd", type: "team", parentId: nil))
                ) { #expect($0.status == .conflict) }
                try await client.execute(
                    uri: "/api/v1/organisations", method: .post, headers: bearer(guest.accessToken),
                    body: body(NewOrganisation(name: "", slug: "Bad Slug", type: "empire", parentId: nil))
                ) { response in
                    #expect(decoded(Problem.self, response)?.errors?.map(\.field) == ["name", "slug", "type"])
                }
                // The owner's token predates the organisation; roles are read fresh, so it works at once.
                try await client.execute(uri: "/api/v1/organisations/\(org.id)", method: .get, headers: bearer(owner.accessToken)) {
                    #expect($0.status == .ok)
                }
                try await client.execute(uri: "/api/v1/organisations/\(org.id)", method: .get, headers: bearer(outsider.accessToken)) {
                    #expect($0.status == .notFound, "outsiders do not learn it exists")
                }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/invitations", method: .post, headers: bearer(outsider.accessToken),
                    body: body(NewInvitation(email: "outsider@acme.test", roles: ["owner"]))
                ) { #expect($0.status == .notFound) }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/invitations", method: .post, headers: bearer(owner.accessToken),
                    body: body(NewInvitation(email: "Guest@Acme.test", roles: ["manager"]))
                ) { #expect($0.status == .created) }
                try await plaza.dispatcher.sequence()
                let invitation = try #require(
                    try await plaza.outbox.events(after: 0, topics: [InvitationCreated.topic]).last?.decode(InvitationCreated.self))
                #expect(invitation.email == "guest@acme.test")
                // Only the invited address can use the link.
                try await client.execute(
                    uri: "/api/v1/invitations/accept", method: .post, headers: bearer(outsider.accessToken),
                    body: body(InvitationAcceptance(token: invitation.token))
                ) { #expect($0.status == .badRequest) }
                try await client.execute(
                    uri: "/api/v1/invitations/accept", method: .post, headers: bearer(guest.accessToken),
                    body: body(InvitationAcceptance(token: invitation.token))
                ) { response in #expect(decoded(Organisation.self, response)?.id == org.id) }
                try await client.execute(
                    uri: "/api/v1/invitations/accept", method: .post, headers: bearer(guest.accessToken),
                    body: body(InvitationAcceptance(token: invitation.token))
                ) { #expect($0.status == .badRequest, "single use") }

                let members = try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members", method: .get, headers: bearer(guest.accessToken)
                ) {
                    decoded(MemberListBody.self, $0)?.items ?? []
                }
                #expect(members.map(\.email).sorted() == ["guest@acme.test", "owner@acme.test"])
                let ownerID = try #require(members.first { $0.email == "owner@acme.test" }?.userId)
                let guestID = try #require(members.first { $0.email == "guest@acme.test" }?.userId)
                #expect(members.first { $0.userId == guestID }?.roles == ["manager"])
                // A manager cannot change roles; the owner can; the last owner cannot step down.
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(guestID)", method: .put, headers: bearer(guest.accessToken),
                    body: body(MemberRoles(roles: ["owner"]))
                ) { #expect($0.status == .forbidden) }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(ownerID)", method: .put, headers: bearer(owner.accessToken),
                    body: body(MemberRoles(roles: ["member"]))
                ) { #expect($0.status == .conflict) }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(guestID)", method: .put, headers: bearer(owner.accessToken),
                    body: body(MemberRoles(roles: ["owner", "manager"]))
                ) { response in
                    #expect(decoded(MemberListBody.self, response)?.items.first { $0.userId == guestID }?.roles == ["manager", "owner"])
                }
                try await client.execute(
                    uri: "/api/v1/organisations/\(org.id)/members/\(ownerID)", method: .delete, headers: bearer(owner.accessToken)
                ) {
                    #expect($0.status == .noContent, "an owner may leave once another owner exists")
                }
                try await client.execute(uri: "/api/v1/organisations/\(org.id)", method: .get, headers: bearer(owner.accessToken)) {
                    #expect($0.status == .notFound, "a member who left loses access at once")
                }
                // Sub-organisations are made by owners of the parent.
                try await client.execute(
                    uri: "/api/v1/organisations", method: .post, headers: bearer(guest.accessToken),
                    body: body(NewOrganisation(name: "Acme Launch Ops", slug: nil, type: "team", parentId: org.id))
                ) { response in #expect(decoded(Organisation.self, response)?.parentId == org.id) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(guest.accessToken)) { response in
                    #expect(decoded(Me.self, response)?.organisations.map(\.slug).sorted() == ["acme-launch-ops", "acme-rockets-ltd"])
                }
            }
        }
    }
}
