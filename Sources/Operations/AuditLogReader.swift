import Foundation
import PlazaKit
import SQLKit
import Storage

/// Filters for the audit log.
public struct AuditFilter: Sendable, Equatable {
    public var actorID: UUID?
    public var action: String?
    public var resourceType: String?
    public var resourceID: String?
    public var organisationID: UUID?
    public var since: Date?
    public var until: Date?

    public init(
        actorID: UUID? = nil, action: String? = nil, resourceType: String? = nil, resourceID: String? = nil,
        organisationID: UUID? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.actorID = actorID
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.organisationID = organisationID
        self.since = since
        self.until = until
    }

    /// Reads the filter from query parameters, naming the parameter that does not parse.
    public init(query: [String: String]) throws {
        var errors: [FieldError] = []
        func uuid(_ key: String) -> UUID? {
            guard let raw = query[key] else { return nil }
            guard let value = UUID(uuidString: raw) else {
                errors.append(FieldError(field: key, message: "must be a UUID"))
                return nil
            }
            return value
        }
        func date(_ key: String) -> Date? {
            guard let raw = query[key] else { return nil }
            guard let value = PlazaJSON.parseDate(raw) else {
                errors.append(FieldError(field: key, message: "must be an RFC 3339 timestamp"))
                return nil
            }
            return value
        }
        self.init(
            actorID: uuid("actorId"), action: query["action"], resourceType: query["resourceType"],
            resourceID: query["resourceId"], organisationID: uuid("organisationId"), since: date("since"), until: date("until"))
        if !errors.isEmpty { throw PlazaError.validation(errors) }
    }
}

/// Reads the audit log, newest first.
public struct AuditLogReader: Sendable {
    let store: Store
    public init(store: Store) { self.store = store }

    public func list(_ filter: AuditFilter = .init(), page: PageRequest = .init()) async throws -> Page<AuditEntry> {
        let select = store.sql.select().column("*").from(AuditLogTable.name)
        if let value = filter.actorID { select.where("actor_id", .equal, value) }
        if let value = filter.action { select.where("action", .equal, value) }
        if let value = filter.resourceType { select.where("resource_type", .equal, value) }
        if let value = filter.resourceID { select.where("resource_id", .equal, value) }
        if let value = filter.organisationID { select.where("organisation_id", .equal, value) }
        if let value = filter.since { select.where("occurred_at", .greaterThanOrEqual, value) }
        if let value = filter.until { select.where("occurred_at", .lessThan, value) }
        if let cursor = page.cursor { select.where("id", .lessThan, try Cursor.decodeID(cursor)) }
        let rows = try await select.orderBy("id", .descending).limit(page.limit + 1).all()
        return .byID(try rows.map(Self.decode), limit: page.limit, id: \.id)
    }

    static func decode(_ row: any SQLRow) throws -> AuditEntry {
        let details = try row.decode(column: "details", as: String?.self)
        return AuditEntry(
            id: try row.decode(column: "id", as: UUID.self),
            occurredAt: try row.decode(column: "occurred_at", as: Date.self),
            actorID: try row.decode(column: "actor_id", as: UUID?.self),
            actorKind: try row.decode(column: "actor_kind", as: String.self),
            action: try row.decode(column: "action", as: String.self),
            resourceType: try row.decode(column: "resource_type", as: String.self),
            resourceID: try row.decode(column: "resource_id", as: String?.self),
            organisationID: try row.decode(column: "organisation_id", as: UUID?.self),
            ip: try row.decode(column: "ip", as: String?.self),
            requestID: try row.decode(column: "request_id", as: String?.self),
            details: try details.map { try PlazaJSON.decoder().decode(JSONValue.self, from: Data($0.utf8)) })
    }
}
