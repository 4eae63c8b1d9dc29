import Foundation
import Identity
import Jobs
import Logging
import PlazaKit
import Realtime
import SQLKit
import Storage

/// How notifications are sent on this installation.
public struct NotificationSettings: Sendable {
    /// `PLAZA_SMTP_URL`; without it e-mail is written to the log.
    public var smtp: SMTPSettings?
    /// `PLAZA_MAIL_FROM`.
    public var mailFrom = "Plaza <no-reply@plaza.localhost>"
    /// `PLAZA_SMS_URL` and `PLAZA_SMS_FROM`; without them there is no SMS channel.
    public var sms: SMSSettings?
    /// The VAPID `sub` claim: how a push service reaches the operator (`PLAZA_PUSH_CONTACT`; the sender's
    /// address by default).
    public var pushContact: String?
    /// Attempts per delivery before it is given up.
    public var maxAttempts = 8
    /// The first retry's delay; each later one doubles, up to `maxBackoff`.
    public var baseBackoff: Duration = .seconds(30)
    public var maxBackoff: Duration = .seconds(3600)
    /// People handled per transaction when a notification is fanned out.
    public var fanoutBatch = 500
    /// The push services whose endpoints browsers may register (host names, or suffixes starting with a dot):
    /// the server POSTs to these, so an endpoint anywhere else — an address inside the network — is refused.
    public var pushHosts = NotificationSettings.browserPushServices

    /// Where Chrome, Edge, Firefox and Safari subscriptions point.
    public static let browserPushServices = [
        "fcm.googleapis.com", "android.googleapis.com", "updates.push.services.mozilla.com", ".notify.windows.com", "web.push.apple.com",
    ]

    /// Whether an endpoint's host is one of ``pushHosts``.
    public func allowsPush(to endpoint: URL) -> Bool {
        guard let host = endpoint.host?.lowercased(), let scheme = endpoint.scheme else { return false }
        guard pushHosts.contains(where: { $0.hasPrefix(".") ? host.hasSuffix($0) : host == $0 }) else { return false }
        // Plain HTTP only for a service on this machine (a test's or a self-hosted one's).
        return scheme == "https" || (scheme == "http" && (host == "127.0.0.1" || host == "localhost"))
    }

    public init() {}
}

extension NotificationSettings: Equatable {
    public static func == (a: NotificationSettings, b: NotificationSettings) -> Bool {
        a.smtp == b.smtp && a.mailFrom == b.mailFrom && a.sms == b.sms && a.pushContact == b.pushContact && a.maxAttempts == b.maxAttempts
            && a.baseBackoff == b.baseBackoff && a.maxBackoff == b.maxBackoff && a.fanoutBatch == b.fanoutBatch && a.pushHosts == b.pushHosts
    }
}

public enum NotificationPolicy {
    public static let announce: Action = "notifications.announce"
    public static let readDeliveries: Action = "notifications.deliveries.read"
    public static let retryDeliveries: Action = "notifications.deliveries.retry"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(announce, .systemRole(SystemRole.admin), .systemRole(SystemRole.employee))
        policy.allow(readDeliveries, .systemRole(SystemRole.operator), .systemRole(SystemRole.admin))
        policy.allow(retryDeliveries, .systemRole(SystemRole.operator), .systemRole(SystemRole.admin))
        return policy
    }
}

/// Sends notifications: stores them, fans them out to inboxes and deliveries, and runs the deliveries.
public struct NotificationService: Sendable {
    public static let fanoutJob = "notifications.fanout"
    public static let deliverJob = "notifications.deliver"
    public static let pruneJob = "notifications.prune"
    /// Finished deliveries (sent, given up) are kept this long for operators, then deleted with their attempts.
    public static let deliveryRetention: TimeInterval = 90 * 86400
    /// Inbox entries are kept this long.
    public static let inboxRetention: TimeInterval = 365 * 86400

    let store: Store
    let queue: JobQueue
    let publisher: RealtimePublisher
    public let identity: IdentityService
    let policy: any Policy
    public let templates: NotificationTemplates
    public let settings: NotificationSettings
    let transports: [Channel: any NotificationTransport]
    let logger: Logger

    public init(
        store: Store, queue: JobQueue, publisher: RealtimePublisher, identity: IdentityService, policy: any Policy,
        templates: NotificationTemplates, settings: NotificationSettings, transports: [Channel: any NotificationTransport], logger: Logger
    ) {
        self.store = store
        self.queue = queue
        self.publisher = publisher
        self.identity = identity
        self.policy = policy
        self.templates = templates
        self.settings = settings
        self.transports = transports
        self.logger = logger
    }

