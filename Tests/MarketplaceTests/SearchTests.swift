import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace search")
struct SearchTests {
    @Test("text, category tree, radius and distance, price, rating, availability and time off; keyset pages walk every match once")
    func search() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            func open(_ email: String, _ update: ProviderUpdate) async throws -> (Person, ProviderProfile) {
                let person = try await provider(plaza, email)
                return (person, try await market.createProvider(update, caller: caller(person, provider: true)))
            }
            let (bob, bobs) = try await open(
                "bob@example.com",
                profile("Bob's Plumbing", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(40), priceMax: uah(90))], northKm: 3))
            let (_, cleos) = try await open(
                "cleo@example.com",
                profile(
                    "Cleo", offers: [Offer(categoryId: catalogue.leaks.id, priceMin: uah(30), priceMax: uah(60))], northKm: 8,
                    bio: "Pipes that never drip again."))
            var danHours = profile(
                "Dan Sparks", offers: [Offer(categoryId: catalogue.electrics.id, priceMin: uah(50), priceMax: uah(70))], northKm: 1)
            danHours.availability = [WeeklySlot(weekday: 1, start: "09:00", end: "17:00")]
            let (_, dans) = try await open("dan@example.com", danHours)
            let (_, fars) = try await open(
                "far@example.com",
                profile("Far Away Plumbing", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(20), priceMax: uah(30))], northKm: 60))
            let ada = try await person(plaza, "ada@example.com")

            // A five-star job for Bob, so ratings differ.
            let job = try await market.createRequest(
                NewServiceRequest(
                    categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "Tap", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
                caller: caller(ada))
            for command in ["accept", "start", "complete"] {
                _ = try await market.send(command, to: job.id, RequestCommand(), caller: caller(bob, provider: true))
            }
            _ = try await market.review(job.id, ReviewInput(rating: 5, text: "Perfect"), caller: caller(ada))

            try await plaza.testApplication().test(.router) { client in
                func ids(_ query: String) async throws -> [UUID] {
                    try await client.execute(uri: "/api/v1/marketplace/providers?\(query)", method: .get) { response in
                        #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                        return try decode(Paged<ProviderSummary>.self, response).items.map(\.id)
                    }
                }
                let here = "lat=\(kyiv.lat)&lng=\(kyiv.lng)"
                #expect(
                    try await ids("category=\(catalogue.plumbing.id)&\(here)&radiusKm=20") == [bobs.id, cleos.id],
                    "leak specialists count as plumbers, nearest first")
                #expect(
                    try await ids("category=\(catalogue.leaks.id)&\(here)&radiusKm=20&sort=price") == [cleos.id, bobs.id],
                    "a plumber fixes leaks too; cheapest first")
                #expect(
                    try await ids("category=\(catalogue.plumbing.id)&\(here)") == [bobs.id, cleos.id, fars.id], "no radius: everyone, by distance")
                #expect(try await ids("\(here)&radiusKm=2") == [dans.id])
                #expect(try await ids("q=drip") == [cleos.id], "the bio is searched")
                #expect(try await ids("q=LEAK") == [cleos.id], "so are category names, by prefix and in any case")
                #expect(
                    try await ids("q=plumb").sorted { $0.uuidString < $1.uuidString } == [bobs.id, fars.id].sorted { $0.uuidString < $1.uuidString })
                #expect(try await ids("q=plumbing%20far") == [fars.id], "every word must match")
                #expect(try await ids("q=%22%3B--").isEmpty == false, "punctuation alone does not filter or break the query")
                if TestDatabase.isPostgres {
                    #expect(try await ids("q=plumbng").contains(bobs.id), "PostgreSQL forgives a misspelt name (trigrams)")
                }
                #expect(try await ids("minRating=4.5") == [bobs.id])
                #expect(try await ids("sort=rating&limit=1").first == bobs.id, "the best rated first")

                // Monday 2026-11-30 10:00 in Kyiv (UTC+2) is 08:00Z: Dan works; at 16:00Z (18:00 there) he does not.
                #expect(try await ids("availableAt=2026-11-30T08:00:00Z&\(here)&radiusKm=2") == [dans.id])
                #expect(try await ids("availableAt=2026-11-30T16:00:00Z&\(here)&radiusKm=2") == [])
                _ = try await market.updateProvider(
                    bobs.id,
                    ProviderUpdate(timeOff: [
                        TimeOff(
                            startsAt: ISO8601DateFormatter().date(from: "2026-11-30T00:00:00Z")!,
                            endsAt: ISO8601DateFormatter().date(from: "2026-12-01T00:00:00Z")!,
                            reason: "Holiday")
                    ]), caller: caller(bob, provider: true))
                #expect(
                    try await ids("availableAt=2026-11-30T08:00:00Z&category=\(catalogue.plumbing.id)&\(here)&radiusKm=20") == [cleos.id],
                    "Bob is on holiday")
                #expect(try await market.provider(bobs.id).timeOff.map(\.reason) == [nil], "why he is off is his own business")
                #expect(try await market.myProvider(caller: caller(bob, provider: true)).timeOff.map(\.reason) == ["Holiday"])
                // A provider who has not said where he works offers plumbing too: he takes no place in a page.
                let nowhere = try await provider(plaza, "nowhere@example.com")
                _ = try await market.createProvider(
                    ProviderUpdate(displayName: "Nowhere", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(1), priceMax: uah(2))]),
                    caller: caller(nowhere, provider: true))
                #expect(try await ids("category=\(catalogue.plumbing.id)&\(here)&limit=1") == [bobs.id])

                // Pages: one at a time, every provider once, in order.
                var seen: [UUID] = []
                var cursor: String?
                repeat {
                    let page = try await client.execute(
                        uri: "/api/v1/marketplace/providers?\(here)&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get
                    ) { try decode(Paged<ProviderSummary>.self, $0) }
                    seen += page.items.map(\.id)
                    cursor = page.nextCursor
                } while cursor != nil
                #expect(seen == [dans.id, bobs.id, cleos.id, fars.id])

                for (query, field) in [
                    ("lat=50", "lat"), ("radiusKm=5", "radiusKm"), ("sort=distance", "sort"), ("minRating=7", "minRating"),
                    ("category=plumbing", "category"),
                    ("availableAt=tomorrow", "availableAt"), ("cursor=nonsense", "cursor"), ("limit=1000", "limit"), ("sort=cheapest", "sort"),
                ] {
                    try await client.execute(uri: "/api/v1/marketplace/providers?\(query)", method: .get) { response in
                        #expect(response.status == .unprocessableContent, "\(query)")
                        #expect(String(buffer: response.body).contains(#""field":"\#(field)""#), "\(query): \(String(buffer: response.body))")
                    }
                }
            }
        }
    }
}

