import Foundation
import PlazaKit
import SQLKit

/// Who a message is for, in the terms people use: some accounts, everyone holding a role (across the system
/// or in one organisation), an organisation's members, a group an app knows (an initiative's members), or
/// everyone. Exactly one kind per audience.
public struct Audience: Codable, Sendable, Equatable, APISchema {
    public var users: [UUID]?
    public var role: String?
    public var organisationId: UUID?
    public var group: AudienceGroup?
    public var everyone: Bool?

    public init(users: [UUID]? = nil, role: String? = nil, organisationId: UUID? = nil, group: AudienceGroup? = nil, everyone: Bool? = nil) {
        self.users = users
        self.role = role
        self.organisationId = organisationId
        self.group = group
        self.everyone = everyone
    }

    /// The people of a group an app resolves (``IdentityService/audienceGroups``).
    public static func group(_ kind: String, _ id: String) -> Audience { Audience(group: AudienceGroup(kind: kind, id: id)) }

    public static func users(_ ids: [UUID]) -> Audience { Audience(users: ids) }
    public static func role(_ role: String, in organisation: UUID? = nil) -> Audience { Audience(role: role, organisationId: organisation) }
    public static func organisation(_ id: UUID) -> Audience { Audience(organisationId: id) }
    public static var all: Audience { Audience(everyone: true) }

    public static let maxUsers = 1000

    /// The field errors of an audience that is empty, mixes kinds, or lists too many people.
    public var problems: [FieldError] {
        let kinds = [users != nil, role != nil || organisationId != nil, group != nil, everyone == true].filter { $0 }.count
        if kinds != 1 {
            return [
                FieldError(
                    field: "audience",
                    message: "must name exactly one of users, role (optionally with organisationId), organisationId, group or everyone")
            ]
        }
        if let group {
            var errors: [FieldError] = []
            AudienceGroup.kindLimit.check(group.kind, field: "audience.group.kind", into: &errors)
            AudienceGroup.idLimit.check(group.id, field: "audience.group.id", into: &errors)
            if !errors.isEmpty { return errors }
        }
        if let users {
            if users.isEmpty { return [FieldError(field: "audience.users", message: "must name at least one account")] }
            if users.count > Self.maxUsers { return [FieldError(field: "audience.users", message: "must name at most \(Self.maxUsers) accounts")] }
        }
        if let role, role.isEmpty || role.count > 64 { return [FieldError(field: "audience.role", message: "must be a role's name")] }
        return []
    }

    public static var schema: JSONSchema { schema(groupKinds: []) }

    /// The schema with the kinds of group the installed apps resolve (no `group` member when there are none).
    public static func schema(groupKinds: [String]) -> JSONSchema {
        var properties: [String: JSONSchema] = [
            "users": .list(.uuid, minItems: 1, maxItems: maxUsers),
            "role": .string(
                description: "Everyone holding this role: a system or app role, or with organisationId an organisation role.", minLength: 1,
                maxLength: 64),
            "organisationId": .string(format: "uuid", description: "The members of this organisation (with role: those holding it there)."),
            "everyone": .boolean,
        ]
        if !groupKinds.isEmpty {
            properties["group"] = .object(
                properties: [
                    "kind": .string(enumValues: groupKinds, description: "A kind of group an installed app resolves (an initiative's members)."),
                    "id": AudienceGroup.idLimit.schema(description: "Which group of that kind."),
                ], required: ["kind", "id"])
        }
        return .object(properties: properties, required: [])
    }
}

/// A group of people an app knows how to list: `kind` names the app's resolver, `id` the group.
public struct AudienceGroup: Codable, Sendable, Equatable {
    public var kind: String
    public var id: String

    static let kindLimit = TextLimit(1...64)
    static let idLimit = TextLimit(1...200)

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// How an app lists a group's people: a subquery selecting their ids (`SELECT user_id FROM …`), so audiences of
/// any size are paged by Identity. Throws (a validation error) for an id that names no group.
public typealias AudienceResolver = @Sendable (_ id: String) throws -> SQLQueryString

/// What other modules need to reach a person: addresses, language and time zone.
public struct Contact: Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var emailVerified: Bool
    public var firstName: String
    public var lastName: String
    public var mobile: String?
    public var mobileVerified: Bool
    public var locale: String
    public var timeZone: String
}

extension IdentityService {
    /// A page of the active accounts in `audience`, ordered by id; pass the last id back as `after`.
    public func contacts(in audience: Audience, after: UUID? = nil, limit: Int = 500) async throws -> [Contact] {
        var filter: SQLQueryString
        if let users = audience.users {
            guard !users.isEmpty else { return [] }
            filter = "u.id IN (\(binds: users))"
        } else if let role = audience.role, let organisation = audience.organisationId {
            filter = """
                u.id IN (SELECT user_id FROM identity_memberships WHERE organisation_id = \(bind: organisation) AND role = \(bind: role))
                """
        } else if let role = audience.role {
            filter = "u.id IN (SELECT user_id FROM identity_role_grants WHERE role = \(bind: role))"
        } else if let organisation = audience.organisationId {
            filter = "u.id IN (SELECT user_id FROM identity_memberships WHERE organisation_id = \(bind: organisation))"
        } else if let group = audience.group {
            guard let resolve = audienceGroups[group.kind] else { throw Self.unknownGroup(group.kind) }
            filter = "u.id IN (" + (try resolve(group.id)) + ")"
        } else if audience.everyone == true {
            filter = "1 = 1"
        } else {
            return []
        }
        if let after { filter = "\(filter) AND u.id > \(bind: after)" }
        return try await store.sql.raw(
            """
            SELECT u.id, u.email, u.email_verified, u.first_name, u.last_name, u.mobile, u.phone_verified, u.locale, u.time_zone
            FROM identity_users u WHERE u.status = 'active' AND \(filter) ORDER BY u.id LIMIT \(literal: max(1, min(limit, 5000)))
            """
        ).all().map(Self.contact)
    }

    /// Refuses an audience group of a kind no installed app resolves.
    public func checkGroup(of audience: Audience) throws {
        if let group = audience.group, audienceGroups[group.kind] == nil { throw Self.unknownGroup(group.kind) }
    }

    static func unknownGroup(_ kind: String) -> PlazaError {
        PlazaError.validation(field: "audience.group.kind", "\(kind) is not a kind of group an installed app knows")
    }

    /// One account's contact details, if it is active.
    public func contact(_ id: UUID) async throws -> Contact? {
        try await contacts(in: .users([id]), limit: 1).first
    }

    /// The active account that owns this email address, if any.
    public func contact(email: String) async throws -> Contact? {
        try await store.sql.raw(
            """
            SELECT id, email, email_verified, first_name, last_name, mobile, phone_verified, locale, time_zone
            FROM identity_users WHERE email = \(bind: Self.normalise(email: email)) AND status = 'active'
            """
        ).first().map(Self.contact)
    }

    static func contact(_ row: any SQLRow) throws -> Contact {
        Contact(
            id: try row.decode(column: "id", as: UUID.self), email: try row.decode(column: "email", as: String.self),
            emailVerified: try row.decode(column: "email_verified", as: Bool.self),
            firstName: try row.decode(column: "first_name", as: String.self), lastName: try row.decode(column: "last_name", as: String.self),
            mobile: try row.decode(column: "mobile", as: String?.self), mobileVerified: try row.decode(column: "phone_verified", as: Bool.self),
            locale: try row.decode(column: "locale", as: String.self), timeZone: try row.decode(column: "time_zone", as: String.self))
    }
}
