import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Notifications

@Suite("Notification preferences and quiet hours")
struct PreferencesTests {
    @Test("defaults per category; channels turned on and off; security notices cannot be turned off; bad input writes nothing")
    func preferences() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let initial = try decode(
                    NotificationPreferences.self,
                    try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .get, headers: ada.headers))
                let security = try #require(initial.categories.first { $0.category == "security" })
                #expect(security.mandatory)
                #expect(security.channels == ["in-app": true, "email": true, "push": false], "no SMS provider configured: no SMS channel")
                #expect(initial.categories.first { $0.category == "announcements" }?.channels["email"] == false)
                #expect(initial.quietHours == nil)
                #expect(initial.timeZone == "UTC")

                let update = try await client.execute(
                    uri: "/api/v1/me/notification-preferences", method: .put, headers: ada.headers,
                    body: ByteBuffer(
                        string: #"{"channels":{"announcements":{"email":true,"in-app":false}},"quietHours":{"from":"22:00","to":"07:00"}}"#))
                #expect(update.status == .ok)
                let changed = try decode(NotificationPreferences.self, update)
                #expect(changed.categories.first { $0.category == "announcements" }?.channels == ["in-app": false, "email": true, "push": false])
                #expect(changed.quietHours == QuietHours(from: "22:00", to: "07:00"))

                // One bad part refuses the whole change.
                let mandatory = try await client.execute(
                    uri: "/api/v1/me/notification-preferences", method: .put, headers: ada.headers,
                    body: ByteBuffer(string: #"{"channels":{"security":{"email":false},"announcements":{"email":false}}}"#))
                #expect(mandatory.status == .unprocessableContent)
                #expect(String(buffer: mandatory.body).contains("channels.security.email"))
                for body in [
                    #"{"channels":{"gossip":{"email":true}}}"#, #"{"channels":{"announcements":{"sms":true}}}"#,
                    #"{"quietHours":{"from":"25:00","to":"07:00"}}"#, #"{"quietHours":{"from":"07:00","to":"07:00"}}"#,
                ] {
                    let refused = try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .put, headers: ada.headers, body: ByteBuffer(string: body))
                    #expect(refused.status == .unprocessableContent, "\(body)")
                }
                let unchanged = try decode(
                    NotificationPreferences.self,
                    try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .get, headers: ada.headers))
                #expect(unchanged == changed)

                // Leaving quietHours out keeps them; null clears them.
                let kept = try decode(
                    NotificationPreferences.self,
                    try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .put, headers: ada.headers, body: ByteBuffer(string: "{}")))
                #expect(kept.quietHours != nil)
                let cleared = try decode(
                    NotificationPreferences.self,
                    try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .put, headers: ada.headers,
                        body: ByteBuffer(string: #"{"quietHours":null}"#)))
                #expect(cleared.quietHours == nil)
            }
            // Announcements now go by e-mail and not to the inbox.
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.notifications.announce(Announcement(audience: .users([ada.id]), title: "Maintenance", body: "Tonight"), caller: admin)
            try await drain(plaza)
            #expect(try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: ada.id)), page: PageRequest()).items.isEmpty)
            let addresses = try await deliveries(plaza, DeliveryQuery(template: "announcement")).map { $0.address }
            #expect(addresses == ["ada@example.com"])
        }
    }

    @Test("quiet hours hold outside channels until they end, in the person's time zone; security notices do not wait")
    func quietHours() async throws {
        // 23:30 in Kyiv (UTC+2 in November).
        let clock = ManualClock(try Date("2026-11-22T21:30:00Z", strategy: .iso8601))
        try await withTestPlaza(clock: clock) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            _ = try await plaza.identity.updateProfile(ProfileUpdate(timeZone: "Europe/Kyiv"), caller: Caller(principal: Principal(id: ada.id)))
            let me = Caller(principal: Principal(id: ada.id))
            _ = try await plaza.notifications.updatePreferences(
                PreferencesUpdate(channels: ["announcements": ["email": true]], quietHours: .some(QuietHours(from: "22:00", to: "07:00"))), caller: me
            )
            try await drain(plaza)
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.notifications.announce(Announcement(audience: .users([ada.id]), title: "Night news", body: "…"), caller: admin)
            try await drain(plaza)

            let held = try #require(try await deliveries(plaza, DeliveryQuery(template: "announcement")).first)
            #expect(held.state == .queued)
            #expect(held.nextAttemptAt == (try Date("2026-11-23T05:00:00Z", strategy: .iso8601)), "07:00 in Kyiv")
            #expect(try await plaza.notifications.inbox(caller: me, page: PageRequest()).items.count == 1, "the inbox is silent, so it does not wait")

            // A security notice at the same hour goes at once.
            _ = try await plaza.identity.login(
                Credentials(email: "ada@example.com", password: "correct horse"), caller: Caller(principal: nil, ip: "198.51.100.7"), userAgent: "New"
            )
            try await drain(plaza)
            let notice = try #require(try await deliveries(plaza, DeliveryQuery(template: "identity.sign-in.new-device")).first)
            #expect(notice.state == .sent)

            clock.advance(by: 7.5 * 3600)
            try await drain(plaza)
            let released = try #require(try await deliveries(plaza, DeliveryQuery(template: "announcement")).first)
            #expect(released.state == .sent)
        }
    }

    @Test("quiet hours across midnight and within a day")
    func quietWindow() throws {
        let utc = TimeZone.gmt
        let hours = QuietHours(from: "22:00", to: "07:00")
        let evening = try Date("2026-11-22T21:59:00Z", strategy: .iso8601)
        #expect(hours.release(evening, timeZone: utc) == evening)
        #expect(
            hours.release(try Date("2026-11-22T23:15:30Z", strategy: .iso8601), timeZone: utc)
                == (try Date("2026-11-23T07:00:00Z", strategy: .iso8601)))
        #expect(
            hours.release(try Date("2026-11-23T06:59:00Z", strategy: .iso8601), timeZone: utc)
                == (try Date("2026-11-23T07:00:00Z", strategy: .iso8601)))
        let lunch = QuietHours(from: "12:00", to: "13:00")
        #expect(
            lunch.release(try Date("2026-11-22T12:30:00Z", strategy: .iso8601), timeZone: utc)
                == (try Date("2026-11-22T13:00:00Z", strategy: .iso8601)))
        #expect(
            lunch.release(try Date("2026-11-22T13:00:00Z", strategy: .iso8601), timeZone: utc)
                == (try Date("2026-11-22T13:00:00Z", strategy: .iso8601)))
    }
}
