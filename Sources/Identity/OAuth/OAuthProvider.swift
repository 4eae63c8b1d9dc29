import Crypto
import Foundation
import Jobs
import JWTKit
import PlazaKit
import SQLKit
import Storage

/// The paths of the provider's endpoints.
public enum OAuthPaths {
    public static let discovery = "/.well-known/openid-configuration"
    public static let authorize = "/oauth/authorize"
    public static let token = "/oauth/token"
    public static let introspect = "/oauth/introspect"
    public static let revoke = "/oauth/revoke"
    public static let userinfo = "/oauth/userinfo"
    /// Where `Authorization` carries a client's credentials (Basic), not a bearer token.
    static let clientAuthenticated: Set<String> = [token, introspect, revoke]
}

/// Plaza as an OAuth 2.1 authorization server and OpenID Connect provider: authorization codes with PKCE
/// (S256 only), refresh tokens with the rotation and reuse detection of first-party sessions, client
/// credentials for services, introspection (RFC 7662), revocation (RFC 7009), userinfo and ID tokens.
///
/// An exchanged code opens an ordinary session bound to its client (`identity_oauth_sessions`), so signing
/// out everywhere, disabling the person or deleting the client ends it like any other.
public struct OAuthProvider: Sendable {
    let identity: IdentityService
    let clients: OAuthClients

    /// How long a code may wait for its exchange (RFC 6749 §4.1.2 advises at most ten minutes).
    static let codeLifetime: TimeInterval = 60

    var store: Store { identity.store }
    var settings: IdentitySettings { identity.settings }

    public var discovery: DiscoveryDocument { DiscoveryDocument(issuer: settings.issuer) }

    // MARK: Authorization endpoint

    /// Checks an authorization request. The client and redirect URI are checked first: until both are
    /// known, an error goes to a page, never to a redirect (an open redirector otherwise).
    public func validate(_ request: AuthorizationRequest) async throws -> ValidatedAuthorization {
        guard let raw = request.clientID, let id = UUID(uuidString: raw), let client = try await clients.find(id) else {
            throw AuthorizationRefusal.errorPage(.invalidRequest("The client_id names no registered client."))
        }
        guard let redirect = request.redirectURI, client.redirectUris.contains(where: { Self.redirect(redirect, matches: $0) }) else {
            throw AuthorizationRefusal.errorPage(
                .invalidRequest(
                    request.redirectURI == nil ? "The redirect_uri is missing." : "The redirect_uri is not one this client registered."))
        }
        let refuse = { (error: String, description: String) in
            AuthorizationRefusal.redirect(
                Self.redirect(redirect, [("error", error), ("error_description", description)], state: request.state, issuer: settings.issuer))
        }
        guard request.responseType == "code" else { throw refuse("unsupported_response_type", "Only response_type=code is supported.") }
        guard client.grants.contains(OAuthGrant.authorizationCode) else {
            throw refuse("unauthorized_client", "This client may not use the authorization code grant.")
        }
        guard let challenge = request.codeChallenge, request.codeChallengeMethod == "S256", Self.isPKCEValue(challenge, length: 43...43) else {
            throw refuse("invalid_request", "PKCE is required: send code_challenge (43 characters, base64url) with code_challenge_method=S256.")
        }
        let requested = Self.scopes(request.scope) ?? client.scopes
        if let denied = requested.first(where: { !client.scopes.contains($0) }) {
            throw refuse("invalid_scope", "The client may not ask for the scope \(denied).")
        }
        if let prompt = request.prompt, !prompt.split(separator: " ").allSatisfy({ ["none", "consent"].contains($0) }) {
            throw refuse("invalid_request", "prompt may be none or consent.")
        }
        if let nonce = request.nonce, nonce.count > 512 { throw refuse("invalid_request", "The nonce is longer than 512 characters.") }
        if let state = request.state, state.count > 1024 { throw refuse("invalid_request", "The state is longer than 1024 characters.") }
        return ValidatedAuthorization(
            client: client, redirectURI: redirect, scopes: OAuthScope.all.filter(requested.contains), state: request.state,
            nonce: request.nonce, codeChallenge: challenge, prompt: request.prompt)
    }

