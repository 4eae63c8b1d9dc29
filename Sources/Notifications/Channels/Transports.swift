import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import PlazaKit

/// One message on its way out through one channel.
public struct OutgoingMessage: Sendable {
    public var deliveryID: UUID
    public var channel: Channel
    /// An e-mail address, an E.164 number, or a push subscription's id.
    public var address: String
    public var locale: String
    public var content: RenderedMessage
}

/// A channel's way out of the machine. Returns the provider's reference for the message.
public protocol NotificationTransport: Sendable {
    func send(_ message: OutgoingMessage) async throws -> String
}

/// A send that failed; `permanent` failures are given up at once (a refused address, an expired subscription).
public struct TransportFailure: Error, CustomStringConvertible {
    public var message: String
    public var permanent: Bool
    public init(_ message: String, permanent: Bool) {
        self.message = message
        self.permanent = permanent
    }
    public var description: String { message }
}

// MARK: E-mail

/// E-mail through SMTP, or, when no server is configured, into the log (development installations).
public struct EmailTransport: NotificationTransport {
    let client: SMTPClient?
    let from: String
    let footer: [String: String]
    let logger: Logger

    public init(client: SMTPClient?, from: String, footer: [String: String], logger: Logger) {
        self.client = client
        self.from = from
        self.footer = footer
        self.logger = logger
    }

    /// The Message-ID of a delivery's e-mail: the same on every attempt.
    public func messageID(for delivery: UUID) -> String {
        "\(delivery.uuidString.lowercased())@\(EmailMessage.domain(from))"
    }

    public func send(_ message: OutgoingMessage) async throws -> String {
        let id = messageID(for: message.deliveryID)
        let text = EmailMessage.compose(
            message.content, from: from, to: message.address, messageID: id, date: Date(), locale: message.locale,
            footer: footer[message.locale] ?? footer["en"] ?? "")
        guard let client else {
            logger.notice(
                "e-mail (no PLAZA_SMTP_URL: written to the log instead of sent)",
                metadata: [
                    "to": "\(message.address)", "subject": "\(message.content.title)", "text": "\(message.content.body)",
                ])
            return "<\(id)>"
        }
        do {
            try await client.send(SMTPEnvelope(from: EmailMessage.address(from), to: [message.address], message: text))
        } catch let error as SMTPError {
            throw TransportFailure(error.description, permanent: error.permanent)
        }
        return "<\(id)>"
    }
}

// MARK: SMS

/// Where to send SMS: a Twilio-style Messages API. `PLAZA_SMS_URL=https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com`.
public struct SMSSettings: Sendable, Equatable {
    public var baseURL: String
    public var accountSID: String
    public var authToken: String
    /// The sender: an E.164 number or an alphanumeric sender id (`PLAZA_SMS_FROM`).
    public var from: String

    public init(url text: String, from: String) throws {
        guard var url = URLComponents(string: text), let scheme = url.scheme, scheme == "https" || scheme == "http", url.host != nil,
            let account = url.user?.removingPercentEncoding, let token = url.password?.removingPercentEncoding, !account.isEmpty, !token.isEmpty
        else { throw TransportFailure("PLAZA_SMS_URL must look like https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com", permanent: true) }
        url.user = nil
        url.password = nil
        url.path = ""
        baseURL = url.string ?? text
        accountSID = account
        authToken = token
        guard !from.isEmpty else { throw TransportFailure("PLAZA_SMS_FROM must name the sender when PLAZA_SMS_URL is set", permanent: true) }
        self.from = from
    }
}

/// SMS through the Twilio Messages API: a form POST with HTTP Basic auth, delivery reports by signed
/// status callbacks to `statusCallback`.
public struct SMSTransport: NotificationTransport {
    let settings: SMSSettings
    let statusCallback: String
    let http: HTTPClient

    public init(settings: SMSSettings, statusCallback: String, http: HTTPClient = .shared) {
        self.settings = settings
        self.statusCallback = statusCallback
        self.http = http
    }

    struct Accepted: Decodable { var sid: String }
    struct Refused: Decodable { var code: Int?; var message: String? }

