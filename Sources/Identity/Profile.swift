import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// `PATCH /api/v1/me`: the fields to change. An absent field stays as it is; an empty string clears the
/// optional ones (bio, birth date, mobile, gender).
public struct ProfileUpdate: Codable, Sendable, Equatable, APISchema {
    public var firstName: String?
    public var lastName: String?
    public var bio: String?
    public var birthDate: String?
    public var mobile: String?
    public var gender: String?
    public var locale: String?
    public var timeZone: String?

    public init(
        firstName: String? = nil, lastName: String? = nil, bio: String? = nil, birthDate: String? = nil, mobile: String? = nil,
        gender: String? = nil, locale: String? = nil, timeZone: String? = nil
    ) {
        self.firstName = firstName
        self.lastName = lastName
        self.bio = bio
        self.birthDate = birthDate
        self.mobile = mobile
        self.gender = gender
        self.locale = locale
        self.timeZone = timeZone
    }

    static let bioLimit = TextLimit.atMost(2000)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "firstName": Registration.nameLimit.schema, "lastName": Registration.nameLimit.schema,
                "bio": bioLimit.schema(description: "Empty clears."),
                "birthDate": .string(
                    description: "YYYY-MM-DD, from 1900 to today; empty clears.", pattern: "^\\s*([0-9]{4}-[0-9]{2}-[0-9]{2})?\\s*$"),
                // What normalise(mobile:) and isE164 accept: spaces, dots, dashes and brackets anywhere around the digits.
                "mobile": .string(
                    description: "E.164, e.g. +380501234567 (spaces, dots, dashes and brackets are dropped); empty clears.",
                    pattern: "^\\s*([ .()-]*\\+[ .()-]*[1-9]([ .()-]*[0-9]){7,14}[ .()-]*)?\\s*$"),
                "gender": .string(description: "An id from GET /api/v1/genders; empty clears."),
                "locale": .string(enumValues: Identity.locales), "timeZone": .string(description: "An IANA time zone."),
            ],
            required: [])
    }
}

/// A choice of the gender lookup table.
public struct Gender: Codable, Sendable, Equatable, APISchema {
    public var id: String
    public var label: String
    public static var schema: JSONSchema { .object(properties: ["id": .text, "label": .text], required: ["id", "label"]) }
}

/// Emitted when a user changes their profile (search indexes and read models listen).
public struct ProfileUpdated: DomainEvent {
    public static let topic = "identity.profile.updated"
    public var userId: UUID
    public var fields: [String]
}

extension IdentityService {
    /// The gender lookup table, in its stored order.
    public func genders() async throws -> [Gender] {
        try await store.sql.raw("SELECT id, label FROM identity_genders ORDER BY id").all().map {
            Gender(id: try $0.decode(column: "id", as: String.self), label: try $0.decode(column: "label", as: String.self))
        }
    }

