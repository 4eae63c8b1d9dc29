import Foundation
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    /// The marketplace's part in merging two accounts: the merged account's requests, reviews and profiles
    /// are the other's. Two provider profiles cannot become one (offers, hours and ratings would collide):
    /// such a merge is refused until one is removed. A customer profile the other account has already wins.
    public func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let sql = transaction.sql
        let providers = try await sql.raw(
            """
            SELECT id, user_id FROM marketplace_providers WHERE user_id IN (\(bind: source), \(bind: target))
            """
        ).all()
        if providers.count == 2 {
            throw PlazaError.conflict("Both accounts have a provider profile in the marketplace; remove one of them before merging.")
        }
        var moved: [String: Int] = [:]
        if let row = providers.first, try row.decode(column: "user_id", as: UUID.self) == source {
            let provider = try row.decode(column: "id", as: UUID.self)
            try await sql.raw("UPDATE marketplace_providers SET user_id = \(bind: target) WHERE id = \(bind: provider)").run()
            try await searchChanged(provider: provider, caller: .system("merge"), in: transaction)
            moved["providerProfile"] = 1
        }
        if try await sql.raw("SELECT 1 AS x FROM marketplace_customers WHERE user_id = \(bind: target)").first() == nil {
            moved["customerProfile"] = try await sql.raw(
                "UPDATE marketplace_customers SET user_id = \(bind: target) WHERE user_id = \(bind: source) RETURNING user_id"
            ).all().count
        }
        try await sql.raw("DELETE FROM marketplace_customers WHERE user_id = \(bind: source)").run()
        moved["requests"] = try await sql.raw(
            "UPDATE marketplace_requests SET customer_id = \(bind: target) WHERE customer_id = \(bind: source) RETURNING id"
        ).all().count
        moved["jobs"] = try await sql.raw(
            """
            UPDATE marketplace_requests SET provider_user_id = \(bind: target) WHERE provider_user_id = \(bind: source) RETURNING id
            """
        ).all().count
        moved["reviews"] = try await sql.raw(
            "UPDATE marketplace_reviews SET customer_id = \(bind: target) WHERE customer_id = \(bind: source) RETURNING id"
        ).all().count
        return moved
    }
}
