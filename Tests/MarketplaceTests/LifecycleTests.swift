import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Ledger
import Marketplace
import Notifications
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace lifecycle")
struct LifecycleTests {
    @Test("an open request alerts the providers who could take it; the first to accept takes it, the others lose it")
    func openRequest() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            var people: [String: (Person, ProviderProfile)] = [:]
            for (name, category, north) in [
                ("bob", catalogue.plumbing.id, 3.0), ("cleo", catalogue.leaks.id, 5), ("dan", catalogue.electrics.id, 1),
                ("far", catalogue.plumbing.id, 60),
            ] {
                let person = try await provider(plaza, "\(name)@example.com")
                people[name] = (
                    person,
                    try await market.createProvider(
                        profile(name.capitalized, offers: [Offer(categoryId: category, priceMin: uah(10), priceMax: uah(20))], northKm: north),
                        caller: caller(person, provider: true))
                )
            }
            let ada = try await person(plaza, "ada@example.com")
            let request = try await market.createRequest(
                NewServiceRequest(categoryId: catalogue.leaks.id, description: "Burst pipe", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
                caller: caller(ada))
            #expect(request.providerId == nil && request.conversationId == nil)
            // A photo that is not one of the customer's uploads is refused under the field that named it.
            await #expect(
                throws: PlazaError.validation(
                    field: "photos",
                    "\(UUID(uuidString: "00000000-0000-7000-8000-000000000000")!) is not one of your uploads with the purpose service-photo")
            ) {
                var withPhoto = NewServiceRequest(
                    categoryId: catalogue.leaks.id, description: "Burst pipe", address: "Here", lat: kyiv.lat, lng: kyiv.lng)
                withPhoto.photos = [UUID(uuidString: "00000000-0000-7000-8000-000000000000")!]
                _ = try await market.createRequest(withPhoto, caller: caller(ada))
            }
            try await plaza.runPendingWork()
            for (name, alerted) in [("bob", true), ("cleo", true), ("dan", false), ("far", false)] {
                let inbox = try await plaza.notifications.inbox(caller: caller(people[name]!.0, provider: true), page: PageRequest())
                #expect(inbox.items.contains { $0.title.contains("near you") } == alerted, "\(name)")
                let open = try await market.openRequests(page: PageRequest(), caller: caller(people[name]!.0, provider: true))
                #expect(open.items.map(\.id) == (alerted ? [request.id] : []), "\(name)")
            }
            let bob = caller(people["bob"]!.0, provider: true)
            let cleo = caller(people["cleo"]!.0, provider: true)
            let dan = caller(people["dan"]!.0, provider: true)
            #expect(try await market.request(request.id, caller: bob).allowedCommands == ["accept"], "nobody declines an open request")
            await #expect(throws: PlazaError.self) { try await market.request(request.id, caller: dan) }
            await expectRefusal(.conflict, "declined an open request") {
                _ = try await market.send("decline", to: request.id, RequestCommand(), caller: bob)
            }