    /// A redirect URI matches a registered one exactly, or — for a native app listening on the loopback
    /// interface — on any port (RFC 8252 §7.3: the app picks a free port each time).
    static func redirect(_ given: String, matches registered: String) -> Bool {
        if given == registered { return true }
        guard var a = URLComponents(string: given), var b = URLComponents(string: registered), a.scheme == "http", b.scheme == "http",
            let host = a.host, ["127.0.0.1", "[::1]", "::1"].contains(host), a.host == b.host
        else { return false }
        a.port = nil
        b.port = nil
        return a.string == b.string
    }

    /// The origin (`scheme://host[:port]`) an authorization request under `next` (a sign-in page's
    /// `next=/oauth/authorize?…`) would send the browser back to, when it names a client and one of its
    /// redirect URIs; nil otherwise. The page lets its form lead there (CSP `form-action`).
    public func clientOrigin(forNext next: String?) async throws -> String? {
        guard let next, next.hasPrefix(OAuthPaths.authorize + "?") else { return nil }
        let pairs = FormEncoding.decode(String(next.dropFirst(OAuthPaths.authorize.count + 1)))
        let request = AuthorizationRequest(Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
        guard let raw = request.clientID, let id = UUID(uuidString: raw), let client = try await clients.find(id), let redirect = request.redirectURI,
            client.redirectUris.contains(where: { Self.redirect(redirect, matches: $0) })
        else { return nil }
        return Self.origin(of: redirect)
    }

    /// `scheme://host[:port]` of a URI.
    public static func origin(of uri: String) -> String? {
        guard let url = URLComponents(string: uri), let scheme = url.scheme, let host = url.host, !host.isEmpty else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    /// Whether the person already agreed to give this client these scopes.
    public func hasConsent(_ authorization: ValidatedAuthorization, user: UUID) async throws -> Bool {
        guard
            let row = try await store.sql.raw(
                """
                SELECT scope FROM identity_oauth_consents WHERE user_id = \(bind: user) AND client_id = \(bind: authorization.client.id)
                """
            ).first()
        else { return false }
        let granted = Set(try row.decode(column: "scope", as: String.self).split(separator: " ").map(String.init))
        return Set(authorization.scopes).isSubset(of: granted)
    }

    /// The person agreed: the consent is remembered and a code goes back to the client. Returns the redirect.
    public func approve(_ authorization: ValidatedAuthorization, principal: Principal, caller: Caller) async throws -> String {
        let code = IdentityService.newRefreshToken()
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            // When and how the person signed in (OpenID Connect's auth_time and amr) is their browser session's.
            var session: (any SQLRow)?
            if let id = principal.sessionID {
                session = try await transaction.sql.raw("SELECT created_at, amr FROM identity_sessions WHERE id = \(bind: id)").first()
            }
            let signedIn = try session?.decode(column: "created_at", as: Date.self)
            let amr = try session?.decode(column: "amr", as: String?.self) ?? "pwd"
            let previous =
                try await transaction.sql.raw(
                    """
                    SELECT scope FROM identity_oauth_consents WHERE user_id = \(bind: principal.id) AND client_id = \(bind: authorization.client.id)
                    """
                ).first().map { try $0.decode(column: "scope", as: String.self).split(separator: " ").map(String.init) } ?? []
            let scope = OAuthScope.all.filter { previous.contains($0) || authorization.scopes.contains($0) }.joined(separator: " ")
            try await transaction.sql.raw(
                """
                INSERT INTO identity_oauth_consents (user_id, client_id, scope, granted_at)
                VALUES (\(bind: principal.id), \(bind: authorization.client.id), \(bind: scope), \(bind: now))
                ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at
                """
            ).run()
            // Codes live a minute; a day later they have nothing left to tell.
            try await transaction.sql.raw("DELETE FROM identity_oauth_codes WHERE expires_at < \(bind: now.addingTimeInterval(-86400))").run()
            try await transaction.sql.raw(
                """
                INSERT INTO identity_oauth_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr,
                                                  created_at, expires_at)
                VALUES (\(bind: IdentityService.hash(code)), \(bind: authorization.client.id), \(bind: principal.id),
                        \(bind: authorization.redirectURI), \(bind: authorization.scopes.joined(separator: " ")), \(bind: authorization.nonce),
                        \(bind: authorization.codeChallenge), \(bind: signedIn ?? now), \(bind: amr), \(bind: now),
                        \(bind: now.addingTimeInterval(Self.codeLifetime)))
                """
            ).run()
            try await transaction.audit(
                caller, action: "identity.oauth.authorize", resourceType: "oauth-client", resourceID: authorization.client.id.uuidString,
                details: ["scope": .string(authorization.scopes.joined(separator: " "))])
        }
        return Self.redirect(authorization.redirectURI, [("code", code)], state: authorization.state, issuer: settings.issuer)
    }

    /// The person said no, or cannot be asked (`prompt=none`): the client hears `error`.
    public func refuse(_ authorization: ValidatedAuthorization, error: String, description: String) -> String {
        Self.redirect(
            authorization.redirectURI, [("error", error), ("error_description", description)], state: authorization.state, issuer: settings.issuer)
    }

    // MARK: Token endpoint

    /// `POST /oauth/token`: `fields` is the form body, `authorization` the Authorization header.
    public func token(_ fields: [(String, String)], authorization: String?, caller: Caller) async throws -> OAuthTokenResponse {
        let form = try Self.single(fields)
        let client = try await clients.authenticate(try Self.credentials(form, authorization: authorization))
        switch form["grant_type"] {
        case OAuthGrant.authorizationCode?:
            return try await exchange(form, client: client, caller: caller)
        case OAuthGrant.refreshToken?:
            return try await refresh(form, client: client, caller: caller)
        case OAuthGrant.clientCredentials?:
            return try await clientCredentials(form, client: client)
        case nil:
            throw OAuthError.invalidRequest("grant_type is required.")
        case let other?:
            throw OAuthError("unsupported_grant_type", "\(other) is not a grant this server supports.")
        }
    }

    private func exchange(_ form: [String: String], client: OAuthClient, caller: Caller) async throws -> OAuthTokenResponse {
        guard client.grants.contains(OAuthGrant.authorizationCode) else {
            throw OAuthError.unauthorizedClient("This client may not use authorization codes.")
        }
        guard let code = form["code"], let redirect = form["redirect_uri"], let verifier = form["code_verifier"] else {
            throw OAuthError.invalidRequest("code, redirect_uri and code_verifier are required.")
        }
        enum Checked: Sendable { case valid(user: UUID, scopes: [String], nonce: String?, authTime: Date, amr: [String]), reused, invalid(String) }
        let (outbox, revocations) = (identity.outbox, identity.revocations)
        let hash = IdentityService.hash(code)
        let checked = try await store.transaction { transaction -> Checked in
            let now = transaction.clock.now()
            guard let row = try await transaction.sql.raw("SELECT * FROM identity_oauth_codes WHERE code_hash = \(bind: hash)").first(),
                try row.decode(column: "client_id", as: UUID.self) == client.id
            else { return .invalid("The code is not valid for this client.") }
            let user = try row.decode(column: "user_id", as: UUID.self)
            // Marking it used is the race: of two exchanges, one gets a row back.
            let claimed =
                try await transaction.sql.raw(
                    """
                    UPDATE identity_oauth_codes SET used_at = \(bind: now) WHERE code_hash = \(bind: hash) AND used_at IS NULL RETURNING code_hash
                    """
                ).first() != nil
            guard claimed else {
                // A second exchange: someone else may hold the code, so what the first one got ends (RFC 6749 §4.1.2);
                // if the first has not stored its session yet, the mark makes it fail instead.
                try await transaction.sql.raw("UPDATE identity_oauth_codes SET reused_at = \(bind: now) WHERE code_hash = \(bind: hash)").run()
                if let session = try row.decode(column: "session_id", as: UUID?.self) {
                    try await IdentityService.revoke(
                        sessions: [session], of: user, reason: "authorization code reused", caller: caller, outbox: outbox,
                        revocations: revocations, in: transaction)
                }
                return .reused
            }
            guard try row.decode(column: "expires_at", as: Date.self) > now else { return .invalid("The code has expired.") }
            guard try row.decode(column: "redirect_uri", as: String.self) == redirect else {
                return .invalid("The redirect_uri differs from the authorization request's.")
            }
            guard Self.isPKCEValue(verifier, length: 43...128),
                Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString() == (try row.decode(column: "code_challenge", as: String.self))
            else { return .invalid("The code_verifier does not match the code_challenge.") }
            return .valid(
                user: user, scopes: try row.decode(column: "scope", as: String.self).split(separator: " ").map(String.init),
                nonce: try row.decode(column: "nonce", as: String?.self), authTime: try row.decode(column: "auth_time", as: Date.self),
                amr: try row.decode(column: "amr", as: String.self).split(separator: " ").map(String.init))
        }
        switch checked {
        case .reused:
            throw OAuthError.invalidGrant("The code was already used; the tokens issued for it are revoked.")
        case .invalid(let reason):
            throw OAuthError.invalidGrant(reason)
        case .valid(let user, let scopes, let nonce, let authTime, let amr):
            guard let account = try await store.sql.raw("SELECT email, status FROM identity_users WHERE id = \(bind: user)").first(),
                try account.decode(column: "status", as: String.self) == "active"
            else { throw OAuthError.invalidGrant("The account is not active.") }
            let refreshToken = client.grants.contains(OAuthGrant.refreshToken) ? IdentityService.newRefreshToken() : nil
            let session = try await identity.openSession(
                user: user, email: try account.decode(column: "email", as: String.self), amr: amr.joined(separator: " "), caller: caller,
                userAgent: "OAuth: \(client.name)"
            ) { session, now, transaction in
                if let refreshToken { try await IdentityService.insertRefreshToken(refreshToken, session: session, at: now, in: transaction) }
                try await transaction.sql.raw(
                    """
                    INSERT INTO identity_oauth_sessions (session_id, client_id, scope, auth_time, amr)
                    VALUES (\(bind: session), \(bind: client.id), \(bind: scopes.joined(separator: " ")), \(bind: authTime),\
                     \(bind: amr.joined(separator: " ")))
                    """
                ).run()
                let stored = try await transaction.sql.raw(
                    """
                    UPDATE identity_oauth_codes SET session_id = \(bind: session) WHERE code_hash = \(bind: hash) RETURNING reused_at
                    """
                ).first()
                guard try stored?.decodeNil(column: "reused_at") == true else {
                    throw OAuthError.invalidGrant("The code was used twice; start again.")
                }
            }
            return try await respond(
                user: user, session: session, client: client, scopes: scopes, refreshToken: refreshToken, nonce: nonce, authTime: authTime, amr: amr)
        }
    }

    private func refresh(_ form: [String: String], client: OAuthClient, caller: Caller) async throws -> OAuthTokenResponse {
        guard client.grants.contains(OAuthGrant.refreshToken) else { throw OAuthError.unauthorizedClient("This client may not use refresh tokens.") }
        guard let presented = form["refresh_token"] else { throw OAuthError.invalidRequest("refresh_token is required.") }
        let rotated: IdentityService.Rotation
        do {
            rotated = try await identity.rotate(refreshToken: presented, client: client.id, caller: caller)
        } catch let error as PlazaError {
            throw OAuthError.invalidGrant(error.detail ?? "The refresh token is not valid.")
        }
        guard
            let row = try await store.sql.raw("SELECT scope, auth_time, amr FROM identity_oauth_sessions WHERE session_id = \(bind: rotated.session)")
                .first()
        else { throw OAuthError.invalidGrant("The refresh token is not valid.") }
        var scopes = try row.decode(column: "scope", as: String.self).split(separator: " ").map(String.init)
        if let asked = Self.scopes(form["scope"]) {
            // A refresh may narrow the scope, never widen it (RFC 6749 §6).
            guard asked.allSatisfy(scopes.contains) else { throw OAuthError.invalidScope("A refresh cannot add scopes the person did not grant.") }
            scopes = scopes.filter(asked.contains)
        }
        return try await respond(
            user: rotated.user, session: rotated.session, client: client, scopes: scopes, refreshToken: rotated.refreshToken, nonce: nil,
            authTime: try row.decode(column: "auth_time", as: Date.self),
            amr: try row.decode(column: "amr", as: String.self).split(separator: " ").map(String.init))
    }

    private func clientCredentials(_ form: [String: String], client: OAuthClient) async throws -> OAuthTokenResponse {
        guard client.confidential, client.grants.contains(OAuthGrant.clientCredentials) else {
            throw OAuthError.unauthorizedClient("This client may not use the client_credentials grant.")
        }
        // A service acts as itself: the scopes about a person do not apply.
        let allowed = client.scopes.filter { $0 == OAuthScope.plaza }
        let asked = Self.scopes(form["scope"]) ?? allowed
        guard asked.allSatisfy(allowed.contains) else {
            throw OAuthError.invalidScope("A client acting as itself may ask only for: \(allowed.joined(separator: " ")).")
        }
        let grant = PlazaID.make(at: store.clock.now())
        let (token, expiresIn) = try await identity.issuer.issue(
            for: Principal(id: client.id, kind: .service), sessionID: grant, scopes: asked, clientID: client.id, amr: [])
        return OAuthTokenResponse(accessToken: token, tokenType: "Bearer", expiresIn: expiresIn, scope: asked.joined(separator: " "))
    }

    private func respond(
        user: UUID, session: UUID, client: OAuthClient, scopes: [String], refreshToken: String?, nonce: String?, authTime: Date, amr: [String]
    ) async throws -> OAuthTokenResponse {
        let principal = try await identity.principal(user: user, session: session, on: store.sql)
        let (token, expiresIn) = try await identity.issuer.issue(for: principal, sessionID: session, scopes: scopes, clientID: client.id, amr: amr)
        var idToken: String?
        if scopes.contains(OAuthScope.openID) {
            let now = Date(timeIntervalSince1970: store.clock.now().timeIntervalSince1970.rounded(.down))
            let digest = Data(SHA256.hash(data: Data(token.utf8)))
            var claims = IDTokenClaims(
                iss: IssuerClaim(value: settings.issuer), sub: SubjectClaim(value: user.uuidString.lowercased()),
                aud: AudienceClaim(value: [client.id.uuidString.lowercased()]),
                exp: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(expiresIn))),
                iat: IssuedAtClaim(value: now), auth_time: Int(authTime.timeIntervalSince1970), nonce: nonce,
                azp: client.id.uuidString.lowercased(), at_hash: digest.prefix(16).base64URLEncodedString(), sid: session.uuidString.lowercased(),
                amr: amr)
            try await userClaims(user, scopes: scopes).apply(to: &claims)
            idToken = try await identity.issuer.sign(idToken: claims)
        }
        return OAuthTokenResponse(
            accessToken: token, tokenType: "Bearer", expiresIn: expiresIn, refreshToken: refreshToken, idToken: idToken,
            scope: scopes.joined(separator: " "))
    }

    // MARK: Introspection, revocation, userinfo

    /// RFC 7662: only confidential clients may ask (a resource server holds a secret): about any access
    /// token, and about their own refresh tokens.
    public func introspect(_ fields: [(String, String)], authorization: String?) async throws -> Introspection {
        let form = try Self.single(fields)
        let client = try await clients.authenticate(try Self.credentials(form, authorization: authorization))
        guard client.confidential else { throw OAuthError.invalidClient("Introspection needs a confidential client.", basic: false) }
        guard let token = form["token"], !token.isEmpty else { throw OAuthError.invalidRequest("token is required.") }
        if Self.looksLikeJWT(token) {
            guard let claims = try? await identity.issuer.claims(of: token), let subject = UUID(uuidString: claims.sub.value),
                try await !identity.revocations.isRevoked(user: subject, session: UUID(uuidString: claims.sid))
            else { return .inactive }
            return Introspection(
                active: true, scope: claims.scope, clientId: claims.client_id, sub: claims.sub.value.lowercased(),
                exp: Int(claims.exp.value.timeIntervalSince1970), iat: Int(claims.iat.value.timeIntervalSince1970), iss: claims.iss.value,
                aud: settings.audience, jti: claims.jti.value, tokenType: "Bearer")
        }
        // A refresh token is its client's business alone; access tokens any resource server may ask about.
        guard let row = try await refreshTokenRow(token), try row.decode(column: "client_id", as: UUID?.self) == client.id else { return .inactive }
        let now = store.clock.now()
        guard try row.decodeNil(column: "used_at"), try row.decodeNil(column: "revoked_at"),
            try row.decode(column: "expires_at", as: Date.self) > now, try row.decode(column: "status", as: String.self) == "active"
        else { return .inactive }
        return Introspection(
            active: true, scope: try row.decode(column: "scope", as: String?.self) ?? OAuthScope.plaza,
            clientId: try row.decode(column: "client_id", as: UUID?.self)?.uuidString.lowercased(),
            sub: try row.decode(column: "user_id", as: UUID.self).uuidString.lowercased(),
            exp: Int(try row.decode(column: "expires_at", as: Date.self).timeIntervalSince1970),
            iat: Int(try row.decode(column: "created_at", as: Date.self).timeIntervalSince1970), iss: settings.issuer, tokenType: "refresh_token")
    }

    /// RFC 7009: a client revokes a token it holds; its session ends with it (the refresh token's family and
    /// every access token of that session). A token that is unknown, or another client's, is left alone and
    /// the answer is the same 200, so revocation says nothing about tokens.
    public func revoke(_ fields: [(String, String)], authorization: String?, caller: Caller) async throws {
        let form = try Self.single(fields)
        let client = try await clients.authenticate(try Self.credentials(form, authorization: authorization))
        guard let token = form["token"], !token.isEmpty else { throw OAuthError.invalidRequest("token is required.") }
        let (outbox, revocations) = (identity.outbox, identity.revocations)
        if Self.looksLikeJWT(token) {
            guard let claims = try? await identity.issuer.claims(of: token), claims.client_id == client.id.uuidString.lowercased(),
                let subject = UUID(uuidString: claims.sub.value), let sid = UUID(uuidString: claims.sid)
            else { return }
            try await store.transaction { transaction in
                if claims.kind == Principal.Kind.service.rawValue {
                    // A grant revoked longer ago than a token lives names no token that could still be shown.
                    let lifetime = identity.settings.accessTokenLifetime.timeInterval
                    try await transaction.sql.raw(
                        """
                        DELETE FROM identity_oauth_revoked_grants WHERE revoked_at < \(bind: transaction.clock.now().addingTimeInterval(-lifetime))
                        """
                    ).run()
                    try await transaction.sql.raw(
                        """
                        INSERT INTO identity_oauth_revoked_grants (grant_id, client_id, revoked_at) VALUES (\(bind: sid),\
                         \(bind: client.id), \(bind: transaction.clock.now()))
                        ON CONFLICT (grant_id) DO NOTHING
                        """
                    ).run()
                    try await outbox.append(
                        SessionRevoked(userId: subject, sessionIds: [sid], reason: "token revoked"), key: subject.uuidString, caller: caller,
                        in: transaction)
                    transaction.onCommit { revocations.revokeSession(sid) }
                } else {
                    try await IdentityService.revoke(
                        sessions: [sid], of: subject, reason: "token revoked by its client", caller: caller, outbox: outbox, revocations: revocations,
                        in: transaction)
                }
            }
            return
        }
        guard let row = try await refreshTokenRow(token), try row.decode(column: "client_id", as: UUID?.self) == client.id else { return }
        let session = try row.decode(column: "session_id", as: UUID.self)
        let user = try row.decode(column: "user_id", as: UUID.self)
        try await store.transaction { transaction in
            try await IdentityService.revoke(
                sessions: [session], of: user, reason: "token revoked by its client", caller: caller, outbox: outbox, revocations: revocations,
                in: transaction)
        }
    }

    /// OpenID Connect's userinfo: who the token's person is, as far as its scopes reach.
    public func userinfo(principal: Principal?) async throws -> UserClaims {
        guard let principal, principal.kind == .user else {
            throw PlazaError(
                .unauthorized, code: "unauthorized", title: "Unauthorized", detail: "Send a person's access token.",
                headers: ["WWW-Authenticate": "Bearer"])
        }
        // A first-party principal (a `plaza` token, or a browser session, which carries no scopes) reads
        // everything the person could read about themselves; a client's token what its scopes allow.
        let firstParty = principal.scopes.isEmpty || principal.scopes.contains(OAuthScope.plaza)
        guard firstParty || principal.scopes.contains(OAuthScope.openID) else {
            throw PlazaError(
                .forbidden, code: "insufficient-scope", title: "Insufficient scope", detail: "userinfo needs the openid scope.",
                headers: ["WWW-Authenticate": "Bearer error=\"insufficient_scope\", scope=\"openid\""])
        }
        let scopes = firstParty ? OAuthScope.all : Array(principal.scopes)
        do {
            return try await userClaims(principal.id, scopes: scopes)
        } catch is OAuthError {
            // A token that outlived its account is a bearer token no longer good (RFC 6750 §3.1), not a grant.
            throw PlazaError(
                .unauthorized, code: "invalid-token", title: "Unauthorized", detail: "The token's account no longer exists.",
                headers: ["WWW-Authenticate": "Bearer error=\"invalid_token\""])
        }
    }

    // MARK: Pieces

    /// The standard claims the scopes allow, from the account.
    func userClaims(_ user: UUID, scopes: [String]) async throws -> UserClaims {
        guard let row = try await store.sql.raw("SELECT * FROM identity_users WHERE id = \(bind: user)").first() else {
            throw OAuthError.invalidGrant("The account no longer exists.")
        }
        var claims = UserClaims(sub: user.uuidString.lowercased())
        if scopes.contains(OAuthScope.profile) {
            let first = try row.decode(column: "first_name", as: String.self)
            let last = try row.decode(column: "last_name", as: String.self)
            claims.name = [first, last].filter { !$0.isEmpty }.joined(separator: " ")
            claims.givenName = first
            claims.familyName = last
            claims.locale = try row.decode(column: "locale", as: String.self)
            claims.zoneinfo = try row.decode(column: "time_zone", as: String.self)
            claims.updatedAt = Int(try row.decode(column: "updated_at", as: Date.self).timeIntervalSince1970)
        }
        if scopes.contains(OAuthScope.email) {
            claims.email = try row.decode(column: "email", as: String.self)
            claims.emailVerified = try row.decode(column: "email_verified", as: Bool.self)
        }
        return claims
    }

    private func refreshTokenRow(_ token: String) async throws -> (any SQLRow)? {
        try await store.sql.raw(
            """
            SELECT t.used_at, t.created_at, s.id AS session_id, s.user_id, s.revoked_at, s.expires_at, u.status, o.client_id, o.scope
            FROM identity_refresh_tokens t
            JOIN identity_sessions s ON s.id = t.session_id
            JOIN identity_users u ON u.id = s.user_id
            LEFT JOIN identity_oauth_sessions o ON o.session_id = s.id
            WHERE t.token_hash = \(bind: IdentityService.hash(token))
            """
        ).first()
    }

    /// The form as a dictionary; a parameter sent twice is refused (RFC 6749 §3.2).
    static func single(_ fields: [(String, String)]) throws -> [String: String] {
        var form: [String: String] = [:]
        for (name, value) in fields {
            guard form[name] == nil else { throw OAuthError.invalidRequest("\(name) is sent more than once.") }
            form[name] = value
        }
        return form
    }

    /// The client's credentials from `Authorization: Basic` (each half form-encoded, RFC 6749 §2.3.1) or the body.
    static func credentials(_ form: [String: String], authorization: String?) throws -> ClientCredentials {
        if let header = authorization, header.lowercased().hasPrefix("basic ") {
            guard form["client_secret"] == nil else { throw OAuthError.invalidRequest("Use one way to authenticate the client, not two.") }
            guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else { throw OAuthError.invalidClient("The Basic credentials are malformed.", basic: true) }
            let pair = FormEncoding.decode("id=\(text[..<colon])&secret=\(text[text.index(after: colon)...])")
            let id = pair[0].1
            if let named = form["client_id"], named != id { throw OAuthError.invalidRequest("client_id differs from the Basic credentials.") }
            return ClientCredentials(id: id, secret: pair[1].1, viaBasic: true)
        }
        return ClientCredentials(id: form["client_id"], secret: form["client_secret"], viaBasic: false)
    }

    /// A space-separated scope parameter; nil when absent or empty.
    static func scopes(_ text: String?) -> [String]? {
        let scopes = (text ?? "").split(separator: " ").map(String.init)
        return scopes.isEmpty ? nil : scopes
    }

    /// RFC 7636 §4.1: unreserved characters only.
    static func isPKCEValue(_ text: String, length: ClosedRange<Int>) -> Bool {
        length.contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || [0x2D, 0x2E, 0x5F, 0x7E].contains(byte)
            }
    }

    static func looksLikeJWT(_ token: String) -> Bool { token.utf8.filter { $0 == UInt8(ascii: ".") }.count == 2 }

    /// A redirect back to the client with `extra`, `state` and `iss` added to its query.
    static func redirect(_ uri: String, _ extra: [(String, String)], state: String?, issuer: String) -> String {
        var pairs = extra
        if let state { pairs.append(("state", state)) }
        pairs.append(("iss", issuer))
        return uri + (uri.contains("?") ? "&" : "?") + FormEncoding.encode(pairs)
    }
}

