import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/api/v1/organisations/*` and `/api/v1/invitations/accept`.
struct OrganisationRoutes<Context: PlazaRequestContext>: Sendable {
    let identity: IdentityService

    var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let identity = self.identity
        let tag = "Organisations"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let user = EndpointParameter("userId", in: .path, schema: .uuid)

        routes.add(
            Endpoint(
                .post, "/api/v1/organisations", operationID: "createOrganisation",
                summary: "Create an organisation; you become its owner.", tag: tag, access: .action(IdentityPolicy.createOrganisation),
                requestBody: EndpointBody(
                    schemaName: NewOrganisation.schemaName, schema: NewOrganisation.schema(types: identity.catalogue.organisationTypeNames)),
                responses: [EndpointResponse(201, "The organisation.", body: .json(Organisation.self))]
            ) { request, context in
                let organisation = try await identity.createOrganisation(
                    try await request.decodeJSON(NewOrganisation.self, context: context), caller: context.caller)
                return try .json(organisation, status: .created, headers: [.location: "/api/v1/organisations/\(organisation.id)"])
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/organisations", operationID: "listOrganisations",
                summary: "Organisations by name or type, newest first: all of them for admins, your own for everyone else.", tag: tag,
                access: .authenticated,
                parameters: [
                    EndpointParameter("q", in: .query, description: "Text in the name or slug."),
                    EndpointParameter("type", in: .query, schema: .string(enumValues: identity.catalogue.organisationTypeNames)), .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of organisations.", body: .page(of: Organisation.self))]
            ) { request, context in
                let query = request.queryItems
                return try .json(
                    try await identity.organisations(
                        matching: query["q"], type: query["type"], page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/organisations/{id}", operationID: "getOrganisation", summary: "An organisation you belong to.", tag: tag,
                access: .resourceAction(IdentityPolicy.readOrganisation), parameters: [id],
                responses: [EndpointResponse(200, "The organisation.", body: .json(Organisation.self))]
            ) { _, context in try .json(try await identity.organisation(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .patch, "/api/v1/organisations/{id}", operationID: "updateOrganisation",
                summary: "Rename, retype, move (parentId) or archive an organisation (owners and admins).", tag: tag,
                access: .resourceAction(IdentityPolicy.manageOrganisation), parameters: [id],
                requestBody: EndpointBody(
                    schemaName: OrganisationUpdate.schemaName, schema: OrganisationUpdate.schema(types: identity.catalogue.organisationTypeNames)),
                responses: [EndpointResponse(200, "The organisation.", body: .json(Organisation.self))]
            ) { request, context in
                let update = try await request.decodeJSON(OrganisationUpdate.self, context: context)
                return try .json(try await identity.updateOrganisation(try context.uuidParameter("id"), update, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/organisations/{id}/children", operationID: "listChildOrganisations",
                summary: "The organisations directly under this one.", tag: tag,
                access: .resourceAction(IdentityPolicy.readOrganisation), parameters: [id],
                responses: [EndpointResponse(200, "Organisations.", body: .json(OrganisationList.self))]
            ) { _, context in
                try .json(OrganisationList(items: try await identity.children(of: try context.uuidParameter("id"), caller: context.caller)))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/organisations/{id}/members", operationID: "listMembers", summary: "The members and their roles.", tag: tag,
                access: .resourceAction(IdentityPolicy.readOrganisation), parameters: [id],
                responses: [EndpointResponse(200, "Members.", body: .json(MemberList.self))]
            ) { _, context in try .json(MemberList(items: try await identity.members(of: try context.uuidParameter("id"), caller: context.caller))) })
        routes.add(
            Endpoint(
                .put, "/api/v1/organisations/{id}/members/{userId}", operationID: "setMemberRoles",
                summary: "Replace a member's roles (owners only; one owner always remains).", tag: tag,
                access: .resourceAction(IdentityPolicy.manageOrganisation), parameters: [id, user], requestBody: .json(MemberRoles.self),
                responses: [EndpointResponse(200, "Members.", body: .json(MemberList.self))]
            ) { request, context in
                let roles = try await request.decodeJSON(MemberRoles.self, context: context).roles
                let members = try await identity.setMemberRoles(
                    organisation: try context.uuidParameter("id"), user: try context.uuidParameter("userId"), roles: roles, caller: context.caller)
                return try .json(MemberList(items: members))
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/organisations/{id}/members/{userId}", operationID: "removeMember",
                summary: "Remove a member (owners), or leave (yourself).", tag: tag, access: .authenticated, parameters: [id, user],
                responses: [EndpointResponse(204, "Removed.")]
            ) { _, context in
                try await identity.removeMember(
                    organisation: try context.uuidParameter("id"), user: try context.uuidParameter("userId"), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/organisations/{id}/invitations", operationID: "inviteMember",
                summary: "Invite someone by email; the link expires in 7 days.", tag: tag,
                access: .resourceAction(IdentityPolicy.manageOrganisation), parameters: [id], requestBody: .json(NewInvitation.self),
                responses: [EndpointResponse(201, "The invitation.", body: .json(Invitation.self))], idempotent: true
            ) { request, context in
                let input = try await request.decodeJSON(NewInvitation.self, context: context)
                return try .json(try await identity.invite(input, to: try context.uuidParameter("id"), caller: context.caller), status: .created)
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/invitations/accept", operationID: "acceptInvitation",
                summary: "Join an organisation with the token from an invitation sent to your email.", tag: tag, access: .authenticated,
                requestBody: .json(InvitationAcceptance.self),
                responses: [EndpointResponse(200, "The organisation joined.", body: .json(Organisation.self))]
            ) { request, context in
                try .json(
                    try await identity.accept(try await request.decodeJSON(InvitationAcceptance.self, context: context), caller: context.caller))
            })
        return routes
    }
}

/// A list of members.
public struct MemberList: Codable, Sendable, APISchema {
    public var items: [Member]
    public static var schema: JSONSchema { .object(properties: ["items": .array(Member.schema)], required: ["items"]) }
}

/// `GET /api/v1/organisations/{id}/children`.
public struct OrganisationList: Codable, Sendable, APISchema {
    public var items: [Organisation]
    public static var schema: JSONSchema { .object(properties: ["items": .array(Organisation.schema)], required: ["items"]) }
}
