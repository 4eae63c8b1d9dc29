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

@Suite("Two-step sign-in: TOTP, recovery codes, required roles")
struct MFATests {
    @Test("RFC 6238's SHA-1 test vectors and RFC 4648's base32 vectors")
    func vectors() {
        let secret = Data("12345678901234567890".utf8)
        let expected: [(Int64, String)] = [
            (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"), (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ]
        for (time, code) in expected {
            #expect(TOTP.code(secret: secret, step: time / 30, digits: 8) == code, "T = \(time)")
        }
        for (plain, encoded) in [
            ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
        ] {
            #expect(Base32.encode(Data(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Data(plain.utf8))
        }
        // One step of tolerance either side, no more.
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let step = TOTP.step(at: now)
        for offset in [-1, 0, 1] as [Int64] {
            #expect(TOTP.match(TOTP.code(secret: secret, step: step + offset), secret: secret, at: now) == step + offset)
        }
        for offset in [-2, 2] as [Int64] { #expect(TOTP.match(TOTP.code(secret: secret, step: step + offset), secret: secret, at: now) == nil) }
        #expect(TOTP.match("12345", secret: secret, at: now) == nil && TOTP.match("abcdef", secret: secret, at: now) == nil)
    }

    @Test("the enrolment's QR code, read back by zbarimg, is the otpauth URI")
    func qrCode() async throws {
        try #require(FileManager.default.fileExists(atPath: "/usr/bin/zbarimg"), "run scripts/deps.sh test to install zbar-tools")
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let enrolment = try await plaza.identity.startTOTP(caller: Caller(principal: Principal(id: ada.id)))
            #expect(enrolment.otpauthUri.hasPrefix("otpauth://totp/Plaza:ada%40example.com?secret=\(enrolment.secret)&issuer=Plaza"))
            let path = temporaryDirectory() + "/qr.png"
            try #require(Data(base64Encoded: enrolment.qrPng)).write(to: URL(fileURLWithPath: path))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
            process.arguments = ["--raw", "-q", path]
            let output = temporaryDirectory() + "/zbar.out"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: output)
            try process.run()
            process.waitUntilExit()
            let decoded = try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(process.terminationStatus == 0 && decoded == enrolment.otpauthUri, "\(decoded)")
        }
    }

    /// The current code for an account's secret.
    func code(_ plaza: Plaza, _ user: UUID, at date: Date) async throws -> String {
        let secret = try #require(
            try await plaza.store.sql.raw("SELECT secret FROM identity_mfa WHERE user_id = \(bind: user)").first()?
                .decode(column: "secret", as: String.self))
        return TOTP.code(secret: try #require(Base32.decode(secret)), step: TOTP.step(at: date))
    }

    func post<T: Encodable>(_ client: some TestClientProtocol, _ uri: String, _ body: T, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.executeRequest(uri: uri, method: .post, headers: headers, body: json(body))
    }

    @Test("enrol through the API; sign in with a code, not the same code twice, a recovery code once; five wrong codes end the challenge")
    func apiFlow() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock, configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let started = try await client.executeRequest(uri: "/api/v1/me/mfa/totp", method: .post, headers: ada.headers, body: nil)
                #expect(started.status == .ok && started.headers[.cacheControl] == "no-store")
                // Signed in as someone with no account row: a 404 (as for any record of theirs that is not there), not a
                // foreign-key failure.
                let nobody = try await client.executeRequest(
                    uri: "/api/v1/me/mfa/totp", method: .post, headers: [.testPrincipal: TestAuthentication.header(roles: [])], body: nil)
                #expect(nobody.status == .notFound)
                let wrong = try await post(client, "/api/v1/me/mfa/totp/confirm", MFACode(code: "000000"), token: ada.token)
                #expect(wrong.status == .unprocessableContent)
                let confirmed = try await post(
                    client, "/api/v1/me/mfa/totp/confirm", MFACode(code: try await code(plaza, ada.id, at: clock.now())), token: ada.token)
                let codes = try decode(RecoveryCodes.self, confirmed).codes
                #expect(codes.count == 10 && Set(codes).count == 10 && codes.allSatisfy { $0.count == 11 })
                let status = try decode(
                    MFAStatus.self, try await client.executeRequest(uri: "/api/v1/me/mfa", method: .get, headers: ada.headers, body: nil))
                #expect(status.enabled && status.recoveryCodesLeft == 10)

                // A password alone is not enough now.
                let credentials = Credentials(email: "ada@example.com", password: "correct horse")
                let first = try await post(client, "/api/v1/auth/login", credentials)
                #expect(first.status == .accepted)
                let challenge = try decode(MFAChallenge.self, first)
                #expect(challenge.mfaRequired && challenge.expiresIn == 300)
                await #expect(throws: PlazaError.self) { try await plaza.identity.login(credentials, caller: .system("test")) }
                // The code that confirmed the enrolment was this step's: it does not work twice.
                let replay = try await post(
                    client, "/api/v1/auth/mfa", MFAVerification(mfaToken: challenge.mfaToken, code: try await code(plaza, ada.id, at: clock.now())))
                #expect(replay.status == .unauthorized && String(buffer: replay.body).contains("mfa-code-wrong"))
                clock.advance(by: 30)
                let signedIn = try await post(
                    client, "/api/v1/auth/mfa", MFAVerification(mfaToken: challenge.mfaToken, code: try await code(plaza, ada.id, at: clock.now())))
                let tokens = try decode(TokenPair.self, signedIn)
                #expect(((payload(tokens.accessToken)["amr"] as? [String]) ?? []).contains("mfa"))
                let again = try await post(
                    client, "/api/v1/auth/mfa", MFAVerification(mfaToken: challenge.mfaToken, code: try await code(plaza, ada.id, at: clock.now())))
                #expect(again.status == .unauthorized, "a challenge answers once")

                // A recovery code works once (typed in lower case and without its dash, too).
                let second = try decode(MFAChallenge.self, try await post(client, "/api/v1/auth/login", credentials))
                let recovery = codes[3].lowercased().replacingOccurrences(of: "-", with: "")
                #expect(try await post(client, "/api/v1/auth/mfa", MFAVerification(mfaToken: second.mfaToken, code: recovery)).status == .ok)
                let third = try decode(MFAChallenge.self, try await post(client, "/api/v1/auth/login", credentials))
                #expect(try await post(client, "/api/v1/auth/mfa", MFAVerification(mfaToken: third.mfaToken, code: codes[3])).status == .unauthorized)
                // Five wrong codes (that one was the first) end the challenge; the right code no longer helps.
                for _ in 0..<4 { _ = try await post(client, "/api/v1/auth/mfa", MFAVerification(mfaToken: third.mfaToken, code: "123456")) }
                #expect(
                    try await post(client, "/api/v1/auth/login", credentials).status == .tooManyRequests,
                    "wrong codes count towards the account's sign-in lock, so new challenges buy no more guesses")
                clock.advance(by: 30)
                let dead = try await post(
                    client, "/api/v1/auth/mfa", MFAVerification(mfaToken: third.mfaToken, code: try await code(plaza, ada.id, at: clock.now())))
                #expect(dead.status == .unauthorized && String(buffer: dead.body).contains("mfa-challenge-invalid"))
                // Expired challenges too.
                let fourth = try decode(MFAChallenge.self, try await post(client, "/api/v1/auth/login", credentials))
                clock.advance(by: 301)
                let late = try await post(
                    client, "/api/v1/auth/mfa", MFAVerification(mfaToken: fourth.mfaToken, code: try await code(plaza, ada.id, at: clock.now())))
                #expect(late.status == .unauthorized && String(buffer: late.body).contains("mfa-challenge-invalid"))

