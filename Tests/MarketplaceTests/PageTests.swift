import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
@testable import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace pages")
struct PageTests {
    @Test(
        "without JavaScript: a customer finds the demo provider, asks for a visit; the provider accepts, they chat, the job completes, the customer reviews"
    )
    func pagesJourney() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            #expect(try await Demo.seed(plaza))
            try await plaza.testApplication().test(.router) { client in
                let customer = Browser(client)
                let provider = Browser(client)
                try await customer.signIn(email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                try await provider.signIn(email: IdentityDemo.email(for: "provider"), password: IdentityDemo.password)

                let found = try await customer.get("/marketplace?q=provider")
                #expect(found.status == .ok)
                #expect(customer.lastPage.contains("Provider Demo"), "the search finds the demo provider")
                #expect(customer.lastPage.contains(#"href="/marketplace/requests""#), "the header links to the marketplace")
                let demo = try await plaza.marketplace.myProvider(
                    caller: Caller(
                        principal: Principal(
                            id: try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "provider"))).id)))
                let page = try await customer.get("/marketplace/providers/\(demo.id)")
                #expect(page.status == .ok && customer.lastPage.contains(#"id="request-form""#))
                let category = try #require(demo.offers.first?.categoryId)
                let refused = try await customer.post(
                    "/marketplace/providers/\(demo.id)/request",
                    [
                        ("categoryId", category.uuidString.lowercased()), ("description", ""), ("address", "Khreshchatyk 1"), ("lat", "50.45"),
                        ("lng", "30.52"),
                    ])
                #expect(
                    refused.status == .unprocessableContent && customer.lastPage.contains("description"), "a refused form comes back with its problem"
                )
                // The page's form is multipart: the photos come with the request.
                let fields = [
                    ("categoryId", category.uuidString.lowercased()), ("description", "The bathroom tap leaks."), ("address", "Khreshchatyk 1"),
                    ("lat", "50.45"), ("lng", "30.52"), ("windowStart", "2026-12-01T09:00"), ("windowEnd", "2026-12-01T12:00"),
                ]
                let customerCaller = Caller(
                    principal: Principal(id: try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "customer"))).id))
                let mine = {
                    try await plaza.marketplace.requests(role: "customer", status: nil, page: PageRequest(), caller: customerCaller).items.count
                }
                let before = try await mine()
                let files = { try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM files").first()?.decode(column: "n", as: Int.self) }
                let filesBefore = try await files()
                let action = "/marketplace/providers/\(demo.id)/request?_csrf=\(try #require(customer.csrfToken))"
                let tap = (name: "tap.png", field: "photos", type: "image/png", data: TestImages.png(width: 40, height: 30))
                let pdf = (name: "quote.pdf", field: "photos", type: "application/pdf", data: Data("%PDF-1.4\n%âãÏÓ\n1 0 obj<<>>endobj\n".utf8))
                let notAPhoto = try await customer.upload(action, fields: fields, files: [tap, pdf])
                #expect(notAPhoto.status == .unprocessableContent && customer.lastPage.contains("quote.pdf"), "the page names the file it refused")
                let tooMany = try await customer.upload(action, fields: fields, files: Array(repeating: tap, count: 11))
                #expect(tooMany.status == .unprocessableContent && customer.lastPage.contains("at most 10"))
                // A multipart field's text is kept whole or refused (a NUL would be cut off in storage).
                let withNUL = fields.map { $0.0 == "description" ? ($0.0, "The tap\u{0} leaks.") : $0 }
                let nul = try await customer.upload(action, fields: withNUL, files: [tap])
                #expect(nul.status == .unprocessableContent && customer.lastPage.contains("description"), "\(nul.text)")
                #expect(
                    try await customer.upload(action.replacingOccurrences(of: "_csrf=", with: "_csrf=x"), fields: fields, files: [tap]).status
                        == .forbidden)
                #expect(try await mine() == before, "no refused form left a request behind")
                #expect(try await files() == filesBefore, "nor a photo: every file is checked before any is kept")
                let empty = (name: "", field: "photos", type: "application/octet-stream", data: Data())
                let sent = try await customer.upload(action, fields: fields, files: [tap, empty, tap])
                #expect(sent.status == .seeOther, "\(sent.text)")
                let location = try #require(sent.headers[.location])
                let path = String(location.prefix { $0 != "?" })
                let created = try #require(UUID(uuidString: String(path.split(separator: "/").last ?? "")))
                #expect(
                    try await plaza.marketplace.request(created, caller: customerCaller).photos.count == 2, "two photos; the empty input is skipped")
                try await customer.get(location)
                #expect(customer.lastPage.contains(#"data-status="pending""#) && customer.lastPage.contains("Your request was sent."))
                #expect(customer.lastPage.contains(#"data-live-topic="marketplace-request:"#), "the status follows its topic")

                try await provider.get("/marketplace/provider")
                #expect(provider.lastPage.contains("The bathroom tap leaks."), "the provider's dashboard lists the request")
                try await provider.get(path)
                let accepted = try await provider.post("\(path)/accept", [("price", "70"), ("expectedVersion", "1")])
                #expect(accepted.status == .seeOther)
                try await provider.get(path)
                #expect(
                    provider.lastPage.contains(#"data-status="accepted""#) && provider.lastPage.contains("₴70.00"), "the agreed price, in hryvnias")
                _ = try await provider.post("\(path)/messages", [("body", "I will come at nine.")])
                try await customer.get(path)
                #expect(customer.lastPage.contains("I will come at nine."))
                let stale = try await customer.post("\(path)/cancel", [("expectedVersion", "1")])
                #expect(stale.status == .conflict, "a form from before the acceptance is stale")
                for command in ["start", "complete"] {
                    #expect(try await provider.post("\(path)/\(command)", []).status == .seeOther, "\(command)")
                }
                try await customer.get(path)
                #expect(customer.lastPage.contains(#"id="review-form""#))
                #expect(try await customer.post("\(path)/review", [("rating", "5"), ("text", "Great work")]).status == .seeOther)
                try await customer.get(path)
                #expect(customer.lastPage.contains("Great work") && !customer.lastPage.contains(#"id="review-form""#))
                try await provider.get("/marketplace/provider")
                #expect(provider.lastPage.contains("70"), "earnings count the job")
                // A profile photo through the dashboard; taken off the profile and put back, it is the same file.
                let uploaded = try await provider.upload(
                    "/marketplace/provider/photos?_csrf=\(try #require(provider.csrfToken))", fields: [("purpose", "service-photo")],
                    file: (name: "van.png", field: "file", type: "image/png", data: TestImages.png(width: 64, height: 48)))
                #expect(uploaded.status == .seeOther, "\(uploaded.text)")
                let providerCaller = Caller(principal: Principal(id: demo.userId, appRoles: ["*": ["provider"]]))
                let photo = try #require(try await plaza.marketplace.myProvider(caller: providerCaller).photos.first)
                _ = try await plaza.marketplace.updateProvider(demo.id, ProviderUpdate(photos: []), caller: providerCaller)
                let back = try await plaza.marketplace.updateProvider(demo.id, ProviderUpdate(photos: [photo]), caller: providerCaller)
                #expect(back.photos == [photo])

                // Outsiders: the request does not exist for another customer, and its forms refuse them.
                let stranger = Browser(client)
                _ = try await person(plaza, "stranger@example.com")
                try await stranger.signIn(email: "stranger@example.com", password: "correct horse")
                #expect(try await stranger.get(path).status == .notFound)
                try await stranger.get("/marketplace")
                #expect(try await stranger.post("\(path)/messages", [("body", "hi")]).status == .notFound)
                #expect(try await stranger.get("/marketplace/provider").status == .forbidden, "the dashboard is for providers")
            }
        }
    }

    @Test("admins keep the category tree and moderators hide reviews through /admin/marketplace; customers may not")
    func administration() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            #expect(try await Demo.seed(plaza))
            try await plaza.testApplication().test(.router) { client in
                let admin = Browser(client)
                try await admin.signIn(email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                #expect(try await admin.get("/admin/marketplace").status == .ok)
                #expect(admin.lastPage.contains(#"id="category-form""#))
                #expect(try await admin.post("/admin/marketplace/categories", [("name", "Roofing"), ("parentId", "")]).status == .seeOther)
                #expect(try await plaza.marketplace.categories().contains { $0.name == "Roofing" && $0.slug == "roofing" })
                #expect(
                    try await admin.post("/admin/marketplace/categories", [("name", "Roofing"), ("parentId", "")]).status == .conflict,
                    "a second Roofing would take the same slug")
                #expect(admin.lastPage.contains("Another category already has this name."), "the form says why, in place, in words for people")

                let employee = Browser(client)
                try await employee.signIn(email: IdentityDemo.email(for: "employee"), password: IdentityDemo.password)
                try await employee.get("/admin/marketplace")
                #expect(!employee.lastPage.contains(#"id="category-form""#), "the tree is the admins'")
                let review = try #require(
                    try await plaza.marketplace.moderationQueue(
                        hidden: false, page: PageRequest(limit: 1),
                        caller: Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.employee]))
                    ).items.first)
                #expect(try await employee.post("/admin/marketplace/reviews/\(review.id)/hide", [("reason", "Abusive")]).status == .seeOther)
                #expect(try await plaza.marketplace.storedReview(review.id).hiddenAt != nil)

                let customer = Browser(client)
                try await customer.signIn(email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(try await customer.get("/admin/marketplace").status == .forbidden)
            }
        }
    }

    @Test("the pages' words exist in English and Ukrainian alike")
    func words() throws {
        let bundle = try #require(MarketplaceApp.manifest.pages)
        #expect(Set(bundle.strings[.en]!.keys) == Set(bundle.strings[.uk]!.keys))
        for template in bundle.templates.values {
            for match in template.matches(of: /\{\{t\.([a-z_0-9]+)\}\}/) where match.1.hasPrefix("mp_") {
                #expect(bundle.strings[.en]![String(match.1)] != nil, "\(match.1)")
            }
        }
    }
}
