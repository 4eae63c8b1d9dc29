import AppHost
import Foundation
import HTTPTypes
import Identity
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

/// The apps these tests run with: the marketplace alone on the core.
let marketplace: AppList = [MarketplaceApp.self]

extension Plaza {
    var marketplace: MarketplaceService { app(MarketplaceApp.self).service }
}

/// Kyiv's centre, where the tests' providers work.
let kyiv = (lat: 50.4501, lng: 30.5234)

/// Whole hryvnias as `Money` (`uah(40)` is ₴40.00).
func uah(_ major: Int64) -> Money { Money(major: major, .uah)! }

struct Paged<Item: Decodable>: Decodable {
    var items: [Item]
    var nextCursor: String?
}

/// Signs someone up as a provider (sign-up grants the role in every app) and in.
func provider(_ plaza: Plaza, _ email: String) async throws -> Person {
    _ = try await plaza.identity.register(
        Registration(
            email: email, password: "correct horse", firstName: String(email.prefix(while: { $0 != "@" })).capitalized,
            lastName: "Test", role: "provider"),
        caller: .system("test"))
    return try await signIn(plaza, email)
}

/// The caller a person is, for calling services directly.
func caller(_ person: Person, provider: Bool = false) -> Caller {
    Caller(principal: Principal(id: person.id, appRoles: ["*": [provider ? "provider" : "customer"]]))
}

let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]))

/// Plumbing (with leaks under it) and electrics.
struct Catalogue {
    var plumbing: ServiceCategory
    var leaks: ServiceCategory
    var electrics: ServiceCategory

    init(_ plaza: Plaza) async throws {
        let service = plaza.marketplace
        plumbing = try await service.createCategory(CategoryInput(name: "Plumbing"), caller: admin)
        leaks = try await service.createCategory(CategoryInput(parentId: plumbing.id, name: "Leaks and pipes"), caller: admin)
        electrics = try await service.createCategory(CategoryInput(name: "Electrics", position: 1), caller: admin)
    }
}

/// A profile working all week, all day, `radiusKm` around a point `northKm` north of Kyiv's centre.
func profile(
    _ name: String, offers: [Offer], northKm: Double = 0, radiusKm: Double = 25, bio: String = "Fast and tidy."
) -> ProviderUpdate {
    ProviderUpdate(
        displayName: name, bio: bio, area: ServiceArea(lat: kyiv.lat + northKm / 110.574, lng: kyiv.lng, radiusKm: radiusKm),
        timeZone: "Europe/Kyiv", offers: offers, availability: (1...7).map { WeeklySlot(weekday: $0, start: "00:00", end: "24:00") })
}

/// The people of the refusal tests: customers Ada and Eve; providers Bob (plumbing, 2 km north of the
/// centre) and Pat (electrics).
struct Cast {
    let catalogue: Catalogue
    let ada: Person
    let eve: Person
    let bob: Person
    let pat: Person
    let bobs: ProviderProfile
    let pats: ProviderProfile

    init(_ plaza: Plaza) async throws {
        catalogue = try await Catalogue(plaza)
        ada = try await person(plaza, "ada@example.com")
        eve = try await person(plaza, "eve@example.com")
        bob = try await provider(plaza, "bob@example.com")
        pat = try await provider(plaza, "pat@example.com")
        bobs = try await plaza.marketplace.createProvider(
            profile("Bob", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(10), priceMax: uah(20))], northKm: 2),
            caller: caller(bob, provider: true))
        pats = try await plaza.marketplace.createProvider(
            profile("Pat", offers: [Offer(categoryId: catalogue.electrics.id, priceMin: uah(10), priceMax: uah(20))]),
            caller: caller(pat, provider: true))
    }
}

/// Bob, a plumber working 25 km around the centre, and Ada, a customer, on a fresh catalogue.
struct Plumbing {
    let catalogue: Catalogue
    let bob: Person
    let bobs: ProviderProfile
    let ada: Person

    init(_ plaza: Plaza) async throws {
        catalogue = try await Catalogue(plaza)
        bob = try await provider(plaza, "bob@example.com")
        bobs = try await plaza.marketplace.createProvider(
            profile("Bob", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(1), priceMax: uah(2))]),
            caller: caller(bob, provider: true))
        ada = try await person(plaza, "ada@example.com")
    }

    /// Ada asks Bob to fix a tap at the centre.
    func request(_ plaza: Plaza) async throws -> ServiceRequest {
        try await plaza.marketplace.createRequest(
            NewServiceRequest(
                categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "Tap", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
            caller: caller(ada))
    }
}

/// Expects `body` to be refused with `status`.
func expectRefusal(_ status: HTTPResponse.Status, _ comment: Comment, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("not refused: \(comment)")
    } catch let error as PlazaError {
        #expect(error.status == status, comment)
    } catch {
        Issue.record("\(comment): \(error)")
    }
}
