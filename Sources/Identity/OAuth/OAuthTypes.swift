import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// A refusal in OAuth's own form (RFC 6749 §5.2): `{"error": "invalid_grant", "error_description": …}`.
/// `/oauth/*` answers with these; problem+json stays for `/api`.
public struct OAuthError: Error, Sendable, Equatable, AnsweredInItsOwnForm {
    public var error: String
    public var description: String
    public var status: HTTPResponse.Status
    /// Sent back as `WWW-Authenticate: Basic` when the client authenticated with Basic (RFC 6749 §5.2).
    var basicChallenge = false

    public init(_ error: String, _ description: String, status: HTTPResponse.Status = .badRequest) {
        self.error = error
        self.description = description
        self.status = status
    }

    static func invalidRequest(_ description: String) -> OAuthError { OAuthError("invalid_request", description) }
    static func invalidGrant(_ description: String) -> OAuthError { OAuthError("invalid_grant", description) }
    static func invalidScope(_ description: String) -> OAuthError { OAuthError("invalid_scope", description) }
    static func unauthorizedClient(_ description: String) -> OAuthError { OAuthError("unauthorized_client", description) }
    static func invalidClient(_ description: String, basic: Bool) -> OAuthError {
        var error = OAuthError("invalid_client", description, status: .unauthorized)
        error.basicChallenge = basic
        return error
    }

    /// The JSON body, never cached.
    public var response: Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if basicChallenge { headers[.wwwAuthenticate] = "Basic realm=\"plaza\", charset=\"UTF-8\"" }
        let body = (try? JSONEncoder().encode(["error": error, "error_description": description])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// What `/oauth/token` answers (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
public struct OAuthTokenResponse: Codable, Sendable, OmitsAbsentMembers, Equatable {
    public var accessToken: String
    public var tokenType: String
    public var expiresIn: Int
    public var refreshToken: String?
    public var idToken: String?
    public var scope: String

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token", tokenType = "token_type", expiresIn = "expires_in", refreshToken = "refresh_token"
        case idToken = "id_token", scope
    }
}

/// RFC 7662's answer: `active` alone when the token is not, the token's facts when it is.
public struct Introspection: Codable, Sendable, OmitsAbsentMembers, Equatable {
    public var active: Bool
    public var scope: String?
    public var clientId: String?
    public var sub: String?
    public var exp: Int?
    public var iat: Int?
    public var iss: String?
    public var aud: String?
    public var jti: String?
    public var tokenType: String?
    public var username: String?

    static let inactive = Introspection(active: false)

    init(
        active: Bool, scope: String? = nil, clientId: String? = nil, sub: String? = nil, exp: Int? = nil, iat: Int? = nil,
        iss: String? = nil, aud: String? = nil, jti: String? = nil, tokenType: String? = nil, username: String? = nil
    ) {
        self.active = active
        self.scope = scope
        self.clientId = clientId
        self.sub = sub
        self.exp = exp
        self.iat = iat
        self.iss = iss
        self.aud = aud
        self.jti = jti
        self.tokenType = tokenType
        self.username = username
    }

    enum CodingKeys: String, CodingKey {
        case active, scope, clientId = "client_id", sub, exp, iat, iss, aud, jti, tokenType = "token_type", username
    }
}

/// An authorization request's parameters (`GET /oauth/authorize`), as sent.
public struct AuthorizationRequest: Sendable, Equatable {
    public var clientID: String?
    public var redirectURI: String?
    public var responseType: String?
    public var scope: String?
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String?
    public var codeChallengeMethod: String?
    public var prompt: String?

    public init(_ parameters: [String: String]) {
        clientID = parameters["client_id"]
        redirectURI = parameters["redirect_uri"]
        responseType = parameters["response_type"]
        scope = parameters["scope"]
        state = parameters["state"]
        nonce = parameters["nonce"]
        codeChallenge = parameters["code_challenge"]
        codeChallengeMethod = parameters["code_challenge_method"]
        prompt = parameters["prompt"]
    }

