import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

/// A PKCE pair (RFC 7636): a random verifier and its S256 challenge.
func pkce() -> (verifier: String, challenge: String) {
    let verifier = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64URLEncodedString()
    return (verifier, Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString())
}

/// An OAuth client's view of the provider, through the in-process router.
struct OAuthClientDriver {
    let client: any TestClientProtocol
    let id: String
    let secret: String?
    let redirect: String

    func authorizeURI(
        challenge: String, scope: String = "openid profile email", state: String = "s-1", nonce: String? = "n-1",
        redirect: String? = nil, method: String = "S256", extra: [(String, String)] = []
    ) -> String {
        var pairs = [
            ("response_type", "code"), ("client_id", id), ("redirect_uri", redirect ?? self.redirect), ("scope", scope), ("state", state),
            ("code_challenge", challenge), ("code_challenge_method", method),
        ]
        if let nonce { pairs.append(("nonce", nonce)) }
        return "/oauth/authorize?" + FormEncoding.encode(pairs + extra)
    }

    /// A form post to one of the client endpoints, authenticated with HTTP Basic when the client has a secret.
    func post(_ path: String, _ fields: [(String, String)], secret: String?? = .none) async throws -> (
        status: HTTPResponse.Status, json: [String: Any], headers: HTTPFields
    ) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        let password: String? =
            switch secret {
            case .none: self.secret;
            case .some(let given): given
            }
        var pairs = fields
        if let password {
            headers[.authorization] = "Basic " + Data("\(FormEncoding.escape(id)):\(FormEncoding.escape(password))".utf8).base64EncodedString()
        } else {
            pairs.append(("client_id", id))
        }
        let response = try await client.executeRequest(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: FormEncoding.encode(pairs)))
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
        return (response.status, json, response.headers)
    }

    func exchange(_ code: String, verifier: String) async throws -> (status: HTTPResponse.Status, json: [String: Any], headers: HTTPFields) {
        try await post(
            "/oauth/token", [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)])
    }

    func introspect(_ token: String) async throws -> [String: Any] {
        try await post("/oauth/introspect", [("token", token)]).json
    }
}

/// The query of a redirect's Location.
func query(_ location: String?) -> [String: String] {
    let text = location.flatMap { $0.firstIndex(of: "?").map { String(location![$0...].dropFirst()) } } ?? ""
    return Dictionary(FormEncoding.decode(text), uniquingKeysWith: { first, _ in first })
}

/// A JWT's payload, unverified (the signature is the peer test's business).
func payload(_ jwt: String) -> [String: Any] {
    let parts = jwt.split(separator: ".")
    guard parts.count == 3, let data = Data(base64URLEncoded: String(parts[1])) else { return [:] }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
}

