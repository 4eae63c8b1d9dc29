import AppHost
import Foundation
import Gateway
import GraphQLTransport
import Hummingbird
import Identity
import Jobs
import Ledger
import Logging
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
    /// The apps, built on the core in the configuration's order.
    public let apps: [any PlazaApp]
    public let pages: Pages
    let listener: PostgresListener?
    let readiness: Readiness
    /// The core's migrations and the apps', checked once at open (``migrations(apps:)``).
    let migrationList: MigrationList

    /// Every migration: the core's, then each app's own list, in the apps' order. Two apps of one id, or a
    /// migration name declared twice (it would run once for both), throw ``DuplicateName``.
    public static func migrations(apps: AppList) throws -> MigrationList {
        let ids = NameClaims("app")
        for app in apps.types {
            // Names derive from the id (`<id>.`, `<id>-`, `<id>_`, `PLAZA_<ID>_`): lowercase, so they stay names.
            guard app.manifest.id.wholly(matches: "^[a-z][a-z0-9-]{1,31}$") else {
                throw PlazaError.validation(field: "app", "\(app) has the id \"\(app.manifest.id)\": 2 to 32 lowercase letters, digits and hyphens")
            }
            try ids.claim(app.manifest.id, owner: String(describing: app))
        }
        let names = NameClaims("migration")
        for name in migrations.names { try names.claim(name, owner: "the core") }
        var list = migrations
        for app in apps.types {
            for migration in app.manifest.migrations { try names.claim(migration.name, owner: app.manifest.id) }
            list.add(contentsOf: MigrationList(app.manifest.migrations))
        }
        return list
    }

    /// The core's migrations, in the order they run. Modules append; released migrations are never edited.
    /// (`0017_create_marketplace` ran here before apps had lists of their own: installations keep its record.)
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
        list.add(CreateOAuth())
        list.add(CreateMFA())
        list.add(CreateFederation())
        list.add(CreateMerges())
        list.add(CreateImports())
        list.add(AddIdempotencyClaims())
        list.add(CreateStocks())
        list.add(CreateLedger())
        return list
    }

    /// Every module's and app's authorization rules; an action two of them declare refuses the start.
    public static func policies(apps: AppList) throws -> RulePolicy {
        var policy = RulePolicy()
        try policy.merge(OperationsPolicy.rules, owner: "Operations")
        try policy.merge(IdentityPolicy.rules, owner: "Identity")
        try policy.merge(ConversationPolicy.rules, owner: "Conversations")
        try policy.merge(NotificationPolicy.rules, owner: "Notifications")
        try policy.merge(FilePolicy.rules, owner: "Files")
        try policy.merge(WorkflowPolicy.rules, owner: "Workflows")
        try policy.merge(RealtimePolicy.rules, owner: "Realtime")
        for app in apps.types { try policy.merge(app.manifest.policy, owner: app.manifest.id) }
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
        migrationList = try Self.migrations(apps: config.apps)
        policy = try Self.policies(apps: config.apps)
        dispatcher = try OutboxDispatcher(
            outbox: outbox, bus: bus, queue: queue, registry: jobRegistry, logger: logger, pollInterval: config.jobs.pollInterval)
        worker = JobWorker(queue: queue, registry: jobRegistry, logger: logger)
        rateLimiter = RateLimiter()
        let manifests = config.apps.types.map { $0.manifest }
        let catalogue = try RoleCatalogue(
            appRoles: manifests.flatMap { manifest in manifest.roles.map { (manifest.id, $0) } },
            organisationTypes: manifests.flatMap { manifest in manifest.organisationTypes.map { (manifest.id, $0) } })
        identity = try IdentityService(
            store: store, outbox: outbox, settings: config.identitySettings, bus: bus, policy: policy, rolePermissions: policy.permissions,
            catalogue: catalogue)
        secrets = Secrets(store: store)
        realtime = RealtimeHub(outbox: outbox, settings: config.realtime, logger: logger)
        publisher = RealtimePublisher(outbox: outbox)
        try bus.subscribe(realtime.subscription())
        // A socket lives no longer than the session that opened it.
        let hub = realtime
        try bus.subscribe(
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
        try files.register(in: jobRegistry)
        for manifest in manifests {
            for purpose in manifest.filePurposes { try files.register(purpose, owner: manifest.id) }
        }
        for subscription in files.subscriptions() { try bus.subscribe(subscription) }
        conversations = try ConversationService(
            store: store, publisher: publisher, hub: realtime, identity: identity, notifications: notifications, files: files, policy: policy)
        workflows = WorkflowEngine(store: store, policy: policy, queue: queue)
        try workflows.register(in: jobRegistry)
        // Merging two accounts moves every module's references in one transaction; each module says how.
        try identity.mergeHooks.register("conversations", ConversationService.merge)
        try identity.mergeHooks.register("notifications", NotificationService.merge)
        try identity.mergeHooks.register("files", FileService.merge)
        try identity.mergeHooks.register("workflows", WorkflowEngine.merge)
        try identity.mergeHooks.register("ledger", Ledger.merge)
        pages = try Pages(
            identity: identity, notifications: notifications, files: files, workflows: workflows, queue: queue, secrets: secrets,
            sessionLifetime: config.identitySettings.refreshTokenLifetime,
            databaseEngine: store.dialect == .postgres ? "PostgreSQL" : "SQLite",
            bundles: config.apps.types.compactMap { app in app.manifest.pages.map { (app.manifest.id, $0) } })
        // The apps, each built on the core and its parts registered under its id.
        let installer = AppInstaller(
            jobs: jobRegistry, bus: bus, topics: realtime.topics, contexts: conversations.contexts, files: files, workflows: workflows,
            templates: notifications.templates, identity: identity)
        var apps: [any PlazaApp] = []
        var appCron: [RecurringJob] = []
        for type in config.apps.types {
            let core = AppCore(
                store: store, outbox: outbox, queue: queue, identity: identity, workflows: workflows, conversations: conversations,
                notifications: notifications, files: files, publisher: publisher, policy: policy, pages: pages,
                settings: config.settings(of: type.manifest), graphQLLimits: config.graphQL, baseURL: config.baseURL, logger: logger)
            let app = try type.init(core: core)
            appCron += try installer.install(app)
            apps.append(app)
        }
        self.apps = apps
        try notifications.register(in: jobRegistry)
        for subscription in notifications.identitySubscriptions() { try bus.subscribe(subscription) }
        let idempotency = SQLIdempotencyStore(store: store, staleAfter: TimeInterval(config.idempotencyTakeoverSeconds))
        self.idempotency = idempotency
        readiness = Readiness(store: store, migrations: migrationList)

        // Housekeeping: finished jobs and old events are deleted on a schedule, once across instances.
        let (queue, outbox) = (self.queue, self.outbox)
        let retention = config.jobs.retention.timeInterval
        let eventRetention = config.eventRetention.timeInterval
        try jobRegistry.register("plaza.jobs.prune") { _, context in
            let cutoff = store.clock.now().addingTimeInterval(-retention)
            let removed = try await queue.purge(finishedBefore: cutoff, caller: .system("retention"))
            context.logger.info("pruned finished jobs", metadata: ["count": "\(removed)"])
        }
        try jobRegistry.register("plaza.outbox.prune") { _, context in
            let removed = try await outbox.prune(before: store.clock.now().addingTimeInterval(-eventRetention))
            context.logger.info("pruned old events", metadata: ["count": "\(removed)"])
        }
        let identity = self.identity
        try jobRegistry.register(IdentityService.purgeJob, payload: [String: String].self) { payload, _ in
            guard let id = payload["userId"].flatMap(UUID.init(uuidString:)) else { return }
            try await identity.purge(user: id)
        }
        try jobRegistry.register(IdentityService.importJob, payload: [String: String].self) { payload, _ in
            guard let id = payload["importId"].flatMap(UUID.init(uuidString:)) else { return }
            try await identity.runImport(id)
        }
        try jobRegistry.register("plaza.idempotency.prune") { _, context in
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
            ] + appCron,
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
        try checkRoutes()
    }

    /// Applies pending migrations and loads what the policy reads from the database (the roles'
    /// permissions); returns the names of the migrations applied. `plaza serve` calls it before it listens.
    @discardableResult
    public func migrate() async throws -> [String] {
        let applied = try await store.migrate(migrationList)
        try await identity.prepareRoles()
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

    /// The app of type `A` (tests and benchmarks reach its service this way).
    public func app<A: PlazaApp>(_ type: A.Type) -> A {
        guard let app = apps.lazy.compactMap({ $0 as? A }).first else { preconditionFailure("\(A.manifest.id) is not installed") }
        return app
    }

    /// Every route of every module and app, including `/openapi.json`, which documents them all.
    public var routes: RouteTable<AppRequestContext> {
        var table = coreRoutes
        for app in apps { table.add(contentsOf: app.routes(AppRequestContext.self)) }
        return OpenAPIRoute.adding(to: table, policy: policy, edge: config.edge)
    }

    /// A method and path (or an operation id) that two owners both route refuses the start.
    func checkRoutes() throws {
        let paths = NameClaims("route")
        let operations = NameClaims("operation id")
        func claim(_ table: RouteTable<AppRequestContext>, by owner: String) throws {
            for endpoint in table.endpoints {
                // `/x/{id}` and `/x/{key}` are one route to the router.
                let shape = endpoint.path.replacing(/\{[^}]*\}/, with: "{}")
                try paths.claim("\(endpoint.method) \(shape)", owner: owner)
                try operations.claim(endpoint.operationID, owner: owner)
            }
        }
        try paths.claim("GET /openapi.json", owner: "the core")
        try claim(coreRoutes, by: "the core")
        for app in apps { try claim(app.routes(AppRequestContext.self), by: app.id) }
        let prefixes = NameClaims("error envelope prefix")
        for app in apps {
            for enveloped in type(of: app).manifest.errorEnvelopes { try prefixes.claim(enveloped.prefix, owner: app.id) }
        }
    }

    /// The core modules' routes.
    var coreRoutes: RouteTable<AppRequestContext> {
        var table = RouteTable<AppRequestContext>()
        table.add(contentsOf: pages.table(context: AppRequestContext.self))
        table.add(contentsOf: RealtimeRoutes<AppRequestContext>(hub: realtime).table)
        table.add(contentsOf: ConversationRoutes<AppRequestContext>(service: conversations).table)
        table.add(contentsOf: FileRoutes<AppRequestContext>(service: files).table)
        table.add(contentsOf: WorkflowRoutes<AppRequestContext>(engine: workflows).table)
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
        return table
    }
}
