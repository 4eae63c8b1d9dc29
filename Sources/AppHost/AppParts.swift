import Conversations
import Files
import Foundation
import Identity
import Jobs
import Notifications
import PlazaKit
import Realtime
import Workflows

/// What an app registers once it is built, as data: the host registers each part under the app's id, so a
/// name another module or app declared refuses the start in one line naming both owners.
public struct AppParts: Sendable {
    public struct Job: Sendable {
        public var name: String
        public var handler: JobRegistry.Handler
    }

    public struct Topic: Sendable {
        public var kind: String
        public var rule: Topics.Rule
    }

    public struct ConversationContext: Sendable {
        public var type: String
        public var rule: ConversationContexts.Rule
    }

    public struct FileEntity: Sendable {
        public var kind: String
        public var keepsFilesPrivate: Bool
        public var facts: FileEntityFacts
    }

    public struct AudienceGroup: Sendable {
        public var kind: String
        public var resolve: AudienceResolver
    }

    public struct Activity: Sendable {
        public var name: String
        public var handler: ActivityHandler
    }

    public private(set) var jobs: [Job] = []
    public private(set) var subscriptions: [Subscription] = []
    public private(set) var topics: [Topic] = []
    public private(set) var conversationContexts: [ConversationContext] = []
    public private(set) var fileEntities: [FileEntity] = []
    public private(set) var workflows: [WorkflowDefinition] = []
    public private(set) var activities: [Activity] = []
    public private(set) var notificationCategories: [NotificationCategory] = []
    public private(set) var notificationTemplates: [NotificationTemplate] = []
    public private(set) var cron: [RecurringJob] = []
    public private(set) var audienceGroups: [AudienceGroup] = []

    public init() {}

    /// A job, its payload decoded as `Payload`.
    public mutating func job<Payload: Decodable & Sendable>(
        _ name: String, payload: Payload.Type, _ handler: @escaping @Sendable (Payload, JobContext) async throws -> Void
    ) {
        jobs.append(
            Job(name: name) { job, context in
                try await handler(try PlazaJSON.decoder().decode(Payload.self, from: Data(job.payload.utf8)), context)
            })
    }

    /// A subscriber to events in the outbox (`.work`: once, as a job; `.broadcast`: in every process).
    public mutating func subscription(_ subscription: Subscription) { subscriptions.append(subscription) }

    /// Who may subscribe to realtime topics `kind:<id>`.
    public mutating func topic(_ kind: String, _ rule: @escaping Topics.Rule) { topics.append(Topic(kind: kind, rule: rule)) }

    /// Who may talk in a thread about a context of this type.
    public mutating func conversationContext(_ type: String, _ rule: @escaping ConversationContexts.Rule) {
        conversationContexts.append(ConversationContext(type: type, rule: rule))
    }

    /// Who may read the files bound to an entity of this kind.
    public mutating func fileEntity(_ kind: String, keepsFilesPrivate: Bool = false, _ facts: @escaping FileEntityFacts) {
        fileEntities.append(FileEntity(kind: kind, keepsFilesPrivate: keepsFilesPrivate, facts: facts))
    }

    /// A lifecycle with history.
    public mutating func workflow(_ definition: WorkflowDefinition) { workflows.append(definition) }

    /// The code behind an activity its workflows name.
    public mutating func activity(_ name: String, _ handler: @escaping ActivityHandler) { activities.append(Activity(name: name, handler: handler)) }

    /// A category of notifications people may mute, and the templates in it.
    public mutating func notifications(_ category: NotificationCategory, templates: [NotificationTemplate]) {
        notificationCategories.append(category)
        notificationTemplates.append(contentsOf: templates)
    }

    /// A kind of group notifications may go to (`Audience.group(kind, id)`): `resolve` turns a group's id into
    /// a subquery of its people's ids.
    public mutating func audienceGroup(_ kind: String, _ resolve: @escaping AudienceResolver) {
        audienceGroups.append(AudienceGroup(kind: kind, resolve: resolve))
    }

    /// A job run on a schedule, once across instances (its handler is one of ``jobs``).
    public mutating func cron(_ job: RecurringJob) { cron.append(job) }
}
