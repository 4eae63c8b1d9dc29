import Foundation
import PlazaKit
import Realtime
import SQLKit
import Storage

/// The in-app inbox: what a person was told, newest first, with read marks. Every change is pushed to the
/// person's `user:<id>` topic as `{"kind": "notifications", "unread": n, …}` so an open page's badge follows.
extension NotificationService {
    public func inbox(caller: Caller, unreadOnly: Bool = false, page: PageRequest) async throws -> Page<InboxItem> {
        let user = try Self.user(caller)
        var sql: SQLQueryString = "SELECT * FROM notification_inbox WHERE user_id = \(bind: user)"
        if unreadOnly { sql += " AND read_at IS NULL" }
        // In the order things were said (entries of several notifications are written by parallel fan-outs).
        if let cursor = page.cursor { sql += " AND notification_id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY notification_id DESC LIMIT \(literal: page.limit + 1)"
        return .byID(try await store.sql.raw(sql).all().map(Self.inboxItem), limit: page.limit, id: \.notificationId)
    }

    public func unreadCount(caller: Caller) async throws -> Int {
        try await Self.unread(of: [try Self.user(caller)], in: store.sql)[try Self.user(caller)] ?? 0
    }

    /// Marks one entry read (again is fine); 404 when it is not the caller's.
    public func markRead(_ id: UUID, caller: Caller) async throws -> InboxItem {
        let user = try Self.user(caller)
        return try await store.transaction { transaction in
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT * FROM notification_inbox WHERE id = \(bind: id) AND user_id = \(bind: user)
                    """
                ).first()
            else { throw Self.notFound(id) }
            var item = try Self.inboxItem(row)
            if item.readAt == nil {
                let now = transaction.clock.now()
                try await transaction.sql.raw("UPDATE notification_inbox SET read_at = \(bind: now) WHERE id = \(bind: id)").run()
                item.readAt = now
                try await self.publishUnread(of: user, change: ["read": .string(id.uuidString)], in: transaction)
            }
            return item
        }
    }

    /// Marks every entry read; returns how many changed.
    public func markAllRead(caller: Caller) async throws -> Int {
        let user = try Self.user(caller)
        return try await store.transaction { transaction in
            let changed = try await transaction.sql.raw(
                """
                UPDATE notification_inbox SET read_at = \(bind: transaction.clock.now()) WHERE user_id = \(bind: user) AND read_at IS NULL
                RETURNING id
                """
            ).all().count
            if changed > 0 { try await self.publishUnread(of: user, change: ["readAll": .bool(true)], in: transaction) }
            return changed
        }
    }

    /// Removes one entry from the inbox; 404 when it is not the caller's.
    public func deleteInboxItem(_ id: UUID, caller: Caller) async throws {
        let user = try Self.user(caller)
        try await store.transaction { transaction in
            let removed = try await transaction.sql.raw(
                """
                DELETE FROM notification_inbox WHERE id = \(bind: id) AND user_id = \(bind: user) RETURNING id
                """
            ).all()
            guard !removed.isEmpty else { throw Self.notFound(id) }
            try await self.publishUnread(of: user, change: ["deleted": .string(id.uuidString)], in: transaction)
        }
    }

    // MARK: Live updates

    struct InboxEvent: Encodable {
        var kind = "notifications"
        var unread: Int
        var item: InboxItem?
        var change: [String: JSONValue]?
    }

    static func topic(_ user: UUID) -> String { "user:\(user.uuidString.lowercased())" }

    /// After a fan-out page: each person's new entry and unread count, counted in one query.
    func publishInbox(_ items: [UUID: InboxItem], in transaction: Transaction) async throws {
        guard !items.isEmpty else { return }
        let counts = try await Self.unread(of: Array(items.keys), in: transaction.sql)
        for (user, item) in items {
            try await publisher.publish(InboxEvent(unread: counts[user] ?? 1, item: item), to: Self.topic(user), in: transaction)
        }
    }

    func publishUnread(of user: UUID, change: [String: JSONValue], in transaction: Transaction) async throws {
        let unread = try await Self.unread(of: [user], in: transaction.sql)[user] ?? 0
        try await publisher.publish(InboxEvent(unread: unread, change: change), to: Self.topic(user), in: transaction)
    }

    static func unread(of users: [UUID], in sql: any SQLDatabase) async throws -> [UUID: Int] {
        var counts: [UUID: Int] = [:]
        for row in try await sql.raw(
            """
            SELECT user_id, COUNT(*) AS unread FROM notification_inbox WHERE user_id IN (\(binds: users)) AND read_at IS NULL GROUP BY user_id
            """
        ).all() {
            counts[try row.decode(column: "user_id", as: UUID.self)] = try row.decode(column: "unread", as: Int.self)
        }
        return counts
    }

    static func inboxItem(_ row: any SQLRow) throws -> InboxItem {
        InboxItem(
            id: try row.decode(column: "id", as: UUID.self), notificationId: try row.decode(column: "notification_id", as: UUID.self),
            category: try row.decode(column: "category", as: String.self), title: try row.decode(column: "title", as: String.self),
            body: try row.decode(column: "body", as: String.self), link: try row.decode(column: "link", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Date.self), readAt: try row.decode(column: "read_at", as: Date?.self))
    }

    static func user(_ caller: Caller) throws -> UUID {
        guard let id = caller.principal?.id else { throw PlazaError.unauthorized() }
        return id
    }

    static func notFound(_ id: UUID) -> PlazaError { PlazaError.notFound("There is no notification \(id) in your inbox.") }
}
