import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

func body(_ value: some Encodable) -> ByteBuffer {
    ByteBuffer(data: try! PlazaJSON.encoder().encode(value))
}

func decoded<T: Decodable>(_ type: T.Type, _ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) -> T? {
    do {
        return try PlazaJSON.decoder().decode(T.self, from: Data(buffer: response.body))
    } catch {
        Issue.record("cannot decode \(T.self) from \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return nil
    }
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)", .contentType: "application/json"] }

/// Registers and signs in through the API; returns the token pair.
func signUp(_ client: some TestClientProtocol, email: String, role: String? = nil) async throws -> TokenPair? {
    try await client.execute(
        uri: "/api/v1/auth/register", method: .post, headers: jsonHeaders,
        body: body(Registration(email: email, password: "correct horse", firstName: "Ada", lastName: "Lovelace", role: role))
    ) { response in #expect(response.status == .created, "\(String(buffer: response.body))") }
    return try await client.execute(
        uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders, body: body(Credentials(email: email, password: "correct horse"))
    ) { response in decoded(TokenPair.self, response) }
}

@Suite("Sign-up, sign-in and tokens")
struct IdentityTests {
    @Test("sign up, sign in, and read the profile with the access token")
    func registerLoginMe() async throws {
        try await withTestPlaza(apps: [NotesApp.self]) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "Ada@Example.com", role: "note-taker"))
                #expect(tokens.tokenType == "Bearer")
                #expect(tokens.expiresIn == 900)
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { response in
                    #expect(response.status == .ok)
                    let me = decoded(Me.self, response)
                    #expect(me?.email == "ada@example.com")
                    #expect(me?.roles == ["note-taker"])
                    #expect(me?.appRoles == ["*": ["note-taker"]])
                    #expect(me?.organisations == [])
                }
                try await client.execute(uri: "/api/v1/me", method: .get) { response in #expect(response.status == .unauthorized) }
            }
        }
    }

    @Test("bad sign-ups are 422 with a field each; a taken email is 409")
    func registrationErrors() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let bad = Registration(email: "not-an-email", password: "short", firstName: "", lastName: "X", role: "admin", locale: "fr")
                try await client.execute(uri: "/api/v1/auth/register", method: .post, headers: jsonHeaders, body: body(bad)) { response in
                    #expect(response.status == .unprocessableContent)
                    let fields = decoded(Problem.self, response)?.errors?.map(\.field)
                    #expect(fields == ["email", "password", "firstName", "role", "locale"])
                }
                _ = try await signUp(client, email: "grace@example.com")
                try await client.execute(
                    uri: "/api/v1/auth/register", method: .post, headers: jsonHeaders,
                    body: body(Registration(email: " GRACE@example.com ", password: "another password", firstName: "G", lastName: "H"))
                ) { response in #expect(response.status == .conflict) }
            }
        }
    }

    @Test("a wrong password and an unknown email get the same 401")
    func wrongCredentials() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                _ = try await signUp(client, email: "alan@example.com")
                var answers: [String] = []
                for credentials in [
                    Credentials(email: "alan@example.com", password: "wrong password"),
                    Credentials(email: "nobody@example.com", password: "wrong password"),
                ] {
                    try await client.execute(uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders, body: body(credentials)) { response in
                        #expect(response.status == .unauthorized)
                        answers.append(decoded(Problem.self, response)?.detail ?? "")
                    }
                }
                #expect(answers[0] == answers[1])
            }
        }
    }

    @Test("refresh rotates the token; reusing an old one ends the whole session")
    func refreshRotationAndReuse() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let first = try #require(try await signUp(client, email: "rotate@example.com"))
                let second = try #require(
                    try await client.execute(
                        uri: "/api/v1/auth/refresh", method: .post, headers: jsonHeaders, body: body(RefreshRequest(refreshToken: first.refreshToken))
                    ) { response in decoded(TokenPair.self, response) })
                #expect(second.refreshToken != first.refreshToken)
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(second.accessToken)) { #expect($0.status == .ok) }
                // The first refresh token comes back: someone copied it. The session ends for everyone.
                try await client.execute(
                    uri: "/api/v1/auth/refresh", method: .post, headers: jsonHeaders, body: body(RefreshRequest(refreshToken: first.refreshToken))
                ) { response in
                    #expect(response.status == .unauthorized)
                    #expect(decoded(Problem.self, response)?.detail?.contains("already used") == true)
                }
                try await client.execute(
                    uri: "/api/v1/auth/refresh", method: .post, headers: jsonHeaders, body: body(RefreshRequest(refreshToken: second.refreshToken))
                ) { response in #expect(response.status == .unauthorized) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(second.accessToken)) { response in
                    #expect(response.status == .unauthorized, "a revoked session's access token stops working at once")
                }
                try await client.execute(
                    uri: "/api/v1/auth/refresh", method: .post, headers: jsonHeaders, body: body(RefreshRequest(refreshToken: "made-up"))
                ) { response in #expect(response.status == .unauthorized) }
            }
        }
    }

    @Test("signing out ends the session: its access and refresh tokens stop working")
    func logout() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "bye@example.com"))
                try await client.execute(uri: "/api/v1/auth/logout", method: .post, headers: bearer(tokens.accessToken)) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/api/v1/auth/refresh", method: .post, headers: jsonHeaders, body: body(RefreshRequest(refreshToken: tokens.refreshToken))
                ) { #expect($0.status == .unauthorized) }
            }
        }
    }

    @Test("forged, expired and foreign tokens are refused with 401")
    func forgedTokens() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(clock: clock) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "mallory@example.com"))
                let parts = tokens.accessToken.split(separator: ".").map(String.init)
                func b64(_ text: String) -> String { Data(text.utf8).base64URLEncodedString() }
                // alg: none, with the real claims and no signature.
                let none = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + parts[1] + "."
                // HS256 "signed" with the public key as the HMAC secret (the classic key-confusion attack).
                let jwks = try #require(try await plaza.identity.jwks().keys.first)
                let hmacKeys = JWTKeyCollection()
                await hmacKeys.add(hmac: HMACKey(from: jwks.x + jwks.y), digestAlgorithm: .sha256, kid: JWKIdentifier(string: jwks.kid))
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .secondsSince1970
                let claims = try decoder.decode(AccessClaims.self, from: Data(base64URLEncoded: parts[1])!)
                let hs256 = try await hmacKeys.sign(claims, kid: JWKIdentifier(string: jwks.kid))
                // A token for another audience, properly signed.
                var foreign = claims
                foreign.aud = AudienceClaim(value: ["someone-else"])
                let otherAudience = try await plaza.identity.issuer.sign(foreign)
                for token in [none, hs256, otherAudience, parts[0] + "." + parts[1] + ".AAAA", "garbage"] {
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(token)) { response in
                        #expect(response.status == .unauthorized, "\(token.prefix(40))")
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                    }
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { #expect($0.status == .ok) }
                clock.advance(by: 901)
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { response in
                    #expect(response.status == .unauthorized, "expired")
                }
            }
        }
    }

    @Test("JWKS publishes the key that signed the token")
    func jwksMatchesTokens() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "keys@example.com"))
                let header = try JSONDecoder().decode(
                    [String: String].self, from: Data(base64URLEncoded: String(tokens.accessToken.split(separator: ".")[0]))!)
                #expect(header["alg"] == "ES256")
                try await client.execute(uri: "/oauth/jwks", method: .get) { response in
                    let document = decoded(JWKSDocument.self, response)
                    #expect(document?.keys.map(\.kid) == [header["kid"] ?? "missing"])
                    #expect(document?.keys.first?.crv == "P-256")
                }
            }
        }
    }

    @Test("demo accounts sign in with their roles, and an operator's token opens the operators' API")
    func demoAccounts() async throws {
        try await withTestPlaza { plaza in
            try await Demo.seed(plaza)
            try await plaza.testApplication().test(.router) { client in
                for role in ["admin", "operator", "customer"] {
                    let tokens = try #require(
                        try await client.execute(
                            uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                            body: body(Credentials(email: "\(role)@demo.plaza.test", password: "plaza-demo"))
                        ) { response in decoded(TokenPair.self, response) })
                    try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { response in
                        #expect(decoded(Me.self, response)?.roles == [role])
                    }
                    try await client.execute(uri: "/api/v1/operations/jobs", method: .get, headers: bearer(tokens.accessToken)) { response in
                        #expect(response.status == (role == "customer" ? .forbidden : .ok), "\(role)")
                    }
                }
            }
        }
    }
}

@Suite("Signing key rotation")
struct KeyRotationTests {
    @Test("after a rotation new tokens use the new key and tokens already issued still verify")
    func rotation() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let before = try #require(try await signUp(client, email: "rotating@example.com"))
                let oldKid = try await plaza.identity.jwks().keys.first?.kid
                let newKid = try await plaza.identity.rotateSigningKeys(caller: .system("test"))
                #expect(newKid != oldKid)
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(before.accessToken)) { #expect($0.status == .ok) }
                let after = try #require(
                    try await client.execute(
                        uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                        body: body(Credentials(email: "rotating@example.com", password: "correct horse"))
                    ) { decoded(TokenPair.self, $0) })
                let header = try JSONDecoder().decode(
                    [String: String].self, from: Data(base64URLEncoded: String(after.accessToken.split(separator: ".")[0]))!)
                #expect(header["kid"] == newKid)
                #expect(Set(try await plaza.identity.jwks().keys.map(\.kid)) == Set([oldKid, newKid].compactMap { $0 }))
            }
        }
    }
}
