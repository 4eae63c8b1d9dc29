import Foundation
import HTTPTypes
import Gateway
import Hummingbird
import HummingbirdTesting
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Web

/// Pages under test: no edge rate limits (a test posts more forms a minute than a person would).
func withPagesPlaza<T: Sendable>(_ body: (Plaza) async throws -> T) async throws -> T {
    // With the seam's test app, so the pages show an app's roles and organisation types beside the core's.
    try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.rateLimits = [] }, body)
}

/// Signs a browser up through the pages.
func signUp(_ browser: Browser, email: String, password: String = "correct horse") async throws -> TestResponse {
    try await browser.get("/sign-up")
    return try await browser.post(
        "/sign-up",
        [
            ("email", email), ("password", password), ("firstName", "Ada"), ("lastName", "Lovelace"), ("role", "customer"),
            ("locale", "en"), ("timeZone", "Europe/Kyiv"),
        ])
}

func signIn(_ browser: Browser, email: String, password: String) async throws -> TestResponse {
    try await browser.signIn(email: email, password: password)
}

func seedDemo(_ plaza: Plaza) async throws {
    try await plaza.store.transaction { transaction in try await IdentityDemo.seed(plaza.identity, in: transaction) }
}

@Suite("Pages: sign-up, sign-in, sessions and CSRF")
struct SignInPageTests {
    @Test("signing up through the page opens a session held by an HttpOnly, SameSite=Lax cookie")
    func signUpPage() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                let form = try await browser.get("/sign-up")
                #expect(form.status == .ok)
                #expect(form.text.contains(#"<form method="post" action="/sign-up""#))
                #expect(browser.cookies[CSRF.cookieName] != nil)
                #expect(browser.cookieAttributes[CSRF.cookieName]?.contains("HttpOnly") == true)

                let created = try await signUp(browser, email: "Ada@Example.com")
                #expect(created.status == .seeOther)
                #expect(created.location == "/account?notice=signed-up")
                let session = try #require(browser.cookieAttributes[WebSessionCookie.name])
                #expect(session.contains("HttpOnly"))
                #expect(session.contains("SameSite=Lax"))
                #expect(!session.contains("Secure"), "plain HTTP without a TLS proxy: a Secure cookie would never come back")
                #expect(session.contains("Path=/"))

