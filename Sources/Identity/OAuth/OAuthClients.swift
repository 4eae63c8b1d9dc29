import Crypto
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// An application allowed to ask Plaza for tokens: a confidential client keeps a secret (a server), a public
/// one cannot (a browser or native app) and proves itself with PKCE alone.
public struct OAuthClient: Codable, Sendable, Equatable, APISchema {
    /// The `client_id`.
    public var id: UUID
    public var name: String
    public var confidential: Bool
    /// Exact redirect URIs (OAuth 2.1 compares them as strings).
    public var redirectUris: [String]
    /// The scopes it may ask for.
    public var scopes: [String]
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    public var grants: [String]
    public var createdAt: Date

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "name": .text, "confidential": .boolean, "redirectUris": .array(.text),
                "scopes": .array(.string(enumValues: OAuthScope.all)), "grants": .array(.string(enumValues: OAuthGrant.all)),
                "createdAt": .dateTime,
            ],
            required: ["id", "name", "confidential", "redirectUris", "scopes", "grants", "createdAt"])
    }
}

/// `POST /api/v1/oauth/clients` and `PATCH …/{id}`: a client's registration.
public struct OAuthClientInput: Codable, Sendable, Equatable, APISchema {
    public var name: String?
    /// Defaults to true: a client that can keep a secret gets one.
    public var confidential: Bool?
    public var redirectUris: [String]?
    /// Defaults to `openid profile email`.
    public var scopes: [String]?
    /// Defaults to `authorization_code refresh_token`.
    public var grants: [String]?

    public init(name: String? = nil, confidential: Bool? = nil, redirectUris: [String]? = nil, scopes: [String]? = nil, grants: [String]? = nil) {
        self.name = name
        self.confidential = confidential
        self.redirectUris = redirectUris
        self.scopes = scopes
        self.grants = grants
    }

    static let nameLimit = TextLimit(1...100)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "name": nameLimit.schema, "confidential": .boolean, "redirectUris": .array(.text),
                "scopes": .array(.string(enumValues: OAuthScope.all)), "grants": .list(.string(enumValues: OAuthGrant.all), minItems: 1),
            ], required: [])
    }
}

/// A client just registered, with its secret: shown once, stored only as a hash.
public struct RegisteredOAuthClient: Codable, Sendable, Equatable, APISchema {
    public var client: OAuthClient
    public var clientSecret: String?

    public static var schema: JSONSchema {
        .object(properties: ["client": .ref(OAuthClient.schemaName), "clientSecret": .nullable(.text)], required: ["client"])
    }
}

/// The scopes Plaza grants: OpenID Connect's, and `plaza` — the API on the person's behalf.
public enum OAuthScope {
    public static let openID = "openid"
    public static let profile = "profile"
    public static let email = "email"
    public static let offlineAccess = "offline_access"
    /// Plaza's own API (`/api/v1/*`) as the signed-in person. Tokens without it reach only `/oauth/userinfo`.
    public static let plaza = "plaza"
    public static let all = [openID, profile, email, offlineAccess, plaza]
}

public enum OAuthGrant {
    public static let authorizationCode = "authorization_code"
    public static let refreshToken = "refresh_token"
    public static let clientCredentials = "client_credentials"
    public static let all = [authorizationCode, refreshToken, clientCredentials]
}

extension IdentityPolicy {
    public static let manageOAuthClients: Action = "identity.oauth-client.manage"
}

/// Registered OAuth clients: admins create, change and delete them; the provider reads them.
public struct OAuthClients: Sendable {
    let store: Store
    let policy: any Policy
    let outbox: Outbox
    let revocations: RevocationList

    // MARK: Administration

