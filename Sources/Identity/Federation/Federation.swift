import AsyncHTTPClient
import Crypto
import FluentKit
import Foundation
import Jobs
import JWTKit
import NIOCore
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// An external OpenID Connect provider people may sign in with (the seeds' social login and SSO).
public struct FederationProvider: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    /// What the sign-in page's button says: "Sign in with <name>".
    public var name: String
    public var issuer: String
    public var clientId: String
    public var createdAt: Date

    public static var schema: JSONSchema {
        .object(
            properties: ["id": .uuid, "name": .text, "issuer": .text, "clientId": .text, "createdAt": .dateTime],
            required: ["id", "name", "issuer", "clientId", "createdAt"])
    }
}

/// `POST /api/v1/admin/federation/providers`: the provider's issuer, and the client Plaza is registered as there.
public struct FederationProviderInput: Codable, Sendable, Equatable, APISchema {
    public var name: String
    public var issuer: String
    public var clientId: String
    public var clientSecret: String

    public init(name: String, issuer: String, clientId: String, clientSecret: String) {
        self.name = name
        self.issuer = issuer
        self.clientId = clientId
        self.clientSecret = clientSecret
    }

    static let nameLimit = TextLimit(1...60)
    static let clientIdLimit = TextLimit(1...200)
    static let clientSecretLimit = TextLimit(1...500)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "name": nameLimit.schema, "issuer": .string(format: "uri"), "clientId": clientIdLimit.schema,
                "clientSecret": clientSecretLimit.schema,
            ],
            required: ["name", "issuer", "clientId", "clientSecret"])
    }
}

public struct FederationProviderList: Codable, Sendable, APISchema {
    public var items: [FederationProvider]
    public static var schema: JSONSchema { .object(properties: ["items": .array(.ref(FederationProvider.schemaName))], required: ["items"]) }
}

extension IdentityPolicy {
    public static let manageFederation: Action = "identity.federation.manage"
}

/// Sign-in through an external OpenID Connect provider: authorization code with PKCE, `state` and `nonce`,
/// the ID token verified against the provider's published keys. The first sign-in links the external
/// account to a Plaza account by a verified email address — the provider's word that it is verified and
/// Plaza's own — or makes a new account; later ones follow the link (the provider's `sub`), whatever the
/// email says by then.
public struct Federation: Sendable {
    let identity: IdentityService
    let http: HTTPClient
    let metadata: MetadataCache

    static let loginLifetime: TimeInterval = 600
    public static let callbackPath = "/sign-in/federated/callback"

    // MARK: Administration

    public func add(_ input: FederationProviderInput, caller: Caller) async throws -> FederationProvider {
        try identity.policy.authorize(caller, IdentityPolicy.manageFederation)
        var errors: [FieldError] = []
        FederationProviderInput.nameLimit.check(input.name, field: "name", into: &errors)
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        let issuer = input.issuer.trimmingCharacters(in: .whitespacesAndNewlines)
        if !OAuthClients.isAcceptableRedirect(issuer) || issuer.contains("?") || !issuer.hasPrefix("http") {
            errors.append(FieldError(field: "issuer", message: "must be an https URL (http only on this machine's loopback), without a query"))
        }
        FederationProviderInput.clientIdLimit.check(input.clientId, field: "clientId", into: &errors)
        FederationProviderInput.clientSecretLimit.check(input.clientSecret, field: "clientSecret", into: &errors)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let now = identity.store.clock.now()
        let provider = FederationProvider(id: PlazaID.make(at: now), name: name, issuer: issuer, clientId: input.clientId, createdAt: now)
        try await identity.store.transaction { transaction in
            try await transaction.sql.raw(
                """
                INSERT INTO identity_federation_providers (id, name, issuer, client_id, client_secret, created_at)
                VALUES (\(bind: provider.id), \(bind: name), \(bind: issuer), \(bind: input.clientId), \(bind: input.clientSecret), \(bind: now))
                """
            ).run()
            try await transaction.audit(
                caller, action: "identity.federation.add", resourceType: "federation-provider", resourceID: provider.id.uuidString,
                details: ["issuer": .string(issuer)])
        }
        return provider
    }