    /// The parameters again, for the consent form's hidden fields and the sign-in page's `next`.
    public var parameters: [(String, String)] {
        [
            ("client_id", clientID), ("redirect_uri", redirectURI), ("response_type", responseType), ("scope", scope), ("state", state),
            ("nonce", nonce), ("code_challenge", codeChallenge), ("code_challenge_method", codeChallengeMethod),
        ]
        .compactMap { name, value in value.map { (name, $0) } }
    }
}

/// An authorization request that passed every check: who asks, where the answer goes, for what.
public struct ValidatedAuthorization: Sendable, Equatable {
    public var client: OAuthClient
    public var redirectURI: String
    public var scopes: [String]
    public var state: String?
    public var nonce: String?
    var codeChallenge: String
    public var prompt: String?
}

/// Why an authorization request goes no further.
public enum AuthorizationRefusal: Error, Sendable, Equatable {
    /// The request cannot be trusted with a redirect (an unknown client, a redirect URI it did not
    /// register): the person sees an error page and is sent nowhere.
    case errorPage(OAuthError)
    /// Back to the client with `error`, `state` and `iss` (RFC 9207) in the query.
    case redirect(String)
}

/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, RFC 8414).
public struct DiscoveryDocument: Codable, Sendable, OmitsAbsentMembers, Equatable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var userinfoEndpoint: String
    public var jwksUri: String
    public var introspectionEndpoint: String
    public var revocationEndpoint: String
    public var scopesSupported: [String]
    public var responseTypesSupported = ["code"]
    public var responseModesSupported = ["query"]
    public var grantTypesSupported = OAuthGrant.all
    public var subjectTypesSupported = ["public"]
    public var idTokenSigningAlgValuesSupported = ["ES256"]
    public var tokenEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post", "none"]
    public var introspectionEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post"]
    public var revocationEndpointAuthMethodsSupported = ["client_secret_basic", "client_secret_post", "none"]
    public var codeChallengeMethodsSupported = ["S256"]
    public var claimsSupported = [
        "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "sid", "name", "given_name", "family_name",
        "locale", "zoneinfo", "updated_at", "email", "email_verified",
    ]
    public var authorizationResponseIssParameterSupported = true
    public var promptValuesSupported = ["none", "consent"]

    init(issuer: String) {
        self.issuer = issuer
        authorizationEndpoint = issuer + "/oauth/authorize"
        tokenEndpoint = issuer + "/oauth/token"
        userinfoEndpoint = issuer + "/oauth/userinfo"
        jwksUri = issuer + "/oauth/jwks"
        introspectionEndpoint = issuer + "/oauth/introspect"
        revocationEndpoint = issuer + "/oauth/revoke"
        scopesSupported = OAuthScope.all
    }

    enum CodingKeys: String, CodingKey {
        case issuer, authorizationEndpoint = "authorization_endpoint", tokenEndpoint = "token_endpoint"
        case userinfoEndpoint = "userinfo_endpoint", jwksUri = "jwks_uri", introspectionEndpoint = "introspection_endpoint"
        case revocationEndpoint = "revocation_endpoint", scopesSupported = "scopes_supported"
        case responseTypesSupported = "response_types_supported", responseModesSupported = "response_modes_supported"
        case grantTypesSupported = "grant_types_supported", subjectTypesSupported = "subject_types_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
        case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported", claimsSupported = "claims_supported"
        case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        case promptValuesSupported = "prompt_values_supported"
    }
}

// The schemas of OAuth's and OpenID Connect's answers, for `/openapi.json`: members absent from an answer are
// left out (those standards say so), so only what is always there is required.

extension OAuthTokenResponse: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "access_token": .text, "token_type": .string(enumValues: ["Bearer"]), "expires_in": .integer(minimum: 0),
                "refresh_token": .text, "id_token": .text, "scope": .text,
            ],
            required: ["access_token", "token_type", "expires_in", "scope"])
    }
}

extension Introspection: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "active": .boolean, "scope": .text, "client_id": .text, "sub": .text, "exp": .integer(), "iat": .integer(), "iss": .text,
                "aud": .text, "jti": .text, "token_type": .text, "username": .text,
            ],
            required: ["active"])
    }
}

extension DiscoveryDocument: APISchema {
    public static var schema: JSONSchema {
        let texts: [String] = [
            "issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint",
        ]
        let lists: [String] = [
            "scopes_supported", "response_types_supported", "response_modes_supported", "grant_types_supported", "subject_types_supported",
            "id_token_signing_alg_values_supported", "token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported", "code_challenge_methods_supported", "claims_supported", "prompt_values_supported",
        ]
        var properties: [String: JSONSchema] = ["authorization_response_iss_parameter_supported": .boolean]
        for name in texts { properties[name] = .string(format: "uri") }
        for name in lists { properties[name] = .array(.text) }
        return .object(properties: properties, required: texts + lists + ["authorization_response_iss_parameter_supported"])
    }
}