    public func send(_ message: OutgoingMessage) async throws -> String {
        let fields = [("To", message.address), ("From", settings.from), ("Body", message.content.short), ("StatusCallback", statusCallback)]
        var request = HTTPClientRequest(url: "\(settings.baseURL)/2010-04-01/Accounts/\(settings.accountSID)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(settings.accountSID):\(settings.authToken)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(20))
        } catch {
            throw TransportFailure("cannot reach the SMS provider: \(error)", permanent: false)
        }
        let body = try await response.body.collect(upTo: 64 * 1024)
        if (200..<300).contains(response.status.code), let accepted = try? JSONDecoder().decode(Accepted.self, from: body) {
            return accepted.sid
        }
        let refused = try? JSONDecoder().decode(Refused.self, from: body)
        let detail =
            "the SMS provider answered \(response.status.code)"
            + (refused?.code.map { " (error \($0))" } ?? "") + (refused?.message.map { ": \($0)" } ?? "")
        // 4xx other than throttling: this message will never pass (a bad number, a refused body).
        let status = response.status.code
        throw TransportFailure(detail, permanent: (400..<500).contains(status) && status != 429 && status != 401 && status != 408)
    }
}

// MARK: Web Push

/// A stored subscription, as the push transport needs it.
public struct PushTarget: Sendable {
    public var endpoint: String
    public var p256dh: Data
    public var auth: Data
}

/// Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291). The payload is the JSON
/// `{"title","body","link"}` a service worker shows.
public struct PushTransport: NotificationTransport {
    let key: @Sendable () async throws -> VAPIDKey
    let subject: String
    let http: HTTPClient
    /// Checked again before every send: the allowed services may have changed since the browser subscribed.
    let allows: @Sendable (URL) -> Bool
    let target: @Sendable (String) async throws -> PushTarget?
    /// Called when the push service says a subscription is gone (404/410), so it is forgotten.
    let gone: @Sendable (String) async throws -> Void

    public init(
        key: @escaping @Sendable () async throws -> VAPIDKey, subject: String, http: HTTPClient = .shared,
        allows: @escaping @Sendable (URL) -> Bool,
        target: @escaping @Sendable (String) async throws -> PushTarget?, gone: @escaping @Sendable (String) async throws -> Void
    ) {
        self.key = key
        self.subject = subject
        self.http = http
        self.allows = allows
        self.target = target
        self.gone = gone
    }

    struct Payload: Encodable { var title: String; var body: String; var link: String? }

    public func send(_ message: OutgoingMessage) async throws -> String {
        guard let target = try await target(message.address) else {
            throw TransportFailure("the push subscription was removed", permanent: true)
        }
        guard let endpoint = URL(string: target.endpoint), allows(endpoint) else {
            throw TransportFailure("the subscription's endpoint is not an allowed push service", permanent: true)
        }
        let payload = try JSONEncoder().encode(Payload(title: message.content.title, body: message.content.short, link: message.content.link))
        let body: Data
        let authorization: String
        let vapid = try await key()
        do {
            body = try WebPushEncryption.encrypt(payload, userAgentPublicKey: target.p256dh, authSecret: target.auth)
            authorization = try vapid.authorization(endpoint: endpoint, subject: subject, expires: Date().addingTimeInterval(12 * 3600))
        } catch {
            throw TransportFailure("cannot encrypt for this subscription: \(error)", permanent: true)
        }
        var request = HTTPClientRequest(url: target.endpoint)
        request.method = .POST
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Encoding", value: "aes128gcm")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "TTL", value: "86400")
        request.headers.add(name: "Urgency", value: "normal")
        // RFC 8030 §5.4: a message with the same topic replaces one the service still holds: a retry after a
        // lost answer does not show twice.
        request.headers.add(name: "Topic", value: Self.topic(message.deliveryID))
        request.body = .bytes(ByteBuffer(data: body))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(20))
        } catch {
            throw TransportFailure("cannot reach the push service: \(error)", permanent: false)
        }
        let status = response.status.code
        if (200..<300).contains(status) { return response.headers.first(name: "Location") ?? "\(status)" }
        if status == 404 || status == 410 {
            try await gone(message.address)
            throw TransportFailure("the push service says the subscription is gone (\(status))", permanent: true)
        }
        throw TransportFailure("the push service answered \(status)", permanent: (400..<500).contains(status) && status != 429)
    }

    /// At most 32 base64url characters (RFC 8030 §5.4).
    static func topic(_ id: UUID) -> String {
        String(withUnsafeBytes(of: id.uuid) { Data($0) }.base64URLEncodedString().prefix(32))
    }
}
