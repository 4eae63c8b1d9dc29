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

@testable import Notifications

/// The first line of a peer's output that is a JSON object with `"ready": true`.
func readyLine(_ peer: PythonPeer.Running) async throws -> [String: Any] {
    guard try await peer.waitFor("\"ready\"") else { throw MailServer.PeerFailed(output: peer.output) }
    for line in peer.output.split(separator: "\n") {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["ready"] as? Bool == true {
            return object
        }
    }
    throw MailServer.PeerFailed(output: peer.output)
}

/// SMS through a fake of Twilio's Messages API, Web Push through a fake push service: both are outside
/// services, so the fakes speak their published protocols (and the push service decrypts with http_ece).
@Suite("SMS and Web Push", .timeLimit(.minutes(5)))
struct PhoneAndPushTests {
    init() throws {
        try #require(PythonPeer.isInstalled, "the Python test peers are missing: run scripts/deps.sh test")
    }

    @Test("a mobile number is verified by SMS code; SMS are retried past a provider error, sent once, and the signed status callback is recorded")
    func sms() async throws {
        let provider = try PythonPeer.start([PythonPeer.script("sms_provider.py"), "--account", "AC0123", "--token", "tok3n", "--fail-first", "1"])
        defer { provider.stop() }
        let providerURL = try #require(try await readyLine(provider)["url"] as? String)
        let port = ServerProcess.freePort()
        try await withTestPlaza(configure: {
            $0.port = port
            $0.publicURL = "http://127.0.0.1:\(port)"
            $0.edge.rateLimits = []
            $0.notifications.sms = try! SMSSettings(
                url: providerURL.replacingOccurrences(of: "http://", with: "http://AC0123:tok3n@"), from: "+15005550006")
            $0.notifications.baseBackoff = .milliseconds(200)
            $0.notifications.maxBackoff = .milliseconds(500)
        }) { plaza in
            // A real listener, so the provider's callback reaches the route at the URL it signs.
            // (Only the HTTP server: the test drives jobs itself, and the database closes with withTestPlaza.)
            let router = plaza.buildRouter()
            let application = Application(
                router: router, server: plaza.server(for: router), configuration: .init(address: .hostname("127.0.0.1", port: port)),
                logger: plaza.logger)
            let server = Task { try await application.runService(gracefulShutdownSignals: []) }
            for _ in 0..<100 where !ServerProcess.isListening(port) { try await Task.sleep(for: .milliseconds(50)) }
            do {
                try await Self.smsRoundTrip(plaza, provider: provider)
            } catch {
                server.cancel()
                _ = await server.result
                throw error
            }
            // The listener stops before the database closes.
            server.cancel()
            _ = await server.result
        }
    }

