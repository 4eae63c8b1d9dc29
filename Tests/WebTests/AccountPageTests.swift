import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Web

@Suite("Pages: account, admin, organisations, languages")
struct AccountPageTests {
    @Test("the profile page saves changes and shows a bad field beside itself")
    func profile() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "ada@example.com")
                try await browser.get("/account")
                let fields: [(String, String)] = [
                    ("firstName", "Augusta Ada"), ("lastName", "King"), ("bio", "Notes on the engine"), ("birthDate", "1985-12-10"),
                    ("gender", "female"), ("locale", "en"), ("timeZone", "Europe/London"),
                ]
                let bad = try await browser.post("/account", fields + [("mobile", "call me")])
                #expect(bad.status == .unprocessableContent)
                #expect(bad.text.contains("must be a phone number in international form"))
                #expect(bad.text.contains(#"value="call me""#), "the form keeps what was typed")
                let user = try #require(try await plaza.identity.searchUsers(UserQuery(text: "ada@"), page: PageRequest()).items.first)
                #expect(try await plaza.identity.me(user.id).firstName == "Ada", "a refused form writes nothing")

                let good = try await browser.post("/account", fields + [("mobile", "+44 20 7946 0000")])
                #expect(good.location == "/account?notice=profile-saved")
                let me = try await plaza.identity.me(user.id)
                #expect(me.firstName == "Augusta Ada")
                #expect(me.mobile == "+442079460000")
                #expect(me.birthDate == "1985-12-10")
                #expect(me.gender == "female")
                #expect(me.bio == "Notes on the engine")
                #expect(me.timeZone == "Europe/London")
                let page = try await browser.get("/account?notice=profile-saved")
                #expect(page.text.contains("Your profile is saved."))
                #expect(page.text.contains(#"<option value="female" selected>"#))
            }
        }
    }

    @Test("the sessions page ends another browser's session at once; changing the password ends the others")
    func sessions() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let laptop = Browser(client)
                let phone = Browser(client)
                _ = try await signUp(laptop, email: "ada@example.com")
                _ = try await signIn(phone, email: "ada@example.com", password: "correct horse")
                let list = try await laptop.get("/account/sessions")
                #expect(list.status == .ok)
                let ids = list.text.matches(of: /\/account\/sessions\/([0-9A-F-]{36})\/revoke/).map { String($0.1) }
                #expect(ids.count == 2)
                #expect(list.text.contains("this browser"))

                // End the session that is not this browser's.
                let laptopSession = try #require(
                    try await plaza.identity.authenticate(sessionCookie: laptop.cookies[WebSessionCookie.name]!)?.sessionID)
                let other = try #require(ids.first { $0 != laptopSession.uuidString })
                let ended = try await laptop.post("/account/sessions/\(other)/revoke", [])
                #expect(ended.location == "/account/sessions?notice=session-ended")
                #expect(try await phone.get("/account").status == .seeOther, "the phone is signed out at once")
                #expect(try await laptop.get("/account").status == .ok)

                _ = try await signIn(phone, email: "ada@example.com", password: "correct horse")
                try await laptop.get("/account/password")
                let wrong = try await laptop.post("/account/password", [("currentPassword", "nope"), ("newPassword", "another horse")])
                #expect(wrong.status == .unprocessableContent)
                #expect(wrong.text.contains("is not your current password"))
                let changed = try await laptop.post("/account/password", [("currentPassword", "correct horse"), ("newPassword", "another horse")])
                #expect(changed.location == "/account?notice=password-changed")
                #expect(try await laptop.get("/account").status == .ok, "this browser stays signed in")
                #expect(try await phone.get("/account").status == .seeOther, "the other one does not")
            }
        }
    }

    @Test("data export downloads JSON; deleting the account signs the browser out")
    func exportAndDelete() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "ada@example.com")
                let export = try await browser.get("/account/export")
                #expect(export.status == .ok)
                #expect(export.headers[.contentDisposition] == "attachment; filename=\"plaza-data.json\"")
                let data = try PlazaJSON.decoder().decode(DataExport.self, from: Data(buffer: export.body))
                #expect(data.profile.email == "ada@example.com")

                try await browser.get("/account/delete")
                let refused = try await browser.post("/account/delete", [("password", "wrong")])
                #expect(refused.status == .unprocessableContent)
                let deleted = try await browser.post("/account/delete", [("password", "correct horse")])
                #expect(deleted.location == "/sign-in?notice=account-deleted")
                #expect(browser.cookies[WebSessionCookie.name] == nil)
                #expect(try await plaza.identity.me(data.profile.id).status == "deleted")
            }
        }
    }

    @Test("pages speak Ukrainian when asked, remember the choice, and translate field errors")
    func ukrainian() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client, language: "uk-UA,uk;q=0.9,en;q=0.5")
                let page = try await browser.get("/sign-in")
                #expect(page.text.contains(#"<html lang="uk">"#))
                #expect(page.text.contains("Увійти"))
                #expect(page.text.contains(#"<a href="?lang=en""#))

                let refused = try await signUp(browser, email: "ivan@example.com", password: "short")
                #expect(refused.text.contains("має містити щонайменше 8 символів"))

                // The switch in the header sets a cookie that outranks the browser's languages.
                let english = try await browser.get("/sign-in?lang=en")
                #expect(english.text.contains(#"<html lang="en">"#))
                #expect(browser.cookies[Language.cookieName] == "en")
                #expect(try await browser.get("/sign-in").text.contains(#"<html lang="en">"#))

                // Signing in switches the pages to the account's own language.
                let ukrainian = Browser(client)
                _ = try await ukrainian.get("/sign-up?lang=uk")
                _ = try await ukrainian.post(
                    "/sign-up",
                    [
                        ("email", "olena@example.com"), ("password", "correct horse"), ("firstName", "Олена"), ("lastName", "Пчілка"),
                        ("locale", "uk"), ("timeZone", "Europe/Kyiv"),
                    ])
                let account = try await ukrainian.get("/account")
                #expect(account.text.contains("Ваш обліковий запис"))
                #expect(account.text.contains("Олена Пчілка"))
            }
        }
    }

    @Test("both languages have every key, and every key the pages use exists")
    func catalogueIsComplete() throws {
        #expect(Set(Catalogue.en.keys) == Set(Catalogue.uk.keys), "\(Set(Catalogue.en.keys).symmetricDifference(Catalogue.uk.keys).sorted())")
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Web")
        var used: Set<String> = []
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)! where file.pathExtension == "swift"
        {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /\{\{[#^]?t\.([a-z_]+)\}\}/) { used.insert(String(match.1)) }
            for match in text.matches(of: /\.t\("([a-z_]+)"\)/) { used.insert(String(match.1)) }
        }
        #expect(used.count > 50)
        #expect(used.subtracting(Catalogue.en.keys).isEmpty, "\(used.subtracting(Catalogue.en.keys).sorted())")
        for role in Roles.system + Roles.organisation { #expect(Catalogue.en["role_\(role)"] != nil, "\(role)") }
        // App roles and organisation types bring their labels (the role catalogue), in both languages.
        for role in RoleCatalogue.core.appRoles { #expect(role.labels["en"] != nil && role.labels["uk"] != nil, "\(role.name)") }
        for type in RoleCatalogue.core.organisationTypes { #expect(type.labels["en"] != nil && type.labels["uk"] != nil, "\(type.name)") }
    }

    @Test("every template parses, and a value is escaped")
    func templates() throws {
        let renderer = try Renderer(templates: Templates.all)
        let html = renderer.render("error", ["heading": "<script>alert(1)</script>", "detail": "x", "t": Catalogue.en])
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("<script>alert"))
    }

    @Test("admins search, disable and re-enable users; a disabled user's cookie stops at once; others get a 403 page")
    func adminUsers() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let admin = Browser(client)
                _ = try await signIn(admin, email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                let customer = Browser(client)
                _ = try await signIn(customer, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)

                let forbidden = try await customer.get("/admin/users")
                #expect(forbidden.status == .forbidden)
                #expect(forbidden.text.contains("Not allowed"))

                let all = try await admin.get("/admin/users?limit=3")
                #expect(all.status == .ok)
                #expect(all.text.contains("rel=\"next\""))
                let found = try await admin.get("/admin/users?q=customer&status=active")
                let id = try #require(found.text.firstMatch(of: /\/admin\/users\/([0-9A-F-]{36})/).map { String($0.1) })
                #expect(found.text.contains(IdentityDemo.email(for: "customer")))
                #expect(!found.text.contains(IdentityDemo.email(for: "employee")))
                #expect(try await admin.get("/admin/users?status=lost").status == .unprocessableContent)

                let detail = try await admin.get("/admin/users/\(id)")
                #expect(detail.text.contains("Customer Demo"))
                let disabled = try await admin.post("/admin/users/\(id)/status", [("status", "disabled")])
                #expect(disabled.location == "/admin/users/\(id)?notice=user-disabled")
                #expect(try await customer.get("/account").status == .seeOther, "the disabled user's browser is signed out at once")

                try await admin.get("/admin/users/\(id)")
                _ = try await admin.post("/admin/users/\(id)/status", [("status", "active")])
                try await admin.get("/admin/users/\(id)")
                let granted = try await admin.post("/admin/users/\(id)/roles", [("role", "note-taker"), ("app", "*")])
                #expect(granted.location == "/admin/users/\(id)?notice=role-granted")
                let userID = try #require(UUID(uuidString: id))
                #expect(try await plaza.identity.me(userID).roles.contains("note-taker"))
                try await admin.get("/admin/users/\(id)")
                _ = try await admin.post("/admin/users/\(id)/roles/revoke", [("role", "note-taker"), ("app", "*")])
                #expect(!(try await plaza.identity.me(userID).roles.contains("note-taker")))

                let roles = try await admin.get("/admin/roles")
                #expect(roles.text.contains("operations.*"))
            }
        }
    }

    @Test("admins create, change and delete roles on the roles page")
    func adminRoles() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let admin = Browser(client)
                _ = try await signIn(admin, email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                try await admin.get("/admin/roles")
                let bad = try await admin.post(
                    "/admin/roles",
                    [
                        ("name", "support"), ("scope", "system"), ("description", "Help desk"), ("permissions", "identity.user.reed"),
                    ])
                #expect(bad.status == .unprocessableContent)
                #expect(bad.text.contains("identity.user.reed covers no action Plaza knows"))
                let created = try await admin.post(
                    "/admin/roles",
                    [
                        ("name", "support"), ("scope", "system"), ("description", "Help desk"), ("permissions", "identity.user.read\noperations.*"),
                    ])
                #expect(created.location == "/admin/roles?notice=role-created#role-support")
                #expect(try await plaza.identity.roles().first { $0.name == "support" }?.permissions == ["identity.user.read", "operations.*"])
                let page = try await admin.get("/admin/roles")
                #expect(page.text.contains(#"id="role-support""#))
                _ = try await admin.post("/admin/roles/support", [("description", "Help desk"), ("permissions", "identity.user.read")])
                #expect(try await plaza.identity.roles().first { $0.name == "support" }?.permissions == ["identity.user.read"])
                try await admin.get("/admin/roles")
                let deleted = try await admin.post("/admin/roles/support/delete", [])
                #expect(deleted.location == "/admin/roles?notice=role-deleted")
                #expect(try await plaza.identity.roles().contains { $0.name == "support" } == false)
                try await admin.get("/admin/roles")
                #expect(try await admin.post("/admin/roles/operator/delete", []).status == .conflict)
            }
        }
    }

    @Test("organisation pages: create one, invite, change a member's roles; outsiders see a 404")
    func organisations() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let owner = Browser(client)
                _ = try await signIn(owner, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                try await owner.get("/organisations")
                let bad = try await owner.post("/organisations", [("name", ""), ("type", "team")])
                #expect(bad.status == .unprocessableContent)
                let created = try await owner.post("/organisations", [("name", "Acme Brands"), ("type", "team")])
                let location = try #require(created.location)
                #expect(location.hasPrefix("/organisations/"))
                let page = try await owner.get(location)
                #expect(page.text.contains("Acme Brands"))
                #expect(page.text.contains("Customer Demo"))

                let id = String(location.dropFirst("/organisations/".count).prefix(36))
                let invited = try await owner.post("/organisations/\(id)/invitations", [("email", "new@example.com"), ("roles", "member")])
                #expect(invited.location == "/organisations/\(id)?notice=invitation-sent")

                let outsider = Browser(client)
                _ = try await person(plaza, "outsider@example.com")
                _ = try await signIn(outsider, email: "outsider@example.com", password: "correct horse")
                #expect(try await outsider.get("/organisations/\(id)").status == .notFound)
                #expect(!(try await outsider.get("/organisations").text.contains("Acme Brands")))

                try await owner.get(location)
                let renamed = try await owner.post(
                    "/organisations/\(id)/settings", [("name", "Acme Group"), ("type", "team"), ("status", "active"), ("parentId", "")])
                #expect(renamed.location == "/organisations/\(id)?notice=organisation-saved")
                #expect(try await owner.get(renamed.location!).text.contains("Acme Group"))
                let refused = try await owner.post(
                    "/organisations/\(id)/settings", [("name", ""), ("type", "team"), ("status", "active"), ("parentId", "")])
                #expect(refused.status == .unprocessableContent)
                #expect(refused.text.contains("must be 1 to 200 characters"))

                // The last owner cannot be demoted.
                try await owner.get("/organisations/\(id)")
                let me = try #require(page.text.firstMatch(of: /\/organisations\/[0-9A-F-]{36}\/members\/([0-9A-F-]{36})"/).map { String($0.1) })
                let demoted = try await owner.post("/organisations/\(id)/members/\(me)", [("roles", "member")])
                #expect(demoted.status == .conflict)
                #expect(demoted.text.contains("An organisation always keeps at least one owner."))
            }
        }
    }

    @Test("a request from another origin is told apart from one from this host")
    func sameOrigin() {
        func request(_ headers: HTTPFields) -> Request {
            Request(
                head: HTTPRequest(method: .post, scheme: "http", authority: "plaza.example:8080", path: "/account", headerFields: headers),
                body: .init(buffer: ByteBuffer()))
        }
        #expect(request([:]).comesFromThisSite)
        #expect(request([.origin: "http://plaza.example:8080"]).comesFromThisSite)
        #expect(request([.origin: "https://plaza.example"]).comesFromThisSite)
        #expect(!request([.origin: "https://evil.example"]).comesFromThisSite)
        #expect(!request([.origin: "null"]).comesFromThisSite)
        #expect(!request([HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]).comesFromThisSite)
        #expect(request([.origin: "https://shop.example", HTTPField.Name("X-Forwarded-Host")!: "shop.example"]).comesFromThisSite)
    }

    @Test("Accept-Language picks the best language the pages speak")
    func negotiation() {
        #expect(Language.negotiate(query: nil, cookie: nil, acceptLanguage: "de-DE,uk;q=0.8,en;q=0.5") == .uk)
        #expect(Language.negotiate(query: nil, cookie: nil, acceptLanguage: "fr") == .en)
        #expect(Language.negotiate(query: nil, cookie: "uk", acceptLanguage: "en") == .uk)
        #expect(Language.negotiate(query: "en", cookie: "uk", acceptLanguage: "uk") == .en)
        #expect(Language.negotiate(query: "xx", cookie: nil, acceptLanguage: "uk;q=0, en") == .en)
    }
}