    public func register(_ input: OAuthClientInput, caller: Caller) async throws -> RegisteredOAuthClient {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        let now = store.clock.now()
        let client = try Self.validated(
            input,
            over: OAuthClient(
                id: PlazaID.make(at: now), name: "", confidential: input.confidential ?? true, redirectUris: [],
                scopes: [OAuthScope.openID, OAuthScope.profile, OAuthScope.email],
                grants: [OAuthGrant.authorizationCode, OAuthGrant.refreshToken], createdAt: now), requireName: true)
        let secret = client.confidential ? Self.newSecret() : nil
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                INSERT INTO identity_oauth_clients (id, name, secret_hash, redirect_uris, scopes, grants, created_at, created_by)
                VALUES (\(bind: client.id), \(bind: client.name), \(bind: secret.map(Self.hash)), \(bind: try Self.json(client.redirectUris)),
                        \(bind: try Self.json(client.scopes)), \(bind: try Self.json(client.grants)), \(bind: now), \(bind: caller.principal?.id))
                """
            ).run()
            try await transaction.audit(
                caller, action: "identity.oauth-client.create", resourceType: "oauth-client", resourceID: client.id.uuidString,
                details: ["name": .string(client.name)])
        }
        return RegisteredOAuthClient(client: client, clientSecret: secret)
    }

    public func list(caller: Caller) async throws -> [OAuthClient] {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        return try await store.sql.raw("SELECT * FROM identity_oauth_clients WHERE deleted_at IS NULL ORDER BY name, id").all().map(Self.client)
    }

    public func client(_ id: UUID, caller: Caller) async throws -> OAuthClient {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        guard let client = try await find(id) else { throw PlazaError.notFound("No OAuth client has the id \(id).") }
        return client
    }

    public func update(_ id: UUID, _ input: OAuthClientInput, caller: Caller) async throws -> OAuthClient {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        guard let current = try await find(id) else { throw PlazaError.notFound("No OAuth client has the id \(id).") }
        if let confidential = input.confidential, confidential != current.confidential {
            throw PlazaError.validation(field: "confidential", "cannot change: register a new client instead")
        }
        let client = try Self.validated(input, over: current, requireName: false)
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                UPDATE identity_oauth_clients SET name = \(bind: client.name), redirect_uris = \(bind: try Self.json(client.redirectUris)),
                    scopes = \(bind: try Self.json(client.scopes)), grants = \(bind: try Self.json(client.grants))
                WHERE id = \(bind: id)
                """
            ).run()
            try await transaction.audit(caller, action: "identity.oauth-client.update", resourceType: "oauth-client", resourceID: id.uuidString)
        }
        return client
    }

    /// A new secret for a confidential client; the old one stops working at once.
    public func rotateSecret(_ id: UUID, caller: Caller) async throws -> RegisteredOAuthClient {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        guard let client = try await find(id) else { throw PlazaError.notFound("No OAuth client has the id \(id).") }
        guard client.confidential else { throw PlazaError.conflict("A public client has no secret.") }
        let secret = Self.newSecret()
        try await store.transaction { transaction in
            try await transaction.sql.raw("UPDATE identity_oauth_clients SET secret_hash = \(bind: Self.hash(secret)) WHERE id = \(bind: id)").run()
            try await transaction.audit(
                caller, action: "identity.oauth-client.rotate-secret", resourceType: "oauth-client", resourceID: id.uuidString)
        }
        return RegisteredOAuthClient(client: client, clientSecret: secret)
    }

    /// Deletes a client: its sessions end, its codes and consents go, and tokens it holds are refused at once.
    public func delete(_ id: UUID, caller: Caller) async throws {
        try policy.authorize(caller, IdentityPolicy.manageOAuthClients)
        guard try await find(id) != nil else { throw PlazaError.notFound("No OAuth client has the id \(id).") }
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let sessions = try await transaction.sql.raw(
                """
                SELECT o.session_id, s.user_id FROM identity_oauth_sessions o JOIN identity_sessions s ON s.id = o.session_id
                WHERE o.client_id = \(bind: id) AND s.revoked_at IS NULL
                """
            ).all()
            for row in sessions {
                try await IdentityService.revoke(
                    sessions: [try row.decode(column: "session_id", as: UUID.self)], of: try row.decode(column: "user_id", as: UUID.self),
                    reason: "OAuth client deleted", caller: caller, outbox: outbox, revocations: revocations, in: transaction)
            }
            try await transaction.sql.raw("DELETE FROM identity_oauth_codes WHERE client_id = \(bind: id)").run()
            try await transaction.sql.raw("DELETE FROM identity_oauth_consents WHERE client_id = \(bind: id)").run()
            try await transaction.sql.raw(
                """
                UPDATE identity_oauth_clients SET deleted_at = \(bind: now), secret_hash = NULL WHERE id = \(bind: id)
                """
            ).run()
            // Its client-credentials tokens name the client as their subject: refuse that subject everywhere.
            try await outbox.append(UserStatusChanged(userId: id, status: "deleted"), key: id.uuidString, caller: caller, in: transaction)
            transaction.onCommit { revocations.setUser(id, disabled: true) }
            try await transaction.audit(caller, action: "identity.oauth-client.delete", resourceType: "oauth-client", resourceID: id.uuidString)
        }
    }

    // MARK: For the provider

    /// A client that is not deleted.
    func find(_ id: UUID) async throws -> OAuthClient? {
        try await store.sql.raw("SELECT * FROM identity_oauth_clients WHERE id = \(bind: id) AND deleted_at IS NULL").first().map(Self.client)
    }

    /// The client a token request authenticates as (RFC 6749 §2.3): its secret by HTTP Basic or in the body
    /// for a confidential client; a public client names itself and proves nothing here (PKCE does).
    func authenticate(_ credentials: ClientCredentials) async throws -> OAuthClient {
        guard let raw = credentials.id, let id = UUID(uuidString: raw),
            let row = try await store.sql.raw("SELECT * FROM identity_oauth_clients WHERE id = \(bind: id) AND deleted_at IS NULL").first()
        else { throw OAuthError.invalidClient("Unknown client.", basic: credentials.viaBasic) }
        let client = try Self.client(row)
        if client.confidential {
            let stored = try row.decode(column: "secret_hash", as: String?.self) ?? ""
            guard let secret = credentials.secret, Data(Self.hash(secret).utf8).constantTimeEquals(Data(stored.utf8)) else {
                throw OAuthError.invalidClient("The client secret is wrong or missing.", basic: credentials.viaBasic)
            }
        } else if credentials.secret != nil {
            throw OAuthError.invalidClient("A public client has no secret.", basic: credentials.viaBasic)
        }
        return client
    }

    // MARK: Rules

    static func validated(_ input: OAuthClientInput, over base: OAuthClient, requireName: Bool) throws -> OAuthClient {
        var client = base
        var errors: [FieldError] = []
        if let name = input.name {
            OAuthClientInput.nameLimit.check(name, field: "name", into: &errors)
            client.name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if requireName {
            errors.append(FieldError(field: "name", message: "is required"))
        }
        if let uris = input.redirectUris {
            for (index, uri) in uris.enumerated() where !isAcceptableRedirect(uri) {
                errors.append(
                    FieldError(
                        field: "redirectUris[\(index)]",
                        message:
                            "must be an absolute https URI (http only on 127.0.0.1, [::1] or localhost; a native app's reverse-domain "
                            + "scheme), without a fragment"
                    ))
            }
            if uris.count > 20 { errors.append(FieldError(field: "redirectUris", message: "at most 20")) }
            client.redirectUris = uris.reduce(into: []) { kept, uri in if !kept.contains(uri) { kept.append(uri) } }
        }
        if let scopes = input.scopes {
            if let unknown = scopes.first(where: { !OAuthScope.all.contains($0) }) {
                errors.append(FieldError(field: "scopes", message: "\(unknown) is not a scope; use \(OAuthScope.all.joined(separator: ", "))"))
            }
            client.scopes = OAuthScope.all.filter(scopes.contains)
        }
        if let grants = input.grants {
            if let unknown = grants.first(where: { !OAuthGrant.all.contains($0) }) {
                errors.append(FieldError(field: "grants", message: "\(unknown) is not a grant; use \(OAuthGrant.all.joined(separator: ", "))"))
            }
            client.grants = OAuthGrant.all.filter(grants.contains)
        }
        if client.grants.isEmpty { errors.append(FieldError(field: "grants", message: "must name at least one grant")) }
        if client.grants.contains(OAuthGrant.clientCredentials), !client.confidential {
            errors.append(FieldError(field: "grants", message: "client_credentials needs a confidential client"))
        }
        if client.grants.contains(OAuthGrant.authorizationCode), client.redirectUris.isEmpty {
            errors.append(FieldError(field: "redirectUris", message: "the authorization_code grant needs at least one redirect URI"))
        }
        if client.grants.contains(OAuthGrant.refreshToken), !client.grants.contains(OAuthGrant.authorizationCode) {
            errors.append(FieldError(field: "grants", message: "refresh_token comes with authorization_code"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        return client
    }

    /// OAuth 2.1 §2.3.1 and RFC 8252: https anywhere, http only to this machine's loopback, or a native
    /// app's private scheme (reverse domain, so it has a dot); never a fragment.
    static func isAcceptableRedirect(_ uri: String) -> Bool {
        guard uri.count <= 2000, let url = URLComponents(string: uri), let scheme = url.scheme?.lowercased(), url.fragment == nil else {
            return false
        }
        switch scheme {
        case "https": return !(url.host ?? "").isEmpty
        case "http": return ["127.0.0.1", "localhost", "[::1]", "::1"].contains(url.host?.lowercased() ?? "")
        default: return scheme.contains(".") && !uri.contains(" ")
        }
    }

    static func client(_ row: any SQLRow) throws -> OAuthClient {
        OAuthClient(
            id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String.self),
            confidential: try !row.decodeNil(column: "secret_hash"),
            redirectUris: try strings(row, "redirect_uris"), scopes: try strings(row, "scopes"), grants: try strings(row, "grants"),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    static func strings(_ row: any SQLRow, _ column: String) throws -> [String] {
        try JSONDecoder().decode([String].self, from: Data(try row.decode(column: column, as: String.self).utf8))
    }

    static func json(_ values: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
    }

    /// `pcs_` and 256 random bits, base64url: the prefix keeps a secret from starting with `-` (which a
    /// command line would read as an option) and lets secret scanners recognise a leaked one.
    static func newSecret() -> String { "pcs_" + IdentityService.newRefreshToken() }

    static func hash(_ secret: String) -> String { IdentityService.hash(secret) }
}

/// What a token, introspection or revocation request says about its client.
struct ClientCredentials: Sendable {
    var id: String?
    var secret: String?
    /// Whether they came in `Authorization: Basic` (a refusal then carries a Basic challenge, RFC 6749 §5.2).
    var viaBasic: Bool
}
