import Foundation
import Gateway
import GraphQLTransport
import Hummingbird
import Identity
import Jobs
import Logging
import Marketplace
import Notifications
import Operations
import Conversations
import Files
import Workflows
import Realtime
import PlazaKit
import ServiceLifecycle
import Storage
import Web

/// The assembled system: every module's services wired to one store, one queue and one event bus.
///
/// `plaza serve` builds one and runs ``services`` under the application; tests build one per test on a
/// copy of a migrated database; the CLI builds one to migrate, seed or inspect jobs.
public final class Plaza: Sendable {
    public let config: PlazaConfig
    public let logger: Logger
    public let store: Store
    public let queue: JobQueue
    public let outbox: Outbox
    public let bus: EventBus
    public let jobRegistry: JobRegistry
    public let policy: RulePolicy
    public let dispatcher: OutboxDispatcher
    public let worker: JobWorker
    public let scheduler: Scheduler
    public let rateLimiter: RateLimiter
    public let idempotency: SQLIdempotencyStore
    public let identity: IdentityService
    public let secrets: Secrets
    public let realtime: RealtimeHub
    public let publisher: RealtimePublisher
    public let conversations: ConversationService
    public let notifications: NotificationService
    public let files: FileService
    /// Lifecycles with history; apps register their definitions.
    public let workflows: WorkflowEngine
    public let vapid: VAPIDKeys
    /// Seed 001, the home-services marketplace.
    public let marketplace: MarketplaceService
    /// `/graphql` (the marketplace's schema, built once, within the configured limits).
    let graphQL: GraphQLExecutor
    public let pages: Pages
    let listener: PostgresListener?
    let readiness: Readiness

    /// Every migration, in the order they run. Modules append; released migrations are never edited.
    public static var migrations: MigrationList {
        var list = MigrationList()
        list.add(CreateAuditLog())
        list.add(contentsOf: JobsMigrations.all)
        list.add(CreateIdempotencyKeys())
        list.add(CreateIdentity())
        list.add(CreateLoginFailures())
        list.add(CreateOneTimeCodes())
        list.add(CreateInvitations())
        list.add(CreateSecrets())
        list.add(CreateWebSessions())
        list.add(CreateRealtimeIndex())
        list.add(CreatePresence())
        list.add(CreateConversations())
        list.add(CreateNotifications())
        list.add(CreateFiles())
        list.add(CreateWorkflows())
        list.add(CreateMarketplace())
        list.add(CreateOAuth())
        list.add(CreateMFA())
        list.add(CreateFederation())
        list.add(CreateMerges())
        list.add(CreateImports())
        list.add(AddIdempotencyClaims())
        return list
    }

    /// Every module's authorization rules.
    public static var policies: RulePolicy {
        var policy = RulePolicy()
        policy.merge(OperationsPolicy.rules)
        policy.merge(IdentityPolicy.rules)
        policy.merge(ConversationPolicy.rules)
        policy.merge(NotificationPolicy.rules)
        policy.merge(FilePolicy.rules)
        policy.merge(WorkflowPolicy.rules)
        policy.merge(RealtimePolicy.rules)
        policy.merge(MarketplacePolicy.rules)
        return policy
    }

    /// Opens the database and wires the modules. Nothing runs until ``services`` are started.
    ///
    /// `database` overrides where the configuration says the database is (tests use a file of their own).
    public static func open(
        _ config: PlazaConfig, database: DatabaseSettings? = nil, clock: any PlazaClock = SystemClock(), logger: Logger? = nil
    ) async throws -> Plaza {
        var logger = logger ?? Logger(label: "plaza")
        logger.logLevel = config.logLevel
        let store = try await Store.open(database ?? config.database, clock: clock, logger: logger)
        do {
            return try Plaza(config: config, store: store, logger: logger)
        } catch {
            await store.shutdown()
            throw error
        }
    }