    /// The channels this installation can use (SMS only when a provider is configured).
    public var availableChannels: Set<Channel> { Set(transports.keys).union([.inApp]) }

    /// Registers the fan-out and delivery jobs.
    public func register(in registry: JobRegistry) throws {
        let service = self
        try registry.register(Self.fanoutJob, payload: [String: UUID].self) { payload, _ in
            guard let id = payload["notificationId"] else { return }
            try await service.fanOut(id)
        }
        try registry.register(Self.deliverJob, payload: [String: UUID].self) { payload, _ in
            guard let id = payload["deliveryId"] else { return }
            try await service.deliver(id)
        }
        try registry.register(Self.pruneJob) { _, context in
            let removed = try await service.prune()
            context.logger.info("pruned old notifications", metadata: ["deliveries": "\(removed.deliveries)", "inbox": "\(removed.inbox)"])
        }
    }

    /// Deletes finished deliveries and inbox entries past their retention, and notifications nothing refers to.
    @discardableResult
    public func prune() async throws -> (deliveries: Int, inbox: Int) {
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let deliveries = try await transaction.sql.raw(
                """
                DELETE FROM notification_deliveries WHERE state IN ('sent', 'given-up')
                  AND updated_at < \(bind: now.addingTimeInterval(-Self.deliveryRetention)) RETURNING id
                """
            ).all().count
            let inbox = try await transaction.sql.raw(
                """
                DELETE FROM notification_inbox WHERE created_at < \(bind: now.addingTimeInterval(-Self.inboxRetention)) RETURNING id
                """
            ).all().count
            try await transaction.sql.raw(
                """
                DELETE FROM notifications WHERE created_at < \(bind: now.addingTimeInterval(-Self.deliveryRetention))
                  AND fanned_out_at IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM notification_inbox i WHERE i.notification_id = notifications.id)
                  AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = notifications.id)
                """
            ).run()
            return (deliveries, inbox)
        }
    }

    // MARK: Sending

    /// Stores a notification in the caller's transaction; a job fans it out after commit. A second call with
    /// the same `dedupeKey` stores nothing and returns nil.
    @discardableResult
    public func notify(_ request: NotificationRequest, dedupeKey: String? = nil, caller: Caller, in transaction: Transaction) async throws -> UUID? {
        try check(request)
        guard let template = templates.template(request.template) else {
            throw PlazaError.validation(field: "template", "\(request.template) is not a template")
        }
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        let inserted = try await transaction.sql.raw(
            """
            INSERT INTO notifications (id, template, category, audience, data, email, phone, locale, dedupe_key, created_by, created_at, recipients)
            VALUES (\(bind: id), \(bind: template.id), \(bind: template.category), \(bind: try Self.json(request.audience)),
                    \(bind: try Self.json(request.data)), \(bind: request.email), \(bind: request.phone), \(bind: request.locale), \(bind: dedupeKey),
                    \(bind: caller.principal?.id), \(bind: now), 0)
            ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
            """
        ).all()
        guard !inserted.isEmpty else { return nil }
        try await queue.enqueue(
            try JobRequest(Self.fanoutJob, payload: ["notificationId": id], priority: 5, uniqueKey: "\(Self.fanoutJob):\(id)"), in: transaction)
        return id
    }

    /// ``notify(_:dedupeKey:caller:in:)`` in a transaction of its own.
    @discardableResult
    public func notify(_ request: NotificationRequest, dedupeKey: String? = nil, caller: Caller) async throws -> UUID? {
        try await store.transaction { try await self.notify(request, dedupeKey: dedupeKey, caller: caller, in: $0) }
    }

    /// An operator's or admin's message to an audience, through the `announcement` template.
    public func announce(_ announcement: Announcement, caller: Caller) async throws -> NotificationReceipt {
        try policy.authorize(caller, NotificationPolicy.announce)
        var errors = announcement.audience.problems
        let title = announcement.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = announcement.body.trimmingCharacters(in: .whitespacesAndNewlines)
        Announcement.titleLimit.check(announcement.title, field: "title", into: &errors)
        Announcement.bodyLimit.check(announcement.body, field: "body", into: &errors)
        if let link = announcement.link, !(link.hasPrefix("/") && !link.hasPrefix("//")) {
            errors.append(FieldError(field: "link", message: "must be a path on this site, starting with /"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        try identity.checkGroup(of: announcement.audience)
        var data: [String: JSONValue] = ["title": .string(title), "body": .string(body)]
        if let link = announcement.link { data["link"] = .string(link) }
        let request = NotificationRequest(audience: announcement.audience, template: "announcement", data: data)
        let id = try await store.transaction { transaction in
            let id = try await self.notify(request, caller: caller, in: transaction)!
            try await transaction.audit(
                caller, action: "notifications.announce", resourceType: "notification", resourceID: id.uuidString,
                details: ["title": .string(title)])
            return id
        }
        return NotificationReceipt(id: id, template: "announcement", category: "announcements")
    }

    func check(_ request: NotificationRequest) throws {
        var errors = request.email == nil && request.phone == nil ? request.audience.problems : []
        if let email = request.email, !email.contains("@") || email.count > 320 {
            errors.append(FieldError(field: "email", message: "must be an e-mail address"))
        }
        if let phone = request.phone, !(phone.hasPrefix("+") && phone.count <= 16 && phone.dropFirst().allSatisfy(\.isNumber)) {
            errors.append(FieldError(field: "phone", message: "must be a number in E.164 form"))
        }
        if request.email != nil, request.phone != nil {
            errors.append(FieldError(field: "phone", message: "cannot be given with email: one address per notification"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
    }

    // MARK: Fan-out

    struct Stored {
        var template: NotificationTemplate
        var category: NotificationCategory
        var audience: Audience
        var data: [String: JSONValue]
        var email: String?
        var phone: String?
        var locale: String?

        /// The one address a code or invitation goes to, instead of the audience's own addresses.
        var direct: (channel: Channel, address: String)? {
            if let email { return (.email, email) }
            if let phone { return (.sms, phone) }
            return nil
        }
    }

    /// Turns a stored notification into inbox rows and deliveries, a page of people per transaction. Running it
    /// again (a retried job) adds only what is missing.
    func fanOut(_ id: UUID) async throws {
        guard let row = try await store.sql.raw("SELECT * FROM notifications WHERE id = \(bind: id)").first() else { return }
        let templateID = try row.decode(column: "template", as: String.self)
        guard let template = templates.template(templateID), let category = templates.category(template.category) else {
            logger.error("a notification names a template this build does not have", metadata: ["template": "\(templateID)"])
            return
        }
        let stored = Stored(
            template: template, category: category,
            audience: try Self.decode(Audience.self, try row.decode(column: "audience", as: String.self)),
            data: try Self.decode([String: JSONValue].self, try row.decode(column: "data", as: String.self)),
            email: try row.decode(column: "email", as: String?.self), phone: try row.decode(column: "phone", as: String?.self),
            locale: try row.decode(column: "locale", as: String?.self))
        var total = 0
        if let (channel, address) = stored.direct {
            // One address: the account's details only lend the greeting and language.
            let contact = try await identity.contacts(in: stored.audience, limit: 1).first
            try await store.transaction { transaction in
                try await self.addDelivery(
                    id, stored: stored, channel: channel, address: address, user: contact?.id, locale: contact?.locale ?? stored.locale ?? "en",
                    firstName: contact?.firstName, release: nil, in: transaction)
            }
            total = 1
        } else {
            var after: UUID?
            while true {
                let page = try await identity.contacts(in: stored.audience, after: after, limit: settings.fanoutBatch)
                if page.isEmpty { break }
                try await store.transaction { transaction in try await self.fanOut(id, stored: stored, to: page, in: transaction) }
                total += page.count
                after = page.last?.id
                if page.count < settings.fanoutBatch { break }
            }
        }
        let recipients = total
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                UPDATE notifications SET fanned_out_at = \(bind: transaction.clock.now()), recipients = \(bind: recipients) WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    private func fanOut(_ id: UUID, stored: Stored, to people: [Contact], in transaction: Transaction) async throws {
        let users = people.map(\.id)
        let choices = try await Preferences.choices(of: users, category: stored.category.id, in: transaction)
        let quiet = try await Preferences.quietHours(of: users, in: transaction)
        let wanted = stored.template.channels.intersection(availableChannels)
        var pushTargets: [UUID: [UUID]] = [:]
        if wanted.contains(.push) {
            for row in try await transaction.sql.raw(
                """
                SELECT id, user_id FROM notification_push_subscriptions WHERE user_id IN (\(binds: users))
                """
            ).all() {
                pushTargets[try row.decode(column: "user_id", as: UUID.self), default: []].append(try row.decode(column: "id", as: UUID.self))
            }
        }
        let now = transaction.clock.now()
        var inboxed: [UUID: InboxItem] = [:]
        for person in people {
            let channels = Preferences.channels(for: stored.category, offered: wanted, choices: choices[person.id] ?? [:])
            guard !channels.isEmpty else { continue }
            let message = try templates.render(stored.template.id, locale: person.locale, data: stored.data, firstName: person.firstName)
            if channels.contains(.inApp) {
                let item = InboxItem(
                    id: PlazaID.make(at: now), notificationId: id, category: stored.category.id, title: message.title, body: message.body,
                    link: message.link.map { $0.hasPrefix(templates.baseURL) ? String($0.dropFirst(templates.baseURL.count)) : $0 },
                    createdAt: now, readAt: nil)
                let inserted = try await transaction.sql.raw(
                    """
                    INSERT INTO notification_inbox (id, notification_id, user_id, category, title, body, link, created_at)
                    VALUES (\(bind: item.id), \(bind: id), \(bind: person.id), \(bind: item.category), \(bind: item.title), \(bind: item.body),
                            \(bind: item.link), \(bind: now))
                    ON CONFLICT (notification_id, user_id) DO NOTHING RETURNING id
                    """
                ).all()
                if !inserted.isEmpty { inboxed[person.id] = item }
            }
            // Quiet hours hold back what would buzz a phone or fill a mailbox at night; security notices do not wait.
            let release =
                stored.category.mandatory
                ? nil
                : quiet[person.id].map { hours in
                    hours.release(now, timeZone: TimeZone(identifier: person.timeZone) ?? .gmt)
                }.flatMap { $0 > now ? $0 : nil }
            for channel in channels.sorted() where channel.isOutside {
                let addresses: [String]
                switch channel {
                case .email: addresses = [person.email]
                case .sms: addresses = person.mobile.flatMap { person.mobileVerified ? [$0] : nil } ?? []
                case .push: addresses = (pushTargets[person.id] ?? []).map { $0.uuidString.lowercased() }
                case .inApp: addresses = []
                }
                for address in addresses {
                    try await addDelivery(
                        id, stored: stored, channel: channel, address: address, user: person.id, locale: person.locale, message: message,
                        release: release, in: transaction)
                }
            }
        }
        try await publishInbox(inboxed, in: transaction)
    }

    /// Stores one delivery (unless the notification already has it) and schedules its first attempt.
    private func addDelivery(
        _ notification: UUID, stored: Stored, channel: Channel, address: String, user: UUID?, locale: String,
        firstName: String? = nil, message: RenderedMessage? = nil, release: Date?, in transaction: Transaction
    ) async throws {
        let message = try message ?? templates.render(stored.template.id, locale: locale, data: stored.data, firstName: firstName)
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        let content = try Self.json(StoredContent(locale: locale, message: message))
        let inserted = try await transaction.sql.raw(
            """
            INSERT INTO notification_deliveries (id, notification_id, user_id, channel, address, template, subject, content, state, attempts,
                                                 next_attempt_at, created_at, updated_at)
            VALUES (\(bind: id), \(bind: notification), \(bind: user), \(bind: channel.rawValue), \(bind: address), \(bind: stored.template.id),
                    \(bind: Self.masked(message.title, data: stored.data)), \(bind: content), 'queued', 0, \(bind: release),\
             \(bind: now), \(bind: now))
            ON CONFLICT (notification_id, channel, address) DO NOTHING RETURNING id
            """
        ).all()
        guard !inserted.isEmpty else { return }
        try await scheduleAttempt(id, number: 0, at: release, in: transaction)
    }

    /// Template data that grants access (a one-time code, an invitation's token): operators read the delivery log,
    /// so these never appear in a subject it keeps. The message itself is sent whole, and its content is dropped
    /// once it is sent.
    static let secretKeys: Set<String> = ["code", "token"]

    /// A subject for the delivery log, with any secret of the data replaced by dots (templates keep secrets out of
    /// subjects; this holds for a template that forgets).
    static func masked(_ subject: String, data: [String: JSONValue]) -> String {
        var masked = subject
        for key in secretKeys {
            guard case .string(let secret)? = data[key], secret.count >= 4 else { continue }
            masked = masked.replacingOccurrences(of: secret, with: "••••••")
        }
        return masked
    }

    func scheduleAttempt(_ delivery: UUID, number: Int, at date: Date?, suffix: String = "", in transaction: Transaction) async throws {
        try await queue.enqueue(
            try JobRequest(
                Self.deliverJob, payload: ["deliveryId": delivery], runAt: date, maxAttempts: 3,
                uniqueKey: "\(Self.deliverJob):\(delivery):\(number)\(suffix)"),
            in: transaction)
    }

    /// What a delivery keeps until it is sent: the words in the recipient's language.
    struct StoredContent: Codable {
        var locale: String
        var message: RenderedMessage
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try PlazaJSON.encoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try PlazaJSON.decoder().decode(T.self, from: Data(text.utf8))
    }
}
