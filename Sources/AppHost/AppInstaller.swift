import Conversations
import Files
import Foundation
import Identity
import Jobs
import Notifications
import PlazaKit
import Realtime
import Workflows

/// A part whose name does not derive from its app's id (``AppManifest``).
public struct MisnamedPart: Error, CustomStringConvertible, Equatable {
    public let app: String
    public let kind: String
    public let name: String
    public let expected: String

    public var description: String { "app \(app) declares \(kind) \"\(name)\", which does not start with \(expected)" }
}

/// The core's registries, as the host fills them with an app's parts.
public struct AppInstaller: Sendable {
    let jobs: JobRegistry
    let bus: EventBus
    let topics: Topics
    let contexts: ConversationContexts
    let files: FileService
    let workflows: WorkflowEngine
    let templates: NotificationTemplates
    let identity: IdentityService

    public init(
        jobs: JobRegistry, bus: EventBus, topics: Topics, contexts: ConversationContexts, files: FileService, workflows: WorkflowEngine,
        templates: NotificationTemplates, identity: IdentityService
    ) {
        self.jobs = jobs
        self.bus = bus
        self.topics = topics
        self.contexts = contexts
        self.files = files
        self.workflows = workflows
        self.templates = templates
        self.identity = identity
    }

    /// Registers everything `app` declares under its id, and its merge and forget hooks; returns its cron
    /// entries for the scheduler. A name declared before throws ``DuplicateName``.
    public func install(_ app: any PlazaApp) throws -> [RecurringJob] {
        let id = app.id
        let parts = app.parts
        for job in parts.jobs { try jobs.register(job.name, owner: id, handler: job.handler) }
        for subscription in parts.subscriptions { try bus.subscribe(subscription, owner: id) }
        for topic in parts.topics { try topics.register(topic.kind, owner: id, topic.rule) }
        for context in parts.conversationContexts { try contexts.register(context.type, owner: id, context.rule) }
        for entity in parts.fileEntities {
            try files.registerEntity(entity.kind, keepsFilesPrivate: entity.keepsFilesPrivate, owner: id, facts: entity.facts)
        }
        for definition in parts.workflows { try workflows.register(definition, owner: id) }
        for activity in parts.activities { try workflows.registerActivity(activity.name, owner: id, activity.handler) }
        for category in parts.notificationCategories { try templates.register(category, owner: id) }
        for template in parts.notificationTemplates { try templates.register(template, owner: id) }
        for group in parts.audienceGroups { try identity.audienceGroups.add(group.kind, group.resolve, owner: id) }
        try identity.mergeHooks.register(id, owner: id) { source, target, transaction in
            try await app.merge(from: source, into: target, in: transaction)
        }
        try identity.forgetHooks.register(id, owner: id) { user, transaction in try await app.forget(user: user, in: transaction) }
        // A cron entry runs a job by name: one nobody handles would fail every time it is due.
        for entry in parts.cron where jobs.handler(for: entry.name) == nil {
            throw PlazaError.validation(field: "cron", "app \(id) schedules \(entry.name), which is not one of its jobs")
        }
        return parts.cron
    }

    /// The names an app declares that do not derive from its id: actions, jobs, subscriptions, workflows,
    /// activities, templates and cron entries start with `<id>.`; topic kinds, conversation contexts, file entities
    /// and notification categories start with `<id>-` or are the id. (Checked by the contract test: a name that
    /// collides with another's already refuses the start.)
    public static func misnamed(_ app: any PlazaApp) -> [MisnamedPart] {
        let id = app.id
        let parts = app.parts
        var found: [MisnamedPart] = []
        func dotted(_ kind: String, _ names: [String]) {
            for name in names where !name.hasPrefix("\(id).") { found.append(MisnamedPart(app: id, kind: kind, name: name, expected: "\(id).")) }
        }
        func hyphened(_ kind: String, _ names: [String]) {
            for name in names where name != id && !name.hasPrefix("\(id)-") {
                found.append(MisnamedPart(app: id, kind: kind, name: name, expected: "\(id)-"))
            }
        }
        dotted("action", type(of: app).manifest.policy.declaredActions.map(\.name).sorted())
        dotted("job", parts.jobs.map(\.name))
        dotted("subscription", parts.subscriptions.map(\.name))
        dotted("workflow", parts.workflows.map(\.name))
        dotted("workflow activity", parts.activities.map(\.name))
        dotted("notification template", parts.notificationTemplates.map(\.id))
        dotted("cron entry", parts.cron.map(\.name))
        hyphened("topic kind", parts.topics.map(\.kind))
        hyphened("conversation context", parts.conversationContexts.map(\.type))
        hyphened("file entity", parts.fileEntities.map(\.kind))
        hyphened("notification category", parts.notificationCategories.map(\.id))
        hyphened("audience group", parts.audienceGroups.map(\.kind))
        return found
    }
}
