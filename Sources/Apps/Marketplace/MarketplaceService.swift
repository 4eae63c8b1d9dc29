import AppHost
import Conversations
import Files
import Foundation
import Identity
import Jobs
import Ledger
import Notifications
import PlazaKit
import Realtime
import SQLKit
import Storage
import Synchronization
import Workflows

/// Tunables of the marketplace; the defaults are what the seed asks for.
public struct MarketplaceSettings: Sendable, Equatable {
    /// A pending request nobody answered expires after this long.
    public var requestExpiry: Duration = .seconds(24 * 3600)
    /// How long a provider search's answer may be served again (0: never); any change that could alter it
    /// drops it sooner.
    public var searchCacheSeconds: TimeInterval = 30
    /// The fewest seconds between two location points of one job.
    public var locationInterval: TimeInterval = 2
    /// How many providers nearby hear of a new open request.
    public var alertLimit = 20
    /// What prices are in (`PLAZA_MARKETPLACE_CURRENCY`): offers and requests in another currency are refused.
    public var currency: Currency = .uah

    public init() {}
}

/// The marketplace's data and rules: the only way anything reads or changes them.
public struct MarketplaceService: Sendable {
    let store: Store
    let outbox: Outbox
    let queue: JobQueue
    let workflows: WorkflowEngine
    let conversations: ConversationService
    let notifications: NotificationService
    let files: FileService
    let identity: IdentityService
    let publisher: RealtimePublisher
    let policy: any Policy
    let settings: MarketplaceSettings
    /// The category tree, read once every few seconds rather than on every search.
    let categoryCache = CategoryCache()
    let searchCache: SearchCache
    /// The books: a completed job posts its price to the provider's earnings.
    var ledger: Ledger { Ledger(store: store) }

    public init(
        store: Store, outbox: Outbox, queue: JobQueue, workflows: WorkflowEngine, conversations: ConversationService,
        notifications: NotificationService, files: FileService, identity: IdentityService, publisher: RealtimePublisher, policy: any Policy,
        settings: MarketplaceSettings = MarketplaceSettings()
    ) {
        self.store = store
        self.outbox = outbox
        self.queue = queue
        self.searchCache = SearchCache(lifetime: settings.searchCacheSeconds)
        self.workflows = workflows
        self.conversations = conversations
        self.notifications = notifications
        self.files = files
        self.identity = identity
        self.publisher = publisher
        self.policy = policy
        self.settings = settings
    }

    /// What the marketplace registers with the core: its job, subscriptions, topics, thread context, file
    /// entity, lifecycle and notifications.
    var parts: AppParts {
        var parts = AppParts()
        let service = self
        let (searchCache, categoryCache) = (self.searchCache, self.categoryCache)
        parts.job(RequestLifecycle.alertJob, payload: [String: UUID].self) { payload, _ in
            guard let id = payload["requestId"] else { return }
            try await service.alertProviders(for: id)
        }
        parts.subscription(
            Subscription("marketplace.search-cache", topics: [ProviderChanged.topic], delivery: .broadcast) { _ in
                categoryCache.drop()
                searchCache.invalidate()
            })
        // A disabled or deleted account's profile is unlisted until the account is active again.
        parts.subscription(
            Subscription("marketplace.user-status", topics: [UserStatusChanged.topic], delivery: .work) { event in
                let changed = try event.decode(UserStatusChanged.self)
                try await service.setListed(user: changed.userId, changed.status == "active")
            })
        // Erasing now runs the marketplace's forget inside Identity's purge. Accounts erased before that, whose
        // event was still on its way when the server was upgraded, are finished here (forgetting twice changes
        // nothing).
        parts.subscription(
            Subscription("marketplace.user-purged", topics: [UserPurged.topic], delivery: .work) { event in
                let user = try event.decode(UserPurged.self).userId
                try await service.store.transaction { transaction in try await service.forget(user: user, in: transaction) }
            })
        parts.workflow(RequestLifecycle.definition(settings))
        parts.activity(RequestLifecycle.expiredActivity) { context in try await service.announceExpiry(of: context.instance) }
        // `marketplace-request:<id>`: a request's status, for its two sides.
        parts.topic("marketplace-request") { principal, id in
            guard let id = UUID(uuidString: id), let sides = try await service.sides(of: id) else { return false }
            return principal.id == sides.customer || principal.id == sides.provider
        }
        // `marketplace-location:<id>`: the provider's way to the job, for whom the policy lets watch it (its customer).
        parts.topic("marketplace-location") { principal, id in
            guard let id = UUID(uuidString: id), let sides = try await service.sides(of: id) else { return false }
            let facts = ResourceFacts(ownerID: sides.customer, participantIDs: Set([sides.provider].compactMap { $0 }))
            return service.policy.allowsQuietly(Caller(principal: principal), MarketplacePolicy.watchLocation, facts)
        }
        // A request's thread is only ever between its customer and its assigned provider.
        parts.conversationContext(RequestLifecycle.conversationContext) { _, id, participants in
            guard let id = UUID(uuidString: id), let sides = try await service.sides(of: id), let provider = sides.provider else { return false }
            return participants == [sides.customer, provider]
        }
        // Request photos (of someone's home) are for the request's two sides alone; profile photos and category
        // images are public.
        parts.fileEntity("marketplace-request", keepsFilesPrivate: true) { id in
            guard let id = UUID(uuidString: id), let sides = try await service.sides(of: id) else { return nil }
            return ResourceFacts(ownerID: sides.customer, participantIDs: Set([sides.provider].compactMap { $0 }))
        }
        parts.notifications(MarketplaceNotices.category, templates: MarketplaceNotices.templates)
        return parts
    }

    /// The customer and the assigned provider (a user id) of a request, if it exists.
    func sides(of request: UUID) async throws -> (customer: UUID, provider: UUID?)? {
        guard let row = try await store.sql.raw("SELECT customer_id, provider_user_id FROM marketplace_requests WHERE id = \(bind: request)").first()
        else { return nil }
        return (try row.decode(column: "customer_id", as: UUID.self), try row.decode(column: "provider_user_id", as: UUID?.self))
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try PlazaJSON.encoder().encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try PlazaJSON.decoder().decode(T.self, from: Data(text.utf8))
    }
}

/// The category tree as last read: searches expand a category into those above and below it on every call,
/// so the tree is kept for `lifetime` (this instance's own changes drop it at their commit; another
/// instance's when their event arrives, or within `lifetime`). A read that began before a drop does not
/// store the tree it read.
final class CategoryCache: Sendable {
    static let lifetime: TimeInterval = 5
    private let state = Mutex<(generation: Int, at: Date, categories: [ServiceCategory])?>(nil)
    private let generations = Mutex(0)

    var generation: Int { generations.withLock { $0 } }

    func get(now: Date) -> [ServiceCategory]? {
        state.withLock { state in
            guard let state, now.timeIntervalSince(state.at) < Self.lifetime, now >= state.at else { return nil }
            return state.categories
        }
    }

    func put(_ categories: [ServiceCategory], at now: Date, readUnder generation: Int) {
        generations.withLock { current in
            guard current == generation else { return }
            state.withLock { $0 = (generation, now, categories) }
        }
    }

    func drop() {
        generations.withLock { current in
            current += 1
            state.withLock { $0 = nil }
        }
    }
}
