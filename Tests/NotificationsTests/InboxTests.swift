import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Jobs
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Notifications

@Suite("In-app inbox and announcements")
struct InboxTests {
    @Test("an announcement reaches the named accounts' inboxes; read marks, read-all, delete and unread counts")
    func inbox() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let eve = try await person(plaza, "eve@example.com")
            try await plaza.testApplication().test(.router) { client in
                for title in ["First", "Second", "Third"] {
                    let sent = try await client.execute(
                        uri: "/api/v1/notifications", method: .post, headers: adminHeader,
                        body: json(Announcement(audience: .users([ada.id, bob.id]), title: title, body: "Body of \(title)", link: "/account")))
                    #expect(sent.status == .accepted)
                }
                try await drain(plaza)

                func unread(_ who: Person) async throws -> Int {
                    let response = try await client.execute(uri: "/api/v1/me/notifications/unread-count", method: .get, headers: who.headers)
                    return try decode(UnreadCount.self, response).unread
                }
                #expect(try await unread(ada) == 3)
                #expect(try await unread(bob) == 3)
                #expect(try await unread(eve) == 0)

                let first = try decode(
                    ItemPage<InboxItem>.self,
                    try await client.execute(
                        uri: "/api/v1/me/notifications?limit=2", method: .get, headers: ada.headers))
                #expect(first.items.map(\.title) == ["Third", "Second"])
                #expect(first.items.first?.link == "/account")
                #expect(first.items.first?.category == "announcements")
                let cursor = try #require(first.nextCursor)
                let second = try decode(
                    ItemPage<InboxItem>.self,
                    try await client.execute(
                        uri: "/api/v1/me/notifications?limit=2&cursor=\(cursor)", method: .get, headers: ada.headers))
                #expect(second.items.map(\.title) == ["First"])
                #expect(second.nextCursor == nil)

                let third = try #require(first.items.first)
                let read = try await client.execute(uri: "/api/v1/me/notifications/\(third.id)/read", method: .post, headers: ada.headers)
                #expect(try decode(InboxItem.self, read).readAt != nil)
                #expect(try await unread(ada) == 2)
                let unreadOnly = try decode(
                    ItemPage<InboxItem>.self,
                    try await client.execute(
                        uri: "/api/v1/me/notifications?unread=true", method: .get, headers: ada.headers))
                #expect(unreadOnly.items.map(\.title) == ["Second", "First"])

                // Someone else's entry does not exist for you.
                let foreign = try await client.execute(uri: "/api/v1/me/notifications/\(third.id)/read", method: .post, headers: bob.headers)
                #expect(foreign.status == .notFound)
                let foreignDelete = try await client.execute(uri: "/api/v1/me/notifications/\(third.id)", method: .delete, headers: eve.headers)
                #expect(foreignDelete.status == .notFound)

                let all = try await client.execute(uri: "/api/v1/me/notifications/read-all", method: .post, headers: ada.headers)
                #expect(String(buffer: all.body).contains("\"changed\":2"))
                #expect(try await unread(ada) == 0)
                #expect(try await unread(bob) == 3, "marks are per person")

                let deleted = try await client.execute(uri: "/api/v1/me/notifications/\(third.id)", method: .delete, headers: ada.headers)
                #expect(deleted.status == .noContent)
                let left = try decode(
                    ItemPage<InboxItem>.self, try await client.execute(uri: "/api/v1/me/notifications", method: .get, headers: ada.headers))
                #expect(left.items.map(\.title) == ["Second", "First"])

                let badFilter = try await client.execute(uri: "/api/v1/me/notifications?unread=maybe", method: .get, headers: ada.headers)
                #expect(badFilter.status == .unprocessableContent)
                let signedOut = try await client.execute(uri: "/api/v1/me/notifications", method: .get)
                #expect(signedOut.status == .unauthorized)
            }
            // Every new entry and every read mark was pushed to the person's own topic with the unread count.
            try await drain(plaza)
            let pushed = try await plaza.outbox.events(after: 0, topics: ["realtime.publish"], key: "user:\(ada.id.uuidString.lowercased())")
            let payloads = pushed.map(\.payload).filter { $0.contains("\"kind\":\"notifications\"") }
            let expected = 6 // three entries, one read, read-all, one delete
            #expect(payloads.count == expected)
            // Fan-outs run in parallel, so the three entries may be pushed in any order.
            let entries = payloads.filter { $0.contains("\"item\"") }
            #expect(Set(["First", "Second", "Third"].filter { title in entries.contains { $0.contains("\"title\":\"\(title)\"") } }).count == 3)
            #expect(payloads.last?.contains("\"unread\":0") == true, "after read-all and a delete nothing is unread")
        }
    }

    @Test("audiences: a system role, an organisation's members, an organisation role, an app's group, everyone; disabled accounts are skipped")
    func audiences() async throws {
        // The seam's test app resolves `notes-writers`: everyone who keeps a note.
        try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let cat = try await person(plaza, "cat@example.com")
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.identity.grantRole(RoleGrant(role: "employee"), to: bob.id, caller: admin)
            let organisation = try await plaza.identity.createOrganisation(
                NewOrganisation(name: "Acme", type: "team"), caller: Caller(principal: try await plaza.identity.authenticate(bearer: ada.token)))
            _ = try await plaza.identity.setStatus(of: cat.id, to: "disabled", caller: admin)
            try await plaza.store.transaction { transaction in
                for writer in [bob.id, cat.id] { try await NotesApp.add("A note", for: writer, in: transaction) }
            }

            func send(_ audience: Audience, _ title: String) async throws {
                _ = try await plaza.notifications.announce(Announcement(audience: audience, title: title, body: "…"), caller: admin)
            }
            try await send(.role("employee"), "employees")
            try await send(.organisation(organisation.id), "acme")
            try await send(.role("owner", in: organisation.id), "acme owners")
            try await send(.group("notes-writers", "all"), "writers")
            try await send(.all, "everyone")
            try await drain(plaza)

            func titles(_ who: Person) async throws -> Set<String> {
                Set(
                    try await plaza.notifications.inbox(
                        caller: Caller(principal: Principal(id: who.id)), page: PageRequest(limit: 100)
                    ).items.map(\.title))
            }
            #expect(try await titles(ada) == ["acme", "acme owners", "everyone"])
            #expect(try await titles(bob) == ["employees", "writers", "everyone"])
            #expect(try await titles(cat) == [], "disabled accounts are not told")
        }
    }

    @Test("announcements are checked: one audience kind, words within limits, a local link, admins and employees only")
    func announcementChecks() async throws {
        // With the seam's test app, so there is a kind of audience group to get wrong.
        try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                func post(_ body: String, _ headers: HTTPFields = adminHeader) async throws -> TestResponse {
                    try await client.execute(uri: "/api/v1/notifications", method: .post, headers: headers, body: ByteBuffer(string: body))
                }
                let mixed = try await post(#"{"audience":{"users":["\#(ada.id)"],"everyone":true},"title":"t","body":"b"}"#)
                #expect(mixed.status == .unprocessableContent)
                #expect(String(buffer: mixed.body).contains("audience"))
                let empty = try await post(#"{"audience":{"users":[]},"title":"t","body":"b"}"#)
                #expect(empty.status == .unprocessableContent)
                let unknownGroup = try await post(#"{"audience":{"group":{"kind":"nobody-knows","id":"1"}},"title":"t","body":"b"}"#)
                #expect(unknownGroup.status == .unprocessableContent)
                #expect(String(buffer: unknownGroup.body).contains("nobody-knows is not a kind of group"))
                let blank = try await post(#"{"audience":{"everyone":true},"title":"  ","body":"b"}"#)
                #expect(String(buffer: blank.body).contains("title"))
                let offsite = try await post(#"{"audience":{"everyone":true},"title":"t","body":"b","link":"https://evil.example"}"#)
                #expect(offsite.status == .unprocessableContent)
                #expect(String(buffer: offsite.body).contains("link"))
                let customer = try await post(#"{"audience":{"everyone":true},"title":"t","body":"b"}"#, ada.headers)
                #expect(customer.status == .forbidden)
                let anonymous = try await post(#"{"audience":{"everyone":true},"title":"t","body":"b"}"#, [.contentType: "application/json"])
                #expect(anonymous.status == .unauthorized)
            }
            try await drain(plaza)
            let inbox = try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: ada.id)), page: PageRequest())
            #expect(inbox.items.isEmpty, "nothing refused was stored")
        }
    }

    @Test("the same dedupe key stores a notification once; an event handled twice notifies once")
    func dedupe() async throws {
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let request = NotificationRequest(audience: .users([ada.id]), template: "announcement", data: ["title": "Hi", "body": "There"])
            #expect(try await plaza.notifications.notify(request, dedupeKey: "k1", caller: .system("test")) != nil)
            #expect(try await plaza.notifications.notify(request, dedupeKey: "k1", caller: .system("test")) == nil)
            // The code e-mail of sign-up: run the subscriber a second time on the same event.
            try await drain(plaza)
            let event = try #require(try await plaza.outbox.events(after: 0, topics: [CodeIssued.topic]).first)
            try await #require(plaza.bus.subscriber(named: "notifications.identity.codes")).handler(event)
            try await drain(plaza)
            #expect(try await deliveries(plaza, DeliveryQuery(template: "identity.code.verify-email")).count == 1)
            let inbox = try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: ada.id)), page: PageRequest())
            #expect(inbox.items.count == 1)
        }
    }

    @Test("a sign-in from a new address tells the account's owner in the inbox and by e-mail; a repeat does not")
    func newSignIn() async throws {
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let credentials = Credentials(email: "ada@example.com", password: "correct horse")
            let usual = Caller(principal: nil, requestID: "r1", ip: "10.0.0.1")
            _ = try await plaza.identity.login(credentials, caller: usual, userAgent: "Firefox")
            _ = try await plaza.identity.login(credentials, caller: usual, userAgent: "Firefox")
            try await drain(plaza)
            let before = try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: ada.id)), page: PageRequest())
            let afterFirst = before.items.count
            _ = try await plaza.identity.login(credentials, caller: Caller(principal: nil, requestID: "r2", ip: "203.0.113.9"), userAgent: "Curl")
            try await drain(plaza)
            let inbox = try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: ada.id)), page: PageRequest())
            #expect(inbox.items.count == afterFirst + 1)
            #expect(inbox.items.first?.title == "New sign-in to your Plaza account")
            #expect(inbox.items.first?.body.contains("203.0.113.9 (Curl)") == true)
            #expect(inbox.items.first?.category == "security")
            let mails = try await deliveries(plaza, DeliveryQuery(channel: .email, template: "identity.sign-in.new-device"))
            #expect(mails.filter { $0.subject == "New sign-in to your Plaza account" }.count == afterFirst + 1)
        }
    }
}

@Suite("Notification retention")
struct RetentionTests {
    @Test("finished deliveries go after 90 days, inbox entries after a year; unfinished deliveries stay")
    func prune() async throws {
        let clock = ManualClock()
        try await withTestPlaza(
            clock: clock,
            configure: {
                $0.notifications.smtp = SMTPSettings(host: "127.0.0.1", port: ServerProcess.freePort(), security: .none)
            }
        ) { plaza in
            let ada = try await person(plaza, "ada@example.com") // its code e-mail fails: retrying
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.notifications.announce(Announcement(audience: .users([ada.id]), title: "Old news", body: "…"), caller: admin)
            try await drain(plaza)
            #expect(try await deliveries(plaza).map(\.state) == [.retrying])
            clock.advance(by: 100 * 86400)
            #expect(try await plaza.notifications.prune() == (deliveries: 0, inbox: 0), "a retrying delivery and a recent-enough entry stay")
            clock.advance(by: 300 * 86400)
            let removed = try await plaza.notifications.prune()
            #expect(removed.inbox == 1)
            #expect(try await deliveries(plaza).count == 1)
        }
    }
}
