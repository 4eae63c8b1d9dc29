import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// `PATCH /api/v1/organisations/{id}`: what to change; absent fields stay. `parentId: ""` detaches the
/// organisation from its parent.
public struct OrganisationUpdate: Codable, Sendable, APISchema {
    public var name: String?
    public var type: String?
    public var parentId: String?
    public var status: String?

    public init(name: String? = nil, type: String? = nil, parentId: String? = nil, status: String? = nil) {
        self.name = name
        self.type = type
        self.parentId = parentId
        self.status = status
    }

    public static var schema: JSONSchema { schema(types: RoleCatalogue.core.organisationTypeNames) }

    /// The schema with this installation's organisation types.
    public static func schema(types: [String]) -> JSONSchema {
        .object(
            properties: [
                "name": NewOrganisation.nameLimit.schema, "type": .string(enumValues: types),
                "parentId": .string(description: "The parent's id, or an empty string for none."),
                "status": .string(enumValues: Organisation.statuses),
            ],
            required: [])
    }
}

/// An organisation's name, type, parent or status changed.
public struct OrganisationUpdated: DomainEvent {
    public static let topic = "identity.organisation.updated"
    public var organisationId: UUID
    public var fields: [String]
}

extension Organisation {
    public static let statuses = ["active", "archived"]
}

extension IdentityService {
    /// Renames, retypes, moves or archives an organisation (its owners, and admins). Moving it needs the right to
    /// manage the new parent too, and may not put it under itself.
    public func updateOrganisation(_ id: UUID, _ update: OrganisationUpdate, caller: Caller) async throws -> Organisation {
        guard try await organisation(id) != nil else { throw PlazaError.notFound("No organisation has the id \(id).") }
        try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: id)
        var errors: [FieldError] = []
        var columns: [(String, any Encodable & Sendable)] = []
        NewOrganisation.nameLimit.check(update.name, field: "name", into: &errors)
        if let name = update.name?.trimmingCharacters(in: .whitespacesAndNewlines) { columns.append(("name", name)) }
        if let type = update.type {
            if !catalogue.organisationTypeNames.contains(type) {
                errors.append(FieldError(field: "type", message: "must be one of \(catalogue.organisationTypeNames.joined(separator: ", "))"))
            }
            columns.append(("type", type))
        }
        if let status = update.status {
            if !Organisation.statuses.contains(status) { errors.append(FieldError(field: "status", message: "must be active or archived")) }
            columns.append(("status", status))
        }
        if let raw = update.parentId {
            if raw.isEmpty {
                columns.append(("parent_id", UUID?.none))
            } else if let parent = UUID(uuidString: raw), try await organisation(parent) != nil {
                if try await ancestors(of: parent).contains(id) || parent == id {
                    errors.append(FieldError(field: "parentId", message: "would put the organisation under itself"))
                } else {
                    try await authorizeOrHide(caller, IdentityPolicy.manageOrganisation, organisation: parent)
                    columns.append(("parent_id", parent))
                }
            } else {
                errors.append(FieldError(field: "parentId", message: "is not an organisation"))
            }
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let assignments = columns
        let outbox = self.outbox
        if !assignments.isEmpty {
            try await store.transaction { transaction in
                var query = transaction.sql.update("identity_organisations").set("updated_at", to: SQLBind(transaction.clock.now()))
                for (column, value) in assignments { query = query.set(SQLIdentifier(column), to: SQLBind(value)) }
                try await query.where("id", .equal, SQLBind(id)).run()
                try await transaction.audit(
                    caller, action: "identity.organisation.update", resourceType: "organisation", resourceID: id.uuidString, organisationID: id,
                    details: ["fields": .array(assignments.map { .string($0.0) })])
                try await outbox.append(
                    OrganisationUpdated(organisationId: id, fields: assignments.map(\.0)), key: id.uuidString, caller: caller, in: transaction)
            }
        }
        guard let organisation = try await organisation(id) else { throw PlazaError.notFound("No organisation has the id \(id).") }
        return organisation
    }

    /// The organisations directly under this one, by name (for its members and admins).
    public func children(of id: UUID, caller: Caller) async throws -> [Organisation] {
        _ = try await organisation(id, caller: caller)
        return try await store.sql.raw("SELECT * FROM identity_organisations WHERE parent_id = \(bind: id) ORDER BY name").all()
            .map(Self.organisation(row:))
    }

    /// Parent, grandparent, … up to the root (bounded, in case the data ever holds a loop).
    func ancestors(of id: UUID) async throws -> [UUID] {
        var chain: [UUID] = []
        var next: UUID? = id
        while let current = next, chain.count < 100 {
            chain.append(current)
            next = try await store.sql.raw("SELECT parent_id FROM identity_organisations WHERE id = \(bind: current)").first()?
                .decode(column: "parent_id", as: UUID?.self)
        }
        return chain
    }
}