                // Off again: the password and a code.
                let access = tokens.accessToken
                let refused = try await client.executeRequest(
                    uri: "/api/v1/me/mfa", method: .delete, headers: [.authorization: "Bearer \(access)", .contentType: "application/json"],
                    body: json(MFADisable(password: "wrong", code: "123456")))
                #expect(refused.status == .unprocessableContent)
                let fresh = try decode(
                    TokenPair.self, try await post(client, "/api/v1/auth/refresh", RefreshRequest(refreshToken: tokens.refreshToken)))
                let off = try await client.executeRequest(
                    uri: "/api/v1/me/mfa", method: .delete,
                    headers: [.authorization: "Bearer \(fresh.accessToken)", .contentType: "application/json"],
                    body: json(MFADisable(password: "correct horse", code: codes[0])))
                #expect(off.status == .noContent)
                #expect(try await post(client, "/api/v1/auth/login", credentials).status == .ok)
                let audit = try await plaza.store.sql.raw("SELECT action FROM plaza_audit_log WHERE action LIKE 'identity.mfa.%'").all()
                    .map { try $0.decode(column: "action", as: String.self) }
                #expect(Set(audit) == ["identity.mfa.enable", "identity.mfa.failed", "identity.mfa.disable"])
            }
        }
    }

    @Test("a role that needs a second factor acts only in a session that passed one")
    func requiredRoles() async throws {
        let clock = ManualClock()
        try await withTestPlaza(
            clock: clock,
            configure: {
                $0.edge.rateLimits = []; $0.mfaRequiredRoles = [SystemRole.admin]
            }
        ) { plaza in
            let root = try await person(plaza, "root@example.com")
            _ = try await plaza.identity.grantRole(RoleGrant(role: SystemRole.admin), to: root.id, caller: .system("test"))
            try await plaza.testApplication().test(.router) { client in
                let password = try decode(
                    TokenPair.self, try await post(client, "/api/v1/auth/login", Credentials(email: "root@example.com", password: "correct horse")))
                let bearer: HTTPFields = [.authorization: "Bearer \(password.accessToken)"]
                #expect(try await client.executeRequest(uri: "/api/v1/admin/users", method: .get, headers: bearer, body: nil).status == .forbidden)
                let status = try decode(
                    MFAStatus.self, try await client.executeRequest(uri: "/api/v1/me/mfa", method: .get, headers: bearer, body: nil))
                #expect(status.required && !status.enabled)
                _ = try await client.executeRequest(uri: "/api/v1/me/mfa/totp", method: .post, headers: bearer, body: nil)
                let confirmed = try await post(
                    client, "/api/v1/me/mfa/totp/confirm", MFACode(code: try await code(plaza, root.id, at: clock.now())), token: password.accessToken
                )
                #expect(confirmed.status == .ok)
                // The session proved the second factor: its next token carries it.
                let refreshed = try decode(
                    TokenPair.self, try await post(client, "/api/v1/auth/refresh", RefreshRequest(refreshToken: password.refreshToken)))
                #expect(
                    try await client.executeRequest(
                        uri: "/api/v1/admin/users", method: .get, headers: [.authorization: "Bearer \(refreshed.accessToken)"], body: nil
                    ).status == .ok)
            }
        }
    }

    @Test("pages: set up with the QR code, then sign in with a code; the OpenID Connect sign-in asks for it too")
    func pages() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock, configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                try await browser.signIn(email: "ada@example.com", password: "correct horse")
                #expect(try await browser.get("/account/mfa").status == .ok && browser.lastPage.contains(#"id="mfa-start-form""#))
                #expect(try await browser.post("/account/mfa/totp", []).status == .ok)
                #expect(browser.lastPage.contains(#"<img src="data:image/png;base64,"#) && browser.lastPage.contains(#"id="mfa-confirm-form""#))
                #expect(try await browser.post("/account/mfa/confirm", [("code", "000000")]).status == .unprocessableContent)
                #expect(try await browser.post("/account/mfa/confirm", [("code", try await code(plaza, ada.id, at: clock.now()))]).status == .ok)
                #expect(browser.lastPage.contains(#"id="recovery-codes""#))
                _ = try await browser.post("/sign-out", [])

                let registered = try await plaza.identity.oauthClients.register(
                    OAuthClientInput(name: "Shop", redirectUris: ["https://shop.example/callback"]),
                    caller: Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin])))
                let driver = OAuthClientDriver(
                    client: client, id: registered.client.id.uuidString.lowercased(), secret: registered.clientSecret,
                    redirect: "https://shop.example/callback")
                let (verifier, challenge) = pkce()
                let toSignIn = try await browser.get(driver.authorizeURI(challenge: challenge))
                let next = try #require(query(toSignIn.location)["next"])
                try await browser.get(try #require(toSignIn.location))
                let password = try await browser.post("/sign-in", [("email", "ada@example.com"), ("password", "correct horse"), ("next", next)])
                #expect(password.location?.hasPrefix("/sign-in/code?next=") == true, "the password leads to the code step")
                try await browser.get(try #require(password.location))
                let wrong = try await browser.post("/sign-in/code", [("code", "000000"), ("next", next)])
                #expect(wrong.status == .unauthorized && browser.lastPage.contains("That code is wrong"))
                clock.advance(by: 30)
                let signedIn = try await browser.post("/sign-in/code", [("code", try await code(plaza, ada.id, at: clock.now())), ("next", next)])
                #expect(signedIn.location == next)
                let code = try await authorize(browser, driver, challenge: challenge)
                let tokens = try await driver.exchange(code, verifier: verifier)
                let id = payload(try #require(tokens.json["id_token"] as? String))
                #expect((id["amr"] as? [String])?.contains("mfa") == true, "\(id)")
            }
        }
    }

    /// Answers the consent page with `allow` and returns the code.
    func authorize(_ browser: Browser, _ driver: OAuthClientDriver, challenge: String) async throws -> String {
        let page = try await browser.get(driver.authorizeURI(challenge: challenge))
        #expect(page.status == .ok, "the consent page")
        let answered = try await browser.post(
            "/oauth/authorize", query(driver.authorizeURI(challenge: challenge)).map { ($0.key, $0.value) } + [("decision", "allow")])
        return try #require(query(answered.location)["code"])
    }
}
