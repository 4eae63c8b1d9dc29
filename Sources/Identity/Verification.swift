import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// `POST /api/v1/auth/verify-email/request` and `/password-reset/request`.
public struct CodeRequest: Codable, Sendable, APISchema {
    public var email: String
    public init(email: String) {
        self.email = email
    }
    public static var schema: JSONSchema { .object(properties: ["email": .string(format: "email")], required: ["email"]) }
}

/// `POST /api/v1/auth/verify-email`.
public struct EmailVerification: Codable, Sendable, APISchema {
    public var email: String
    public var code: String
    public init(email: String, code: String) {
        self.email = email
        self.code = code
    }
    public static var schema: JSONSchema {
        .object(
            properties: ["email": .string(format: "email"), "code": .string(description: "The six digits from the email.")],
            required: ["email", "code"])
    }
}

/// `POST /api/v1/auth/password-reset`.
public struct PasswordReset: Codable, Sendable, APISchema {
    public var email: String
    public var code: String
    public var newPassword: String
    public init(email: String, code: String, newPassword: String) {
        self.email = email
        self.code = code
        self.newPassword = newPassword
    }
    public static var schema: JSONSchema {
        .object(
            properties: ["email": .string(format: "email"), "code": .text, "newPassword": Passwords.schema],
            required: ["email", "code", "newPassword"])
    }
}

/// `POST /api/v1/me/email`.
public struct EmailChange: Codable, Sendable, APISchema {
    public var newEmail: String
    public var password: String
    public init(newEmail: String, password: String) {
        self.newEmail = newEmail
        self.password = password
    }
    public static var schema: JSONSchema {
        .object(properties: ["newEmail": .string(format: "email"), "password": .text], required: ["newEmail", "password"])
    }
}

/// `POST /api/v1/me/email/confirm`.
public struct CodeConfirmation: Codable, Sendable, APISchema {
    public var code: String
    public init(code: String) {
        self.code = code
    }
    public static var schema: JSONSchema { .object(properties: ["code": .text], required: ["code"]) }
}

extension IdentityService {
    /// Sends a fresh verification code if the address belongs to an unverified account. The answer is the
    /// same either way, so it cannot be used to find out who has an account.
    public func requestEmailVerification(_ request: CodeRequest, caller: Caller) async throws {
        let email = Self.normalise(email: request.email)
        // A malformed address is said to be one; whether an account has a well-formed one stays unsaid.
        guard Self.isPlausible(email: email) else { throw PlazaError.validation(field: "email", "is not an email address") }
        let codes = self.codes
        try await quietly {
            try await store.transaction { transaction in
                guard let user = try await Self.account(email: email, in: transaction), user.verified == false else { return }
                try await codes.issue(.verifyEmail, user: user.id, email: email, locale: user.locale, in: transaction)
            }
        }
    }

