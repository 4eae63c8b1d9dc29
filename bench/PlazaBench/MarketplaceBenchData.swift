import Foundation
import Marketplace
import PlazaKit
import PlazaServer

/// The marketplace benchmark's data: the demo (for its accounts and categories) and thousands of providers,
/// each in one of the leaf categories, around Kyiv. Returns the category the load searches and a provider
/// the load sends requests to (one offering it, near the centre).
enum MarketplaceBenchData {
    static func seed(_ plaza: Plaza, providers count: Int) async throws -> (category: UUID, provider: UUID) {
        try await Demo.seed(plaza)
        let categories = try await plaza.marketplace.categories()
        let leaves = categories.filter { leaf in !categories.contains { $0.parentId == leaf.id } }.map(\.id)
        let ids = try await plaza.store.transaction { transaction in
            try await MarketplaceDemo.addProviders(plaza.marketplace, count: count, categories: leaves, in: transaction)
        }
        return (leaves[0], ids[0])
    }
}
