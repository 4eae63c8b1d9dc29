import FluentKit
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// An organisation: a team, or a kind an installed app brings (a provider company, a brand).
public struct Organisation: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var name: String
    public var slug: String
    public var type: String
    public var parentId: UUID?
    public var status: String
    public var createdAt: Date

    /// An organisation type's name (the installation's are in ``RoleCatalogue``).
    static let typeSchema = JSONSchema.string(
        description: "An organisation type: team, or one an installed app brings.", pattern: "^[a-z][a-z0-9-]{0,39}$")

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "name": .text, "slug": .text, "type": typeSchema, "parentId": .nullable(.uuid),
                "status": .string(enumValues: ["active", "archived"]), "createdAt": .dateTime,
            ],
            required: ["id", "name", "slug", "type", "status", "createdAt"])
    }
}

/// `POST /api/v1/organisations`.
public struct NewOrganisation: Codable, Sendable, APISchema {
    public var name: String
    public var slug: String?
    public var type: String
    public var parentId: UUID?
    public init(name: String, slug: String? = nil, type: String, parentId: UUID? = nil) {
        self.name = name
        self.slug = slug
        self.type = type
        self.parentId = parentId
    }
    public static let nameLimit = TextLimit(1...200)
    static let slugPattern = "^[a-z0-9-]{1,100}$"

    public static var schema: JSONSchema { schema(types: RoleCatalogue.core.organisationTypeNames) }

    /// The schema with this installation's organisation types.
    public static func schema(types: [String]) -> JSONSchema {
        .object(
            properties: [
                "name": nameLimit.schema,
                "slug": .string(
                    description: "Lowercase letters, digits and hyphens; made from the name if left out.", minLength: 1, maxLength: 100,
                    pattern: slugPattern),
                "type": .string(enumValues: types), "parentId": .nullable(.uuid),
            ],
            required: ["name", "type"])
    }
}

/// A member and their roles in the organisation.
public struct Member: Codable, Sendable, Equatable, APISchema {
    public var userId: UUID
    public var email: String
    public var firstName: String
    public var lastName: String
    public var roles: [String]
    public static var schema: JSONSchema {
        .object(
            properties: [
                "userId": .uuid, "email": .string(format: "email"), "firstName": .text, "lastName": .text,
                "roles": .list(.string(description: "Organisation roles: owner, manager, member, or one an admin made.", minLength: 1), minItems: 1),
            ],
            required: ["userId", "email", "firstName", "lastName", "roles"])
    }
}

/// `PUT /api/v1/organisations/{id}/members/{userId}` and invitations.
public struct MemberRoles: Codable, Sendable, APISchema {
    public var roles: [String]
    public init(roles: [String]) {
        self.roles = roles
    }
    public static var schema: JSONSchema {
        .object(
            properties: [
                "roles": .list(.string(description: "Organisation roles: owner, manager, member, or one an admin made.", minLength: 1), minItems: 1)
            ], required: ["roles"])
    }
}

/// `POST /api/v1/organisations/{id}/invitations`.
public struct NewInvitation: Codable, Sendable, APISchema {
    public var email: String
    public var roles: [String]?
    public init(email: String, roles: [String]? = nil) {
        self.email = email
        self.roles = roles
    }
    public static var schema: JSONSchema {
        .object(
            properties: [
                "email": .string(format: "email"),
                "roles": .list(.string(description: "Organisation roles: owner, manager, member, or one an admin made.", minLength: 1), minItems: 1),
            ], required: ["email"])
    }
}

/// An invitation as its organisation sees it (the token only ever travels in the invitation email).
public struct Invitation: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var organisationId: UUID
    public var email: String
    public var roles: [String]
    public var expiresAt: Date
    public static var schema: JSONSchema {
        .object(
            properties: ["id": .uuid, "organisationId": .uuid, "email": .text, "roles": .array(.text), "expiresAt": .dateTime],
            required: ["id", "organisationId", "email", "roles", "expiresAt"])
    }
}

/// `POST /api/v1/invitations/accept`.
public struct InvitationAcceptance: Codable, Sendable, APISchema {
    public var token: String
    public init(token: String) {
        self.token = token
    }
    public static var schema: JSONSchema { .object(properties: ["token": .text], required: ["token"]) }
}

/// Someone was invited; the notifications module emails the link with the token.
public struct InvitationCreated: DomainEvent {
    public static let topic = "identity.invitation.created"
    public var invitationId: UUID
    public var organisationId: UUID
    public var organisationName: String
    public var email: String
    public var token: String
    public var expiresAt: Date
}

