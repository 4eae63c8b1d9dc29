import Foundation
import PlazaKit
import SQLKit
import Storage

extension NotificationService {
    /// Notifications' part in merging two accounts: the inbox, the delivery log and push subscriptions move;
    /// preferences and quiet hours the other account set itself stay as they are, the rest move.
    public static func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let sql = transaction.sql
        let inbox = try await sql.raw(
            """
            UPDATE notification_inbox SET user_id = \(bind: target) WHERE user_id = \(bind: source)
              AND notification_id NOT IN (SELECT notification_id FROM notification_inbox WHERE user_id = \(bind: target)) RETURNING id
            """
        ).all().count
        try await sql.raw("DELETE FROM notification_inbox WHERE user_id = \(bind: source)").run()
        try await sql.raw("UPDATE notification_deliveries SET user_id = \(bind: target) WHERE user_id = \(bind: source)").run()
        try await sql.raw(
            """
            INSERT INTO notification_preferences (user_id, category, channel, enabled)
            SELECT \(bind: target), category, channel, enabled FROM notification_preferences WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING
            """
        ).run()
        try await sql.raw("DELETE FROM notification_preferences WHERE user_id = \(bind: source)").run()
        try await sql.raw(
            """
            INSERT INTO notification_quiet_hours (user_id, starts, ends)
            SELECT \(bind: target), starts, ends FROM notification_quiet_hours WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING
            """
        ).run()
        try await sql.raw("DELETE FROM notification_quiet_hours WHERE user_id = \(bind: source)").run()
        let devices = try await sql.raw(
            "UPDATE notification_push_subscriptions SET user_id = \(bind: target) WHERE user_id = \(bind: source) RETURNING id"
        ).all().count
        return ["inbox": inbox, "devices": devices]
    }
}
