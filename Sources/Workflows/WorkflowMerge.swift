import Foundation
import PlazaKit
import SQLKit
import Storage

extension WorkflowEngine {
    /// Workflows' part in merging two accounts: instances the merged account owned or took part in are the
    /// other's. History keeps who acted at the time; it is a record, not a reference.
    public static func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let sql = transaction.sql
        let owned = try await sql.raw("UPDATE workflow_instances SET owner_id = \(bind: target) WHERE owner_id = \(bind: source) RETURNING id").all()
            .count
        let needle = source.uuidString
        var joined = 0
        for row in try await sql.raw(
            """
            SELECT id, participants FROM workflow_instances WHERE LOWER(participants) LIKE \(bind: "%" + needle.lowercased() + "%")
            """
        ).all() {
            let text = try row.decode(column: "participants", as: String.self)
            guard let ids = try? PlazaJSON.decoder().decode([UUID].self, from: Data(text.utf8)) else { continue }
            var merged: [UUID] = []
            for id in ids.map({ $0 == source ? target : $0 }) where !merged.contains(id) { merged.append(id) }
            try await sql.raw(
                """
                UPDATE workflow_instances SET participants = \(bind: try Self.encode(merged))
                WHERE id = \(bind: try row.decode(column: "id", as: UUID.self))
                """
            ).run()
            joined += 1
        }
        return ["owned": owned, "participating": joined]
    }
}
