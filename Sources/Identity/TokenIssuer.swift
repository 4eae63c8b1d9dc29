import Crypto
import Foundation
import JWTKit
import PlazaKit
import SQLKit
import Storage

/// The claims of a first-party access token.
struct AccessClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    /// The session (refresh-token family) the token belongs to.
    var sid: String
    /// System roles.
    var roles: [String]
    /// App roles by app (`*` for every app).
    var apps: [String: [String]]
    /// Organisation roles by organisation id.
    var orgs: [String: [String]]
    var scope: String
    /// How the user authenticated (RFC 8176): `pwd`, later `otp`/`mfa`.
    var amr: [String]
    /// The OAuth client the token was issued to (RFC 9068); absent on first-party tokens.
    var client_id: String?
    /// `service` on a client-credentials token, whose subject is the client itself.
    var kind: String?

    /// Expiry, issuer and audience are checked by ``TokenIssuer`` against the store's clock.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Signs and verifies access tokens with ES256 keys kept in the database, so every instance shares them.
///
/// The ring is read on first use. The newest key signs; every key not retired longer than a token's
/// lifetime still verifies, so rotating keys never cuts off tokens already issued.
public actor TokenIssuer {
    let store: Store
    let settings: IdentitySettings
    private var keys: JWTKeyCollection?
    private var signingKid: String?
    private var publicKeys: [(kid: String, x: String, y: String)] = []
    /// When the ring was last read again because a token named a key this instance did not know.
    private var lastUnknownKidReload: Date = .distantPast

    public init(store: Store, settings: IdentitySettings) {
        self.store = store
        self.settings = settings
    }

    /// A signed access token for the principal, and its lifetime in seconds. First-party tokens carry the
    /// `plaza` scope (the whole API as the person); an OAuth client's carry what it was granted.
    func issue(
        for principal: Principal, sessionID: UUID, scopes: [String] = [OAuthScope.plaza], clientID: UUID? = nil, amr: [String] = ["pwd"]
    ) async throws -> (token: String, expiresIn: Int) {
        let keys = try await loaded()
        // Whole seconds: some verifiers compare `iat` with their clock's whole seconds and call a fraction "the future".
        let now = Date(timeIntervalSince1970: store.clock.now().timeIntervalSince1970.rounded(.down))
        let lifetime = settings.accessTokenLifetime.timeInterval
        let claims = AccessClaims(
            iss: IssuerClaim(value: settings.issuer), sub: SubjectClaim(value: principal.id.uuidString),
            aud: AudienceClaim(value: [settings.audience]), exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
            iat: IssuedAtClaim(value: now), jti: IDClaim(value: PlazaID.make(at: now).uuidString), sid: sessionID.uuidString,
            roles: principal.systemRoles.sorted(), apps: principal.appRoles.mapValues { $0.sorted() },
            orgs: Dictionary(uniqueKeysWithValues: principal.organisationRoles.map { ($0.key.uuidString, $0.value.sorted()) }),
            scope: scopes.joined(separator: " "), amr: amr, client_id: clientID?.uuidString.lowercased(),
            kind: principal.kind == .service ? Principal.Kind.service.rawValue : nil)
        let token = try await keys.sign(claims, kid: signingKid.map { JWKIdentifier(string: $0) })
        return (token, Int(lifetime))
    }

    /// Signs an OpenID Connect ID token with the current key.
    func sign(idToken claims: IDTokenClaims) async throws -> String {
        let keys = try await loaded()
        return try await keys.sign(claims, kid: signingKid.map { JWKIdentifier(string: $0) })
    }

    /// Signs arbitrary claims with the current key (tests forge tokens for other audiences with it).
    func sign(_ claims: AccessClaims) async throws -> String {
        let keys = try await loaded()
        return try await keys.sign(claims, kid: signingKid.map { JWKIdentifier(string: $0) })
    }

    /// The principal a token stands for. Every failure is a 401 that does not say which check failed.
    func verify(_ token: String) async throws -> (principal: Principal, expires: Date) {
        let claims = try await claims(of: token)
        guard let id = UUID(uuidString: claims.sub.value), let session = UUID(uuidString: claims.sid) else {
            throw PlazaError.unauthorized("The access token is expired or not meant for this server.")
        }
        var organisations: [UUID: Set<String>] = [:]
        for (key, roles) in claims.orgs { if let org = UUID(uuidString: key) { organisations[org] = Set(roles) } }
        let principal = Principal(
            id: id, kind: claims.kind == Principal.Kind.service.rawValue ? .service : .user, systemRoles: Set(claims.roles),
            appRoles: claims.apps.mapValues(Set.init), organisationRoles: organisations,
            scopes: Set(claims.scope.split(separator: " ").map(String.init)),
            sessionID: session, assurance: claims.amr.contains("mfa") ? .multiFactor : .password)
        return (principal, claims.exp.value)
    }

    /// A token's claims once its signature, expiry, issuer and audience hold.
    func claims(of token: String) async throws -> AccessClaims {
        var keys = try await loaded()
        // Another instance may have made a key after this one read the ring (two first starts racing, or a
        // rotation whose event has not arrived yet): read the ring again, at most every 5 seconds, so random
        // key ids cannot turn requests into database reads.
        if let kid = Self.kid(ofToken: token), !publicKeys.contains(where: { $0.kid == kid }),
            store.clock.now().timeIntervalSince(lastUnknownKidReload) > 5
        {
            lastUnknownKidReload = store.clock.now()
            reload()
            keys = try await loaded()
        }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw PlazaError.unauthorized("The access token is not valid.")
        }
        let now = store.clock.now()
        guard claims.exp.value > now, claims.iss.value == settings.issuer, claims.aud.value.contains(settings.audience) else {
            throw PlazaError.unauthorized("The access token is expired or not meant for this server.")
        }
        return claims
    }

    /// Forgets the ring; the next use reads it again (after a rotation on any instance).
    func reload() {
        keys = nil
        signingKid = nil
        publicKeys = []
    }

    /// Retires every current key and adds a new one that signs from now on. Retired keys keep verifying
    /// for one token lifetime, so tokens already issued stay valid until they expire.
    func rotate(in transaction: Transaction) async throws -> String {
        let now = transaction.clock.now()
        let key = ES256PrivateKey()
        let kid = Self.kid(for: key)
        try await transaction.sql.raw("UPDATE identity_signing_keys SET retired_at = \(bind: now) WHERE retired_at IS NULL").run()
        try await transaction.sql.raw(
            """
            INSERT INTO identity_signing_keys (kid, private_pem, created_at) VALUES (\(bind: kid), \(bind: key.pemRepresentation), \(bind: now))
            """
        ).run()
        return kid
    }

    /// `GET /oauth/jwks`: the public keys, as RFC 7517 JSON Web Keys.
    func jwks() async throws -> JWKSDocument {
        _ = try await loaded()
        return JWKSDocument(
            keys: publicKeys.map {
                JWKSDocument.Key(kty: "EC", crv: "P-256", x: $0.x, y: $0.y, kid: $0.kid, use: "sig", alg: "ES256")
            })
    }

    private func loaded() async throws -> JWTKeyCollection {
        if let keys { return keys }
        let now = store.clock.now()
        let retention = settings.accessTokenLifetime.timeInterval
        var rows = try await store.sql.raw(
            """
            SELECT kid, private_pem, created_at, retired_at FROM identity_signing_keys ORDER BY created_at DESC
            """
        ).all()
        if rows.filter({ (try? $0.decodeNil(column: "retired_at")) == true }).isEmpty {
            // First start (or every key retired): make a key. Two instances racing both succeed; both keys verify.
            let key = ES256PrivateKey()
            let kid = Self.kid(for: key)
            try await store.transaction { transaction in
                try await transaction.sql.raw(
                    """
                    INSERT INTO identity_signing_keys (kid, private_pem, created_at) VALUES (\(bind: kid),\
                     \(bind: key.pemRepresentation), \(bind: now))
                    ON CONFLICT (kid) DO NOTHING
                    """
                ).run()
            }
            rows = try await store.sql.raw(
                """
                SELECT kid, private_pem, created_at, retired_at FROM identity_signing_keys ORDER BY created_at DESC
                """
            ).all()
        }
        let collection = JWTKeyCollection()
        var published: [(String, String, String)] = []
        for row in rows {
            let retired = try row.decode(column: "retired_at", as: Date?.self)
            if let retired, retired.addingTimeInterval(retention) < now { continue }
            let kid = try row.decode(column: "kid", as: String.self)
            let key = try ES256PrivateKey(pem: try row.decode(column: "private_pem", as: String.self))
            await collection.add(ecdsa: key, kid: JWKIdentifier(string: kid))
            if signingKid == nil, retired == nil { signingKid = kid }
            if let parameters = key.parameters { published.append((kid, parameters.x, parameters.y)) }
        }
        publicKeys = published.map { (kid: $0.0, x: $0.1, y: $0.2) }
        keys = collection
        return collection
    }

    /// The `kid` of a compact JWS's header, without verifying anything.
    static func kid(ofToken token: String) -> String? {
        guard let header = token.split(separator: ".").first, let data = Data(base64URLEncoded: String(header)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["kid"] as? String
    }

    static func kid(for key: ES256PrivateKey) -> String {
        let digest = SHA256.hash(data: Data(key.publicKey.pemRepresentation.utf8))
        return digest.prefix(8).hexString
    }
}

/// A JSON Web Key Set.
public struct JWKSDocument: Codable, Sendable, OmitsAbsentMembers, APISchema {
    public struct Key: Codable, Sendable {
        public var kty: String
        public var crv: String
        public var x: String
        public var y: String
        public var kid: String
        public var use: String
        public var alg: String
    }
    public var keys: [Key]

    public static var schemaName: String { "JWKS" }
    public static var schema: JSONSchema {
        .object(
            properties: [
                "keys": .array(
                    .object(
                        properties: ["kty": .text, "crv": .text, "x": .text, "y": .text, "kid": .text, "use": .text, "alg": .text],
                        required: ["kty", "crv", "x", "y", "kid"]))
            ],
            required: ["keys"])
    }
}
