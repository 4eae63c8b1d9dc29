import Foundation
import Identity
import PlazaKit

/// The ways a notification reaches a person.
public enum Channel: String, Codable, Sendable, CaseIterable, Comparable {
    case inApp = "in-app"
    case email
    case sms
    case push

    public static func < (a: Channel, b: Channel) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    /// The channels that leave the machine, and so have deliveries, retries and quiet hours.
    public var isOutside: Bool { self != .inApp }
}

/// A kind of notification people can tune: which channels it uses unless they say otherwise, and whether
/// they may turn it off at all.
public struct NotificationCategory: Sendable, Equatable {
    public var id: String
    /// Shown on the preferences page and in the API, by locale (`en`, `uk`).
    public var names: [String: String]
    public var defaults: Set<Channel>
    /// Security notices: the default channels stay on whatever the person says.
    public var mandatory: Bool

    public init(id: String, names: [String: String], defaults: Set<Channel>, mandatory: Bool = false) {
        self.id = id
        self.names = names
        self.defaults = defaults
        self.mandatory = mandatory
    }

    public func name(_ locale: String) -> String { names[locale] ?? names["en"] ?? id }

    public static let security = NotificationCategory(
        id: "security", names: ["en": "Security notices", "uk": "Сповіщення безпеки"], defaults: [.inApp, .email], mandatory: true)
    public static let account = NotificationCategory(
        id: "account", names: ["en": "Account", "uk": "Обліковий запис"], defaults: [.inApp, .email])
    public static let organisation = NotificationCategory(
        id: "organisation", names: ["en": "Organisations and invitations", "uk": "Організації та запрошення"], defaults: [.inApp, .email])
    public static let messages = NotificationCategory(
        id: "messages", names: ["en": "Messages", "uk": "Повідомлення"], defaults: [.push])
    public static let announcements = NotificationCategory(
        id: "announcements", names: ["en": "Announcements", "uk": "Оголошення"], defaults: [.inApp])
}

/// A notification to send: who, which template, with what data.
public struct NotificationRequest: Codable, Sendable, Equatable, APISchema {
    public var audience: Audience
    /// A registered template (``NotificationTemplates``); its category decides the default channels.
    public var template: String
    /// The template's variables (strings, numbers, booleans, nested objects).
    public var data: [String: JSONValue]
    /// Send the e-mail to this address instead of the account's (a code for a new address, an invitation to
    /// someone without an account). Only e-mail is used then.
    public var email: String?
    /// Send an SMS to this number instead (a code for a number being verified). Only SMS is used then.
    public var phone: String?
    /// The locale when the address belongs to no account.
    public var locale: String?

    public init(
        audience: Audience, template: String, data: [String: JSONValue] = [:], email: String? = nil, phone: String? = nil, locale: String? = nil
    ) {
        self.audience = audience
        self.template = template
        self.data = data
        self.email = email
        self.phone = phone
        self.locale = locale
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "audience": Audience.schema,
                "template": .string(description: "A template's id, e.g. announcement."),
                "data": .anyObject,
            ], required: ["audience", "template"])
    }
}

/// `POST /api/v1/notifications`: what operators and admins send by hand (an announcement, a maintenance notice).
public struct Announcement: Codable, Sendable, Equatable, APISchema {
    public var audience: Audience
    public var title: String
    public var body: String
    public var link: String?

    public init(audience: Audience, title: String, body: String, link: String? = nil) {
        self.audience = audience
        self.title = title
        self.body = body
        self.link = link
    }

    static let titleLimit = TextLimit(1...200)
    static let bodyLimit = TextLimit(1...4000)

    public static var schema: JSONSchema { schema(groupKinds: []) }

    /// The schema with the kinds of audience group the installed apps resolve.
    public static func schema(groupKinds: [String]) -> JSONSchema {
        .object(
            properties: [
                "audience": Audience.schema(groupKinds: groupKinds), "title": titleLimit.schema,
                "body": bodyLimit.schema, "link": .string(description: "A path on this site, e.g. /account.", pattern: "^/(?!/)"),
            ], required: ["audience", "title", "body"])
    }
}

