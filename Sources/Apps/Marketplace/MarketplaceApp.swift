import AppHost
import Conversations
import Files
import Foundation
import GraphQLTransport
import Identity
import PlazaKit
import SQLKit
import Storage

/// The marketplace as an app on Plaza: what it brings (``manifest``) and how it plugs into the core.
public struct MarketplaceApp: PlazaApp {
    public static let manifest = AppManifest(
        id: MarketplacePolicy.app, title: ["en": "Marketplace", "uk": "Маркетплейс"],
        migrations: [CreateMarketplace(), DropRatingSum(), PricesInMinorUnits()],
        policy: MarketplacePolicy.rules,
        roles: [
            AppRole(
                "provider", description: "Offers services (marketplace).", labels: ["en": "Provider", "uk": "Виконавець"], selfAssignable: true)
        ],
        organisationTypes: [OrganisationType("provider-company", labels: ["en": "Provider company", "uk": "Компанія-виконавець"])],
        filePurposes: [.servicePhoto, .serviceVideo, .categoryImage],
        settings: [
            AppSetting(
                "SEARCH_CACHE_SECONDS", .integer(0...3600), default: "30",
                "how long a provider search's answer is served again (0: never); changes drop it at once"),
            AppSetting(
                "CURRENCY", .choice(Currency.all.map(\.code)), default: "UAH",
                "what prices are in (an ISO 4217 code); prices in another currency are refused"),
        ],
        pages: MarketplacePageBundle.bundle,
        // Installations seeded before apps had markers of their own have the marketplace's demo data.
        earlierDemoMarkers: ["plaza.demo.seeded"],
        personalData: personalData)

    /// Erasing a person removes their customer profile, their provider profile's contents and everything hung on
    /// it, and what their requests say about their home; the requests, and the reviews that count for providers,
    /// stay (nameless once the account is gone).
    static let personalData: [PersonalTable] = {
        let ofProvider = "provider_id IN (SELECT id FROM marketplace_providers WHERE user_id = :user)"
        return [
            PersonalTable("marketplace_categories"),
            PersonalTable(
                "marketplace_providers", people: ["user_id"],
                forget: [
                    .blank(
                        ["display_name", "bio", "photos", "video_file_id", "lat", "lng", "price_from_amount", "category_ids"],
                        where: "user_id = :user")
                ]
            ),
            PersonalTable("marketplace_offers", forget: [.delete(where: ofProvider)]),
            PersonalTable("marketplace_availability", forget: [.delete(where: ofProvider)]),
            PersonalTable("marketplace_time_off", forget: [.delete(where: ofProvider)]),
            PersonalTable("marketplace_provider_search", forget: [.delete(where: ofProvider)]),
            PersonalTable("marketplace_customers", people: ["user_id"], forget: [.delete(where: "user_id = :user")]),
            PersonalTable(
                "marketplace_requests", people: ["customer_id", "provider_user_id"],
                forget: [
                    .blank(["description", "address", "lat", "lng", "photos"], where: "customer_id = :user"),
                    .keep("a provider's jobs stay in their customers' histories"),
                ]),
            PersonalTable(
                "marketplace_reviews", people: ["customer_id"],
                forget: [.keep("a review's stars and words count for the provider; its author's name goes with the account")]),
            PersonalTable(
                "marketplace_locations",
                forget: [.delete(where: "request_id IN (SELECT id FROM marketplace_requests WHERE provider_user_id = :user)")]),
        ]
    }()

    public let service: MarketplaceService
    let graphQL: GraphQLExecutor
    let core: AppCore

    public init(core: AppCore) throws {
        var settings = MarketplaceSettings()
        settings.searchCacheSeconds = TimeInterval(core.settings.integer("SEARCH_CACHE_SECONDS"))
        settings.currency = Currency(code: core.settings.text("CURRENCY")) ?? .uah
        service = MarketplaceService(
            store: core.store, outbox: core.outbox, queue: core.queue, workflows: core.workflows, conversations: core.conversations,
            notifications: core.notifications, files: core.files, identity: core.identity, publisher: core.publisher, policy: core.policy,
            settings: settings)
        graphQL = try MarketplaceGraphQL(service: service).executor(limits: core.graphQLLimits)
        self.core = core
    }

    public var parts: AppParts { service.parts }

    public func routes<Context: PlazaRequestContext>(_ context: Context.Type) -> RouteTable<Context> {
        var table = RouteTable<Context>()
        table.add(contentsOf: MarketplacePages<Context>(pages: core.pages, service: service).table)
        table.add(contentsOf: MarketplaceRoutes<Context>(service: service).table)
        table.add(contentsOf: GraphQLRoutes<Context>(executor: graphQL, summary: "the marketplace").table)
        return table
    }