/// The claims about a person that `profile` and `email` allow: `/oauth/userinfo`'s answer, and part of an
/// ID token. Claims the scopes do not allow stay nil and are left out.
public struct UserClaims: Codable, Sendable, OmitsAbsentMembers, Equatable {
    public var sub: String
    public var name: String?
    public var givenName: String?
    public var familyName: String?
    public var locale: String?
    public var zoneinfo: String?
    public var updatedAt: Int?
    public var email: String?
    public var emailVerified: Bool?

    init(sub: String) { self.sub = sub }

    enum CodingKeys: String, CodingKey {
        case sub, name, givenName = "given_name", familyName = "family_name", locale, zoneinfo, updatedAt = "updated_at", email
        case emailVerified = "email_verified"
    }

    func apply(to claims: inout IDTokenClaims) {
        claims.name = name
        claims.given_name = givenName
        claims.family_name = familyName
        claims.locale = locale
        claims.zoneinfo = zoneinfo
        claims.updated_at = updatedAt
        claims.email = email
        claims.email_verified = emailVerified
    }
}

/// An OpenID Connect ID token (Core §2).
struct IDTokenClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var auth_time: Int
    var nonce: String?
    var azp: String
    var at_hash: String
    var sid: String
    var amr: [String]
    var name: String?
    var given_name: String?
    var family_name: String?
    var locale: String?
    var zoneinfo: String?
    var updated_at: Int?
    var email: String?
    var email_verified: Bool?

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

extension IdentityService {
    /// Registered OAuth clients (admins manage them).
    public var oauthClients: OAuthClients { OAuthClients(store: store, policy: policy, outbox: outbox, revocations: revocations) }
    /// The OAuth 2.1 / OpenID Connect provider.
    public var oauth: OAuthProvider { OAuthProvider(identity: self, clients: oauthClients) }
}

extension UserClaims: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "sub": .text, "name": .text, "given_name": .text, "family_name": .text, "locale": .text, "zoneinfo": .text,
                "updated_at": .integer(), "email": .string(format: "email"), "email_verified": .boolean,
            ],
            required: ["sub"])
    }
}