/// The answer to a sent notification.
public struct NotificationReceipt: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var template: String
    public var category: String
    public static var schema: JSONSchema {
        .object(properties: ["id": .uuid, "template": .text, "category": .text], required: ["id", "template", "category"])
    }
}

/// One entry of a person's in-app inbox.
public struct InboxItem: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var notificationId: UUID
    public var category: String
    public var title: String
    public var body: String
    public var link: String?
    public var createdAt: Date
    public var readAt: Date?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "notificationId": .uuid, "category": .text, "title": .text, "body": .text, "link": .nullable(.text),
                "createdAt": .dateTime, "readAt": .nullable(.dateTime),
            ], required: ["id", "notificationId", "category", "title", "body", "createdAt"])
    }
}

/// `GET /api/v1/me/notifications/unread-count`.
public struct UnreadCount: Codable, Sendable, Equatable, APISchema {
    public var unread: Int
    public static var schema: JSONSchema { .object(properties: ["unread": .integer()], required: ["unread"]) }
}

/// Where a delivery stands.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
    /// Waiting for its first attempt (or for quiet hours to end).
    case queued
    /// The provider accepted it.
    case sent
    /// The last attempt failed and another is scheduled (`nextAttemptAt`).
    case retrying
    /// Failed for good: a permanent error, or the last attempt.
    case givenUp = "given-up"
}

/// One message through one outside channel to one address.
public struct NotificationDelivery: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var notificationId: UUID
    public var userId: UUID?
    public var channel: Channel
    public var address: String
    public var template: String
    public var subject: String
    public var state: DeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    /// The provider's id for the message (an SMTP Message-ID, an SMS sid, a push resource).
    public var providerRef: String?
    /// What the provider reported afterwards (an SMS `delivered`, `undelivered`).
    public var providerStatus: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var sentAt: Date?
    /// Every attempt, when one delivery is asked for; null in lists.
    public var history: [DeliveryAttempt]?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "notificationId": .uuid, "userId": .nullable(.uuid),
                "channel": .string(enumValues: Channel.allCases.filter(\.isOutside).map(\.rawValue)),
                "address": .text, "template": .text, "subject": .text,
                "state": .string(enumValues: DeliveryState.allCases.map(\.rawValue)), "attempts": .integer(),
                "nextAttemptAt": .nullable(.dateTime), "lastError": .nullable(.text), "providerRef": .nullable(.text),
                "providerStatus": .nullable(.text), "createdAt": .dateTime, "updatedAt": .dateTime, "sentAt": .nullable(.dateTime),
                "history": .nullable(.array(DeliveryAttempt.schema)),
            ], required: ["id", "notificationId", "channel", "address", "template", "subject", "state", "attempts", "createdAt", "updatedAt"])
    }
}

/// One try at sending a delivery.
public struct DeliveryAttempt: Codable, Sendable, Equatable, APISchema {
    public var attempt: Int
    public var at: Date
    public var outcome: String
    public var error: String?
    public var milliseconds: Int

    public static var schema: JSONSchema {
        .object(
            properties: [
                "attempt": .integer(), "at": .dateTime, "outcome": .string(enumValues: ["sent", "failed"]), "error": .nullable(.text),
                "milliseconds": .integer(),
            ], required: ["attempt", "at", "outcome", "milliseconds"])
    }
}

/// A person's choices: each category's channels, and quiet hours.
public struct NotificationPreferences: Codable, Sendable, Equatable, APISchema {
    public struct CategoryChoice: Codable, Sendable, Equatable {
        public var category: String
        public var name: String
        public var mandatory: Bool
        /// Channel → on or off; channels not configured on this installation are left out.
        public var channels: [String: Bool]
        public init(category: String, name: String, mandatory: Bool, channels: [String: Bool]) {
            self.category = category
            self.name = name
            self.mandatory = mandatory
            self.channels = channels
        }
    }

    public var categories: [CategoryChoice]
    public var quietHours: QuietHours?
    public var timeZone: String

    public static var schema: JSONSchema {
        .object(
            properties: [
                "categories": .array(
                    .object(
                        properties: [
                            "category": .text, "name": .text, "mandatory": .boolean,
                            "channels": .anyObject,
                        ], required: ["category", "name", "mandatory", "channels"])),
                "quietHours": .nullable(QuietHours.schema),
                "timeZone": .text,
            ], required: ["categories", "timeZone"])
    }
}