    /// Changes the caller's own profile; every field is checked before anything is written.
    public func updateProfile(_ update: ProfileUpdate, caller: Caller) async throws -> Me {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let genders = Set(try await genders().map(\.id))
        var errors: [FieldError] = []
        var columns: [(String, any Encodable & Sendable)] = []
        func name(_ value: String?, _ field: String, column: String) {
            guard let value else { return }
            Registration.nameLimit.check(value, field: field, into: &errors)
            columns.append((column, value.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        func optional(_ value: String?, _ field: String, column: String, check: (String) -> String?) {
            guard let value else { return }
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { columns.append((column, String?.none)); return }
            if let problem = check(trimmed) { errors.append(FieldError(field: field, message: problem)) }
            columns.append((column, trimmed))
        }
        name(update.firstName, "firstName", column: "first_name")
        name(update.lastName, "lastName", column: "last_name")
        ProfileUpdate.bioLimit.check(update.bio, field: "bio", into: &errors)
        optional(update.bio, "bio", column: "bio") { _ in nil }
        optional(update.birthDate, "birthDate", column: "birth_date") { Self.birthDateProblem($0, today: store.clock.now()) }
        let mobile = update.mobile.map(Self.normalise(mobile:))
        optional(mobile, "mobile", column: "mobile") { Self.isE164($0) ? nil : "must be a phone number in international form, e.g. +380501234567" }
        optional(update.gender, "gender", column: "gender_id") {
            genders.contains($0) ? nil : "must be one of \(genders.sorted().joined(separator: ", "))"
        }
        if let locale = update.locale {
            if !Identity.locales.contains(locale) { errors.append(FieldError(field: "locale", message: "must be en or uk")) }
            columns.append(("locale", locale))
        }
        if let zone = update.timeZone {
            if TimeZone(identifier: zone) == nil { errors.append(FieldError(field: "timeZone", message: "is not an IANA time zone")) }
            columns.append(("time_zone", zone))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        guard !columns.isEmpty else { return try await me(principal.id) }

        let changed = columns.map(\.0)
        let assignments = columns
        let outbox = self.outbox
        let mobileChanged = mobile != nil
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            var update = transaction.sql.update("identity_users").set("updated_at", to: SQLBind(now))
            for (column, value) in assignments { update = update.set(SQLIdentifier(column), to: SQLBind(value)) }
            // A new number has not been proven yet.
            if mobileChanged { update = update.set("phone_verified", to: SQLBind(false)) }
            try await update.where("id", .equal, SQLBind(principal.id)).run()
            try await transaction.audit(
                caller, action: "identity.profile.update", resourceType: "user", resourceID: principal.id.uuidString,
                details: ["fields": .array(changed.map { .string($0) })])
            try await outbox.append(
                ProfileUpdated(userId: principal.id, fields: changed), key: principal.id.uuidString, caller: caller, in: transaction)
        }
        return try await me(principal.id)
    }

    static func birthDateProblem(_ text: String, today: Date) -> String? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard text.count == 10, let date = formatter.date(from: text), formatter.string(from: date) == text else {
            return "must be a date as YYYY-MM-DD"
        }
        guard date <= today, date >= formatter.date(from: "1900-01-01")! else { return "must be between 1900-01-01 and today" }
        return nil
    }

    /// Drops spaces, dashes, dots and brackets people type into phone numbers.
    static func normalise(mobile: String) -> String {
        String(mobile.filter { !" -.()".contains($0) })
    }

    /// `+` and 8 to 15 digits, the first not zero (ITU-T E.164).
    static func isE164(_ number: String) -> Bool {
        guard number.hasPrefix("+") else { return false }
        let digits = number.dropFirst()
        return (8...15).contains(digits.count) && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) && digits.first != "0"
    }
}

extension IdentityService {
    /// Sets (or clears) a user's avatar to a file the files module stored; returns the one it replaces.
    /// Identity keeps only the id: the files module owns the bytes and says where they are.
    @discardableResult
    public func setAvatar(_ fileId: UUID?, for user: UUID, caller: Caller) async throws -> UUID? {
        try await store.transaction { transaction in
            guard let row = try await transaction.sql.raw("SELECT avatar_file_id FROM identity_users WHERE id = \(bind: user)").first() else {
                throw PlazaError.notFound("There is no such account.")
            }
            let previous = try row.decode(column: "avatar_file_id", as: UUID?.self)
            try await transaction.sql.raw("UPDATE identity_users SET avatar_file_id = \(bind: fileId) WHERE id = \(bind: user)").run()
            try await transaction.audit(
                caller, action: fileId == nil ? "identity.avatar.clear" : "identity.avatar.set", resourceType: "user", resourceID: user.uuidString,
                details: fileId.map { .object(["fileId": .string($0.uuidString.lowercased())]) })
            try await self.outbox.append(
                ProfileUpdated(userId: user, fields: ["avatarFileId"]), key: user.uuidString, caller: caller, in: transaction)
            return previous
        }
    }

    /// The avatar file of a user, if any.
    public func avatar(of user: UUID) async throws -> UUID? {
        try await store.sql.raw("SELECT avatar_file_id FROM identity_users WHERE id = \(bind: user)").first()?
            .decode(column: "avatar_file_id", as: UUID?.self)
    }
}

/// Emitted when a deleted account's data is erased after its grace period: modules erase what they keep
/// about the person (files, messages' authorship stays as "deleted account").
public struct UserPurged: DomainEvent {
    public static let topic = "identity.user.purged"
    public var userId: UUID
}
