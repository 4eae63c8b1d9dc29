import Crypto
import FluentKit
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// `POST /api/v1/me/mfa/totp`: a new secret to put in an authenticator app — as text, as an `otpauth://`
/// URI and as that URI's QR code (a PNG, base64). Nothing changes until a code from the app confirms it.
public struct TOTPEnrolment: Codable, Sendable, Equatable, APISchema {
    public var secret: String
    public var otpauthUri: String
    public var qrPng: String

    public static var schema: JSONSchema {
        .object(properties: ["secret": .text, "otpauthUri": .text, "qrPng": .string(format: "byte")], required: ["secret", "otpauthUri", "qrPng"])
    }
}

/// A code from the authenticator app, or a recovery code where one is accepted.
public struct MFACode: Codable, Sendable, Equatable, APISchema {
    public var code: String
    public init(code: String) { self.code = code }
    public static var schema: JSONSchema { .object(properties: ["code": .text], required: ["code"]) }
}

/// One-time recovery codes, shown once: each signs in once when the phone is gone.
public struct RecoveryCodes: Codable, Sendable, Equatable, APISchema {
    public var codes: [String]
    public static var schema: JSONSchema { .object(properties: ["codes": .array(.text)], required: ["codes"]) }
}

/// Whether the account has a second factor, how many recovery codes are left, and whether its roles ask for one.
public struct MFAStatus: Codable, Sendable, Equatable, APISchema {
    public var enabled: Bool
    public var recoveryCodesLeft: Int
    /// Some of the account's roles act only in a session that passed a second factor.
    public var required: Bool
    public static var schema: JSONSchema {
        .object(
            properties: ["enabled": .boolean, "recoveryCodesLeft": .integer(format: "int32"), "required": .boolean],
            required: ["enabled", "recoveryCodesLeft", "required"])
    }
}

/// `DELETE /api/v1/me/mfa`: the password and a current code (or a recovery code).
public struct MFADisable: Codable, Sendable, Equatable, APISchema {
    public var password: String
    public var code: String
    public init(password: String, code: String) {
        self.password = password
        self.code = code
    }
    public static var schema: JSONSchema { .object(properties: ["password": .text, "code": .text], required: ["password", "code"]) }
}

/// The answer to a correct password on an account with a second factor: send the code with this token
/// to `POST /api/v1/auth/mfa` within five minutes (five tries).
public struct MFAChallenge: Codable, Sendable, Equatable, APISchema {
    public var mfaRequired: Bool
    public var mfaToken: String
    public var expiresIn: Int
    public static var schema: JSONSchema {
        .object(
            properties: ["mfaRequired": .boolean, "mfaToken": .text, "expiresIn": .integer(format: "int32")],
            required: ["mfaRequired", "mfaToken", "expiresIn"])
    }
}

/// `POST /api/v1/auth/mfa`.
public struct MFAVerification: Codable, Sendable, Equatable, APISchema {
    public var mfaToken: String
    public var code: String
    public init(mfaToken: String, code: String) {
        self.mfaToken = mfaToken
        self.code = code
    }
    public static var schema: JSONSchema { .object(properties: ["mfaToken": .text, "code": .text], required: ["mfaToken", "code"]) }
}

/// What a correct password leads to.
public enum SignInStep<Done: Sendable>: Sendable {
    case done(Done)
    case secondFactor(MFAChallenge)
}

extension IdentityService {
    static let recoveryCodeCount = 10
    static let challengeLifetime: TimeInterval = 300
    static let challengeAttempts = 5
    /// What the one-step sign-ins (``login(_:caller:userAgent:)``, ``signIn(_:caller:userAgent:)``) answer an
    /// account with a second factor.
    static let mfaRequired = PlazaError(
        .unauthorized, code: "mfa-required", title: "Second factor needed", detail: "This account signs in with a code too.")

    // MARK: Enrolment

