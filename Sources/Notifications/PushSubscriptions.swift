import Foundation
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// The installation's VAPID key pair (RFC 8292): made on first use and kept in `plaza_secrets`, so every
/// instance signs with the key browsers subscribed with.
public final class VAPIDKeys: Sendable {
    let secrets: Secrets
    private let cached = Mutex<VAPIDKey?>(nil)

    public init(secrets: Secrets) {
        self.secrets = secrets
    }

    public func key() async throws -> VAPIDKey {
        if let key = cached.withLock({ $0 }) { return key }
        let key = try VAPIDKey(rawRepresentation: try await secrets.secret(named: "notifications.vapid"))
        cached.withLock { $0 = key }
        return key
    }
}

extension NotificationService {
    public static let maxPushSubscriptions = 20

    /// Saves a browser's subscription for the caller (the same endpoint again updates its keys).
    public func subscribe(_ input: PushSubscriptionInput, userAgent: String?, caller: Caller) async throws -> PushSubscriptionInfo {
        let user = try Self.user(caller)
        var errors: [FieldError] = []
        if input.endpoint.count > 2000 || !(URL(string: input.endpoint).map(settings.allowsPush) ?? false) {
            errors.append(
                FieldError(
                    field: "endpoint", message: "must be an https URL of a browser push service (\(settings.pushHosts.joined(separator: ", ")))"))
        }
        let key = Data(base64URLEncoded: input.keys.p256dh)
        if key?.count != 65 || key?.first != 4 {
            errors.append(FieldError(field: "keys.p256dh", message: "must be an uncompressed P-256 public key, base64url"))
        }
        if Data(base64URLEncoded: input.keys.auth)?.count != 16 {
            errors.append(FieldError(field: "keys.auth", message: "must be 16 bytes, base64url"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let count =
                try await transaction.sql.raw(
                    """
                    SELECT COUNT(*) AS n FROM notification_push_subscriptions WHERE user_id = \(bind: user) AND endpoint <> \(bind: input.endpoint)
                    """
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            guard count < Self.maxPushSubscriptions else {
                throw PlazaError.conflict("You have \(Self.maxPushSubscriptions) push subscriptions; remove one first.")
            }
            // An endpoint names one browser profile and is an unguessable capability URL: when another
            // account subscribes from the same browser, pushes follow whoever signed in there last.
            let row = try await transaction.sql.raw(
                """
                INSERT INTO notification_push_subscriptions (id, user_id, endpoint, p256dh, auth, user_agent, created_at)
                VALUES (\(bind: PlazaID.make(at: now)), \(bind: user), \(bind: input.endpoint), \(bind: input.keys.p256dh), \(bind: input.keys.auth),
                        \(bind: userAgent.map { String($0.prefix(300)) }), \(bind: now))
                ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth
                RETURNING id, endpoint, created_at
                """
            ).first()!
            return try Self.subscription(row)
        }
    }

    public func pushSubscriptions(caller: Caller) async throws -> [PushSubscriptionInfo] {
        try await store.sql.raw(
            """
            SELECT id, endpoint, created_at FROM notification_push_subscriptions WHERE user_id = \(bind: try Self.user(caller)) ORDER BY created_at
            """
        ).all().map(Self.subscription)
    }

    public func unsubscribe(_ id: UUID, caller: Caller) async throws {
        let user = try Self.user(caller)
        let removed = try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                DELETE FROM notification_push_subscriptions WHERE id = \(bind: id) AND user_id = \(bind: user) RETURNING id
                """
            ).all().count
        }
        guard removed > 0 else { throw PlazaError.notFound("There is no push subscription \(id) of yours.") }
    }

    /// What the push transport needs for a subscription id, or nil when it was removed.
    static func pushTarget(_ address: String, store: Store) async throws -> PushTarget? {
        guard let id = UUID(uuidString: address),
            let row = try await store.sql.raw(
                """
                SELECT endpoint, p256dh, auth FROM notification_push_subscriptions WHERE id = \(bind: id)
                """
            ).first(),
            let key = Data(base64URLEncoded: try row.decode(column: "p256dh", as: String.self)),
            let auth = Data(base64URLEncoded: try row.decode(column: "auth", as: String.self))
        else { return nil }
        return PushTarget(endpoint: try row.decode(column: "endpoint", as: String.self), p256dh: key, auth: auth)
    }

    /// Forgets a subscription the push service called gone.
    static func forgetPushTarget(_ address: String, store: Store) async throws {
        guard let id = UUID(uuidString: address) else { return }
        try await store.transaction { try await $0.sql.raw("DELETE FROM notification_push_subscriptions WHERE id = \(bind: id)").run() }
    }

    static func subscription(_ row: any SQLRow) throws -> PushSubscriptionInfo {
        PushSubscriptionInfo(
            id: try row.decode(column: "id", as: UUID.self), endpoint: try row.decode(column: "endpoint", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}
