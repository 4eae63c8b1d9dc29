import FluentKit
import Foundation
import PlazaKit
import SQLKit

/// One line of the audit log: who did what to which resource, when, from where, under which request.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var id: UUID
    public var occurredAt: Date
    public var actorID: UUID?
    public var actorKind: String
    public var action: String
    public var resourceType: String
    public var resourceID: String?
    public var organisationID: UUID?
    public var ip: String?
    public var requestID: String?
    public var details: JSONValue?

    public init(
        id: UUID, occurredAt: Date, actorID: UUID?, actorKind: String, action: String, resourceType: String,
        resourceID: String?, organisationID: UUID?, ip: String?, requestID: String?, details: JSONValue?
    ) {
        self.id = id
        self.occurredAt = occurredAt
        self.actorID = actorID
        self.actorKind = actorKind
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.organisationID = organisationID
        self.ip = ip
        self.requestID = requestID
        self.details = details
    }
}

extension AuditEntry: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "occurredAt": .dateTime, "actorID": .nullable(.uuid),
                "actorKind": .string(enumValues: ["user", "service", "system"]), "action": .text,
                "resourceType": .text, "resourceID": .nullable(.text), "organisationID": .nullable(.uuid),
                "ip": .nullable(.text), "requestID": .nullable(.text), "details": .nullable(.anyObject),
            ],
            required: ["id", "occurredAt", "actorKind", "action", "resourceType"])
    }
}

/// The audit log's table name, shared by the writer here and the reader in Operations.
public enum AuditLogTable {
    public static let name = "plaza_audit_log"
}

extension Transaction {
    /// Appends an audit entry in this transaction, so the entry exists exactly when the change does.
    @discardableResult
    public func audit(
        _ caller: Caller, action: String, resourceType: String, resourceID: String? = nil,
        organisationID: UUID? = nil, details: JSONValue? = nil
    ) async throws -> AuditEntry {
        let now = clock.now()
        let entry = AuditEntry(
            id: PlazaID.make(at: now), occurredAt: now, actorID: caller.principal?.id,
            actorKind: caller.principal?.kind.rawValue ?? "system", action: action, resourceType: resourceType,
            resourceID: resourceID, organisationID: organisationID, ip: caller.ip, requestID: caller.requestID,
            details: details)
        let detailsText = try details.map { String(decoding: try PlazaJSON.encoder().encode($0), as: UTF8.self) }
        try await sql.insert(into: AuditLogTable.name)
            .columns(
                "id", "occurred_at", "actor_id", "actor_kind", "action", "resource_type", "resource_id",
                "organisation_id", "ip", "request_id", "details"
            )
            .values(
                SQLBind(entry.id), SQLBind(entry.occurredAt), SQLBind(entry.actorID), SQLBind(entry.actorKind),
                SQLBind(entry.action), SQLBind(entry.resourceType), SQLBind(entry.resourceID),
                SQLBind(entry.organisationID), SQLBind(entry.ip), SQLBind(entry.requestID), SQLBind(detailsText)
            )
            .run()
        return entry
    }
}

/// Creates the audit log table and its indexes.
public struct CreateAuditLog: AsyncMigration {
    public init() {}
    public var name: String { "0001_create_audit_log" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(AuditLogTable.name)
            .field("id", .uuid, .identifier(auto: false))
            .field("occurred_at", .datetime, .required)
            .field("actor_id", .uuid)
            .field("actor_kind", .string, .required)
            .field("action", .string, .required)
            .field("resource_type", .string, .required)
            .field("resource_id", .string)
            .field("organisation_id", .uuid)
            .field("ip", .string)
            .field("request_id", .string)
            .field("details", .string)
            .create()
        try await database.execute(
            "CREATE INDEX plaza_audit_log_time ON plaza_audit_log (occurred_at, id)",
            "CREATE INDEX plaza_audit_log_resource ON plaza_audit_log (resource_type, resource_id)",
            "CREATE INDEX plaza_audit_log_actor ON plaza_audit_log (actor_id, occurred_at)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(AuditLogTable.name).delete()
    }
}