    static func smsRoundTrip(_ plaza: Plaza, provider: PythonPeer.Running) async throws {
        do {
            let ada = try await person(plaza, "ada@example.com")
            let me = Caller(principal: Principal(id: ada.id))
            // Ada adds her number and verifies it with the code the provider delivers.
            try await plaza.testApplication().test(.router) { client in
                let early = try await client.execute(uri: "/api/v1/me/mobile/verification", method: .post, headers: ada.headers)
                #expect(early.status == .conflict, "no number yet")
                let profile = try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: ada.headers, body: ByteBuffer(string: #"{"mobile":"+380 50 123 4567"}"#))
                #expect(profile.status == .ok)
                let asked = try await client.execute(uri: "/api/v1/me/mobile/verification", method: .post, headers: ada.headers)
                #expect(asked.status == .accepted)
            }
            #expect(try await eventually(plaza) { !provider.jsonLines("sms").isEmpty })
            let codeText = try #require(provider.jsonLines("sms").first?["body"] as? String)
            #expect(codeText.hasSuffix("is your Plaza code. It works for 15 minutes."))
            #expect(provider.jsonLines("sms").first?["to"] as? String == "+380501234567")
            try await plaza.testApplication().test(.router) { client in
                let wrong = try await client.execute(
                    uri: "/api/v1/me/mobile/verify", method: .post, headers: ada.headers, body: json(CodeConfirmation(code: "000000")))
                #expect(wrong.status == .badRequest)
                let right = try await client.execute(
                    uri: "/api/v1/me/mobile/verify", method: .post, headers: ada.headers,
                    body: json(CodeConfirmation(code: String(codeText.prefix(6)))))
                #expect(right.status == .noContent)
            }
            #expect(try await plaza.identity.contact(ada.id)?.mobileVerified == true)
            let preferences = try await plaza.notifications.updatePreferences(
                PreferencesUpdate(channels: ["announcements": ["sms": true]]), caller: me)
            #expect(preferences.categories.first { $0.category == "announcements" }?.channels["sms"] == true)
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.notifications.announce(
                Announcement(audience: .users([ada.id]), title: "Water off", body: "From 10:00 to 12:00"), caller: admin)

            #expect(
                try await eventually(plaza) {
                    try await deliveries(plaza, DeliveryQuery(channel: .sms, template: "announcement")).first?.state == .sent
                })
            let sent = try #require(try await deliveries(plaza, DeliveryQuery(channel: .sms, template: "announcement")).first)
            #expect(sent.attempts == 1)
            let code = try #require(try await deliveries(plaza, DeliveryQuery(channel: .sms, template: "identity.code.verify-mobile")).first)
            #expect(code.attempts == 2, "the first try met a 503")
            let messages = Array(provider.jsonLines("sms").dropFirst())
            #expect(messages.count == 1)
            #expect(messages.first?["to"] as? String == "+380501234567")
            #expect(messages.first?["from"] as? String == "+15005550006")
            #expect(messages.first?["body"] as? String == "Water off")
            #expect(sent.providerRef == messages.first?["sid"] as? String)

            #expect(
                try await eventually(plaza) {
                    try await deliveries(plaza, DeliveryQuery(channel: .sms)).allSatisfy { $0.providerStatus == "delivered" }
                })
            #expect(provider.jsonLines("callback").allSatisfy { $0["http"] as? Int == 204 })

            // A callback that is not signed with the account's token changes nothing.
            try await plaza.testApplication().test(.router) { client in
                let forged = try await client.execute(
                    uri: NotificationService.smsStatusPath, method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Twilio-Signature")!: "bm90IGl0"],
                    body: ByteBuffer(string: "MessageSid=\(sent.providerRef ?? "")&MessageStatus=failed"))
                #expect(forged.status == .forbidden)
            }
            #expect(try await deliveries(plaza, DeliveryQuery(channel: .sms, template: "announcement")).first?.providerStatus == "delivered")
        }
    }

    static func subscription(_ line: [String: Any]) throws -> PushSubscriptionInput {
        PushSubscriptionInput(
            endpoint: try #require(line["endpoint"] as? String),
            keys: .init(p256dh: try #require(line["p256dh"] as? String), auth: try #require(line["auth"] as? String)))
    }

    @Test("Web Push: subscribe, get a VAPID-signed aes128gcm push the service decrypts; a gone subscription is given up and forgotten")
    func push() async throws {
        let pushService = try PythonPeer.start([PythonPeer.script("push_service.py"), "--fail-first", "1"])
        defer { pushService.stop() }
        let subscription = try Self.subscription(try await readyLine(pushService))
        let goneService = try PythonPeer.start([PythonPeer.script("push_service.py"), "--gone"])
        defer { goneService.stop() }
        let gone = try Self.subscription(try await readyLine(goneService))
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []
            $0.notifications.baseBackoff = .milliseconds(200)
            $0.notifications.maxBackoff = .milliseconds(500)
            $0.notifications.pushHosts = ["127.0.0.1"] // the fake push services run here
        }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                let key = try await client.execute(uri: "/api/v1/push/key", method: .get)
                #expect(try decode(VAPIDPublicKey.self, key).publicKey.count == 87, "65 bytes in base64url")

                func subscribe(_ who: Person, _ input: PushSubscriptionInput) async throws -> TestResponse {
                    try await client.execute(uri: "/api/v1/me/push-subscriptions", method: .post, headers: who.headers, body: json(input))
                }
                #expect(try await subscribe(ada, subscription).status == .created)
                #expect(try await subscribe(bob, gone).status == .created)
                let bad = try await client.execute(
                    uri: "/api/v1/me/push-subscriptions", method: .post, headers: ada.headers,
                    body: ByteBuffer(string: #"{"endpoint":"ftp://push.example/x","keys":{"p256dh":"AAAA","auth":"AAAA"}}"#))
                #expect(bad.status == .unprocessableContent)
                for field in ["endpoint", "keys.p256dh", "keys.auth"] { #expect(String(buffer: bad.body).contains(field)) }
                // The server would POST to the endpoint: one inside the network, or any host but a push service, is refused.
                for endpoint in ["https://10.0.0.5/push/x", "https://fcm.googleapis.com.evil.example/x", "http://169.254.169.254/latest"] {
                    var elsewhere = subscription
                    elsewhere.endpoint = endpoint
                    let refused = try await subscribe(ada, elsewhere)
                    #expect(refused.status == .unprocessableContent, "\(endpoint)")
                }
                for who in [ada, bob] {
                    let on = try await client.execute(
                        uri: "/api/v1/me/notification-preferences", method: .put, headers: who.headers,
                        body: ByteBuffer(string: #"{"channels":{"announcements":{"push":true}}}"#))
                    #expect(on.status == .ok)
                }
            }
            let admin = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["admin"])))
            _ = try await plaza.notifications.announce(
                Announcement(audience: .users([ada.id, bob.id]), title: "Ключі готові", body: "Заберіть на рецепції", link: "/account"), caller: admin
            )

            #expect(
                try await eventually(plaza) {
                    Set(try await deliveries(plaza, DeliveryQuery(channel: .push)).map(\.state)) == [.sent, .givenUp]
                })
            let received = pushService.jsonLines("push")
            #expect(received.map { $0["status"] as? Int } == [503, 201])
            let payload = try #require(received.last?["payload"] as? String)
            let decoded = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: String]
            #expect(decoded?["title"] == "Ключі готові")
            #expect(decoded?["link"]?.hasSuffix("/account") == true)
            #expect(received.last?["topic"] as? String != nil, "a Topic header lets the service replace a repeat")

            let lost = try #require(try await deliveries(plaza, DeliveryQuery(state: .givenUp, channel: .push)).first)
            #expect(lost.userId == bob.id)
            #expect(lost.attempts == 1)
            #expect(try await plaza.notifications.pushSubscriptions(caller: Caller(principal: Principal(id: bob.id))).isEmpty)
            #expect(try await plaza.notifications.pushSubscriptions(caller: Caller(principal: Principal(id: ada.id))).count == 1)
        }
    }
}
