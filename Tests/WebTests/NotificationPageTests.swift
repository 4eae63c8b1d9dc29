import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Notifications
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Web

@Suite("Pages: notifications, preferences, announcements, deliveries")
struct NotificationPageTests {
    @Test("staff announce through the page; the inbox page shows it with a badge, opens its link and marks it read")
    func announceAndInbox() async throws {
        try await withPagesPlaza { plaza in
            try await seedDemo(plaza)
            try await plaza.testApplication().test(.router) { client in
                let admin = Browser(client)
                _ = try await signIn(admin, email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                let form = try await admin.get("/admin/announcements")
                #expect(form.status == .ok)
                #expect(form.text.contains(#"name="audience""#))
                let refused = try await admin.post(
                    "/admin/announcements",
                    [
                        ("audience", "organisation"), ("role", ""), ("organisation", "nope"), ("title", "Hi"), ("body", "There"), ("link", ""),
                    ])
                #expect(refused.status == .unprocessableContent)
                #expect(refused.text.contains("must be an organisation"))
                let sent = try await admin.post(
                    "/admin/announcements",
                    [
                        ("audience", "role"), ("role", "customer"), ("organisation", ""), ("title", "Spring sale"),
                        ("body", "Everything half price"), ("link", "/account"),
                    ])
                #expect(sent.status == .seeOther)
                #expect(sent.location?.hasPrefix("/admin/deliveries?notificationId=") == true)
                try await plaza.runPendingWork()

                let customer = Browser(client)
                _ = try await signIn(customer, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                let inbox = try await customer.get("/notifications")
                #expect(inbox.status == .ok)
                #expect(inbox.text.contains("Spring sale"))
                #expect(inbox.text.contains(#"<span id="unread-badge" class="badge" aria-live="polite" aria-label="unread">1</span>"#))
                #expect(inbox.text.contains(#"<script src="/assets/live.js" defer></script>"#))
                let customerAccount = try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "customer")))
                let item = try #require(
                    try await plaza.notifications.inbox(
                        caller: Caller(principal: Principal(id: customerAccount.id)), page: PageRequest()
                    ).items.first)
                let opened = try await customer.post("/notifications/\(item.id)/read", [("open", "1")])
                #expect(opened.location == "/account")
                let after = try await customer.get("/notifications")
                #expect(after.text.contains(#"class="badge empty""#))

                let staff = Browser(client)
                _ = try await signIn(staff, email: IdentityDemo.email(for: "operator"), password: IdentityDemo.password)
                #expect(!(try await staff.get("/notifications")).text.contains("Spring sale"), "operators were not in the audience")
                let forbidden = try await staff.get("/admin/announcements")
                #expect(forbidden.status == .forbidden)
                let removed = try await customer.post("/notifications/\(item.id)/delete", [])
                #expect(removed.location == "/notifications?notice=notification-removed")
                #expect(try await customer.get("/notifications").text.contains("Nothing here yet."))
            }
        }
    }

    @Test("the preferences page saves channels and quiet hours, keeps security notices on, and shows a bad time")
    func preferences() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "ada@example.com")
                let page = try await browser.get("/account/notifications")
                #expect(page.status == .ok)
                #expect(page.text.contains(#"value="security.email" aria-label="Security notices: Email" checked disabled"#))
                let saved = try await browser.post(
                    "/account/notifications",
                    [
                        ("on", "announcements.email"), ("on", "announcements.in-app"), ("quiet_from", "22:00"), ("quiet_to", "07:00"),
                    ])
                #expect(saved.location == "/account/notifications?notice=preferences-saved")
                let user = try #require(try await plaza.identity.contact(email: "ada@example.com"))
                let stored = try await plaza.notifications.preferences(caller: Caller(principal: Principal(id: user.id)))
                #expect(stored.categories.first { $0.category == "announcements" }?.channels["email"] == true)
                #expect(
                    stored.categories.first { $0.category == "security" }?.channels["email"] == true, "a disabled box is not posted, and stays on")
                #expect(stored.categories.first { $0.category == "messages" }?.channels["in-app"] == false, "an unchecked box is off")
                #expect(stored.quietHours == QuietHours(from: "22:00", to: "07:00"))

                let bad = try await browser.post("/account/notifications", [("quiet_from", "22:00"), ("quiet_to", "")])
                #expect(bad.status == .unprocessableContent)
                #expect(bad.text.contains("quietHours.to"))
                let missingToken = try await browser.post("/account/notifications", [], csrf: .some(nil))
                #expect(missingToken.status == .forbidden)
            }
        }
    }

    @Test("operators list deliveries with filters, see attempts, and retry a given-up one; others are refused")
    func deliveries() async throws {
        // Bound and never listening, and held for the whole test (a port merely free when chosen was once taken by
        // another test's server, and the e-mail timed out instead of being refused).
        let refusing = try ReservedPort()
        defer { refusing.release() }
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []
            // Nothing listens here: every e-mail fails, and with one attempt it is given up at once.
            $0.notifications.smtp = SMTPSettings(host: "127.0.0.1", port: refusing.port, security: .none)
            $0.notifications.maxAttempts = 1
        }) { plaza in
            try await seedDemo(plaza)
            _ = try await plaza.identity.register(
                Registration(email: "ada@example.com", password: "correct horse", firstName: "Ada", lastName: "L"), caller: .system("test"))
            try await plaza.runPendingWork()
            try await plaza.testApplication().test(.router) { client in
                let operatorBrowser = Browser(client)
                _ = try await signIn(operatorBrowser, email: IdentityDemo.email(for: "operator"), password: IdentityDemo.password)
                let list = try await operatorBrowser.get("/admin/deliveries?state=given-up&channel=email")
                #expect(list.status == .ok)
                #expect(list.text.contains("ada@example.com"))
                #expect(list.text.contains("Given up"))
                #expect(list.text.contains("cannot talk to the mail server"))
                let bad = try await operatorBrowser.get("/admin/deliveries?state=lost")
                #expect(bad.status == .unprocessableContent)

                let delivery = try #require(
                    try await plaza.notifications.deliveries(
                        DeliveryQuery(state: .givenUp), page: PageRequest(),
                        caller: Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["operator"])))
                    ).items.first)
                let detail = try await operatorBrowser.get("/admin/deliveries/\(delivery.id)")
                #expect(detail.text.contains("identity.code.verify-email"))
                #expect(detail.text.contains("<td>1</td>"), "the attempt is listed")
                let retried = try await operatorBrowser.post("/admin/deliveries/\(delivery.id)/retry", [])
                #expect(retried.location == "/admin/deliveries/\(delivery.id)?notice=delivery-retried")
                #expect(try await operatorBrowser.get(retried.location ?? "").text.contains("Queued"))

                let customer = Browser(client)
                _ = try await signIn(customer, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(try await customer.get("/admin/deliveries").status == .forbidden)
            }
        }
    }

    @Test("the account page verifies a mobile number with the SMS code; a wrong code is shown on the page")
    func mobileVerification() async throws {
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []
            // The SMS itself is not sent here (no job runs); the code is read from Identity's event.
            $0.notifications.sms = try! SMSSettings(url: "http://AC1:token@127.0.0.1:9", from: "+15005550006")
        }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signUp(browser, email: "ada@example.com")
                let plain = try await browser.get("/account")
                #expect(!plain.text.contains("/account/mobile/verification"), "no number, nothing to verify")
                let user = try #require(try await plaza.identity.contact(email: "ada@example.com"))
                _ = try await plaza.identity.updateProfile(ProfileUpdate(mobile: "+380501234567"), caller: Caller(principal: Principal(id: user.id)))
                #expect(try await browser.get("/account").text.contains(#"action="/account/mobile/verification""#))
                let sent = try await browser.post("/account/mobile/verification", [])
                #expect(sent.location == "/account?notice=mobile-code-sent")
                let code = try #require(try await plaza.issuedCodes().last)
                #expect(code.purpose == .verifyMobile)
                #expect(code.mobile == "+380501234567")
                let wrong = try await browser.post("/account/mobile/verify", [("code", "000000")])
                #expect(wrong.status == .badRequest)
                #expect(wrong.text.contains("The code is wrong"))
                let right = try await browser.post("/account/mobile/verify", [("code", code.code)])
                #expect(right.location == "/account?notice=mobile-verified")
                #expect(try await plaza.identity.contact(user.id)?.mobileVerified == true)
                let again = try await browser.post("/account/mobile/verification", [])
                #expect(again.status == .conflict, "verified already")
            }
        }
    }

    @Test("the live badge script is served with an ETag and speaks the realtime protocol")
    func liveScript() async throws {
        try await withPagesPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let script = try await client.execute(uri: "/assets/live.js", method: .get)
                #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(String(buffer: script.body).contains(#"type: "subscribe""#))
                let etag = try #require(script.headers[.eTag])
                let again = try await client.execute(uri: "/assets/live.js", method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
            }
        }
    }
}