@Suite("Marketplace search cache")
struct SearchCacheTests {
    @Test(
        "a repeated search is served from the cache; a change here shows at once, a change announced by another instance as soon as its event arrives"
    )
    func cache() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            let bob = try await provider(plaza, "bob@example.com")
            let bobs = try await market.createProvider(
                profile("Bob", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(10), priceMax: uah(20))]),
                caller: caller(bob, provider: true))
            try await plaza.dispatcher.broadcastFromNow()
            let query = ProviderQuery(categoryId: catalogue.plumbing.id, lat: kyiv.lat, lng: kyiv.lng, radiusKm: 10)
            #expect(try await market.cachedSearch(query).page.items.map(\.displayName) == ["Bob"])
            // Written behind the service's back (as another instance's write looks from here): the cache still answers.
            try await plaza.store.transaction { try await $0.sql.raw("UPDATE marketplace_providers SET display_name = 'Robert'").run() }
            #expect(try await market.cachedSearch(query).page.items.map(\.displayName) == ["Bob"], "served from the cache")
            // That instance's event arrives: the cache forgets.
            try await plaza.store.transaction { try await plaza.outbox.append(ProviderChanged(providerId: bobs.id), in: $0) }
            _ = try await plaza.dispatcher.sequence()
            _ = try await plaza.dispatcher.broadcast()
            #expect(try await market.cachedSearch(query).page.items.map(\.displayName) == ["Robert"])
            // A change through this instance's service shows at once.
            _ = try await market.updateProvider(bobs.id, ProviderUpdate(displayName: "Bobby"), caller: caller(bob, provider: true))
            #expect(try await market.cachedSearch(query).page.items.map(\.displayName) == ["Bobby"])
            let ada = try await person(plaza, "ada@example.com")
            let job = try await market.createRequest(
                NewServiceRequest(
                    categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "Tap", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
                caller: caller(ada))
            for command in ["accept", "start", "complete"] {
                _ = try await market.send(command, to: job.id, RequestCommand(), caller: caller(bob, provider: true))
            }
            _ = try await market.review(job.id, ReviewInput(rating: 2, text: "Meh"), caller: caller(ada))
            #expect(try await market.cachedSearch(query).page.items.map(\.rating) == [2], "a review moves the cached rating at once")
        }
    }
}
