import Foundation
import PlazaKit
import SQLKit
import Storage

extension FileService {
    /// Files' part in merging two accounts: everything the merged account uploaded belongs to the other,
    /// its old avatar too (still bound to the merged account, which no longer shows anywhere).
    public static func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        [
            "files": try await transaction.sql.raw("UPDATE files SET owner_id = \(bind: target) WHERE owner_id = \(bind: source) RETURNING id").all()
                .count
        ]
    }
}