    public func remove(_ id: UUID, caller: Caller) async throws {
        try identity.policy.authorize(caller, IdentityPolicy.manageFederation)
        try await identity.store.transaction { transaction in
            guard try await transaction.sql.raw("SELECT 1 AS x FROM identity_federation_providers WHERE id = \(bind: id)").first() != nil else {
                throw PlazaError.notFound("No sign-in provider has the id \(id).")
            }
            try await transaction.sql.raw("DELETE FROM identity_federated_identities WHERE provider_id = \(bind: id)").run()
            try await transaction.sql.raw("DELETE FROM identity_federation_logins WHERE provider_id = \(bind: id)").run()
            try await transaction.sql.raw("DELETE FROM identity_federation_providers WHERE id = \(bind: id)").run()
            try await transaction.audit(caller, action: "identity.federation.remove", resourceType: "federation-provider", resourceID: id.uuidString)
        }
    }

    /// Every provider, for the sign-in page's buttons (no secrets).
    public func providers() async throws -> [FederationProvider] {
        try await identity.store.sql.raw("SELECT * FROM identity_federation_providers ORDER BY name").all().map(Self.provider)
    }

    // MARK: Signing in

    /// Where to send the browser: the provider's authorization endpoint, with this attempt's `state`, `nonce`
    /// and PKCE challenge remembered here for ten minutes. The `state` is also the browser's to keep (a
    /// cookie): the callback is taken only from the browser that started the sign-in (RFC 6749 §10.12).
    public func begin(_ providerID: UUID, next: String) async throws -> (url: String, state: String) {
        guard let row = try await identity.store.sql.raw("SELECT * FROM identity_federation_providers WHERE id = \(bind: providerID)").first() else {
            throw PlazaError.notFound("No sign-in provider has the id \(providerID).")
        }
        let provider = try Self.provider(row)
        let meta = try await metadata.document(for: provider.issuer, http: http)
        let state = IdentityService.newRefreshToken()
        let nonce = IdentityService.newRefreshToken()
        let verifier = IdentityService.newRefreshToken()
        try await identity.store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw("DELETE FROM identity_federation_logins WHERE expires_at < \(bind: now)").run()
            try await transaction.sql.raw(
                """
                INSERT INTO identity_federation_logins (state_hash, provider_id, nonce, verifier, next, created_at, expires_at)
                VALUES (\(bind: IdentityService.hash(state)), \(bind: providerID), \(bind: nonce), \(bind: verifier), \(bind: next), \(bind: now),
                        \(bind: now.addingTimeInterval(Self.loginLifetime)))
                """
            ).run()
        }
        let challenge = Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
        let query = FormEncoding.encode([
            ("response_type", "code"), ("client_id", provider.clientId), ("redirect_uri", redirectURI), ("scope", "openid email profile"),
            ("state", state), ("nonce", nonce), ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ])
        return (meta.authorizationEndpoint + (meta.authorizationEndpoint.contains("?") ? "&" : "?") + query, state)
    }

    /// The provider's answer at the callback: the code exchanged, the ID token checked, the account found,
    /// linked or made, and a browser session opened (or the code step, when the account has a second
    /// factor of its own). Returns where to go next too.
    public func complete(
        code: String?, state: String?, browserState: String?, issuer: String?, error: String?, caller: Caller, userAgent: String?
    ) async throws -> (step: SignInStep<WebSession>, next: String) {
        // Someone else's callback link, opened in this browser, would sign it in as them.
        guard let state, let browserState, Data(state.utf8).constantTimeEquals(Data(browserState.utf8)) else {
            throw PlazaError.badRequest("This sign-in did not start in this browser; start again.", code: "federation-state")
        }
        guard let login = try await takeLogin(state) else {
            throw PlazaError.badRequest("This sign-in is unknown or expired; start again.", code: "federation-state")
        }
        guard
            let providerRow = try await identity.store.sql.raw("SELECT * FROM identity_federation_providers WHERE id = \(bind: login.provider)")
                .first()
        else { throw PlazaError.badRequest("The sign-in provider was removed; start again.", code: "federation-state") }
        let provider = try Self.provider(providerRow)
        if let error {
            throw PlazaError(.forbidden, code: "federation-refused", title: "Sign-in refused", detail: "\(provider.name) answered: \(error).")
        }
        // RFC 9207: the answer must come from the provider this attempt went to (mix-up attacks).
        if let issuer, issuer != provider.issuer {
            throw PlazaError.badRequest("The answer came from another issuer than \(provider.name).", code: "federation-issuer")
        }
        guard let code else { throw PlazaError.badRequest("The provider sent no code.", code: "federation-code") }
        let meta = try await metadata.document(for: provider.issuer, http: http)
        let secret = try providerRow.decode(column: "client_secret", as: String.self)
        let tokens = try await exchange(code, verifier: login.verifier, provider: provider, secret: secret, endpoint: meta.tokenEndpoint)
        let claims = try await verify(tokens, provider: provider, meta: meta, nonce: login.nonce)
        let user = try await account(for: claims, provider: provider, caller: caller)
        // A provider's own `amr: mfa` is not taken as Plaza's second factor: any configured provider could
        // then unlock the roles that need one. The account's own second factor still applies.
        return (try await identity.federatedSignIn(user: user.id, email: user.email, caller: caller, userAgent: userAgent), login.next)
    }

    struct PendingLogin: Sendable {
        var provider: UUID
        var nonce: String
        var verifier: String
        var next: String
    }

    /// The attempt `state` names, used up now so it cannot be answered twice.
    private func takeLogin(_ state: String) async throws -> PendingLogin? {
        let hash = IdentityService.hash(state)
        return try await identity.store.transaction { transaction in
            guard let row = try await transaction.sql.raw("SELECT * FROM identity_federation_logins WHERE state_hash = \(bind: hash)").first() else {
                return nil
            }
            try await transaction.sql.raw("DELETE FROM identity_federation_logins WHERE state_hash = \(bind: hash)").run()
            guard try row.decode(column: "expires_at", as: Date.self) > transaction.clock.now() else { return nil }
            return PendingLogin(
                provider: try row.decode(column: "provider_id", as: UUID.self), nonce: try row.decode(column: "nonce", as: String.self),
                verifier: try row.decode(column: "verifier", as: String.self), next: try row.decode(column: "next", as: String.self))
        }
    }

    private func exchange(_ code: String, verifier: String, provider: FederationProvider, secret: String, endpoint: String) async throws -> String {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let basic = Data("\(FormEncoding.escape(provider.clientId)):\(FormEncoding.escape(secret))".utf8).base64EncodedString()
        request.headers.add(name: "Authorization", value: "Basic \(basic)")
        request.body = .bytes(
            ByteBuffer(
                string: FormEncoding.encode([
                    ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier),
                ])))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(10))
        } catch {
            throw PlazaError(
                .badGateway, code: "federation-unreachable", title: "Provider unreachable", detail: "\(provider.name) did not answer: \(error)")
        }
        let body = try await response.body.collect(upTo: 256 * 1024)
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        guard response.status == .ok, let idToken = object["id_token"] as? String else {
            let reason = (object["error_description"] as? String) ?? (object["error"] as? String) ?? "status \(response.status.code)"
            throw PlazaError(.badGateway, code: "federation-token", title: "Sign-in failed", detail: "\(provider.name) refused the code: \(reason).")
        }
        return idToken
    }

    private func verify(_ idToken: String, provider: FederationProvider, meta: ProviderMetadata, nonce: String) async throws -> ExternalIDClaims {
        let keys = try await metadata.keys(for: provider.issuer, at: meta.jwksURI, token: idToken, http: http)
        let claims: ExternalIDClaims
        do {
            claims = try await keys.verify(idToken, as: ExternalIDClaims.self)
        } catch {
            throw PlazaError(
                .badGateway, code: "federation-id-token", title: "Sign-in failed", detail: "\(provider.name)'s ID token does not verify.")
        }
        let now = identity.store.clock.now()
        guard claims.iss.value == provider.issuer, claims.aud.value.contains(provider.clientId), claims.exp.value > now.addingTimeInterval(-60),
            claims.nonce == nonce
        else {
            throw PlazaError(
                .badGateway, code: "federation-id-token", title: "Sign-in failed",
                detail: "\(provider.name)'s ID token is not for this sign-in (issuer, audience, expiry or nonce).")
        }
        return claims
    }

    /// The Plaza account for an external one: linked before, or linked now by a verified email, or new.
    private func account(for claims: ExternalIDClaims, provider: FederationProvider, caller: Caller) async throws -> (id: UUID, email: String) {
        let subject = claims.sub.value
        let store = identity.store
        if let row = try await store.sql.raw(
            """
            SELECT u.id, u.email FROM identity_federated_identities f JOIN identity_users u ON u.id = f.user_id
            WHERE f.provider_id = \(bind: provider.id) AND f.subject = \(bind: subject)
            """
        ).first() {
            return (try row.decode(column: "id", as: UUID.self), try row.decode(column: "email", as: String.self))
        }
        guard let raw = claims.email, claims.email_verified == true else {
            throw PlazaError(
                .forbidden, code: "federation-email-unverified", title: "Email not verified",
                detail: "\(provider.name) does not vouch for this account's email address, so Plaza cannot link it to an account.")
        }
        let email = IdentityService.normalise(email: raw)
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let existing = try await transaction.sql.raw("SELECT id, email_verified FROM identity_users WHERE email = \(bind: email)").first()
            let user: UUID
            if let existing {
                // An unverified local address might have been registered by someone else in the owner's name.
                guard try existing.decode(column: "email_verified", as: Bool.self) else {
                    throw PlazaError(
                        .conflict, code: "federation-link-unverified", title: "Verify your email first",
                        detail: "A Plaza account uses this address but has not verified it; verify it, then sign in with \(provider.name) again.")
                }
                user = try existing.decode(column: "id", as: UUID.self)
            } else {
                user = PlazaID.make(at: now)
                try await transaction.sql.raw(
                    """
                    INSERT INTO identity_users (id, email, password_hash, first_name, last_name, locale, time_zone, status, email_verified,
                                                phone_verified, created_at, updated_at)
                    VALUES (\(bind: user), \(bind: email), NULL, \(bind: String((claims.given_name ?? claims.name ?? "").prefix(100))),
                            \(bind: String((claims.family_name ?? "").prefix(100))),\
                     \(bind: claims.locale.flatMap { locale in Identity.locales.first { locale.lowercased().hasPrefix($0) } } ?? "en"),
                            'UTC', 'active', \(bind: true), \(bind: false), \(bind: now), \(bind: now))
                    """
                ).run()
                try await IdentityService.grant("customer", app: Roles.everyApp, to: user, at: now, in: transaction)
                try await transaction.audit(
                    Caller(principal: Principal(id: user), requestID: caller.requestID, ip: caller.ip), action: "identity.user.register",
                    resourceType: "user", resourceID: user.uuidString, details: ["federation": .string(provider.name)])
            }
            try await transaction.sql.raw(
                """
                INSERT INTO identity_federated_identities (provider_id, subject, user_id, email, linked_at)
                VALUES (\(bind: provider.id), \(bind: subject), \(bind: user), \(bind: email), \(bind: now))
                """
            ).run()
            try await transaction.audit(
                Caller(principal: Principal(id: user), requestID: caller.requestID, ip: caller.ip), action: "identity.federation.link",
                resourceType: "user", resourceID: user.uuidString, details: ["provider": .string(provider.name), "subject": .string(subject)])
            return (user, email)
        }
    }

    var redirectURI: String { identity.settings.issuer + Self.callbackPath }

    static func provider(_ row: any SQLRow) throws -> FederationProvider {
        FederationProvider(
            id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String.self),
            issuer: try row.decode(column: "issuer", as: String.self), clientId: try row.decode(column: "client_id", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}

/// The ID token claims Plaza reads from an external provider.
struct ExternalIDClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var nonce: String?
    var email: String?
    var email_verified: Bool?
    var name: String?
    var given_name: String?
    var family_name: String?
    var locale: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A provider's discovery document, the parts Plaza uses.
struct ProviderMetadata: Sendable {
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
}

/// Providers' discovery documents and keys, each read at most every five minutes (keys again at once when
/// a token names a key not seen yet — the provider rotated).
final class MetadataCache: Sendable {
    private struct Entry { var metadata: ProviderMetadata?; var keys: JWTKeyCollection?; var kids: Set<String>; var read: Date }
    private let entries = Mutex<[String: Entry]>([:])
    private let lifetime: TimeInterval = 300

    func document(for issuer: String, http: HTTPClient) async throws -> ProviderMetadata {
        if let cached = entries.withLock({ $0[issuer] }), let metadata = cached.metadata, Date().timeIntervalSince(cached.read) < lifetime {
            return metadata
        }
        let object = try await Self.json(issuer + "/.well-known/openid-configuration", http: http, what: "discovery document")
        guard object["issuer"] as? String == issuer, let authorization = object["authorization_endpoint"] as? String,
            let token = object["token_endpoint"] as? String, let jwks = object["jwks_uri"] as? String
        else {
            throw PlazaError(
                .badGateway, code: "federation-discovery", title: "Provider misconfigured",
                detail: "The discovery document at \(issuer) does not name this issuer and its endpoints.")
        }
        let metadata = ProviderMetadata(authorizationEndpoint: authorization, tokenEndpoint: token, jwksURI: jwks)
        entries.withLock { $0[issuer] = Entry(metadata: metadata, keys: nil, kids: [], read: Date()) }
        return metadata
    }

    /// The provider's keys; read again when stale or when `token` names a key not among them (the provider
    /// rotated its keys since).
    func keys(for issuer: String, at uri: String, token: String, http: HTTPClient) async throws -> JWTKeyCollection {
        let kid = TokenIssuer.kid(ofToken: token)
        if let cached = entries.withLock({ $0[issuer] }), let keys = cached.keys, Date().timeIntervalSince(cached.read) < lifetime,
            kid.map(cached.kids.contains) ?? true
        {
            return keys
        }
        let object = try await Self.json(uri, http: http, what: "keys")
        let kids = Set(((object["keys"] as? [[String: Any]]) ?? []).compactMap { $0["kid"] as? String })
        let data = try JSONSerialization.data(withJSONObject: object)
        let collection = JWTKeyCollection()
        do {
            _ = try await collection.add(jwksJSON: String(decoding: data, as: UTF8.self))
        } catch {
            throw PlazaError(
                .badGateway, code: "federation-keys", title: "Provider misconfigured", detail: "The keys at \(uri) cannot be read: \(error).")
        }
        entries.withLock { entries in
            var entry = entries[issuer] ?? Entry(metadata: nil, keys: nil, kids: [], read: Date())
            entry.keys = collection
            entry.kids = kids
            entries[issuer] = entry
        }
        return collection
    }

    private static func json(_ url: String, http: HTTPClient, what: String) async throws -> [String: Any] {
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            let response = try await http.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 512 * 1024)
            guard response.status == .ok, let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
                throw PlazaError(
                    .badGateway, code: "federation-discovery", title: "Provider misconfigured", detail: "\(url) answered \(response.status.code).")
            }
            return object
        } catch let error as PlazaError {
            throw error
        } catch {
            throw PlazaError(
                .badGateway, code: "federation-unreachable", title: "Provider unreachable", detail: "Reading the \(what) at \(url) failed: \(error).")
        }
    }
}

