import Foundation
import PlazaKit
import SQLKit
import Storage

/// Per person × category × channel choices; a missing row means the category's default. Mandatory
/// categories keep their default channels on whatever is stored.
enum Preferences {
    static func choices(of users: [UUID], category: String, in transaction: Transaction) async throws -> [UUID: [Channel: Bool]] {
        var choices: [UUID: [Channel: Bool]] = [:]
        for row in try await transaction.sql.raw(
            """
            SELECT user_id, channel, enabled FROM notification_preferences WHERE category = \(bind: category) AND user_id IN (\(binds: users))
            """
        ).all() {
            guard let channel = Channel(rawValue: try row.decode(column: "channel", as: String.self)) else { continue }
            choices[try row.decode(column: "user_id", as: UUID.self), default: [:]][channel] = try row.decode(column: "enabled", as: Bool.self)
        }
        return choices
    }

    static func quietHours(of users: [UUID], in transaction: Transaction) async throws -> [UUID: QuietHours] {
        var hours: [UUID: QuietHours] = [:]
        for row in try await transaction.sql.raw(
            """
            SELECT user_id, starts, ends FROM notification_quiet_hours WHERE user_id IN (\(binds: users))
            """
        ).all() {
            hours[try row.decode(column: "user_id", as: UUID.self)] = QuietHours(
                from: try row.decode(column: "starts", as: String.self), to: try row.decode(column: "ends", as: String.self))
        }
        return hours
    }

    /// The channels one person gets a category's message on, among those `offered`.
    static func channels(for category: NotificationCategory, offered: Set<Channel>, choices: [Channel: Bool]) -> Set<Channel> {
        offered.filter { channel in
            if category.mandatory, category.defaults.contains(channel) { return true }
            return choices[channel] ?? category.defaults.contains(channel)
        }
    }
}

extension NotificationService {
    /// The caller's choices for every category, over the channels this installation has.
    public func preferences(caller: Caller) async throws -> NotificationPreferences {
        let user = try Self.user(caller)
        guard let contact = try await identity.contact(user) else { throw PlazaError.notFound("There is no active account \(user).") }
        let (stored, quiet) = try await store.transaction { transaction in
            var stored: [String: [Channel: Bool]] = [:]
            for row in try await transaction.sql.raw(
                """
                SELECT category, channel, enabled FROM notification_preferences WHERE user_id = \(bind: user)
                """
            ).all() {
                guard let channel = Channel(rawValue: try row.decode(column: "channel", as: String.self)) else { continue }
                stored[try row.decode(column: "category", as: String.self), default: [:]][channel] = try row.decode(column: "enabled", as: Bool.self)
            }
            return (stored, try await Preferences.quietHours(of: [user], in: transaction)[user])
        }
        let channels = availableChannels.sorted()
        let categories = templates.allCategories.map { category in
            let on = Preferences.channels(for: category, offered: Set(channels), choices: stored[category.id] ?? [:])
            return NotificationPreferences.CategoryChoice(
                category: category.id, name: category.name(contact.locale), mandatory: category.mandatory,
                channels: Dictionary(uniqueKeysWithValues: channels.map { ($0.rawValue, on.contains($0)) }))
        }
        return NotificationPreferences(categories: categories, quietHours: quiet, timeZone: contact.timeZone)
    }

    /// Changes some choices and, when given, the quiet hours; everything is checked before anything is written.
    public func updatePreferences(_ update: PreferencesUpdate, caller: Caller) async throws -> NotificationPreferences {
        let user = try Self.user(caller)
        var errors: [FieldError] = []
        var changes: [(category: String, channel: Channel, enabled: Bool)] = []
        for (categoryID, channels) in (update.channels ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let category = templates.category(categoryID) else {
                errors.append(FieldError(field: "channels.\(categoryID)", message: "is not a notification category"))
                continue
            }
            for (name, enabled) in channels.sorted(by: { $0.key < $1.key }) {
                guard let channel = Channel(rawValue: name), availableChannels.contains(channel) else {
                    errors.append(
                        FieldError(
                            field: "channels.\(categoryID).\(name)",
                            message: "is not a channel here (\(availableChannels.sorted().map(\.rawValue).joined(separator: ", ")))"))
                    continue
                }
                if category.mandatory, category.defaults.contains(channel), !enabled {
                    errors.append(FieldError(field: "channels.\(categoryID).\(name)", message: "cannot be turned off: these are security notices"))
                    continue
                }
                changes.append((categoryID, channel, enabled))
            }
        }
        if case .some(.some(let hours)) = update.quietHours {
            if QuietHours.minutes(hours.from) == nil { errors.append(FieldError(field: "quietHours.from", message: "must be a time as HH:MM")) }
            if QuietHours.minutes(hours.to) == nil { errors.append(FieldError(field: "quietHours.to", message: "must be a time as HH:MM")) }
            if hours.from == hours.to { errors.append(FieldError(field: "quietHours.to", message: "must differ from quietHours.from")) }
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let changed = changes
        try await store.transaction { transaction in
            for change in changed {
                try await transaction.sql.raw(
                    """
                    INSERT INTO notification_preferences (user_id, category, channel, enabled)
                    VALUES (\(bind: user), \(bind: change.category), \(bind: change.channel.rawValue), \(bind: change.enabled))
                    ON CONFLICT (user_id, category, channel) DO UPDATE SET enabled = excluded.enabled
                    """
                ).run()
            }
            switch update.quietHours {
            case .none: break
            case .some(.none):
                try await transaction.sql.raw("DELETE FROM notification_quiet_hours WHERE user_id = \(bind: user)").run()
            case .some(.some(let hours)):
                try await transaction.sql.raw(
                    """
                    INSERT INTO notification_quiet_hours (user_id, starts, ends) VALUES (\(bind: user), \(bind: hours.from), \(bind: hours.to))
                    ON CONFLICT (user_id) DO UPDATE SET starts = excluded.starts, ends = excluded.ends
                    """
                ).run()
            }
        }
        return try await preferences(caller: caller)
    }
}