/// `PUT /api/v1/me/notification-preferences`: the categories and channels to change, and quiet hours
/// (`null` turns them off; leaving the key out keeps them).
public struct PreferencesUpdate: Codable, Sendable, Equatable, APISchema {
    public var channels: [String: [String: Bool]]?
    public var quietHours: QuietHours??

    public init(channels: [String: [String: Bool]]? = nil, quietHours: QuietHours?? = .none) {
        self.channels = channels
        self.quietHours = quietHours
    }

    enum CodingKeys: String, CodingKey { case channels, quietHours }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        channels = try container.decodeIfPresent([String: [String: Bool]].self, forKey: .channels)
        if container.contains(.quietHours) {
            quietHours = .some(try container.decodeIfPresent(QuietHours.self, forKey: .quietHours))
        } else {
            quietHours = .none
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(channels, forKey: .channels)
        if case .some(let hours) = quietHours { try container.encode(hours, forKey: .quietHours) }
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "channels": .object(properties: [:], required: [], additional: true),
                "quietHours": .nullable(QuietHours.schema),
            ], required: [])
    }
}

/// Hours (in the person's time zone) when outside channels wait; `from` may be later than `to` (22:00–07:00).
public struct QuietHours: Codable, Sendable, Equatable, APISchema {
    public var from: String
    public var to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    /// Minutes after midnight, or nil when not `HH:MM`.
    static let timePattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"

    static func minutes(_ text: String) -> Int? {
        guard text.wholly(matches: timePattern) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0..<24).contains(hours), (0..<60).contains(minutes)
        else { return nil }
        return hours * 60 + minutes
    }

    /// When a message due at `date` may go out: `date` itself outside quiet hours, else the end of them.
    public func release(_ date: Date, timeZone: TimeZone) -> Date {
        guard let start = Self.minutes(from), let end = Self.minutes(to), start != end else { return date }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let now = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let quiet = start < end ? (now >= start && now < end) : (now >= start || now < end)
        guard quiet else { return date }
        let wait = (end - now + 24 * 60) % (24 * 60)
        let released = date.addingTimeInterval(TimeInterval(wait * 60))
        // Back to the whole minute the quiet hours end at.
        let seconds = calendar.component(.second, from: released)
        return released.addingTimeInterval(-TimeInterval(seconds))
    }

    public static var schema: JSONSchema {
        .object(
            properties: ["from": .string(description: "HH:MM", pattern: timePattern), "to": .string(description: "HH:MM", pattern: timePattern)],
            required: ["from", "to"])
    }
}

/// A browser's Web Push subscription (the `PushSubscription.toJSON()` shape).
public struct PushSubscriptionInput: Codable, Sendable, Equatable, APISchema {
    public struct Keys: Codable, Sendable, Equatable {
        public var p256dh: String
        public var auth: String
        public init(p256dh: String, auth: String) {
            self.p256dh = p256dh
            self.auth = auth
        }
    }
    public var endpoint: String
    public var keys: Keys

    public init(endpoint: String, keys: Keys) {
        self.endpoint = endpoint
        self.keys = keys
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "endpoint": .string(description: "The push service URL (https; http only for 127.0.0.1)."),
                "keys": .object(properties: ["p256dh": .text, "auth": .text], required: ["p256dh", "auth"]),
            ], required: ["endpoint", "keys"])
    }
}

/// A stored push subscription.
public struct PushSubscriptionInfo: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var endpoint: String
    public var createdAt: Date
    public static var schema: JSONSchema {
        .object(properties: ["id": .uuid, "endpoint": .text, "createdAt": .dateTime], required: ["id", "endpoint", "createdAt"])
    }
}

/// `GET /api/v1/push/key`: what a browser passes to `pushManager.subscribe` as `applicationServerKey`.
public struct VAPIDPublicKey: Codable, Sendable, Equatable, APISchema {
    public var publicKey: String
    public static var schema: JSONSchema { .object(properties: ["publicKey": .text], required: ["publicKey"]) }
}
