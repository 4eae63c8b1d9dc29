import FluentKit
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// What a one-time code is for.
public enum CodePurpose: String, Codable, Sendable, CaseIterable {
    case verifyEmail = "verify-email"
    case resetPassword = "reset-password"
    case changeEmail = "change-email"
    case verifyMobile = "verify-mobile"
    /// The owner of an account agrees that an admin merges it into another.
    case confirmMerge = "confirm-merge"

    var lifetime: TimeInterval {
        switch self {
        case .verifyEmail, .confirmMerge: return 24 * 3600
        case .resetPassword, .changeEmail, .verifyMobile: return 15 * 60
        }
    }
}

/// A code was issued; the notifications module turns this into an email to `email`, or for a mobile number
/// an SMS to `mobile`.
///
/// The code travels in the event because the mail is written by another module; it is short-lived
/// (15 minutes to a day) and single-use, and only its hash is stored in Identity's table.
public struct CodeIssued: DomainEvent {
    public static let topic = "identity.code.issued"
    public var userId: UUID
    public var email: String
    public var purpose: CodePurpose
    public var code: String
    public var locale: String
    public var expiresAt: Date
    /// The number a `verify-mobile` code goes to.
    public var mobile: String?
}

/// Six-digit one-time codes: short, expiring, single-use, five guesses each, and rate-limited when issued
/// (one a minute and five an hour per person and purpose).
struct OneTimeCodes: Sendable {
    static let maxAttempts = 5
    let store: Store
    let outbox: Outbox

    /// Makes a code, replacing any open one for the same purpose, and announces it.
    /// `newEmail` or `mobile` is the address being confirmed: the code goes there and only proves that address.
    func issue(
        _ purpose: CodePurpose, user: UUID, email: String, locale: String, newEmail: String? = nil, mobile: String? = nil,
        in transaction: Transaction
    ) async throws {
        let now = transaction.clock.now()
        let recent = try await transaction.sql.raw(
            """
            SELECT created_at FROM identity_codes WHERE user_id = \(bind: user) AND purpose = \(bind: purpose.rawValue)
              AND created_at > \(bind: now.addingTimeInterval(-3600)) ORDER BY created_at DESC
            """
        ).all().map { try $0.decode(column: "created_at", as: Date.self) }
        if let last = recent.first, now.timeIntervalSince(last) < 60 {
            let wait = max(1, Int((60 - now.timeIntervalSince(last)).rounded(.up)))
            throw PlazaError(
                .tooManyRequests, code: "code-rate-limited", title: "Too many codes",
                detail: "A code was sent moments ago; ask again in \(wait) seconds.", headers: ["Retry-After": String(wait)])
        }
        if recent.count >= 5 {
            throw PlazaError(
                .tooManyRequests, code: "code-rate-limited", title: "Too many codes",
                detail: "Five codes were sent in the last hour; try again later.", headers: ["Retry-After": "600"])
        }
        var rng = SystemRandomNumberGenerator()
        let code = String(format: "%06d", Int.random(in: 0..<1_000_000, using: &rng))
        let expires = now.addingTimeInterval(purpose.lifetime)
        // Older open codes for the same purpose stop working: only the newest one is valid.
        try await transaction.sql.raw(
            """
            UPDATE identity_codes SET used_at = \(bind: now) WHERE user_id = \(bind: user) AND purpose = \(bind: purpose.rawValue) AND used_at IS NULL
            """
        ).run()
        try await transaction.sql.raw(
            """
            INSERT INTO identity_codes (id, user_id, purpose, code_hash, new_email, attempts, created_at, expires_at)
            VALUES (\(bind: PlazaID.make(at: now)), \(bind: user), \(bind: purpose.rawValue), \(bind: Self.hash(code, user: user)),
                    \(bind: newEmail ?? mobile), 0, \(bind: now), \(bind: expires))
            """
        ).run()
        try await outbox.append(
            CodeIssued(userId: user, email: newEmail ?? email, purpose: purpose, code: code, locale: locale, expiresAt: expires, mobile: mobile),
            key: user.uuidString, in: transaction)
    }

    /// Counts one try at the newest open code for `purpose` and says whether it is right, in a transaction
    /// of its own: a wrong guess stays counted whatever the caller's transaction then does (a refusal rolls
    /// that one back). The try is taken before the comparison, in one statement, so parallel guesses cannot
    /// share a slot. Throws 400 `code-invalid` when the code is wrong, spent, expired or out of tries, or
    /// when there is no such account (`user` nil), alike.
    func attempt(_ purpose: CodePurpose, code: String, user: UUID?) async throws {
        guard let user else { throw Self.invalid }
        let given = Self.hash(code.trimmingCharacters(in: .whitespaces), user: user)
        let right = try await store.transaction { transaction -> Bool in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    UPDATE identity_codes SET attempts = attempts + 1
                    WHERE id = (SELECT id FROM identity_codes WHERE user_id = \(bind: user) AND purpose \
                    = \(bind: purpose.rawValue) AND used_at IS NULL
                                ORDER BY created_at DESC LIMIT 1)
                      AND attempts < \(bind: Self.maxAttempts) AND expires_at > \(bind: now)
                    RETURNING code_hash
                    """
                ).first()
            else { return false }
            return try row.decode(column: "code_hash", as: String.self) == given
        }
        guard right else { throw Self.invalid }
    }

    /// Spends a code that passed ``attempt(_:code:user:)``, in the caller's transaction (so it is spent exactly
    /// when what it allows happens); returns the address it confirms (the new email for `changeEmail`, the
    /// number for `verifyMobile`). Of two requests with the same code, one spends it; the other gets a 400.
    func redeem(_ purpose: CodePurpose, code: String, user: UUID, in transaction: Transaction) async throws -> String? {
        let now = transaction.clock.now()
        guard
            let row = try await transaction.sql.raw(
                """
                UPDATE identity_codes SET used_at = \(bind: now)
                WHERE id = (SELECT id FROM identity_codes WHERE user_id = \(bind: user) AND purpose = \(bind: purpose.rawValue) AND used_at IS NULL
                            ORDER BY created_at DESC LIMIT 1)
                  AND code_hash = \(bind: Self.hash(code.trimmingCharacters(in: .whitespaces), user: user)) AND expires_at > \(bind: now)
                RETURNING new_email
                """
            ).first()
        else { throw Self.invalid }
        return try row.decode(column: "new_email", as: String?.self)
    }

    static let invalid = PlazaError(
        .badRequest, code: "code-invalid", title: "Code not valid",
        detail: "The code is wrong, expired or already used. Ask for a new one.")

    static func hash(_ code: String, user: UUID) -> String { IdentityService.hash("\(user.uuidString):\(code)") }
}

/// Creates the one-time code table.
public struct CreateOneTimeCodes: AsyncMigration {
    public init() {}
    public var name: String { "0007_create_one_time_codes" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_codes")
            .field("id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("purpose", .string, .required)
            .field("code_hash", .string, .required)
            .field("new_email", .string)
            .field("attempts", .int, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("used_at", .datetime)
            .create()
        try await database.execute("CREATE INDEX identity_codes_user ON identity_codes (user_id, purpose, created_at)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_codes").delete()
    }
}