    /// Marks the address verified when the code matches.
    public func verifyEmail(_ input: EmailVerification, caller: Caller) async throws {
        let email = Self.normalise(email: input.email)
        let codes = self.codes
        try await codes.attempt(.verifyEmail, code: input.code, user: try await userID(email: email))
        try await store.transaction { transaction in
            guard let user = try await Self.account(email: email, in: transaction) else { throw OneTimeCodes.invalid }
            _ = try await codes.redeem(.verifyEmail, code: input.code, user: user.id, in: transaction)
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET email_verified = \(bind: true), updated_at = \(bind: transaction.clock.now()) WHERE id = \(bind: user.id)
                """
            ).run()
            try await transaction.audit(
                Caller(principal: Principal(id: user.id), requestID: caller.requestID, ip: caller.ip),
                action: "identity.email.verify", resourceType: "user", resourceID: user.id.uuidString)
        }
    }

    /// Sends a reset code if the address belongs to an active account; the same answer either way.
    public func requestPasswordReset(_ request: CodeRequest, caller: Caller) async throws {
        let email = Self.normalise(email: request.email)
        // A malformed address is said to be one; whether an account has a well-formed one stays unsaid.
        guard Self.isPlausible(email: email) else { throw PlazaError.validation(field: "email", "is not an email address") }
        let codes = self.codes
        try await quietly {
            try await store.transaction { transaction in
                guard let user = try await Self.account(email: email, in: transaction), user.status == "active" else { return }
                try await codes.issue(.resetPassword, user: user.id, email: email, locale: user.locale, in: transaction)
                try await transaction.audit(caller, action: "identity.password.reset-request", resourceType: "user", resourceID: user.id.uuidString)
            }
        }
    }

    /// Sets a new password with a reset code; every session of the account ends.
    public func resetPassword(_ input: PasswordReset, caller: Caller) async throws {
        let problems = Passwords.problems(with: input.newPassword).map { FieldError(field: "newPassword", message: $0.message) }
        guard problems.isEmpty else { throw PlazaError.validation(problems) }
        let email = Self.normalise(email: input.email)
        let hash = try await passwords.hash(input.newPassword)
        let (codes, outbox, revocations, throttle) = (self.codes, self.outbox, self.revocations, self.throttle)
        try await codes.attempt(.resetPassword, code: input.code, user: try await userID(email: email))
        try await store.transaction { transaction in
            guard let user = try await Self.account(email: email, in: transaction) else { throw OneTimeCodes.invalid }
            _ = try await codes.redeem(.resetPassword, code: input.code, user: user.id, in: transaction)
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET password_hash = \(bind: hash), updated_at = \(bind: transaction.clock.now()) WHERE id = \(bind: user.id)
                """
            ).run()
            let actor = Caller(principal: Principal(id: user.id), requestID: caller.requestID, ip: caller.ip)
            try await transaction.audit(actor, action: "identity.password.reset", resourceType: "user", resourceID: user.id.uuidString)
            try await Self.revokeAllSessions(
                of: user.id, reason: "password reset", caller: actor, outbox: outbox, revocations: revocations, in: transaction)
            try await throttle.recordSuccess(email: email, in: transaction)
        }
    }

    /// Starts an email change: checks the password and that the address is free, then sends a code to it.
    public func requestEmailChange(_ input: EmailChange, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let newEmail = Self.normalise(email: input.newEmail)
        guard Self.isPlausible(email: newEmail) else { throw PlazaError.validation(field: "newEmail", "is not an email address") }
        let row = try await store.sql.raw("SELECT password_hash FROM identity_users WHERE id = \(bind: principal.id)").first()
        guard try await passwords.verify(input.password, hash: try row?.decode(column: "password_hash", as: String?.self)) else {
            throw PlazaError.validation(field: "password", "is not your current password")
        }
        let codes = self.codes
        try await store.transaction { transaction in
            if try await Self.account(email: newEmail, in: transaction) != nil {
                throw PlazaError.conflict("An account with this email already exists.")
            }
            guard let user = try await Self.account(id: principal.id, in: transaction) else { throw PlazaError.unauthorized() }
            try await codes.issue(.changeEmail, user: user.id, email: user.email, locale: user.locale, newEmail: newEmail, in: transaction)
        }
    }

    /// Finishes an email change with the code sent to the new address.
    public func confirmEmailChange(_ input: CodeConfirmation, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let codes = self.codes
        try await codes.attempt(.changeEmail, code: input.code, user: principal.id)
        do {
            try await store.transaction { transaction in
                guard let newEmail = try await codes.redeem(.changeEmail, code: input.code, user: principal.id, in: transaction) else {
                    throw OneTimeCodes.invalid
                }
                if try await Self.account(email: newEmail, in: transaction) != nil {
                    throw PlazaError.conflict("An account with this email already exists.")
                }
                try await transaction.sql.raw(
                    """
                    UPDATE identity_users SET email = \(bind: newEmail), email_verified = \(bind: true), updated_at = \(bind: transaction.clock.now())
                    WHERE id = \(bind: principal.id)
                    """
                ).run()
                try await transaction.audit(
                    caller, action: "identity.email.change", resourceType: "user", resourceID: principal.id.uuidString,
                    details: ["email": .string(newEmail)])
            }
        } catch let error where Self.isUniqueViolation(error) {
            throw PlazaError.conflict("An account with this email already exists.")
        }
    }

    struct Account: Sendable {
        var id: UUID
        var email: String
        var status: String
        var verified: Bool
        var locale: String
    }

    static func account(email: String, in transaction: Transaction) async throws -> Account? {
        try await transaction.sql.raw("SELECT * FROM identity_users WHERE email = \(bind: email)").first().map(account)
    }

    static func account(id: UUID, in transaction: Transaction) async throws -> Account? {
        try await transaction.sql.raw("SELECT * FROM identity_users WHERE id = \(bind: id)").first().map(account)
    }

    static func account(_ row: any SQLRow) throws -> Account {
        Account(
            id: try row.decode(column: "id", as: UUID.self), email: try row.decode(column: "email", as: String.self),
            status: try row.decode(column: "status", as: String.self), verified: try row.decode(column: "email_verified", as: Bool.self),
            locale: try row.decode(column: "locale", as: String.self))
    }

    /// Runs a request whose outcome must not tell a stranger whether an account exists: a rate limit on an
    /// existing account looks the same as no account at all.
    private func quietly(_ work: () async throws -> Void) async throws {
        do {
            try await work()
        } catch let error as PlazaError where error.code == "code-rate-limited" {
            return
        }
    }
}