    public func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> MergeCounts {
        try await service.merge(from: source, into: target, in: transaction)
    }

    public func forget(user: UUID, in transaction: Transaction) async throws {
        try await service.forget(user: user, in: transaction)
    }

    /// A day off for the demo provider and a point on their way to the demo customer (the demo has neither), and
    /// the ids of the demo's provider profile, its ongoing request, a category and a review.
    public func contractFixtures(_ demo: DemoSeed, in transaction: Transaction) async throws -> [String: String] {
        let sql = transaction.sql
        let now = transaction.clock.now()
        let (provider, customer) = (try demo.account("provider"), try demo.account("customer"))
        guard
            let profile = try await sql.raw("SELECT id FROM marketplace_providers WHERE user_id = \(bind: provider)").first()?
                .decode(column: "id", as: UUID.self),
            let request = try await sql.raw(
                """
                SELECT id FROM marketplace_requests WHERE customer_id = \(bind: customer) AND provider_user_id = \(bind: provider)
                ORDER BY created_at DESC LIMIT 1
                """
            ).first()?.decode(column: "id", as: UUID.self),
            let category = try await sql.raw("SELECT id FROM marketplace_categories ORDER BY position LIMIT 1").first()?
                .decode(column: "id", as: UUID.self),
            let review = try await sql.raw("SELECT id FROM marketplace_reviews WHERE provider_id = \(bind: profile) LIMIT 1").first()?
                .decode(column: "id", as: UUID.self)
        else { throw PlazaError.notFound("The marketplace's demo data is not there.") }
        // Something in every column erasing blanks: the demo provider's photos and video, the request's photos.
        let photos = try MarketplaceService.encode([PlazaID.make(at: now)])
        try await sql.raw(
            """
            UPDATE marketplace_providers SET photos = \(bind: photos), video_file_id = \(bind: PlazaID.make(at: now)) WHERE id = \(bind: profile)
            """
        ).run()
        try await sql.raw("UPDATE marketplace_requests SET photos = \(bind: photos) WHERE id = \(bind: request)").run()
        try await sql.raw(
            """
            INSERT INTO marketplace_time_off (provider_id, starts_at, ends_at, reason)
            VALUES (\(bind: profile), \(bind: now.addingTimeInterval(86_400)), \(bind: now.addingTimeInterval(2 * 86_400)), 'A day off')
            """
        ).run()
        try await sql.raw(
            """
            INSERT INTO marketplace_locations (request_id, seq, lat, lng, at)
            VALUES (\(bind: request), 1, \(bind: MarketplaceDemo.city.lat), \(bind: MarketplaceDemo.city.lng), \(bind: now))
            """
        ).run()
        func text(_ id: UUID) -> String { id.uuidString.lowercased() }
        return [
            "providers/{id}": text(profile), "requests/{id}": text(request), "categories/{id}": text(category), "reviews/{id}": text(review),
        ]
    }

    public func seedDemo(_ demo: DemoSeed, in transaction: Transaction) async throws {
        let thread = try await MarketplaceDemo.seed(
            service, provider: try demo.account("provider"), customer: try demo.account("customer"), passwordHash: demo.passwordHash,
            in: transaction)
        // Messages go through the conversations service (stored, numbered, announced) once the thread exists.
        let conversations = core.conversations
        demo.afterCommit {
            for message in thread.messages {
                let author = message.fromCustomer ? thread.customer : thread.provider
                _ = try await conversations.send(
                    MessageDraft(body: message.text), to: thread.conversation, caller: Caller(principal: Principal(id: author), requestID: "demo"))
            }
        }
    }
}

extension FilePurpose {
    /// Photos of a provider's work and of a request's problem (the names are older than app-named purposes).
    public static let servicePhoto = FilePurpose(
        "service-photo", maxBytes: 20 << 20, allowedTypes: images,
        variants: [
            VariantSpec(name: "thumb", width: 320, height: 240, fit: .smart), VariantSpec(name: "large", width: 1600, height: 1200, fit: .inside),
        ])
    /// A provider's presentation video.
    public static let serviceVideo = FilePurpose("service-video", maxBytes: 500 << 20, allowedTypes: [.mp4, .quicktime, .webm])
    /// A category's picture, uploaded by those who keep the catalogue.
    public static let categoryImage = FilePurpose(
        "category-image", maxBytes: 10 << 20, allowedTypes: images,
        variants: [
            VariantSpec(name: "card", width: 400, height: 300, fit: .cover), VariantSpec(name: "large", width: 1200, height: 900, fit: .inside),
        ],
        uploadAction: MarketplacePolicy.uploadCategoryImage)
}