@Suite("The live badge in a real browser", .timeLimit(.minutes(5)))
struct LiveBadgeBrowserTests {
    @Test(
        "Chromium's unread badge turns to 1 over the realtime socket when a notification arrives, without a reload; an EventSource on the page gets the next one"
    )
    func liveBadge() async throws {
        try #require(PythonPeer.isInstalled, "run scripts/deps.sh test to install selenium into .venv")
        try #require(FileManager.default.fileExists(atPath: "/usr/bin/chromedriver"), "run scripts/deps.sh test to install chromium-driver")
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await seedDemo(plaza)
            let customer = try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "customer")))
            try await plaza.runPendingWork()
            _ = try await plaza.dispatcher.broadcast() // the first call only marks where this instance starts
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                let peer = try PythonPeer.start([
                    PythonPeer.script("browser_live_badge.py"), "http://127.0.0.1:\(port)", IdentityDemo.email(for: "customer"),
                    IdentityDemo.password,
                ])
                defer { peer.stop() }
                #expect(try await peer.waitFor("live", within: .seconds(60)), "\(peer.output)")
                let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
                _ = try await plaza.notifications.announce(Announcement(audience: .users([customer.id]), title: "Hello", body: "Live"), caller: admin)
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline, !peer.output.contains("badge 1"), !peer.output.contains("FAIL") {
                    try await plaza.runPendingWork()
                    _ = try await plaza.dispatcher.broadcast()
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(peer.output.contains("badge 1"), "\(peer.output)")
                // The event stream: its subscription is made just after it opens, so notifications keep coming until
                // one arrives.
                #expect(try await peer.waitFor("sse open", within: .seconds(30)), "\(peer.output)")
                let streamDeadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < streamDeadline, !peer.output.contains("sse event"), !peer.output.contains("FAIL") {
                    _ = try await plaza.notifications.announce(
                        Announcement(audience: .users([customer.id]), title: "Again", body: "Live"), caller: admin)
                    try await plaza.runPendingWork()
                    _ = try await plaza.dispatcher.broadcast()
                    try await Task.sleep(for: .milliseconds(500))
                }
                #expect(peer.output.contains("sse event"), "\(peer.output)")
            }
        }
    }
}