                let account = try await browser.get(try #require(created.location))
                #expect(account.status == .ok)
                #expect(account.text.contains("ada@example.com"))
                #expect(account.text.contains("Ada Lovelace"))
                #expect(account.text.contains("Welcome! Your account is ready."))
                #expect(account.headers[.cacheControl] == "no-store")

                // The account exists for the API too, with the role and time zone the form chose.
                let user = try #require(try await plaza.identity.searchUsers(UserQuery(text: "ada@example.com"), page: PageRequest()).items.first)
                let me = try await plaza.identity.me(user.id)
                #expect(me.roles == ["customer"])
                #expect(me.timeZone == "Europe/Kyiv")
            }
        }
    }

    @Test("sign-up errors are shown beside their fields and nothing is created")
    func signUpErrors() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                let refused = try await signUp(browser, email: "not-an-email", password: "short")
                #expect(refused.status == .unprocessableContent)
                #expect(refused.text.contains("is not an email address"))
                #expect(refused.text.contains("must be at least 8 characters"))
                #expect(refused.text.contains(#"value="not-an-email""#), "the form keeps what was typed")
                #expect(!refused.text.contains(#"value="short""#), "but never echoes a password")
                #expect(browser.cookies[WebSessionCookie.name] == nil)
                #expect(try await plaza.identity.searchUsers(UserQuery(), page: PageRequest()).items.isEmpty)

                _ = try await signUp(browser, email: "taken@example.com")
                let second = Browser(client)
                let duplicate = try await signUp(second, email: "taken@example.com")
                #expect(duplicate.status == .conflict)
                #expect(duplicate.text.contains("An account with this email already exists."))
            }
        }
    }

    @Test("sign in with the form: a wrong password is a 401 page, the right one a session; signing out ends it")
    func signInAndOut() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                let wrong = try await signIn(browser, email: IdentityDemo.email(for: "customer"), password: "not it")
                #expect(wrong.status == .unauthorized)
                #expect(wrong.text.contains("The email or password is wrong."))
                #expect(browser.cookies[WebSessionCookie.name] == nil)

                let signedOutAccount = try await browser.get("/account?tab=1")
                #expect(signedOutAccount.status == .seeOther)
                #expect(signedOutAccount.location == "/sign-in?next=%2Faccount%3Ftab%3D1")

                try await browser.get("/sign-in?next=%2Forganisations")
                let right = try await browser.post(
                    "/sign-in",
                    [
                        ("email", IdentityDemo.email(for: "customer")), ("password", IdentityDemo.password), ("next", "/organisations"),
                    ])
                #expect(right.status == .seeOther)
                #expect(right.location == "/organisations")
                #expect(try await browser.get("/account").status == .ok)

                // `next` never leads off the site.
                let elsewhere = Browser(client)
                try await elsewhere.get("/sign-in")
                let offsite = try await elsewhere.post(
                    "/sign-in",
                    [
                        ("email", IdentityDemo.email(for: "customer")), ("password", IdentityDemo.password), ("next", "//evil.example/x"),
                    ])
                #expect(offsite.location == "/account")

                let cookie = try #require(browser.cookies[WebSessionCookie.name])
                try await browser.get("/account")
                let out = try await browser.post("/sign-out", [])
                #expect(out.status == .seeOther)
                #expect(browser.cookies[WebSessionCookie.name] == nil)
                // The old cookie is dead on the server too, not just forgotten by this browser.
                browser.set(cookie: WebSessionCookie.name, cookie)
                #expect(try await browser.get("/account").status == .seeOther)
                // Without asking for HTML the answer is the API's 401.
                let api = try await client.executeRequest(
                    uri: "/account", method: .get, headers: [.cookie: "\(WebSessionCookie.name)=\(cookie)"], body: nil)
                #expect(api.status == .unauthorized)
            }
        }
    }

    @Test("a forged form post is refused with 403 and changes nothing")
    func forgedPosts() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signIn(browser, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                try await browser.get("/account")
                let profile: [(String, String)] = [("firstName", "Mallory"), ("lastName", "Forged")]

                // No token at all: what another site's auto-submitting form sends.
                let missing = try await browser.post("/account", profile, csrf: .some(nil))
                #expect(missing.status == .forbidden)
                #expect(missing.text.contains("This form has expired"))

                // A token the attacker minted for their own browser does not fit this one's cookie.
                let attacker = Browser(client)
                try await attacker.get("/sign-in")
                let foreign = try await browser.post("/account", profile, csrf: .some(attacker.csrfToken))
                #expect(foreign.status == .forbidden)

                // The right token, but the browser says the post came from another site.
                let crossOrigin = try await browser.post("/account", profile, headers: [.origin: "https://evil.example"])
                #expect(crossOrigin.status == .forbidden)
                let crossSite = try await browser.post("/account", profile, headers: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
                #expect(crossSite.status == .forbidden)

                // A token from before sign-in is bound to no session, so it does not work after it.
                let fresh = Browser(client)
                try await fresh.get("/sign-in")
                let anonymousToken = try #require(fresh.csrfToken)
                _ = try await fresh.post("/sign-in", [("email", IdentityDemo.email(for: "customer")), ("password", IdentityDemo.password)])
                #expect(try await fresh.post("/account", profile, csrf: .some(anonymousToken)).status == .forbidden)

                // JSON is not a form.
                let json = try await client.executeRequest(
                    uri: "/account", method: .post,
                    headers: [.contentType: "application/json", .cookie: "\(WebSessionCookie.name)=\(browser.cookies[WebSessionCookie.name]!)"],
                    body: .init(string: #"{"firstName":"Mallory"}"#))
                #expect(json.status == .unsupportedMediaType)

                let user = try #require(try await plaza.identity.searchUsers(UserQuery(text: "customer@demo"), page: PageRequest()).items.first)
                #expect(try await plaza.identity.me(user.id).firstName == "Customer")

                // The same post with the page's own token and origin goes through.
                try await browser.get("/account")
                let honest = try await browser.post("/account", profile + [("locale", "en"), ("timeZone", "UTC")])
                #expect(honest.status == .seeOther, "\(honest.text)")
                #expect(try await plaza.identity.me(user.id).firstName == "Mallory")
            }
        }
    }

    @Test("a forged sign-in post opens no session")
    func forgedSignIn() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                try await browser.get("/sign-in")
                let forged = try await browser.post(
                    "/sign-in", [("email", IdentityDemo.email(for: "admin")), ("password", IdentityDemo.password)], csrf: .some(nil))
                #expect(forged.status == .forbidden)
                #expect(browser.cookies[WebSessionCookie.name] == nil)
            }
        }
    }

    @Test("the session cookie is Secure when the client came over TLS through a trusted proxy")
    func secureBehindTLS() async throws {
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []
            $0.edge.trustedProxies = [try! IPAddressRange("127.0.0.1"), try! IPAddressRange("::1")]
        }) { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.live) { client in
                let browser = Browser(client)
                browser.extraHeaders[HTTPField.Name("X-Forwarded-Proto")!] = "https"
                _ = try await signIn(browser, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(browser.cookieAttributes[WebSessionCookie.name]?.contains("Secure") == true)
                #expect(browser.cookieAttributes[CSRF.cookieName]?.contains("Secure") == true)
            }
        }
    }

    @Test("verifying an email and resetting a password through the pages")
    func codesThroughPages() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "grace@example.com")
                let verification = try #require(try await plaza.issuedCodes().last)
                try await browser.get("/verify-email?email=grace%40example.com")
                let wrong = try await browser.post("/verify-email", [("email", "grace@example.com"), ("code", "000000")])
                #expect(wrong.status == .badRequest)
                #expect(wrong.text.contains("The code is wrong, expired or already used."))
                let verified = try await browser.post("/verify-email", [("email", "grace@example.com"), ("code", verification.code)])
                #expect(verified.location == "/account?notice=email-verified")
                #expect(try await plaza.identity.me(verification.userId).emailVerified)

                let other = Browser(client)
                try await other.get("/reset-password")
                let asked = try await other.post("/reset-password", [("email", "grace@example.com")])
                #expect(asked.location == "/reset-password/confirm?notice=code-sent&email=grace@example.com")
                let reset = try #require(try await plaza.issuedCodes().last)
                #expect(reset.purpose == .resetPassword)
                try await other.get(asked.location!)
                let done = try await other.post(
                    "/reset-password/confirm",
                    [
                        ("email", "grace@example.com"), ("code", reset.code), ("newPassword", "a new horse"),
                    ])
                #expect(done.location == "/sign-in?notice=password-reset")
                // The reset ended every session, including the first browser's.
                #expect(try await browser.get("/account").status == .seeOther)
                #expect(try await signIn(other, email: "grace@example.com", password: "a new horse").status == .seeOther)
            }
        }
    }
}

@Suite("Pages in a real browser", .timeLimit(.minutes(5)))
struct BrowserTests {
    @Test("Chromium signs up, saves its profile, signs out and in; a same-site forged post is refused")
    func chromium() async throws {
        #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install selenium into .venv")
        #expect(FileManager.default.fileExists(atPath: "/usr/bin/chromedriver"), "run scripts/deps.sh test to install chromium-driver")
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                let (status, output) = try await PythonPeer.run([PythonPeer.script("browser_sign_in.py"), "http://127.0.0.1:\(port)"])
                #expect(status == 0, "\(output)")
                for step in ["signed up", "profile saved", "signed in", "forged post refused"] {
                    #expect(output.contains(step), "\(output)")
                }
            }
        }
    }
}
