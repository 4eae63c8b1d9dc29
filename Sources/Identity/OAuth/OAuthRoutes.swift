import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// The provider's endpoints — discovery, token, introspection, revocation, userinfo — and the admins'
/// `/api/v1/oauth/clients`. The authorization endpoint is a page (the Web module's), since a person answers it.
public struct OAuthRoutes<Context: PlazaRequestContext>: Sendable {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let provider = identity.oauth
        let tag = "OAuth"
        let form = EndpointBody.text("application/x-www-form-urlencoded")

        routes.add(
            Endpoint(
                .get, OAuthPaths.discovery, operationID: "openidConfiguration",
                summary: "OpenID Connect discovery: the provider's endpoints and abilities.",
                tag: tag, access: .public, responses: [EndpointResponse(200, "The provider metadata.", body: .json(DiscoveryDocument.self))]
            ) { _, _ in
                try .json(provider.discovery, headers: [.cacheControl: "public, max-age=300"])
            })
        routes.add(
            Endpoint(
                .post, OAuthPaths.token, operationID: "oauthToken",
                summary: "Tokens for an authorization code (with PKCE), a refresh token or a client's own credentials.", tag: tag, access: .public,
                requestBody: form,
                responses: [
                    EndpointResponse(200, "Tokens.", body: .json(OAuthTokenResponse.self)), EndpointResponse(400, "An RFC 6749 error."),
                    EndpointResponse(401, "invalid_client."),
                ],
                errors: .oauth
            ) { request, context in
                try await Self.answer {
                    let tokens = try await provider.token(
                        try await Self.form(request), authorization: request.headers[.authorization], caller: context.caller)
                    return try .json(tokens, headers: [.cacheControl: "no-store"])
                }
            })
        routes.add(
            Endpoint(
                .post, OAuthPaths.introspect, operationID: "oauthIntrospect", summary: "Whether a token is active, and its facts (RFC 7662).",
                tag: tag, access: .public, requestBody: form,
                responses: [EndpointResponse(200, "The token's state.", body: .json(Introspection.self))],
                errors: .oauth
            ) { request, _ in
                try await Self.answer {
                    try .json(
                        try await provider.introspect(try await Self.form(request), authorization: request.headers[.authorization]),
                        headers: [.cacheControl: "no-store"])
                }
            })
        routes.add(
            Endpoint(
                .post, OAuthPaths.revoke, operationID: "oauthRevoke", summary: "Revoke a token the client holds, and its session (RFC 7009).",
                tag: tag, access: .public, requestBody: form, responses: [EndpointResponse(200, "Revoked, or nothing to revoke.")],
                errors: .oauth
            ) { request, context in
                try await Self.answer {
                    try await provider.revoke(try await Self.form(request), authorization: request.headers[.authorization], caller: context.caller)
                    return Response(status: .ok, headers: [.cacheControl: "no-store"])
                }
            })
        for method in [HTTPRequest.Method.get, .post] {
            routes.add(
                Endpoint(
                    method, OAuthPaths.userinfo, operationID: method == .get ? "oauthUserinfo" : "oauthUserinfoPost",
                    summary: "The signed-in person's claims, as far as the token's scopes reach.", tag: tag, access: .authenticated,
                    responses: [EndpointResponse(200, "The claims.", body: .json(UserClaims.self))]
                ) { _, context in
                    try .json(try await provider.userinfo(principal: context.principal), headers: [.cacheControl: "no-store"])
                })
        }

        let clients = identity.oauthClients
        let manage = Access.action(IdentityPolicy.manageOAuthClients)
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        routes.add(
            Endpoint(
                .get, "/api/v1/oauth/clients", operationID: "listOAuthClients", summary: "The registered OAuth clients.", tag: tag, access: manage,
                responses: [EndpointResponse(200, "The clients.", body: .json(OAuthClientList.self))]
            ) { _, context in try .json(OAuthClientList(items: try await clients.list(caller: context.caller))) })
        routes.add(
            Endpoint(
                .post, "/api/v1/oauth/clients", operationID: "registerOAuthClient",
                summary: "Register a client; a confidential one's secret is in this answer only.", tag: tag, access: manage,
                requestBody: .json(OAuthClientInput.self, requiring: ["name"], named: "NewOAuthClient"),
                responses: [EndpointResponse(201, "Registered.", body: .json(RegisteredOAuthClient.self))]
            ) { request, context in
                let registered = try await clients.register(
                    try await request.decodeJSON(OAuthClientInput.self, context: context), caller: context.caller)
                return try .json(
                    registered, status: .created, headers: [.location: "/api/v1/oauth/clients/\(registered.client.id.uuidString.lowercased())"])
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/oauth/clients/{id}", operationID: "getOAuthClient", summary: "One client.", tag: tag, access: manage,
                parameters: [id], responses: [EndpointResponse(200, "The client.", body: .json(OAuthClient.self))]
            ) { _, context in try .json(try await clients.client(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .patch, "/api/v1/oauth/clients/{id}", operationID: "updateOAuthClient",
                summary: "Change a client's name, redirect URIs, scopes or grants.",
                tag: tag, access: manage, parameters: [id], requestBody: .json(OAuthClientInput.self),
                responses: [EndpointResponse(200, "The client.", body: .json(OAuthClient.self))]
            ) { request, context in
                try .json(
                    try await clients.update(
                        try context.uuidParameter("id"), try await request.decodeJSON(OAuthClientInput.self, context: context), caller: context.caller
                    ))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/oauth/clients/{id}/secret", operationID: "rotateOAuthClientSecret",
                summary: "A new secret for a confidential client; the old one stops working.", tag: tag, access: manage, parameters: [id],
                responses: [EndpointResponse(200, "The client and its new secret.", body: .json(RegisteredOAuthClient.self))]
            ) { _, context in try .json(try await clients.rotateSecret(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .delete, "/api/v1/oauth/clients/{id}", operationID: "deleteOAuthClient",
                summary: "Delete a client: its sessions end and its tokens are refused.", tag: tag, access: manage, parameters: [id],
                responses: [EndpointResponse(204, "Deleted.")]
            ) { _, context in
                try await clients.delete(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
        return routes
    }

    /// Runs an endpoint whose refusals take OAuth's form.
    static func answer(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as OAuthError {
            return error.response
        }
    }

    /// The form body (RFC 6749 §3.2: `application/x-www-form-urlencoded`, at most 16 KB here).
    static func form(_ request: Request) async throws -> [(String, String)] {
        let media = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "application/x-www-form-urlencoded" else {
            throw OAuthError.invalidRequest("Send the parameters as application/x-www-form-urlencoded.")
        }
        guard let body = try? await request.body.collect(upTo: 16 * 1024) else { throw OAuthError.invalidRequest("The body is larger than 16 KB.") }
        let pairs = FormEncoding.decode(String(buffer: body))
        if let name = InputText.fieldWithNUL(in: pairs) { throw OAuthError.invalidRequest("\(name) \(InputText.nulMessage).") }
        return pairs
    }
}

/// The registered clients.
public struct OAuthClientList: Codable, Sendable, APISchema {
    public var items: [OAuthClient]
    public static var schema: JSONSchema { .object(properties: ["items": .array(.ref(OAuthClient.schemaName))], required: ["items"]) }
}