            // Both accept at once: one takes it, and the other is told it is taken (409), not left guessing.
            func attempt(_ who: Caller, _ price: Money) async -> Result<ServiceRequest, any Error> {
                do { return .success(try await market.send("accept", to: request.id, RequestCommand(price: price), caller: who)) } catch {
                    return .failure(error)
                }
            }
            async let first = attempt(bob, uah(50))
            async let second = attempt(cleo, uah(45))
            let answers = await [first, second]
            let winners = answers.compactMap { try? $0.get() }
            #expect(winners.count == 1)
            for case .failure(let error) in answers {
                #expect((error as? PlazaError)?.status == .conflict, "the loser got \(error)")
            }
            let taken = try await market.request(request.id, caller: caller(ada))
            #expect(taken.status == "accepted" && taken.providerId != nil && taken.conversationId != nil)
            let loser = taken.providerId == people["bob"]!.1.id ? cleo : bob
            await #expect(throws: PlazaError.self, "the request is no longer the loser's to see") {
                try await market.request(request.id, caller: loser)
            }
            #expect(try await market.openRequests(page: PageRequest(), caller: loser).items.isEmpty)
        }
    }

    @Test("a pending request expires after a day unanswered, once, and the customer hears of it")
    func expiry() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(apps: marketplace, clock: clock) { plaza in
            let cast = try await Plumbing(plaza)
            let (bob, ada) = (cast.bob, cast.ada)
            let market = plaza.marketplace
            let request = try await cast.request(plaza)
            try await plaza.runPendingWork()
            clock.advance(by: 23 * 3600)
            try await plaza.runPendingWork()
            #expect(try await market.request(request.id, caller: caller(ada)).status == "pending")
            clock.advance(by: 3601)
            try await plaza.runPendingWork()
            let expired = try await market.request(request.id, caller: caller(ada))
            #expect(expired.status == "expired" && expired.allowedCommands.isEmpty)
            let inbox = try await plaza.notifications.inbox(caller: caller(ada), page: PageRequest())
            #expect(inbox.items.filter { $0.title == "Your request expired" }.count == 1)
            let history = try await market.history(of: request.id, caller: caller(ada))
            #expect(history.map(\.command) == ["start", "expire"])
            await expectRefusal(.conflict, "accepted an expired request") {
                _ = try await market.send("accept", to: request.id, RequestCommand(), caller: caller(bob, provider: true))
            }
        }
    }

    @Test("moderators hide a review and the rating forgets it; locations come no faster than allowed and only the last point outlives the job")
    func reviewsAndTracking() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(apps: marketplace, clock: clock) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            let bob = caller(try await provider(plaza, "bob@example.com"), provider: true)
            let bobs = try await market.createProvider(
                profile("Bob", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(10), priceMax: uah(20))]), caller: bob)
            let ada = caller(try await person(plaza, "ada@example.com"))
            let cat = caller(try await person(plaza, "cat@example.com"))
            var reviews: [ProviderReview] = []
            for (customer, stars) in [(ada, 5), (cat, 1)] {
                let request = try await market.createRequest(
                    NewServiceRequest(
                        categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "Tap", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
                    caller: customer)
                for command in ["accept", "start"] { _ = try await market.send(command, to: request.id, RequestCommand(price: uah(15)), caller: bob) }
                if stars == 5 {
                    _ = try await market.track(request.id, LocationInput(lat: 50.40, lng: 30.50), caller: bob)
                    await expectRefusal(.tooManyRequests, "two points within the interval") {
                        _ = try await market.track(request.id, LocationInput(lat: 50.41, lng: 30.51), caller: bob)
                    }
                    clock.advance(by: 3)
                    _ = try await market.track(request.id, LocationInput(lat: 50.42, lng: 30.52), caller: bob)
                    #expect(try await market.tracking(request.id, caller: customer).trail.count == 2)
                }
                _ = try await market.send("complete", to: request.id, RequestCommand(), caller: bob)
                if stars == 5 {
                    let after = try await market.tracking(request.id, caller: customer)
                    #expect(after.trail.isEmpty && after.last?.lat == 50.42, "the trail goes with the job, the last point stays")
                    await expectRefusal(.conflict, "a location after the job") {
                        _ = try await market.track(request.id, LocationInput(lat: 50.43, lng: 30.53), caller: bob)
                    }
                }
                reviews.append(try await market.review(request.id, ReviewInput(rating: stars, text: "Stars: \(stars)"), caller: customer))
            }
            #expect(try await market.provider(bobs.id).rating == RatingSummary(average: 3, count: 2, stars: [1, 0, 0, 0, 1]))
            let employee = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.employee]))
            _ = try await market.hide(review: reviews[1].id, ReviewText(text: "Abusive"), caller: employee)
            #expect(try await market.provider(bobs.id).rating == RatingSummary(average: 5, count: 1, stars: [0, 0, 0, 0, 1]))
            #expect(try await market.reviews(ofProvider: bobs.id, page: PageRequest()).items.map(\.id) == [reviews[0].id])
            let earnings = try await market.earnings(caller: bob)
            #expect(earnings.jobs == 2 && earnings.total == uah(30), "the agreed price stands when completion names none")
            // Earnings are the books' figures: each completion posted its price once, and the books balance.
            let ledger = Ledger(store: plaza.store)
            #expect(try await ledger.balance(LedgerAccount(.user(bob.principal!.id), "marketplace.earnings", .uah)) == uah(30))
            #expect(try await ledger.balance(LedgerAccount(.external, "marketplace.payments", .uah)) == uah(-30))
            #expect(try await ledger.isBalanced())
        }
    }

    @Test("bad requests are refused with every field named, and write nothing")
    func badInput() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            let bob = try await provider(plaza, "bob@example.com")
            let bobs = try await market.createProvider(
                profile("Bob", offers: [Offer(categoryId: catalogue.electrics.id, priceMin: uah(10), priceMax: uah(20))], radiusKm: 5),
                caller: caller(bob, provider: true))
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                func refused(
                    _ body: String, _ fields: [String], uri: String = "/api/v1/marketplace/requests", method: HTTPRequest.Method = .post,
                    as person: Person
                ) async throws {
                    try await client.execute(uri: uri, method: method, headers: person.headers, body: ByteBuffer(string: body)) { response in
                        #expect(response.status == .unprocessableContent, "\(body): \(String(buffer: response.body))")
                        for field in fields {
                            #expect(String(buffer: response.body).contains(#""field":"\#(field)""#), "\(field) in \(String(buffer: response.body))")
                        }
                    }
                }
                try await refused(
                    #"{"categoryId":"\#(catalogue.plumbing.id)","description":" ","address":"","lat":91,"lng":200}"#,
                    ["description", "address", "lat", "lng"], as: ada)
                try await refused(#"{"categoryId":"\#(UUID())","description":"x","address":"y","lat":50,"lng":30}"#, ["categoryId"], as: ada)
                try await refused(
                    #"{"categoryId":"\#(catalogue.plumbing.id)","providerId":"\#(bobs.id)","description":"x","address":"y","lat":50.45,"lng":30.52}"#,
                    ["providerId"], as: ada)
                try await refused(
                    #"{"categoryId":"\#(catalogue.electrics.id)","providerId":"\#(bobs.id)","description":"x","address":"y","lat":49,"lng":30}"#,
                    ["providerId"], as: ada)
                try await refused(#"{"categoryId":"\#(catalogue.plumbing.id)","description":"x"}"#, ["address"], as: ada)
                try await refused(#"{"displayName":""}"#, ["displayName"], uri: "/api/v1/marketplace/providers/\(bobs.id)", method: .patch, as: bob)
                // Prices are in the marketplace's currency and within its range.
                try await refused(
                    #"{"offers":[{"categoryId":"\#(catalogue.electrics.id)","priceMin":{"amount":100,"currency":"USD"},"#
                        + #""priceMax":{"amount":3000000000,"currency":"UAH"}}]}"#,
                    ["offers[0].priceMin.currency", "offers[0].priceMax.amount"], uri: "/api/v1/marketplace/providers/\(bobs.id)", method: .patch,
                    as: bob)
                try await client.execute(
                    uri: "/api/v1/marketplace/providers/\(bobs.id)", method: .patch, headers: bob.headers,
                    body: json(
                        ProviderUpdate(
                            area: ServiceArea(lat: 0, lng: 0, radiusKm: 900), timeZone: "Mars/Base",
                            offers: [Offer(categoryId: UUID(), priceMin: uah(5), priceMax: uah(1))],
                            availability: [
                                WeeklySlot(weekday: 8, start: "25:00", end: "09:00"), WeeklySlot(weekday: 1, start: "10:00", end: "09:00"),
                            ]))
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    let body = String(buffer: response.body)
                    for field in [
                        "area.radiusKm", "timeZone", "offers[0]", "offers[0].categoryId", "availability[0].weekday", "availability[0]",
                        "availability[1]",
                    ] {
                        #expect(body.contains(#""field":"\#(field)""#), "\(field) in \(body)")
                    }
                }
            }
            #expect(try await market.provider(bobs.id) == bobs, "a refused change changes nothing")
            #expect(try await market.requests(role: "customer", status: nil, page: PageRequest(), caller: caller(ada)).items.isEmpty)
        }
    }
}