    /// A new TOTP secret, pending until ``confirmTOTP(_:caller:)``; an account that has a second factor
    /// already must turn it off first.
    public func startTOTP(caller: Caller) async throws -> TOTPEnrolment {
        guard let principal = caller.principal, principal.kind == .user else { throw PlazaError.unauthorized() }
        let secret = Data((0..<20).map { _ in UInt8.random(in: 0...255) })
        // A principal with no account row (a service's test principal, an account gone) has nothing to enrol.
        guard
            let email = try await store.sql.raw("SELECT email FROM identity_users WHERE id = \(bind: principal.id)").first()?
                .decode(column: "email", as: String.self)
        else { throw PlazaError.notFound("There is no account to turn two-step sign-in on for.") }
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            if try await transaction.sql.raw(
                """
                SELECT 1 AS x FROM identity_mfa WHERE user_id = \(bind: principal.id) AND confirmed_at IS NOT NULL
                """
            ).first() != nil {
                throw PlazaError.conflict("Two-step sign-in is on already; turn it off first to use another app.")
            }
            try await transaction.sql.raw(
                """
                INSERT INTO identity_mfa (user_id, secret, created_at) VALUES (\(bind: principal.id), \(bind: Base32.encode(secret)), \(bind: now))
                ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = NULL
                """
            ).run()
        }
        let uri = TOTP.uri(secret: secret, account: email, issuer: "Plaza")
        return TOTPEnrolment(secret: Base32.encode(secret), otpauthUri: uri, qrPng: try QRCode(uri).png().base64EncodedString())
    }

    /// Confirms the pending secret with a code from the app: two-step sign-in is on, this session counts as
    /// having passed it, and the recovery codes are returned — once.
    public func confirmTOTP(_ input: MFACode, caller: Caller) async throws -> RecoveryCodes {
        guard let principal = caller.principal, principal.kind == .user else { throw PlazaError.unauthorized() }
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw("SELECT secret, confirmed_at FROM identity_mfa WHERE user_id = \(bind: principal.id)").first()
            else { throw PlazaError.conflict("Start the enrolment first: POST /api/v1/me/mfa/totp.") }
            guard try row.decodeNil(column: "confirmed_at") else { throw PlazaError.conflict("Two-step sign-in is on already.") }
            guard let secret = Base32.decode(try row.decode(column: "secret", as: String.self)),
                let step = TOTP.match(input.code, secret: secret, at: now)
            else { throw PlazaError.validation(field: "code", "is not the app's current code") }
            try await transaction.sql.raw(
                """
                UPDATE identity_mfa SET confirmed_at = \(bind: now), last_step = \(bind: step) WHERE user_id = \(bind: principal.id)
                """
            ).run()
            try await Self.replaceRecoveryCodes(codes, of: principal.id, in: transaction)
            if let session = principal.sessionID {
                try await transaction.sql.raw("UPDATE identity_sessions SET amr = 'pwd otp mfa' WHERE id = \(bind: session)").run()
            }
            try await transaction.audit(caller, action: "identity.mfa.enable", resourceType: "user", resourceID: principal.id.uuidString)
        }
        webSessionCache.removeAll { $0.sessionID == principal.sessionID }
        return RecoveryCodes(codes: codes)
    }

    public func mfaStatus(caller: Caller) async throws -> MFAStatus {
        guard let principal = caller.principal, principal.kind == .user else { throw PlazaError.unauthorized() }
        let enabled = try await isMFAEnabled(principal.id)
        let left =
            try await store.sql.raw(
                """
                SELECT COUNT(*) AS n FROM identity_recovery_codes WHERE user_id = \(bind: principal.id) AND used_at IS NULL
                """
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        let held = try await self.principal(user: principal.id, session: nil, on: store.sql).systemRoles
        return MFAStatus(enabled: enabled, recoveryCodesLeft: left, required: !held.isDisjoint(with: settings.mfaRequiredRoles))
    }

    /// New recovery codes (the old ones stop working), for a current code.
    public func regenerateRecoveryCodes(_ input: MFACode, caller: Caller) async throws -> RecoveryCodes {
        guard let principal = caller.principal, principal.kind == .user else { throw PlazaError.unauthorized() }
        let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
        try await store.transaction { transaction in
            guard try await Self.checkSecondFactor(input.code, of: principal.id, allowRecovery: false, in: transaction) != nil else {
                throw PlazaError.validation(field: "code", "is not the app's current code")
            }
            try await Self.replaceRecoveryCodes(codes, of: principal.id, in: transaction)
            try await transaction.audit(caller, action: "identity.mfa.recovery-codes", resourceType: "user", resourceID: principal.id.uuidString)
        }
        return RecoveryCodes(codes: codes)
    }

    /// Turns two-step sign-in off: the password and a code (or a recovery code) say it is the owner.
    public func disableMFA(_ input: MFADisable, caller: Caller) async throws {
        guard let principal = caller.principal, principal.kind == .user else { throw PlazaError.unauthorized() }
        guard
            let hash = try await store.sql.raw("SELECT password_hash FROM identity_users WHERE id = \(bind: principal.id)").first()?
                .decode(column: "password_hash", as: String?.self), try await passwords.verify(input.password, hash: hash)
        else { throw PlazaError.validation(field: "password", "is not your current password") }
        try await store.transaction { transaction in
            guard try await Self.checkSecondFactor(input.code, of: principal.id, allowRecovery: true, in: transaction) != nil else {
                throw PlazaError.validation(field: "code", "is neither the app's current code nor an unused recovery code")
            }
            try await transaction.sql.raw("DELETE FROM identity_recovery_codes WHERE user_id = \(bind: principal.id)").run()
            try await transaction.sql.raw("DELETE FROM identity_mfa WHERE user_id = \(bind: principal.id)").run()
            try await transaction.audit(caller, action: "identity.mfa.disable", resourceType: "user", resourceID: principal.id.uuidString)
        }
    }

    func isMFAEnabled(_ user: UUID, on sql: (any SQLDatabase)? = nil) async throws -> Bool {
        try await (sql ?? store.sql).raw("SELECT 1 AS x FROM identity_mfa WHERE user_id = \(bind: user) AND confirmed_at IS NOT NULL").first() != nil
    }

    // MARK: Signing in with a second factor

    /// After a correct password on an account with a second factor: a challenge to answer with a code.
    func challenge(user: UUID, caller: Caller, firstFactor: String = "pwd") async throws -> MFAChallenge {
        let token = Self.newRefreshToken()
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw("DELETE FROM identity_mfa_challenges WHERE expires_at < \(bind: now)").run()
            try await transaction.sql.raw(
                """
                INSERT INTO identity_mfa_challenges (token_hash, user_id, first_factor, created_at, expires_at, attempts)
                VALUES (\(bind: Self.hash(token)), \(bind: user), \(bind: firstFactor), \(bind: now),\
                 \(bind: now.addingTimeInterval(Self.challengeLifetime)), 0)
                """
            ).run()
        }
        return MFAChallenge(mfaRequired: true, mfaToken: token, expiresIn: Int(Self.challengeLifetime))
    }

    /// Answers a challenge: the user whose code (or recovery code) it is, and the methods used (RFC 8176).
    /// A wrong code counts towards the challenge's five tries (the fifth ends it) and towards the account's
    /// sign-in lock (``LoginThrottle``), so asking for new challenges does not buy more guesses.
    func answer(_ verification: MFAVerification, caller: Caller) async throws -> (user: UUID, email: String, amr: String) {
        enum Outcome: Sendable { case passed(user: UUID, email: String, amr: String), wrong, dead }
        let hash = Self.hash(verification.mfaToken)
        let throttle = self.throttle
        let outcome = try await store.transaction { transaction -> Outcome in
            let now = transaction.clock.now()
            // The try is taken before the code is compared, in one statement: parallel guesses cannot share it.
            guard
                let row = try await transaction.sql.raw(
                    """
                    UPDATE identity_mfa_challenges SET attempts = attempts + 1
                    WHERE token_hash = \(bind: hash) AND used_at IS NULL AND expires_at > \(bind: now) AND attempts < \(bind: Self.challengeAttempts)
                    RETURNING user_id, first_factor
                    """
                ).first()
            else { return .dead }
            let user = try row.decode(column: "user_id", as: UUID.self)
            let email =
                try await transaction.sql.raw("SELECT email FROM identity_users WHERE id = \(bind: user)").first()?
                .decode(column: "email", as: String.self) ?? ""
            guard let method = try await Self.checkSecondFactor(verification.code, of: user, allowRecovery: true, in: transaction) else {
                // Wrong codes count towards the account's sign-in lock too, so new challenges do not buy more guesses.
                try await throttle.recordFailure(email: email, ip: caller.ip, in: transaction)
                try await transaction.audit(
                    Caller(principal: Principal(id: user), requestID: caller.requestID, ip: caller.ip),
                    action: "identity.mfa.failed", resourceType: "user", resourceID: user.uuidString)
                return .wrong
            }
            try await transaction.sql.raw("UPDATE identity_mfa_challenges SET used_at = \(bind: now) WHERE token_hash = \(bind: hash)").run()
            try await throttle.recordSuccess(email: email, in: transaction)
            return .passed(user: user, email: email, amr: "\(try row.decode(column: "first_factor", as: String.self)) \(method) mfa")
        }
        switch outcome {
        case .passed(let user, let email, let amr):
            return (user, email, amr)
        case .wrong:
            throw PlazaError(.unauthorized, code: "mfa-code-wrong", title: "Wrong code", detail: "The code is wrong or was used already.")
        case .dead:
            throw PlazaError(
                .unauthorized, code: "mfa-challenge-invalid", title: "Sign in again",
                detail: "This sign-in step has expired or had too many tries; sign in again.")
        }
    }

    /// `otp` for a current authenticator code not used before, `rc` for an unused recovery code (spent
    /// now), nil otherwise. A code's step is remembered, so the same code cannot be replayed.
    static func checkSecondFactor(_ given: String, of user: UUID, allowRecovery: Bool, in transaction: Transaction) async throws -> String? {
        guard
            let row = try await transaction.sql.raw(
                """
                SELECT secret, last_step FROM identity_mfa WHERE user_id = \(bind: user) AND confirmed_at IS NOT NULL
                """
            ).first(), let secret = Base32.decode(try row.decode(column: "secret", as: String.self))
        else { return nil }
        let now = transaction.clock.now()
        if let step = TOTP.match(given, secret: secret, at: now) {
            guard step > (try row.decode(column: "last_step", as: Int64?.self) ?? .min) else { return nil }
            try await transaction.sql.raw("UPDATE identity_mfa SET last_step = \(bind: step) WHERE user_id = \(bind: user)").run()
            return "otp"
        }
        guard allowRecovery else { return nil }
        let normalised = given.uppercased().filter { $0.isLetter || $0.isNumber }
        guard normalised.count == 10 else { return nil }
        let spent = try await transaction.sql.raw(
            """
            UPDATE identity_recovery_codes SET used_at = \(bind: now)
            WHERE user_id = \(bind: user) AND code_hash = \(bind: hash(normalised)) AND used_at IS NULL RETURNING code_hash
            """
        ).first()
        return spent == nil ? nil : "rc"
    }

    static func replaceRecoveryCodes(_ codes: [String], of user: UUID, in transaction: Transaction) async throws {
        try await transaction.sql.raw("DELETE FROM identity_recovery_codes WHERE user_id = \(bind: user)").run()
        for code in codes {
            try await transaction.sql.raw(
                """
                INSERT INTO identity_recovery_codes (user_id, code_hash) VALUES (\(bind: user), \(bind: hash(code.filter { $0 != "-" })))
                """
            ).run()
        }
    }

    /// Ten characters from an alphabet without look-alikes, shown as `XXXXX-XXXXX` (about 50 bits).
    static func newRecoveryCode() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let characters = (0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] }
        return String(characters[0..<5]) + "-" + String(characters[5...])
    }

    /// The roles that act only in a session that passed a second factor are set aside in one that did not.
    func enforcingMFA(_ principal: Principal) -> Principal {
        guard principal.assurance < .multiFactor, !principal.systemRoles.isDisjoint(with: settings.mfaRequiredRoles) else { return principal }
        var restricted = principal
        restricted.systemRoles.subtract(settings.mfaRequiredRoles)
        return restricted
    }
}

/// Second factors: TOTP secrets, recovery codes (hashed), pending sign-in challenges, and how each
/// session was authenticated (`identity_sessions.amr`, RFC 8176 values).
public struct CreateMFA: AsyncMigration {
    public init() {}
    public var name: String { "0019_create_mfa" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_mfa")
            .field("user_id", .uuid, .identifier(auto: false), .references("identity_users", "id", onDelete: .cascade))
            .field("secret", .string, .required)
            .field("confirmed_at", .datetime)
            .field("last_step", .int64)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("identity_recovery_codes")
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            .field("code_hash", .string, .required)
            .field("used_at", .datetime)
            .compositeIdentifier(over: "user_id", "code_hash")
            .create()
        try await database.schema("identity_mfa_challenges")
            .field("token_hash", .string, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references("identity_users", "id", onDelete: .cascade))
            // How the first step was passed: `pwd`, or `fed` (an external provider).
            .field("first_factor", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("used_at", .datetime)
            .create()
        try await database.schema("identity_sessions").field("amr", .string).update()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_sessions").deleteField("amr").update()
        for table in ["identity_mfa_challenges", "identity_recovery_codes", "identity_mfa"] { try await database.schema(table).delete() }
    }
}
