import AppHost
import Conversations
import Foundation
import GraphQLTransport
import Identity
import PlazaKit
import Storage

/// The marketplace as an app on Plaza: what it brings (``manifest``) and how it plugs into the core.
public struct MarketplaceApp: PlazaApp {
    public static let manifest = AppManifest(
        id: MarketplacePolicy.app, title: ["en": "Marketplace", "uk": "Маркетплейс"],
        migrations: [CreateMarketplace()],
        policy: MarketplacePolicy.rules,
        roles: [
            AppRole(
                "provider", description: "Offers services (marketplace).", labels: ["en": "Provider", "uk": "Виконавець"], selfAssignable: true)
        ],
        organisationTypes: [OrganisationType("provider-company", labels: ["en": "Provider company", "uk": "Компанія-виконавець"])],
        settings: [
            AppSetting(
                "SEARCH_CACHE_SECONDS", .integer(0...3600), default: "30",
                "how long a provider search's answer is served again (0: never); changes drop it at once")
        ],
        pages: MarketplacePageBundle.bundle,
        // Installations seeded before apps had markers of their own have the marketplace's demo data.
        earlierDemoMarkers: ["plaza.demo.seeded"])

    public let service: MarketplaceService
    let graphQL: GraphQLExecutor
    let core: AppCore

    public init(core: AppCore) throws {
        var settings = MarketplaceSettings()
        settings.searchCacheSeconds = TimeInterval(core.settings.integer("SEARCH_CACHE_SECONDS"))
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
