import Foundation
import PlazaKit
import SQLKit

extension IdentityService {
    /// Organisations by name, slug or type, newest first: every one for admins, your own for everyone else.
    public func organisations(matching text: String?, type: String?, page: PageRequest, caller: Caller) async throws -> Page<Organisation> {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        if let type, !catalogue.organisationTypeNames.contains(type) {
            throw PlazaError.validation(field: "type", "must be one of \(catalogue.organisationTypeNames.joined(separator: ", "))")
        }
        var sql: SQLQueryString = "SELECT o.* FROM identity_organisations o WHERE 1 = 1"
        if !principal.systemRoles.contains(SystemRole.admin) {
            sql += " AND EXISTS (SELECT 1 FROM identity_memberships m WHERE m.organisation_id = o.id AND m.user_id = \(bind: principal.id))"
        }
        if let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            let pattern = "%" + text.lowercased().replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "") + "%"
            sql += " AND (LOWER(o.name) LIKE \(bind: pattern) OR o.slug LIKE \(bind: pattern))"
        }
        if let type { sql += " AND o.type = \(bind: type)" }
        if let cursor = page.cursor { sql += " AND o.id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY o.id DESC LIMIT \(literal: page.limit + 1)"
        let rows = try await store.sql.raw(sql).all()
        return .byID(try rows.map(Self.organisation(row:)), limit: page.limit, id: \.id)
    }
}
