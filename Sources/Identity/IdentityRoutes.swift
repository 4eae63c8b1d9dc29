import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/api/v1/auth/*`, `/api/v1/me` and `/oauth/jwks`.
public struct IdentityRoutes<Context: PlazaRequestContext>: Sendable {
    let identity: IdentityService

    public init(identity: IdentityService) {
        self.identity = identity
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let identity = self.identity
        let tag = "Identity"

        routes.add(Endpoint(
            .post, "/api/v1/auth/register", operationID: "register",
            summary: "Create an account (customer, or provider/creator if asked) with email and password.", tag: tag,
            access: .public, requestBody: .json(Registration.self),
            responses: [EndpointResponse(201, "The new account.", body: .json(Me.self))]
        ) { request, context in
            let me = try await identity.register(try await request.decodeJSON(Registration.self, context: context), caller: context.caller)
            return try .json(me, status: .created, headers: [.location: "/api/v1/me"])
        })

        routes.add(Endpoint(
            .post, "/api/v1/auth/login", operationID: "login", summary: "Sign in: an access token and a refresh token.",
            tag: tag, access: .public, requestBody: .json(Credentials.self),
            responses: [EndpointResponse(200, "Signed in.", body: .json(TokenPair.self))]
        ) { request, context in
            let credentials = try await request.decodeJSON(Credentials.self, context: context)
            return try .json(try await identity.login(credentials, caller: context.caller, userAgent: request.headers[.userAgent]))
        })

        routes.add(Endpoint(
            .post, "/api/v1/auth/refresh", operationID: "refresh",
            summary: "Swap a refresh token for a new pair; reusing one ends its session.", tag: tag, access: .public,
            requestBody: .json(RefreshRequest.self), responses: [EndpointResponse(200, "A new pair.", body: .json(TokenPair.self))]
        ) { request, context in
            try .json(try await identity.refresh(try await request.decodeJSON(RefreshRequest.self, context: context), caller: context.caller))
        })

        routes.add(Endpoint(
            .post, "/api/v1/auth/logout", operationID: "logout", summary: "End this session.", tag: tag, access: .authenticated,
            responses: [EndpointResponse(204, "Signed out.")]
        ) { _, context in
            try await identity.logout(caller: context.caller)
            return .noContent
        })

        routes.add(Endpoint(
            .get, "/api/v1/me", operationID: "me", summary: "The signed-in user, with roles and organisations.", tag: tag,
            access: .authenticated, responses: [EndpointResponse(200, "The user.", body: .json(Me.self))]
        ) { _, context in
            guard let principal = context.principal else { throw PlazaError.unauthorized() }
            return try .json(try await identity.me(principal.id))
        })

        routes.add(Endpoint(
            .get, "/oauth/jwks", operationID: "jwks", summary: "The public keys that verify Plaza's access tokens.", tag: tag,
            access: .public, responses: [EndpointResponse(200, "A JSON Web Key Set.", body: .json(JWKSDocument.self))]
        ) { _, _ in
            try .json(try await identity.jwks(), headers: [.cacheControl: "public, max-age=300"])
        })
        return routes
    }
}