@Suite("Pages: the account photo")
struct AvatarPageTests {
    @Test("the account page uploads a photo (CSRF token in the form's action), shows it, and removes it")
    func avatar() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-avatars-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []; $0.filesDirectory = directory.path
        }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "ada@example.com")
                let page = try await browser.get("/account")
                let token = try #require(browser.csrfToken)
                #expect(page.text.contains(#"enctype="multipart/form-data""#))
                #expect(page.text.contains(#"<label for="avatar-file">Your photo</label>"#))
                #expect(!page.text.contains(#"class="avatar""#))
                let photo = (name: "me.png", field: "file", type: "image/png", data: TestImages.png(width: 300, height: 200))

                let forged = try await browser.upload("/account/avatar", fields: [("purpose", "avatar")], file: photo)
                #expect(forged.status == .forbidden)
                let notAnImage = try await browser.upload(
                    "/account/avatar?_csrf=\(token)", fields: [("purpose", "avatar")],
                    file: (name: "me.png", field: "file", type: "image/png", data: Data("hello".utf8)))
                #expect(notAnImage.status == .unsupportedMediaType)
                #expect(notAnImage.text.contains("class=\"problem\"") || notAnImage.text.contains("not a type Plaza accepts"))

                let saved = try await browser.upload("/account/avatar?_csrf=\(token)", fields: [("purpose", "avatar")], file: photo)
                #expect(saved.status == .seeOther)
                #expect(saved.headers[.location] == "/account?notice=avatar-saved")
                let user = try #require(try await plaza.identity.searchUsers(UserQuery(text: "ada@"), page: PageRequest()).items.first)
                let avatar = try #require(try await plaza.identity.me(user.id).avatarFileId)
                let shown = try await browser.get("/account?notice=avatar-saved")
                let src = "/files/\(avatar.uuidString.lowercased())/large"
                #expect(shown.text.contains(#"<img class="avatar" src="\#(src)""#))
                #expect(shown.text.contains("Your photo is saved."))
                let image = try await browser.get(src)
                #expect(image.status == .ok)
                #expect(image.headers[.contentType] == "image/webp")

                try await browser.get("/account")
                let removed = try await browser.post("/account/avatar/remove", [])
                #expect(removed.headers[.location] == "/account?notice=avatar-removed")
                #expect(try await plaza.identity.me(user.id).avatarFileId == nil)
                #expect(try await browser.get(src).status == .notFound)
            }
        }
    }
}