    private init(config: PlazaConfig, store: Store, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.store = store
        let jobWakeup = Wakeup()
        let outboxWakeup = Wakeup()
        queue = JobQueue(store: store, settings: config.jobs, wakeup: jobWakeup)
        outbox = Outbox(store: store, wakeup: outboxWakeup)
        bus = EventBus()
        jobRegistry = JobRegistry()
        policy = Self.policies
        dispatcher = OutboxDispatcher(
            outbox: outbox, bus: bus, queue: queue, registry: jobRegistry, logger: logger, pollInterval: config.jobs.pollInterval)
        worker = JobWorker(queue: queue, registry: jobRegistry, logger: logger)
        rateLimiter = RateLimiter()
        identity = IdentityService(
            store: store, outbox: outbox, settings: config.identitySettings, bus: bus, policy: policy, rolePermissions: policy.permissions)
        secrets = Secrets(store: store)
        realtime = RealtimeHub(outbox: outbox, settings: config.realtime, logger: logger)
        publisher = RealtimePublisher(outbox: outbox)
        bus.subscribe(realtime.subscription())
        // A socket lives no longer than the session that opened it.
        let hub = realtime
        bus.subscribe(
            Subscription("realtime.sessions", topics: [SessionRevoked.topic, UserStatusChanged.topic], delivery: .broadcast) { event in
                if event.topic == SessionRevoked.topic {
                    let revoked = try event.decode(SessionRevoked.self)
                    hub.endConnections(of: revoked.userId, sessions: Set(revoked.sessionIds))
                } else if case let changed = try event.decode(UserStatusChanged.self), changed.status != "active" {
                    hub.endConnections(of: changed.userId)
                }
            })
        vapid = VAPIDKeys(secrets: secrets)
        notifications = NotificationService(
            store: store, queue: queue, publisher: publisher, identity: identity, policy: policy,
            templates: NotificationTemplates(baseURL: config.baseURL), settings: config.notifications,
            transports: try NotificationService.transports(
                settings: config.notifications, baseURL: config.baseURL, store: store, vapid: vapid, logger: logger),
            logger: logger)
        let fileRoot = URL(fileURLWithPath: config.fileSettings.root)
        let blobs: any BlobStore =
            config.fileSettings.s3.map { S3BlobStore(location: $0, stagingDirectory: fileRoot.appendingPathComponent(".staging")) }
            ?? LocalBlobStore(root: fileRoot)
        files = FileService(
            store: store, queue: queue, identity: identity, blobs: blobs, secrets: secrets, policy: policy, settings: config.fileSettings,
            logger: logger)
        files.register(in: jobRegistry)
        for subscription in files.subscriptions() { bus.subscribe(subscription) }
        conversations = ConversationService(
            store: store, publisher: publisher, hub: realtime, identity: identity, notifications: notifications, files: files, policy: policy)
        workflows = WorkflowEngine(store: store, policy: policy, queue: queue)
        workflows.register(in: jobRegistry)
        marketplace = MarketplaceService(
            store: store, outbox: outbox, bus: bus, queue: queue, workflows: workflows, conversations: conversations, notifications: notifications,
            files: files, identity: identity,
            publisher: publisher, hub: realtime, policy: policy, settings: config.marketplace)
        marketplace.register(in: jobRegistry)
        // Merging two accounts moves every module's references in one transaction; each module says how.
        identity.mergeHooks.register("conversations", ConversationService.merge)
        identity.mergeHooks.register("notifications", NotificationService.merge)
        identity.mergeHooks.register("files", FileService.merge)
        identity.mergeHooks.register("workflows", WorkflowEngine.merge)
        let market = marketplace
        identity.mergeHooks.register("marketplace") { source, target, transaction in
            try await market.merge(from: source, into: target, in: transaction)
        }
        graphQL = try MarketplaceGraphQL(service: marketplace).executor(limits: config.graphQL)
        pages = try Pages(
            identity: identity, notifications: notifications, files: files, workflows: workflows, queue: queue, secrets: secrets,
            sessionLifetime: config.identitySettings.refreshTokenLifetime,
            databaseEngine: store.dialect == .postgres ? "PostgreSQL" : "SQLite", bundles: [MarketplacePages<AppRequestContext>.bundle])
        notifications.register(in: jobRegistry)
        for subscription in notifications.identitySubscriptions() { bus.subscribe(subscription) }
        let idempotency = SQLIdempotencyStore(store: store, staleAfter: TimeInterval(config.idempotencyTakeoverSeconds))
        self.idempotency = idempotency
        readiness = Readiness(store: store, migrations: Self.migrations)

        // Housekeeping: finished jobs and old events are deleted on a schedule, once across instances.
        let (queue, outbox) = (self.queue, self.outbox)
        let retention = config.jobs.retention.timeInterval
        let eventRetention = config.eventRetention.timeInterval
        jobRegistry.register("plaza.jobs.prune") { _, context in
            let cutoff = store.clock.now().addingTimeInterval(-retention)
            let removed = try await queue.purge(finishedBefore: cutoff, caller: .system("retention"))
            context.logger.info("pruned finished jobs", metadata: ["count": "\(removed)"])
        }
        jobRegistry.register("plaza.outbox.prune") { _, context in
            let removed = try await outbox.prune(before: store.clock.now().addingTimeInterval(-eventRetention))
            context.logger.info("pruned old events", metadata: ["count": "\(removed)"])
        }
        let identity = self.identity
        jobRegistry.register(IdentityService.purgeJob, payload: [String: String].self) { payload, _ in
            guard let id = payload["userId"].flatMap(UUID.init(uuidString:)) else { return }
            try await identity.purge(user: id)
        }
        jobRegistry.register(IdentityService.importJob, payload: [String: String].self) { payload, _ in
            guard let id = payload["importId"].flatMap(UUID.init(uuidString:)) else { return }
            try await identity.runImport(id)
        }
        jobRegistry.register("plaza.idempotency.prune") { _, context in
            let removed = try await idempotency.prune()
            context.logger.info("pruned expired idempotency keys", metadata: ["count": "\(removed)"])
        }
        scheduler = Scheduler(
            jobs: [
                RecurringJob("plaza.jobs.prune", schedule: try! CronSchedule("17 * * * *")),
                RecurringJob("plaza.outbox.prune", schedule: try! CronSchedule("43 * * * *")),
                RecurringJob("plaza.idempotency.prune", schedule: try! CronSchedule("29 * * * *")),
                RecurringJob(NotificationService.pruneJob, schedule: try! CronSchedule("51 3 * * *")),
                RecurringJob(FileService.sweepJob, schedule: try! CronSchedule("37 4 * * *")),
            ],
            queue: queue, logger: logger)

        if case .postgres(let url) = store.settings.location {
            let listener = PostgresListener(url: url, logger: logger)
            listener.on(JobQueue.channel) { _ in jobWakeup.ring() }
            listener.on(Outbox.channel) { _ in outboxWakeup.ring() }
            let hub = realtime
            listener.on(RealtimeHub.signalChannel) { frame in hub.receiveSignal(frame) }
            self.listener = listener
        } else {
            self.listener = nil
        }
    }