@Suite("Marketplace edges")
struct EdgeTests {
    @Test("someone who is both customer and provider cannot take their own open request (403, not a crash)")
    func ownOpenRequest() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            let catalogue = try await Catalogue(plaza)
            let market = plaza.marketplace
            let both = try await provider(plaza, "bob@example.com")
            let bob = Caller(principal: Principal(id: both.id, appRoles: ["*": ["provider", "customer"]]))
            _ = try await market.createProvider(
                profile("Bob", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(1), priceMax: uah(2))]), caller: bob)
            let request = try await market.createRequest(
                NewServiceRequest(categoryId: catalogue.plumbing.id, description: "Mine", address: "Here", lat: kyiv.lat, lng: kyiv.lng), caller: bob)
            await expectRefusal(.forbidden, "took his own request") {
                _ = try await market.send("accept", to: request.id, RequestCommand(), caller: bob)
            }
            #expect(try await market.openRequests(page: PageRequest(), caller: bob).items.isEmpty, "nor is it offered to him")
            #expect(try await market.request(request.id, caller: bob).status == "pending")
        }
    }

    @Test("a disabled provider leaves search and takes no requests until the account is active again")
    func disabledProvider() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            let cast = try await Plumbing(plaza)
            let (catalogue, bob, bobs) = (cast.catalogue, cast.bob, cast.bobs)
            let market = plaza.marketplace
            let near = ProviderQuery(categoryId: catalogue.plumbing.id, lat: kyiv.lat, lng: kyiv.lng, radiusKm: 10)
            let anywhere = ProviderQuery(text: "bob")
            let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]))
            _ = try await plaza.identity.setStatus(of: bob.id, to: "disabled", caller: admin)
            try await plaza.runPendingWork()
            #expect(try await market.searchProviders(near).items.isEmpty)
            #expect(try await market.searchProviders(anywhere).items.isEmpty)
            await expectRefusal(.unprocessableContent, "a disabled provider took a request") { _ = try await cast.request(plaza) }
            _ = try await plaza.identity.setStatus(of: bob.id, to: "active", caller: admin)
            try await plaza.runPendingWork()
            #expect(try await market.searchProviders(near).items.map(\.id) == [bobs.id])
            #expect(try await market.searchProviders(anywhere).items.map(\.id) == [bobs.id])
        }
    }

    @Test("an erased account leaves no profile, address or place in the marketplace; the request's history stays")
    func erasure() async throws {
        try await withTestPlaza(apps: marketplace) { plaza in
            let cast = try await Plumbing(plaza)
            let (catalogue, bob, bobs, ada) = (cast.catalogue, cast.bob, cast.bobs, cast.ada)
            let market = plaza.marketplace
            _ = try await market.saveCustomerProfile(
                CustomerUpdate(displayName: "Ada", phone: "+380441234567", address: "Home", lat: 50.4, lng: 30.5),
                caller: caller(ada))
            let request = try await market.createRequest(
                NewServiceRequest(
                    categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "At my flat", address: "Home 1", lat: 50.4, lng: 30.5),
                caller: caller(ada))
            for person in [ada, bob] {
                try await plaza.identity.deleteAccount(
                    AccountDeletion(password: "correct horse"), caller: Caller(principal: Principal(id: person.id)), queue: plaza.queue)
                try await plaza.identity.purge(user: person.id)
            }
            try await plaza.runPendingWork()
            let query = ProviderQuery(categoryId: catalogue.plumbing.id, lat: kyiv.lat, lng: kyiv.lng, radiusKm: 10)
            #expect(try await market.searchProviders(query).items.isEmpty, "the provider is out of search")
            let profile = try await market.provider(bobs.id)
            #expect(profile.displayName == "Deleted account" && profile.bio.isEmpty && profile.area == nil && profile.offers.isEmpty)
            let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]))
            let kept = try await market.request(request.id, caller: admin)
            #expect(kept.address.isEmpty && kept.description.isEmpty, "the customer's address and words are gone")
            #expect(try await market.history(of: request.id, caller: admin).map(\.command) == ["start"], "the history stays")
            let rows = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM marketplace_customers").first()!.decode(column: "n", as: Int.self)
            #expect(rows == 0)
        }
    }
}