extension IdentityPolicy {
    public static let createOrganisation: Action = "identity.organisation.create"
    public static let readOrganisation: Action = "identity.organisation.read"
    public static let manageOrganisation: Action = "identity.organisation.manage"

    static func addOrganisationRules(to policy: inout RulePolicy) {
        policy.allow(createOrganisation, .authenticated)
        policy.allow(readOrganisation, .organisationRole(Set(Roles.organisation)))
        policy.allow(manageOrganisation, .organisationRole(["owner"]))
    }
}

/// Organisations, memberships and invitations.
extension IdentityService {
    public func createOrganisation(_ input: NewOrganisation, caller: Caller) async throws -> Organisation {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        try policy.authorize(caller, IdentityPolicy.createOrganisation)
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        // A name with no letters a slug can keep (Cyrillic, say) still gets one: the caller did not send a slug to refuse.
        let derived = Self.slug(from: name)
        let slug = input.slug ?? (derived.isEmpty ? "organisation-" + UUID().uuidString.prefix(8).lowercased() : derived)
        var errors: [FieldError] = []
        NewOrganisation.nameLimit.check(input.name, field: "name", into: &errors)
        if !slug.wholly(matches: NewOrganisation.slugPattern) {
            errors.append(FieldError(field: "slug", message: "must be 1 to 100 lowercase letters, digits and hyphens"))
        }
        if !catalogue.organisationTypeNames.contains(input.type) {
            errors.append(FieldError(field: "type", message: "must be one of \(catalogue.organisationTypeNames.joined(separator: ", "))"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        if let parent = input.parentId {
            // A sub-organisation is made by an owner of its parent.
            guard try await organisation(parent) != nil else { throw PlazaError.validation(field: "parentId", "is not an organisation") }
            try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: parent)
        }
        do {
            return try await store.transaction { transaction in
                let now = transaction.clock.now()
                if try await transaction.sql.raw("SELECT id FROM identity_organisations WHERE slug = \(bind: slug)").first() != nil {
                    throw PlazaError.conflict("The slug \(slug) is taken.")
                }
                let id = PlazaID.make(at: now)
                try await transaction.sql.raw(
                    """
                    INSERT INTO identity_organisations (id, name, slug, type, parent_id, status, created_at, updated_at)
                    VALUES (\(bind: id), \(bind: name), \(bind: slug), \(bind: input.type), \(bind: input.parentId), 'active',\
                     \(bind: now), \(bind: now))
                    """
                ).run()
                try await Self.addMembership(user: principal.id, organisation: id, roles: ["owner"], at: now, in: transaction)
                try await transaction.audit(
                    caller, action: "identity.organisation.create", resourceType: "organisation", resourceID: id.uuidString, organisationID: id)
                return Organisation(id: id, name: name, slug: slug, type: input.type, parentId: input.parentId, status: "active", createdAt: now)
            }
        } catch let error where Self.isUniqueViolation(error) {
            throw PlazaError.conflict("The slug \(slug) is taken.")
        }
    }

    /// One organisation, for its members (and admins).
    public func organisation(_ id: UUID, caller: Caller) async throws -> Organisation {
        guard let organisation = try await organisation(id) else { throw PlazaError.notFound("No organisation has the id \(id).") }
        try await authorizeOrHide(caller, IdentityPolicy.readOrganisation, organisation: id)
        return organisation
    }

    public func members(of id: UUID, caller: Caller) async throws -> [Member] {
        _ = try await organisation(id, caller: caller)
        let rows = try await store.sql.raw(
            """
            SELECT u.id, u.email, u.first_name, u.last_name, m.role FROM identity_memberships m
            JOIN identity_users u ON u.id = m.user_id WHERE m.organisation_id = \(bind: id) ORDER BY u.last_name, u.first_name, m.role
            """
        ).all()
        var members: [Member] = []
        for row in rows {
            let user = try row.decode(column: "id", as: UUID.self)
            let role = try row.decode(column: "role", as: String.self)
            if let index = members.firstIndex(where: { $0.userId == user }) {
                members[index].roles.append(role)
            } else {
                members.append(
                    Member(
                        userId: user, email: try row.decode(column: "email", as: String.self),
                        firstName: try row.decode(column: "first_name", as: String.self),
                        lastName: try row.decode(column: "last_name", as: String.self),
                        roles: [role]))
            }
        }
        return members
    }

    /// Replaces a member's roles; an organisation always keeps at least one owner.
    public func setMemberRoles(organisation id: UUID, user: UUID, roles: [String], caller: Caller) async throws -> [Member] {
        guard try await organisation(id) != nil else { throw PlazaError.notFound("No organisation has the id \(id).") }
        try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: id)
        let roles = Array(Set(roles)).sorted()
        let known = try await roleNames(scope: "organisation")
        guard !roles.isEmpty, roles.allSatisfy(known.contains) else {
            throw PlazaError.validation(field: "roles", "must name one or more of \(known.joined(separator: ", "))")
        }
        try await store.transaction { transaction in
            let isMember =
                try await transaction.sql.raw(
                    """
                    SELECT role FROM identity_memberships WHERE organisation_id = \(bind: id) AND user_id = \(bind: user)
                    """
                ).first() != nil
            guard isMember else { throw PlazaError.notFound("That user is not a member; invite them first.") }
            try await transaction.sql.raw("DELETE FROM identity_memberships WHERE organisation_id = \(bind: id) AND user_id = \(bind: user)").run()
            try await Self.addMembership(user: user, organisation: id, roles: roles, at: transaction.clock.now(), in: transaction)
            try await Self.requireAnOwner(id, in: transaction)
            try await transaction.audit(
                caller, action: "identity.membership.update", resourceType: "membership", resourceID: "\(id)/\(user)", organisationID: id,
                details: ["roles": .array(roles.map(JSONValue.string))])
        }
        return try await members(of: id, caller: caller)
    }

    /// Removes a member: owners remove anyone, members may leave; the last owner cannot go.
    public func removeMember(organisation id: UUID, user: UUID, caller: Caller) async throws {
        guard try await organisation(id) != nil else { throw PlazaError.notFound("No organisation has the id \(id).") }
        if caller.principal?.id != user { try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: id) }
        try await store.transaction { transaction in
            let removed = try await transaction.sql.raw(
                """
                DELETE FROM identity_memberships WHERE organisation_id = \(bind: id) AND user_id = \(bind: user) RETURNING user_id
                """
            ).all()
            guard !removed.isEmpty else { throw PlazaError.notFound("That user is not a member.") }
            try await Self.requireAnOwner(id, in: transaction)
            try await transaction.audit(
                caller, action: "identity.membership.remove", resourceType: "membership", resourceID: "\(id)/\(user)", organisationID: id)
        }
    }