    /// Applies pending migrations and loads what the policy reads from the database (the roles'
    /// permissions); returns the names of the migrations applied. `plaza serve` calls it before it listens.
    @discardableResult
    public func migrate() async throws -> [String] {
        let applied = try await store.migrate(Self.migrations)
        try await identity.loadRolePermissions()
        return applied
    }

    /// The long-running parts, in start order (the lifecycle stops them in reverse, after the HTTP server):
    /// the database (its pools and, on SQLite, the writer — closed last), the NOTIFY listener, the outbox
    /// dispatcher, the scheduler and the job worker.
    public var services: [any Service] {
        [store] + backgroundServices
    }

    /// The services that do the background work (everything but the database pools).
    public var backgroundServices: [any Service] {
        var services: [any Service] = []
        if let listener { services.append(listener) }
        services.append(dispatcher)
        services.append(realtime.keeper)
        if config.runWorkers {
            services.append(scheduler)
            services.append(worker)
            // Last, so it stops first: activities running in process finish before the worker and the pools stop.
            services.append(InlineActivities(engine: workflows, worker: "\(worker.id)-inline", limit: config.jobs.concurrency))
        }
        return services
    }

    /// Closes the database (for commands and tests that never started ``services``).
    public func shutdown() async {
        // Sockets outlive the server's tasks (they are channel handlers): close them, and let what they started
        // finish, while the database is still open.
        await realtime.shutdown()
        await store.shutdown()
    }

    /// Whether an address lies in one of the given CIDRs (checked when the configuration was loaded).
    static func networkCheck(_ cidrs: [String]) -> @Sendable (String) -> Bool {
        let networks = cidrs.compactMap { try? IPAddressRange($0) }
        return { ip in networks.contains { $0.contains(ip) } }
    }

    /// Every route of every module, including `/openapi.json`, which documents them all.
    public var routes: RouteTable<AppRequestContext> {
        var table = RouteTable<AppRequestContext>()
        table.add(contentsOf: pages.table(context: AppRequestContext.self))
        table.add(contentsOf: MarketplacePages<AppRequestContext>(pages: pages, service: marketplace).table)
        table.add(contentsOf: RealtimeRoutes<AppRequestContext>(hub: realtime).table)
        table.add(contentsOf: ConversationRoutes<AppRequestContext>(service: conversations).table)
        table.add(contentsOf: FileRoutes<AppRequestContext>(service: files).table)
        table.add(contentsOf: WorkflowRoutes<AppRequestContext>(engine: workflows).table)
        table.add(contentsOf: MarketplaceRoutes<AppRequestContext>(service: marketplace).table)
        table.add(contentsOf: GraphQLRoutes<AppRequestContext>(executor: graphQL, summary: "the marketplace").table)
        table.add(contentsOf: NotificationRoutes<AppRequestContext>(service: notifications, vapid: vapid, baseURL: config.baseURL).table)
        table.add(contentsOf: IdentityRoutes<AppRequestContext>(identity: identity, queue: queue).table)
        table.add(contentsOf: OAuthRoutes<AppRequestContext>(identity: identity).table)
        table.add(contentsOf: FederationRoutes<AppRequestContext>(identity: identity).table)
        table.add(
            contentsOf: OperationsRoutes<AppRequestContext>(
                readiness: readiness,
                metrics: MetricsExporter(registry: PlazaMetrics.registry, queue: queue, store: store),
                metricsAccess: MetricsAccess(token: config.metricsToken, fromNetwork: Self.networkCheck(config.metricsNetworks)),
                queue: queue, auditLog: AuditLogReader(store: store)
            ).table)
        return OpenAPIRoute.adding(to: table, policy: policy, edge: config.edge)
    }
}
