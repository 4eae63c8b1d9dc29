import Foundation
import Hummingbird
import PlazaKit

/// `/api/v1/admin/federation/providers`: admins add and remove the external OpenID Connect providers people
/// may sign in with. The sign-in itself is a pair of pages (the Web module's).
public struct FederationRoutes<Context: PlazaRequestContext>: Sendable {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let federation = identity.federation
        let manage = Access.action(IdentityPolicy.manageFederation)
        let tag = "Identity"
        routes.add(
            Endpoint(
                .get, "/api/v1/admin/federation/providers", operationID: "listFederationProviders", summary: "The external sign-in providers.",
                tag: tag, access: manage, responses: [EndpointResponse(200, "The providers.", body: .json(FederationProviderList.self))]
            ) { _, context in
                try identity.policy.authorize(context.caller, IdentityPolicy.manageFederation)
                return try .json(FederationProviderList(items: try await federation.providers()))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/federation/providers", operationID: "addFederationProvider",
                summary: "Add an external OpenID Connect provider (its issuer, and Plaza's client id and secret there).", tag: tag, access: manage,
                requestBody: .json(FederationProviderInput.self), responses: [EndpointResponse(201, "Added.", body: .json(FederationProvider.self))]
            ) { request, context in
                try .json(
                    try await federation.add(try await request.decodeJSON(FederationProviderInput.self, context: context), caller: context.caller),
                    status: .created)
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/admin/federation/providers/{id}", operationID: "removeFederationProvider",
                summary: "Remove a provider and the links to it (the accounts stay).", tag: tag, access: manage,
                parameters: [EndpointParameter("id", in: .path, schema: .uuid)], responses: [EndpointResponse(204, "Removed.")]
            ) { _, context in
                try await federation.remove(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
        return routes
    }
}