extension IdentityService {
    /// Sends a code by SMS to the caller's mobile number. 409 when there is no number, it is verified already,
    /// or this installation sends no SMS.
    public func requestMobileVerification(caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        guard settings.sendsSMS else {
            throw PlazaError(
                .conflict, code: "sms-unavailable", title: "No SMS here",
                detail: "This installation does not send SMS, so numbers cannot be verified.")
        }
        let codes = self.codes
        try await store.transaction { transaction in
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT email, mobile, phone_verified, locale FROM identity_users WHERE id = \(bind: principal.id)
                    """
                ).first()
            else { throw PlazaError.unauthorized() }
            guard let mobile = try row.decode(column: "mobile", as: String?.self) else {
                throw PlazaError(.conflict, code: "no-mobile", title: "No number", detail: "Add a mobile number to your profile first.")
            }
            guard try row.decode(column: "phone_verified", as: Bool.self) == false else {
                throw PlazaError(.conflict, code: "mobile-verified", title: "Already verified", detail: "This number is verified already.")
            }
            try await codes.issue(
                .verifyMobile, user: principal.id, email: try row.decode(column: "email", as: String.self),
                locale: try row.decode(column: "locale", as: String.self), mobile: mobile, in: transaction)
        }
    }

    /// Marks the caller's mobile number verified when the code matches the one sent to that same number.
    public func verifyMobile(_ input: CodeConfirmation, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let codes = self.codes
        try await codes.attempt(.verifyMobile, code: input.code, user: principal.id)
        try await store.transaction { transaction in
            let sentTo = try await codes.redeem(.verifyMobile, code: input.code, user: principal.id, in: transaction)
            let current = try await transaction.sql.raw("SELECT mobile FROM identity_users WHERE id = \(bind: principal.id)").first()?
                .decode(column: "mobile", as: String?.self)
            // A code proves the number it was sent to: after a change of number it proves nothing.
            guard let sentTo, sentTo == current else { throw OneTimeCodes.invalid }
            try await transaction.sql.raw(
                """
                UPDATE identity_users SET phone_verified = \(bind: true), updated_at = \(bind: transaction.clock.now()) WHERE id \
                = \(bind: principal.id)
                """
            ).run()
            try await transaction.audit(caller, action: "identity.mobile.verify", resourceType: "user", resourceID: principal.id.uuidString)
        }
    }

    /// The account an address belongs to, if any (codes are counted per account).
    func userID(email: String) async throws -> UUID? {
        try await store.sql.raw("SELECT id FROM identity_users WHERE email = \(bind: email)").first()?.decode(column: "id", as: UUID.self)
    }
}
