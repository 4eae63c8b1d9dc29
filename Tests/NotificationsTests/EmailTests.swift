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

/// E-mail through a real SMTP server (aiosmtpd from PyPI) on 127.0.0.1.
@Suite("E-mail over SMTP", .timeLimit(.minutes(5)))
struct EmailTests {
    init() throws {
        try #require(PythonPeer.isInstalled, "the Python test peers are missing: run scripts/deps.sh test")
    }

    @Test("a sign-up's verification code arrives by e-mail over STARTTLS with AUTH PLAIN, in text and HTML")
    func signUpCodeArrives() async throws {
        let tls = try TestCertificate.make()
        defer { tls.remove() }
        let server = try await MailServer.start(arguments: ["--tls", tls.certificate, tls.key, "--user", "plaza", "--password", "s3cret"])
        defer { server.stop() }
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []
            $0.notifications.smtp = try! SMTPSettings(url: "smtp://plaza:s3cret@127.0.0.1:\(server.port)?tls=required&ca=\(tls.certificate)")
            $0.notifications.mailFrom = "Plaza Test <hello@plaza.test>"
        }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let response = try await client.execute(
                    uri: "/api/v1/auth/register", method: .post, headers: [.contentType: "application/json"],
                    body: json(Registration(email: "ada@example.com", password: "correct horse", firstName: "Ada", lastName: "Lovelace")))
                #expect(response.status == .created)
            }
            #expect(try await eventually(plaza) { !server.mails(to: "ada@example.com").isEmpty })
            let code = try #require(try await plaza.issuedCodes().last?.code)
            let mail = try #require(server.mails(to: "ada@example.com").first)
            #expect(mail["from"] as? String == "hello@plaza.test")
            #expect(mail["subject"] as? String == "Confirm your Plaza address", "a code is never in a subject: operators read the delivery log")
            #expect((mail["text"] as? String)?.contains("Hello Ada") == true)
            #expect((mail["text"] as? String)?.contains("is \(code)") == true)
            #expect((mail["html"] as? String)?.contains(code) == true)
            #expect(mail["tls"] as? Bool == true)
            #expect(mail["authenticated"] as? Bool == true)
            #expect(server.peer.jsonLines("auth").first?["mechanism"] as? String == "PLAIN")

            let sent = try await deliveries(plaza, DeliveryQuery(channel: .email))
            #expect(sent.count == 1)
            #expect(sent.first?.state == .sent)
            #expect(sent.first?.template == "identity.code.verify-email")
            #expect(sent.first?.subject.contains(code) == false)
            #expect(sent.first?.providerRef == mail["messageId"] as? String, "the Message-ID is the delivery's reference")
        }
    }

    @Test("AUTH LOGIN when the server offers only LOGIN; Ukrainian words by the account's locale, subject encoded by RFC 2047")
    func authLoginAndUkrainian() async throws {
        let tls = try TestCertificate.make()
        defer { tls.remove() }
        let server = try await MailServer.start(
            arguments: ["--tls", tls.certificate, tls.key, "--user", "plaza", "--password", "s3cret", "--mechanisms", "LOGIN"])
        defer { server.stop() }
        try await withTestPlaza(configure: {
            $0.notifications.smtp = try! SMTPSettings(url: "smtp://plaza:s3cret@127.0.0.1:\(server.port)?ca=\(tls.certificate)")
        }) { plaza in
            _ = try await person(plaza, "olena@example.com", locale: "uk")
            #expect(try await eventually(plaza) { !server.mails(to: "olena@example.com").isEmpty })
            let mail = try #require(server.mails(to: "olena@example.com").first)
            let code = try #require(try await plaza.issuedCodes().last?.code)
            #expect(mail["subject"] as? String == "Підтвердіть адресу в Plaza")
            #expect((mail["text"] as? String)?.contains(code) == true)
            #expect((mail["text"] as? String)?.contains("Вітаємо, Olena!") == true)
            #expect(server.peer.jsonLines("auth").first?["mechanism"] as? String == "LOGIN")
        }
    }

    @Test("while the SMTP server is down deliveries retry; after it comes back each mail arrives once")
    func serverDownThenBack() async throws {
        // Held, not merely found free: another test's server must not answer on it while this one is "down".
        let down = try ReservedPort()
        let port = down.port
        try await withTestPlaza(configure: {
            $0.notifications.smtp = SMTPSettings(host: "127.0.0.1", port: port, security: .none)
            $0.notifications.baseBackoff = .milliseconds(300)
            $0.notifications.maxBackoff = .seconds(1)
            // Retries every second must not run out while a busy machine registers the three people.
            $0.notifications.maxAttempts = 1_000
        }) { plaza in
            let addresses = ["a@example.com", "b@example.com", "c@example.com"]
            for address in addresses { _ = try await person(plaza, address) }
            #expect(
                try await eventually(plaza) {
                    let email = try await deliveries(plaza, DeliveryQuery(channel: .email))
                    return email.count == 3 && email.allSatisfy { $0.state == .retrying && $0.attempts >= 1 }
                })
            let waiting = try await deliveries(plaza, DeliveryQuery(state: .retrying))
            #expect(waiting.count == 3)
            #expect(waiting.allSatisfy { $0.lastError?.contains("cannot talk to the mail server") == true && $0.nextAttemptAt != nil })

            // The operators' API shows the same, with the state filter.
            try await plaza.testApplication().test(.router) { client in
                let listed = try await client.execute(
                    uri: "/api/v1/operations/deliveries?state=retrying&channel=email", method: .get, headers: operatorHeader)
                #expect(listed.status == .ok)
                #expect(try decode(ItemPage<NotificationDelivery>.self, listed).items.count == 3)
            }

            down.release()
            let server = try await MailServer.start(port: port)
            defer { server.stop() }
            #expect(try await eventually(plaza) { server.mails.count >= 3 })
            // Give a duplicate every chance to show up before counting.
            try await Task.sleep(for: .seconds(1))
            try await drain(plaza)
            #expect(server.mails.count == 3)
            #expect(Set(server.mails.compactMap { $0["messageId"] as? String }).count == 3)
            for address in addresses { #expect(server.mails(to: address).count == 1) }

            let done = try await deliveries(plaza, DeliveryQuery(channel: .email))
            #expect(done.allSatisfy { $0.state == .sent })
            let caller = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["operator"])))
            let history = try await plaza.notifications.delivery(try #require(done.first?.id), caller: caller).history ?? []
            #expect(history.first?.outcome == "failed")
            #expect(history.last?.outcome == "sent")
            #expect(history.map(\.attempt) == Array(1...history.count))

            // A job that runs again for a sent delivery sends nothing.
            try await plaza.notifications.deliver(try #require(done.first?.id))
            try await drain(plaza)
            #expect(server.mails.count == 3)
        }
    }

    @Test("a refused mailbox is given up at once; an operator can retry it, and a sent delivery cannot be retried")
    func refusedMailbox() async throws {
        let server = try await MailServer.start(arguments: ["--reject", "nobody@example.com"])
        defer { server.stop() }
        try await withTestPlaza(configure: {
            $0.notifications.smtp = SMTPSettings(host: "127.0.0.1", port: server.port, security: .none)
        }) { plaza in
            _ = try await person(plaza, "nobody@example.com")
            _ = try await person(plaza, "somebody@example.com")
            #expect(try await eventually(plaza) { try await deliveries(plaza, DeliveryQuery(state: .givenUp)).count == 1 })
            let refused = try #require(try await deliveries(plaza, DeliveryQuery(state: .givenUp)).first)
            #expect(refused.address == "nobody@example.com")
            #expect(refused.attempts == 1)
            #expect(refused.lastError?.contains("550") == true)
            let sent = try #require(try await deliveries(plaza, DeliveryQuery(state: .sent)).first)

            try await plaza.testApplication().test(.router) { client in
                let retried = try await client.execute(
                    uri: "/api/v1/operations/deliveries/\(refused.id)/retry", method: .post, headers: operatorHeader)
                #expect(retried.status == .ok)
                #expect(try decode(NotificationDelivery.self, retried).state == .queued)
                let again = try await client.execute(uri: "/api/v1/operations/deliveries/\(sent.id)/retry", method: .post, headers: operatorHeader)
                #expect(again.status == .conflict)
                let stranger = try await client.execute(
                    uri: "/api/v1/operations/deliveries", method: .get,
                    headers: [.testPrincipal: TestAuthentication.header(roles: [])])
                #expect(stranger.status == .forbidden)
                let badFilter = try await client.execute(uri: "/api/v1/operations/deliveries?state=lost", method: .get, headers: operatorHeader)
                #expect(badFilter.status == .unprocessableContent)
            }
            #expect(
                try await eventually(plaza) {
                    try await plaza.notifications.delivery(
                        refused.id,
                        caller: Caller(
                            principal: TestAuthentication.principal(
                                header: TestAuthentication.header(roles: ["operator"])))
                    ).attempts == 2
                })
            let after = try await deliveries(plaza, DeliveryQuery(state: .givenUp))
            #expect(after.map(\.id) == [refused.id], "retried and refused again")
            #expect(server.mails(to: "somebody@example.com").count == 1)
        }
    }

    @Test("PLAZA_SMTP_URL is read strictly")
    func smtpURL() throws {
        let settings = try SMTPSettings(url: "smtp://me%40x:p%3Ass@mail.example.com:2525?tls=required")
        #expect(settings.username == "me@x")
        #expect(settings.password == "p:ss")
        #expect(settings.port == 2525)
        #expect(settings.security == .required)
        #expect(try SMTPSettings(url: "smtps://mail.example.com").port == 465)
        #expect(try SMTPSettings(url: "smtp://mail.example.com").security == .starttls)
        #expect(throws: SMTPError.self) { try SMTPSettings(url: "http://mail.example.com") }
        #expect(throws: SMTPError.self) { try SMTPSettings(url: "smtp://u:p@mail.example.com?tls=none") }
        #expect(throws: SMTPError.self) { try SMTPSettings(url: "smtp://mail.example.com?colour=blue") }
        #expect(throws: ConfigError.self) { try PlazaConfig.load(environment: ["PLAZA_SMTP_URL": "smtp://"]) }
        #expect(throws: ConfigError.self) { try PlazaConfig.load(environment: ["PLAZA_MAIL_FROM": "not an address"]) }
        #expect(throws: ConfigError.self) { try PlazaConfig.load(environment: ["PLAZA_SMS_FROM": "+15005550006"]) }
    }

    @Test("messages are dot-stuffed, subjects encoded in words of at most 75 characters")
    func messageFormat() {
        #expect(SMTPClient.dotStuffed(".a\n.b\nc") == "..a\r\n..b\r\nc\r\n")
        let subject = EmailMessage.encodedWord(String(repeating: "Ї", count: 60))
        #expect(subject.components(separatedBy: "\r\n ").allSatisfy { $0.count <= 75 && $0.hasPrefix("=?UTF-8?B?") })
        #expect(EmailMessage.encodedWord("plain") == "plain")
        #expect(EmailMessage.address("Plaza <no-reply@x.test>") == "no-reply@x.test")
    }

    @Test("an address with a line break is refused before anything is written to the server")
    func addressInjection() async throws {
        let client = try SMTPClient(settings: SMTPSettings(host: "127.0.0.1", port: ServerProcess.freePort(), security: .none))
        // Nothing listens on that port: refusing the address must come before connecting (a 501, not a connection error).
        do {
            try await client.send(SMTPEnvelope(from: "a@x.test", to: ["b@x.test>\r\nRCPT TO:<c@x.test"], message: "Subject: x\r\n\r\nx"))
            Issue.record("an address with a line break was sent")
        } catch let error as SMTPError {
            guard case .rejected(_, let code, _) = error else { Issue.record("refused for another reason: \(error)"); return }
            #expect(code == 501)
            #expect(error.permanent)
        }
        let settings = NotificationSettings()
        #expect(settings.allowsPush(to: URL(string: "https://fcm.googleapis.com/fcm/send/abc")!))
        #expect(settings.allowsPush(to: URL(string: "https://wns2-by3p.notify.windows.com/w/?token=x")!))
        #expect(!settings.allowsPush(to: URL(string: "http://fcm.googleapis.com/fcm/send/abc")!), "https only")
        #expect(!settings.allowsPush(to: URL(string: "https://127.0.0.1/push")!))
    }
}

@Suite("Secrets in the delivery log")
struct DeliveryLogSecretsTests {
    @Test("a subject that would carry a code or a token is kept with dots instead (a template that forgets stays safe)")
    func masked() {
        #expect(NotificationService.masked("Your code: 557538", data: ["code": "557538"]) == "Your code: ••••••")
        #expect(NotificationService.masked("Join with abcdef1234", data: ["token": "abcdef1234", "organisation": "Acme"]) == "Join with ••••••")
        #expect(NotificationService.masked("Welcome to Acme", data: ["organisation": "Acme"]) == "Welcome to Acme", "only secrets are masked")
    }
}