@Suite("OAuth 2.1 and OpenID Connect provider")
struct OAuthTests {
    static let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]))

    func register(
        _ plaza: Plaza, scopes: [String] = ["openid", "profile", "email"], confidential: Bool = true,
        grants: [String]? = nil
    ) async throws -> RegisteredOAuthClient {
        try await plaza.identity.oauthClients.register(
            OAuthClientInput(
                name: "Shop", confidential: confidential, redirectUris: ["https://shop.example/callback"], scopes: scopes, grants: grants),
            caller: Self.admin)
    }

    /// Signs Ada in through the pages, answers the consent page with `allow`, and returns the code.
    func authorize(_ browser: Browser, _ driver: OAuthClientDriver, challenge: String) async throws -> String {
        let first = try await browser.get(driver.authorizeURI(challenge: challenge))
        var location = first.location
        if first.status == .ok {
            #expect(browser.lastPage.contains(#"id="consent-form""#) && browser.lastPage.contains("Shop"), "the consent page names the client")
            let parameters = query(driver.authorizeURI(challenge: challenge))
            let answered = try await browser.post("/oauth/authorize", parameters.map { ($0.key, $0.value) } + [("decision", "allow")])
            #expect(answered.status == .seeOther, "\(answered.status) \(answered.text.prefix(1500))")
            location = answered.location
        }
        let answer = query(location)
        #expect(
            location?.hasPrefix(driver.redirect + "?") == true && answer["state"] == "s-1" && answer["code"] != nil, "\(location ?? "no location")")
        return try #require(answer["code"])
    }

    @Test("code with PKCE through the sign-in and consent pages; ID token, userinfo, refresh rotation, reuse, revocation, introspection")
    func codeFlow() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let registered = try await register(plaza)
            _ = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let driver = OAuthClientDriver(
                    client: client, id: registered.client.id.uuidString.lowercased(), secret: registered.clientSecret,
                    redirect: "https://shop.example/callback")
                let browser = Browser(client)
                let (verifier, challenge) = pkce()

                // Not signed in: the sign-in page, which comes back here.
                let signInFirst = try await browser.get(driver.authorizeURI(challenge: challenge))
                let next = try #require(query(signInFirst.location)["next"])
                #expect(signInFirst.status == .seeOther && next.hasPrefix("/oauth/authorize?"))
                try await browser.get(try #require(signInFirst.location))
                let signedIn = try await browser.post("/sign-in", [("email", "ada@example.com"), ("password", "correct horse"), ("next", next)])
                #expect(signedIn.location == next)

                let code = try await authorize(browser, driver, challenge: challenge)
                let tokens = try await driver.exchange(code, verifier: verifier)
                #expect(tokens.status == .ok && tokens.headers[.cacheControl] == "no-store", "\(tokens.json)")
                #expect(tokens.json["token_type"] as? String == "Bearer" && tokens.json["scope"] as? String == "openid profile email")
                let access = try #require(tokens.json["access_token"] as? String)
                let refresh = try #require(tokens.json["refresh_token"] as? String)
                let id = payload(try #require(tokens.json["id_token"] as? String))
                #expect(id["nonce"] as? String == "n-1" && id["aud"] as? String == driver.id && id["azp"] as? String == driver.id)
                #expect(
                    id["iss"] as? String == plaza.config.baseURL && id["email"] as? String == "ada@example.com"
                        && id["given_name"] as? String == "Ada")
                #expect((id["at_hash"] as? String)?.count == 22 && id["auth_time"] is Int)

                let info = try await client.executeRequest(
                    uri: "/oauth/userinfo", method: .get, headers: [.authorization: "Bearer \(access)"], body: nil)
                let claims = try #require(try JSONSerialization.jsonObject(with: Data(buffer: info.body)) as? [String: Any])
                #expect(info.status == .ok && claims["email"] as? String == "ada@example.com" && claims["sub"] as? String == id["sub"] as? String)
                let api = try await client.executeRequest(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(access)"], body: nil)
                #expect(
                    api.status == .forbidden && api.headers[.wwwAuthenticate]?.contains("insufficient_scope") == true,
                    "without the plaza scope the token reaches userinfo only")
                #expect((try await driver.introspect(access))["active"] as? Bool == true)
                #expect((try await driver.introspect(access))["client_id"] as? String == driver.id)

                // Refresh rotates; presenting the old one again ends the session (reuse detection).
                let rotated = try await driver.post("/oauth/token", [("grant_type", "refresh_token"), ("refresh_token", refresh)])
                #expect(rotated.status == .ok && rotated.json["refresh_token"] as? String != refresh && rotated.json["id_token"] != nil)
                let newAccess = try #require(rotated.json["access_token"] as? String)
                let reused = try await driver.post("/oauth/token", [("grant_type", "refresh_token"), ("refresh_token", refresh)])
                #expect(reused.status == .badRequest && reused.json["error"] as? String == "invalid_grant")
                #expect((try await driver.introspect(newAccess))["active"] as? Bool == false, "the reuse ended the session")
                // A first-party refresh endpoint does not take a client's refresh token.
                let other = try await client.executeRequest(
                    uri: "/api/v1/auth/refresh", method: .post, headers: [.contentType: "application/json"],
                    body: json(RefreshRequest(refreshToken: try #require(rotated.json["refresh_token"] as? String))))
                #expect(other.status == .unauthorized)

                // Consent is remembered: straight back with a code. A wrong verifier is refused.
                let (_, secondChallenge) = pkce()
                let remembered = try await browser.get(driver.authorizeURI(challenge: secondChallenge))
                #expect(remembered.status == .seeOther && query(remembered.location)["code"] != nil, "no consent page the second time")
                let mismatch = try await driver.exchange(try #require(query(remembered.location)["code"]), verifier: verifier)
                #expect(mismatch.status == .badRequest && mismatch.json["error"] as? String == "invalid_grant", "\(mismatch.json)")

                // A code exchanged twice: the second is refused and the first one's tokens stop working.
                let (thirdVerifier, thirdChallenge) = pkce()
                let third = try await authorize(browser, driver, challenge: thirdChallenge)
                let once = try await driver.exchange(third, verifier: thirdVerifier)
                let onceAccess = try #require(once.json["access_token"] as? String)
                let twice = try await driver.exchange(third, verifier: thirdVerifier)
                #expect(twice.status == .badRequest && twice.json["error"] as? String == "invalid_grant")
                #expect((try await driver.introspect(onceAccess))["active"] as? Bool == false)

                // Revocation (RFC 7009) of the refresh token ends the access token too.
                let (lastVerifier, lastChallenge) = pkce()
                let last = try await driver.exchange(try await authorize(browser, driver, challenge: lastChallenge), verifier: lastVerifier)
                let lastAccess = try #require(last.json["access_token"] as? String)
                let lastRefresh = try #require(last.json["refresh_token"] as? String)
                #expect((try await driver.introspect(lastRefresh))["token_type"] as? String == "refresh_token")
                let revoked = try await driver.post("/oauth/revoke", [("token", lastRefresh), ("token_type_hint", "refresh_token")])
                #expect(revoked.status == .ok)
                #expect((try await driver.introspect(lastAccess))["active"] as? Bool == false)
                #expect((try await driver.introspect(lastRefresh))["active"] as? Bool == false)
                #expect(try await driver.post("/oauth/revoke", [("token", "not-a-token")]).status == .ok, "unknown tokens: the same 200")
            }
        }
    }

    @Test(
        "refusals take the RFC forms: redirect mismatch and unknown client on a page, PKCE and scope errors by redirect, bad client secrets, reused codes"
    )
    func refusals() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let registered = try await register(plaza)
            _ = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                let driver = OAuthClientDriver(
                    client: client, id: registered.client.id.uuidString.lowercased(), secret: registered.clientSecret,
                    redirect: "https://shop.example/callback")
                let browser = Browser(client)
                let (_, challenge) = pkce()
                let notSignedIn = try await browser.get(driver.authorizeURI(challenge: challenge, extra: [("prompt", "none")]))
                #expect(query(notSignedIn.location)["error"] == "login_required")
                try await browser.signIn(email: "bob@example.com", password: "correct horse")

                let elsewhere = try await browser.get(driver.authorizeURI(challenge: challenge, redirect: "https://evil.example/callback"))
                #expect(
                    elsewhere.status == .badRequest && elsewhere.location == nil && browser.lastPage.contains("redirect_uri"),
                    "a redirect URI the client did not register gets a page, never a redirect")
                let stranger = try await browser.get(
                    "/oauth/authorize?client_id=\(UUID())&redirect_uri=https://shop.example/callback&response_type=code")
                #expect(stranger.status == .badRequest && stranger.location == nil)

                let noPKCE = try await browser.get(
                    "/oauth/authorize?"
                        + FormEncoding.encode([
                            ("response_type", "code"), ("client_id", driver.id), ("redirect_uri", driver.redirect), ("state", "s-9"),
                        ]))
                #expect(query(noPKCE.location)["error"] == "invalid_request" && query(noPKCE.location)["state"] == "s-9")
                #expect(query(noPKCE.location)["iss"] == plaza.config.baseURL)
                let plain = try await browser.get(driver.authorizeURI(challenge: challenge, method: "plain"))
                #expect(query(plain.location)["error"] == "invalid_request", "S256 only")
                let twice = try await browser.get(driver.authorizeURI(challenge: challenge, extra: [("code_challenge_method", "plain")]))
                #expect(twice.status == .badRequest && twice.location == nil, "a parameter sent twice is refused on the page")
                let wideScope = try await browser.get(driver.authorizeURI(challenge: challenge, scope: "openid plaza"))
                #expect(query(wideScope.location)["error"] == "invalid_scope")
                let consent = try await browser.get(driver.authorizeURI(challenge: challenge, extra: [("prompt", "none")]))
                #expect(query(consent.location)["error"] == "consent_required")

                let parameters = query(driver.authorizeURI(challenge: challenge))
                let denied = try await browser.post("/oauth/authorize", parameters.map { ($0.key, $0.value) } + [("decision", "deny")])
                #expect(query(denied.location)["error"] == "access_denied" && query(denied.location)["code"] == nil)

                let wrongSecret = try await driver.post("/oauth/token", [("grant_type", "authorization_code"), ("code", "x")], secret: "wrong")
                #expect(wrongSecret.status == .unauthorized && wrongSecret.json["error"] as? String == "invalid_client")
                #expect(wrongSecret.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                let noSecret = try await driver.post("/oauth/token", [("grant_type", "authorization_code"), ("code", "x")], secret: .some(nil))
                #expect(
                    noSecret.status == .unauthorized && noSecret.json["error"] as? String == "invalid_client",
                    "a confidential client must prove itself")
                let unknownGrant = try await driver.post("/oauth/token", [("grant_type", "password")])
                #expect(unknownGrant.json["error"] as? String == "unsupported_grant_type")
                let unknownCode = try await driver.exchange("nope", verifier: String(repeating: "a", count: 43))
                #expect(unknownCode.status == .badRequest && unknownCode.json["error"] as? String == "invalid_grant")
                let notForm = try await client.executeRequest(
                    uri: "/oauth/token", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                #expect(notForm.status == .badRequest && String(buffer: notForm.body).contains("invalid_request"))
                let notAService = try await driver.post("/oauth/token", [("grant_type", "client_credentials")])
                #expect(notAService.json["error"] as? String == "unauthorized_client")
            }
        }
    }

    @Test("client credentials for a service; admins register, change, rotate and delete clients through the API; others may not")
    func serviceClients() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            let admin = try await signIn(plaza, IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
            let customer = try await signIn(plaza, IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
            try await plaza.testApplication().test(.router) { client in
                let input = OAuthClientInput(name: "Reports", redirectUris: [], scopes: ["plaza"], grants: ["client_credentials"])
                let refused = try await client.executeRequest(
                    uri: "/api/v1/oauth/clients", method: .post, headers: customer.headers, body: json(input))
                #expect(refused.status == .forbidden)
                let bad = try await client.executeRequest(
                    uri: "/api/v1/oauth/clients", method: .post, headers: admin.headers,
                    body: json(
                        OAuthClientInput(
                            name: "X", confidential: false, redirectUris: ["http://evil.example/cb", "https://ok.example/#f"],
                            grants: ["client_credentials"])))
                let problem = try decode(Problem.self, bad)
                #expect(bad.status == .unprocessableContent)
                #expect(Set(problem.errors?.map(\.field) ?? []) == ["redirectUris[0]", "redirectUris[1]", "grants"], "\(problem)")
                let created = try await client.executeRequest(uri: "/api/v1/oauth/clients", method: .post, headers: admin.headers, body: json(input))
                #expect(created.status == .created)
                let registered = try decode(RegisteredOAuthClient.self, created)
                let driver = OAuthClientDriver(
                    client: client, id: registered.client.id.uuidString.lowercased(), secret: registered.clientSecret, redirect: "")

                let issued = try await driver.post("/oauth/token", [("grant_type", "client_credentials")])
                #expect(issued.status == .ok && issued.json["refresh_token"] == nil && issued.json["scope"] as? String == "plaza", "\(issued.json)")
                let token = try #require(issued.json["access_token"] as? String)
                #expect(payload(token)["kind"] as? String == "service")
                let asService = try await client.executeRequest(
                    uri: "/api/v1/genders", method: .get, headers: [.authorization: "Bearer \(token)"], body: nil)
                #expect(asService.status == .ok, "a service token with the plaza scope reaches authenticated routes")
                #expect((try await driver.introspect(token))["active"] as? Bool == true)
                let tooWide = try await driver.post("/oauth/token", [("grant_type", "client_credentials"), ("scope", "openid")])
                #expect(tooWide.json["error"] as? String == "invalid_scope")
                #expect(try await driver.post("/oauth/revoke", [("token", token)]).status == .ok)
                #expect((try await driver.introspect(token))["active"] as? Bool == false)

                let path = "/api/v1/oauth/clients/\(driver.id)"
                let renamed = try await client.executeRequest(
                    uri: path, method: .patch, headers: admin.headers, body: json(OAuthClientInput(name: "Reporting")))
                #expect(try decode(OAuthClient.self, renamed).name == "Reporting")
                let rotated = try decode(
                    RegisteredOAuthClient.self,
                    try await client.executeRequest(uri: path + "/secret", method: .post, headers: admin.headers, body: nil))
                #expect(
                    try await driver.post("/oauth/token", [("grant_type", "client_credentials")]).status == .unauthorized,
                    "the old secret stopped working")
                let fresh = OAuthClientDriver(client: client, id: driver.id, secret: rotated.clientSecret, redirect: "")
                let second = try #require(
                    try await fresh.post("/oauth/token", [("grant_type", "client_credentials")]).json["access_token"] as? String)
                #expect(try await client.executeRequest(uri: path, method: .delete, headers: admin.headers, body: nil).status == .noContent)
                let after = try await client.executeRequest(
                    uri: "/api/v1/genders", method: .get, headers: [.authorization: "Bearer \(second)"], body: nil)
                #expect(after.status == .unauthorized, "a deleted client's tokens are refused at once")
                #expect(try await client.executeRequest(uri: path, method: .get, headers: admin.headers, body: nil).status == .notFound)
            }
        }
    }

    @Test("admins register, re-key and delete applications on /admin/oauth; the secret is shown once; others may not see the page")
    func adminPage() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            try await plaza.testApplication().test(.router) { client in
                let admin = Browser(client)
                try await admin.signIn(email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                #expect(try await admin.get("/admin/oauth").status == .ok && admin.lastPage.contains(#"id="oauth-client-form""#))
                #expect(admin.lastPage.contains(#"href="/admin/oauth""#), "the header links to it")
                let bad = try await admin.post(
                    "/admin/oauth",
                    [
                        ("name", "Shop"), ("type", "confidential"), ("redirectUris", "http://shop.example/cb"), ("scope", "openid"),
                        ("grant", "authorization_code"),
                    ])
                #expect(
                    bad.status == .unprocessableContent && admin.lastPage.contains("redirectUris[0]")
                        && admin.lastPage.contains("http://shop.example/cb"),
                    "the refusal names the field and keeps what was typed")
                let created = try await admin.post(
                    "/admin/oauth",
                    [
                        ("name", "Shop"), ("type", "confidential"), ("redirectUris", "https://shop.example/cb\nhttp://127.0.0.1:8000/cb"),
                        ("scope", "openid"), ("scope", "email"), ("grant", "authorization_code"), ("grant", "refresh_token"),
                    ])
                #expect(created.status == .created && admin.lastPage.contains(#"id="client-secret""#))
                let registered = try #require(try await plaza.identity.oauthClients.list(caller: Self.admin).first)
                #expect(
                    registered.redirectUris == ["https://shop.example/cb", "http://127.0.0.1:8000/cb"] && registered.scopes == ["openid", "email"])
                try await admin.get("/admin/oauth")
                #expect(!admin.lastPage.contains(#"id="client-secret""#), "the secret is not shown again")
                let rekeyed = try await admin.post("/admin/oauth/\(registered.id)/secret", [])
                #expect(rekeyed.status == .ok && admin.lastPage.contains(#"id="client-secret""#))
                #expect(try await admin.post("/admin/oauth/\(registered.id)/delete", []).status == .seeOther)
                #expect(try await plaza.identity.oauthClients.list(caller: Self.admin).isEmpty)

                let customer = Browser(client)
                try await customer.signIn(email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(try await customer.get("/admin/oauth").status == .forbidden)
            }
        }
    }

    @Test("discovery names every endpoint under the issuer and only what is supported")
    func discovery() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let response = try await client.executeRequest(uri: "/.well-known/openid-configuration", method: .get, headers: [:], body: nil)
                let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let issuer = plaza.config.baseURL
                #expect(document["issuer"] as? String == issuer && document["token_endpoint"] as? String == issuer + "/oauth/token")
                #expect(document["jwks_uri"] as? String == issuer + "/oauth/jwks")
                #expect(document["code_challenge_methods_supported"] as? [String] == ["S256"])
                #expect(document["response_types_supported"] as? [String] == ["code"])
            }
        }
    }
}
