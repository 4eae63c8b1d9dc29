import Foundation
import Identity
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace demo data")
struct DemoTests {
    @Test("the demo: a category tree, 50 providers around Kyiv, reviewed past jobs, the demo provider near the demo customer, one live thread")
    func demo() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            #expect(try await Demo.seed(plaza))
            let market = plaza.marketplace
            let categories = try await market.categories()
            #expect(categories.count == 12 && categories.contains { $0.parentId != nil })
            let customer = try await signIn(plaza, IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
            let provider = try await signIn(plaza, IdentityDemo.email(for: "provider"), password: IdentityDemo.password)
            let me = try await market.myCustomerProfile(caller: caller(customer))
            let near = try await market.searchProviders(ProviderQuery(lat: me.lat, lng: me.lng, radiusKm: 5, page: PageRequest(limit: 100)))
            let demoProfile = try await market.myProvider(caller: caller(provider, provider: true))
            #expect(near.items.contains { $0.id == demoProfile.id }, "the demo provider works near the demo customer")
            var all: [ProviderSummary] = []
            var cursor: String?
            repeat {
                let page = try await market.searchProviders(ProviderQuery(sort: .rating, page: PageRequest(limit: 100, cursor: cursor)))
                all += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(all.count == 50)
            #expect(all.filter { $0.ratingCount > 0 }.count == 30)
            let mine = try await market.requests(role: "customer", status: "accepted", page: PageRequest(), caller: caller(customer))
            let thread = try #require(mine.items.first?.conversationId)
            let conversation = try await market.conversation(ofRequest: mine.items[0].id, limit: 10, caller: caller(customer))
            #expect(conversation.id == thread && conversation.messages.count == 3)
            #expect(try await Demo.seed(plaza) == false, "seeding twice adds nothing")
        }
    }
}