extension IdentityService {
    /// A browser session for an account an external provider vouched for; the code step first when the
    /// account has a second factor here.
    func federatedSignIn(user: UUID, email: String, caller: Caller, userAgent: String?) async throws -> SignInStep<WebSession> {
        guard
            try await store.sql.raw("SELECT status FROM identity_users WHERE id = \(bind: user)").first()?
                .decode(column: "status", as: String.self) == "active"
        else { throw PlazaError(.forbidden, code: "account-disabled", title: "Account disabled", detail: "This account is disabled.") }
        if try await isMFAEnabled(user) { return .secondFactor(try await challenge(user: user, caller: caller, firstFactor: "fed")) }
        return .done(try await openWebSession(user: user, email: email, amr: "fed", caller: caller, userAgent: userAgent))
    }

    /// Sign-in through external OpenID Connect providers.
    public var federation: Federation { Federation(identity: self, http: .shared, metadata: federationMetadata) }
}

/// External sign-in: the providers, each attempt in flight (`state`, `nonce`, PKCE verifier, where to go
/// after), and the links between external accounts (provider, `sub`) and Plaza accounts.
public struct CreateFederation: AsyncMigration {
    public init() {}
    public var name: String { "0020_create_federation" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_federation_providers")
            .field("id", .uuid, .identifier(auto: false))
            .field("name", .string, .required)
            .field("issuer", .string, .required)
            .field("client_id", .string, .required)
            .field("client_secret", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("identity_federation_logins")
            .field("state_hash", .string, .identifier(auto: false))
            .field("provider_id", .uuid, .required)
            .field("nonce", .string, .required)
            .field("verifier", .string, .required)
            .field("next", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .create()
        try await database.schema("identity_federated_identities")
            .field("provider_id", .uuid, .required, .references("identity_federation_providers", "id", onDelete: .cascade))
            .field("subject", .string, .required)
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("email", .string, .required)
            .field("linked_at", .datetime, .required)
            .compositeIdentifier(over: "provider_id", "subject")
            .create()
        try await database.execute("CREATE INDEX identity_federated_identities_user ON identity_federated_identities (user_id)")
    }

    public func revert(on database: any Database) async throws {
        for table in ["identity_federated_identities", "identity_federation_logins", "identity_federation_providers"] {
            try await database.schema(table).delete()
        }
    }
}
