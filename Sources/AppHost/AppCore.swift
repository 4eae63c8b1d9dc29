import Conversations
import Files
import Foundation
import GraphQLTransport
import Identity
import Jobs
import Ledger
import Logging
import Notifications
import PlazaKit
import Realtime
import Storage
import Web
import Workflows

/// The core's services, as an app is built on them (``PlazaApp/init(core:)``).
public struct AppCore: Sendable {
    public let store: Store
    public let outbox: Outbox
    public let queue: JobQueue
    public let identity: IdentityService
    public let workflows: WorkflowEngine
    public let conversations: ConversationService
    public let notifications: NotificationService
    public let files: FileService
    public let publisher: RealtimePublisher
    /// The whole installation's policy (every module's and app's rules).
    public let policy: any Policy
    public let pages: Pages
    /// The app's own settings, as configured.
    public let settings: AppSettings
    /// The limits every GraphQL endpoint keeps (`PLAZA_GRAPHQL_*`).
    public let graphQLLimits: GraphQLLimits
    public let baseURL: String
    public let logger: Logger
    /// Counts and named units that never oversell (`Stocks`), in this installation's database.
    public var stocks: Stocks { Stocks(store: store) }
    /// The books (`Ledger`): postings of money between accounts, balances and statements.
    public var ledger: Ledger { Ledger(store: store) }

    public init(
        store: Store, outbox: Outbox, queue: JobQueue, identity: IdentityService, workflows: WorkflowEngine, conversations: ConversationService,
        notifications: NotificationService, files: FileService, publisher: RealtimePublisher, policy: any Policy, pages: Pages,
        settings: AppSettings, graphQLLimits: GraphQLLimits, baseURL: String, logger: Logger
    ) {
        self.store = store
        self.outbox = outbox
        self.queue = queue
        self.identity = identity
        self.workflows = workflows
        self.conversations = conversations
        self.notifications = notifications
        self.files = files
        self.publisher = publisher
        self.policy = policy
        self.pages = pages
        self.settings = settings
        self.graphQLLimits = graphQLLimits
        self.baseURL = baseURL
        self.logger = logger
    }
}
