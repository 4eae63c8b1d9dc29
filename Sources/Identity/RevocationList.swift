import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// Revoked sessions and disabled users, in memory, so checking a token costs no database read.
///
/// Filled from the database on first use; then kept current by the `identity.session.revoked` and
/// `identity.user.status-changed` events, which every instance hears as broadcasts (woken by NOTIFY on
/// PostgreSQL). An entry is kept as long as a token issued before it could still be presented.
public final class RevocationList: Sendable {
    private struct State {
        var loaded = false
        var sessions: [UUID: Date] = [:]
        var users: Set<UUID> = []
    }
    private let state = Mutex(State())
    let store: Store
    let lifetime: TimeInterval

    init(store: Store, lifetime: TimeInterval) {
        self.store = store
        self.lifetime = lifetime
    }

    /// Whether a token for this user and session must be refused.
    func isRevoked(user: UUID, session: UUID?) async throws -> Bool {
        if !state.withLock({ $0.loaded }) { try await load() }
        let now = store.clock.now()
        return state.withLock { state in
            if state.users.contains(user) { return true }
            guard let session, let until = state.sessions[session] else { return false }
            if until < now {
                state.sessions[session] = nil
                return false
            }
            return true
        }
    }

    func revokeSession(_ session: UUID) {
        let until = store.clock.now().addingTimeInterval(lifetime)
        state.withLock { $0.sessions[session] = until }
    }

    func setUser(_ user: UUID, disabled: Bool) {
        state.withLock { state in
            if disabled { state.users.insert(user) } else { state.users.remove(user) }
        }
    }

    private func load() async throws {
        let since = store.clock.now().addingTimeInterval(-lifetime)
        let sessions = try await store.sql.raw(
            """
            SELECT id, revoked_at FROM identity_sessions WHERE revoked_at IS NOT NULL AND revoked_at > \(bind: since)
            """
        ).all()
        // Client-credentials grants have no session row; deleted OAuth clients are the subjects of theirs.
        let grants = try await store.sql.raw(
            """
            SELECT grant_id AS id, revoked_at FROM identity_oauth_revoked_grants WHERE revoked_at > \(bind: since)
            """
        ).all()
        let users = try await store.sql.raw("SELECT id FROM identity_users WHERE status <> 'active'").all()
        let clients = try await store.sql.raw("SELECT id FROM identity_oauth_clients WHERE deleted_at IS NOT NULL").all()
        let revoked = try (sessions + grants).map { (try $0.decode(column: "id", as: UUID.self), try $0.decode(column: "revoked_at", as: Date.self)) }
        let disabled = try (users + clients).map { try $0.decode(column: "id", as: UUID.self) }
        let lifetime = self.lifetime
        state.withLock { state in
            for (id, at) in revoked { state.sessions[id] = max(state.sessions[id] ?? .distantPast, at.addingTimeInterval(lifetime)) }
            state.users.formUnion(disabled)
            state.loaded = true
        }
    }

    /// The broadcast subscription that keeps every instance's list current.
    func subscription() -> Subscription {
        Subscription("identity.revocations", topics: [SessionRevoked.topic, UserStatusChanged.topic], delivery: .broadcast) { [self] event in
            switch event.topic {
            case SessionRevoked.topic:
                let revoked = try event.decode(SessionRevoked.self)
                for session in revoked.sessionIds { self.revokeSession(session) }
            case UserStatusChanged.topic:
                let change = try event.decode(UserStatusChanged.self)
                self.setUser(change.userId, disabled: change.status != "active")
            default:
                break
            }
        }
    }
}

/// Sessions ended: signed out, a reused refresh token, a changed password, an admin's revocation.
public struct SessionRevoked: DomainEvent {
    public static let topic = "identity.session.revoked"
    public var userId: UUID
    public var sessionIds: [UUID]
    public var reason: String
}

/// A user was disabled, enabled or deleted.
public struct UserStatusChanged: DomainEvent {
    public static let topic = "identity.user.status-changed"
    public var userId: UUID
    public var status: String
}

/// The signing keys changed; every instance reads its ring again.
public struct SigningKeysRotated: DomainEvent {
    public static let topic = "identity.keys.rotated"
    public var kid: String
}

/// A session was opened (a sign-in by password, through the API or a page).
public struct SignedIn: DomainEvent {
    public static let topic = "identity.session.opened"
    public var userId: UUID
    public var sessionId: UUID
    public var ip: String?
    public var userAgent: String?
    public var at: Date
    /// The account has signed in before, but never from this address with this browser.
    public var newDevice: Bool
}

/// Someone signed up.
public struct UserRegistered: DomainEvent {
    public static let topic = "identity.user.registered"
    public var userId: UUID
    public var email: String
    public var firstName: String
    public var locale: String
}