    /// Invites an email address; the link's token is announced for the notifications module and never stored.
    public func invite(_ input: NewInvitation, to id: UUID, caller: Caller) async throws -> Invitation {
        guard let organisation = try await organisation(id) else { throw PlazaError.notFound("No organisation has the id \(id).") }
        try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: id)
        let email = Self.normalise(email: input.email)
        guard Self.isPlausible(email: email) else { throw PlazaError.validation(field: "email", "is not an email address") }
        let roles = Array(Set(input.roles ?? ["member"])).sorted()
        let known = try await roleNames(scope: "organisation")
        guard !roles.isEmpty, roles.allSatisfy(known.contains) else {
            throw PlazaError.validation(field: "roles", "must name one or more of \(known.joined(separator: ", "))")
        }
        let token = Self.newRefreshToken()
        let outbox = self.outbox
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let invitation = Invitation(
                id: PlazaID.make(at: now), organisationId: id, email: email, roles: roles, expiresAt: now.addingTimeInterval(7 * 86400))
            try await transaction.sql.raw(
                """
                INSERT INTO identity_invitations (id, organisation_id, email, roles, token_hash, invited_by, created_at, expires_at)
                VALUES (\(bind: invitation.id), \(bind: id), \(bind: email), \(bind: roles.joined(separator: ",")), \(bind: Self.hash(token)),
                        \(bind: caller.principal?.id), \(bind: now), \(bind: invitation.expiresAt))
                """
            ).run()
            try await transaction.audit(
                caller, action: "identity.invitation.create", resourceType: "invitation", resourceID: invitation.id.uuidString,
                organisationID: id, details: ["email": .string(email)])
            try await outbox.append(
                InvitationCreated(
                    invitationId: invitation.id, organisationId: id, organisationName: organisation.name, email: email, token: token,
                    expiresAt: invitation.expiresAt),
                key: id.uuidString, caller: caller, in: transaction)
            return invitation
        }
    }

    /// Accepts an invitation for the signed-in person, whose email must be the one invited.
    public func accept(_ input: InvitationAcceptance, caller: Caller) async throws -> Organisation {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let invalid = PlazaError(
            .badRequest, code: "invitation-invalid", title: "Invitation not valid",
            detail: "The invitation is unknown, expired, already used, or for another email address.")
        let organisationID = try await store.transaction { transaction -> UUID in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT * FROM identity_invitations WHERE token_hash = \(bind: Self.hash(input.token)) AND accepted_at IS NULL
                    """
                ).first(),
                try row.decode(column: "expires_at", as: Date.self) > now,
                let user = try await Self.account(id: principal.id, in: transaction),
                try row.decode(column: "email", as: String.self) == user.email
            else { throw invalid }
            let id = try row.decode(column: "id", as: UUID.self)
            let organisation = try row.decode(column: "organisation_id", as: UUID.self)
            let roles = try row.decode(column: "roles", as: String.self).split(separator: ",").map(String.init)
            try await transaction.sql.raw(
                """
                UPDATE identity_invitations SET accepted_at = \(bind: now), accepted_by = \(bind: principal.id) WHERE id = \(bind: id)
                """
            ).run()
            try await Self.addMembership(user: principal.id, organisation: organisation, roles: roles, at: now, in: transaction)
            try await transaction.audit(
                caller, action: "identity.invitation.accept", resourceType: "invitation", resourceID: id.uuidString, organisationID: organisation)
            return organisation
        }
        guard let organisation = try await organisation(organisationID) else { throw invalid }
        return organisation
    }

    // MARK: Helpers

    func organisation(_ id: UUID) async throws -> Organisation? {
        try await store.sql.raw("SELECT * FROM identity_organisations WHERE id = \(bind: id)").first().map(Self.organisation(row:))
    }

    static func organisation(row: any SQLRow) throws -> Organisation {
        Organisation(
            id: try row.decode(column: "id", as: UUID.self), name: try row.decode(column: "name", as: String.self),
            slug: try row.decode(column: "slug", as: String.self), type: try row.decode(column: "type", as: String.self),
            parentId: try row.decode(column: "parent_id", as: UUID?.self), status: try row.decode(column: "status", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Date.self))
    }

    /// Outsiders get a 404, not a 403: an organisation you do not belong to does not exist for you.
    ///
    /// Roles in the organisation are read fresh rather than taken from the token, so a new owner need not sign
    /// in again and a removed member loses access at once.
    func authorizeOrHide(_ caller: Caller, _ action: Action, organisation id: UUID) async throws {
        var caller = caller
        if var principal = caller.principal {
            let rows = try await store.sql.raw(
                "SELECT role FROM identity_memberships WHERE organisation_id = \(bind: id) AND user_id = \(bind: principal.id)"
            ).all()
            principal.organisationRoles[id] = Set(try rows.map { try $0.decode(column: "role", as: String.self) })
            caller.principal = principal
        }
        let facts = ResourceFacts(organisationID: id)
        if caller.principal != nil, !policy.allowsQuietly(caller, IdentityPolicy.readOrganisation, facts),
            !policy.allowsQuietly(caller, action, facts)
        {
            throw PlazaError.notFound("No organisation has the id \(id).")
        }
        try policy.authorize(caller, action, facts)
    }

    static func addMembership(user: UUID, organisation: UUID, roles: [String], at now: Date, in transaction: Transaction) async throws {
        for role in roles {
            try await transaction.sql.raw(
                """
                INSERT INTO identity_memberships (organisation_id, user_id, role, created_at) VALUES (\(bind: organisation),\
                 \(bind: user), \(bind: role), \(bind: now))
                ON CONFLICT (organisation_id, user_id, role) DO NOTHING
                """
            ).run()
        }
    }

    static func requireAnOwner(_ organisation: UUID, in transaction: Transaction) async throws {
        let owners = try await transaction.sql.raw(
            """
            SELECT user_id FROM identity_memberships WHERE organisation_id = \(bind: organisation) AND role = 'owner'
            """
        ).all()
        if owners.isEmpty { throw PlazaError.conflict("An organisation needs at least one owner; make someone else owner first.") }
    }

    static func slug(from name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: Locale(identifier: "en")).lowercased()
        var slug = ""
        for character in folded {
            if character.isASCII, character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.hasSuffix("-") {
                slug.append("-")
            }
        }
        return String(slug.trimmingCharacters(in: CharacterSet(charactersIn: "-")).prefix(100))
    }
}

/// Creates the invitation table.
public struct CreateInvitations: AsyncMigration {
    public init() {}
    public var name: String { "0008_create_invitations" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_invitations")
            .field("id", .uuid, .identifier(auto: false))
            .field("organisation_id", .uuid, .required, .references("identity_organisations", "id", onDelete: .cascade))
            .field("email", .string, .required)
            .field("roles", .string, .required)
            .field("token_hash", .string, .required)
            .field("invited_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("accepted_at", .datetime)
            .field("accepted_by", .uuid)
            .unique(on: "token_hash")
            .create()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_invitations").delete()
    }
}
