import Conversations
import Files
import Foundation
import Identity
import Jobs
import Notifications
import PlazaKit
import Realtime
import Workflows

/// A part whose name does not derive from its app's id (``AppManifest``): one line, at start.
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
    /// entries for the scheduler. A name declared before, or not derived from the id, throws.
    public func install(_ app: any PlazaApp) throws -> [RecurringJob] {
        let id = app.id
        let parts = app.parts
        try Self.checkNames(of: parts, app: id)
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
        try identity.mergeHooks.register(id, owner: id) { source, target, transaction in
            try await app.merge(from: source, into: target, in: transaction)
        }
        try identity.forgetHooks.register(id, owner: id) { user, transaction in try await app.forget(user: user, in: transaction) }
        return parts.cron
    }

    /// Machine names start with `<id>.` (jobs, subscriptions, workflows, activities, templates), `<id>-` or
    /// are the id (topic kinds, conversation contexts, file entities, notification categories).
    static func checkNames(of parts: AppParts, app id: String) throws {
        func dotted(_ kind: String, _ names: [String]) throws {
            for name in names where !name.hasPrefix("\(id).") {
                throw MisnamedPart(app: id, kind: kind, name: name, expected: "\(id).")
            }
        }
        func hyphened(_ kind: String, _ names: [String]) throws {
            for name in names where name != id && !name.hasPrefix("\(id)-") {
                throw MisnamedPart(app: id, kind: kind, name: name, expected: "\(id)-")
            }
        }
        try dotted("job", parts.jobs.map(\.name))
        try dotted("subscription", parts.subscriptions.map(\.name))
        try dotted("workflow", parts.workflows.map(\.name))
        try dotted("workflow activity", parts.activities.map(\.name))
        try dotted("notification template", parts.notificationTemplates.map(\.id))
        try dotted("cron entry", parts.cron.map(\.name))
        try hyphened("topic kind", parts.topics.map(\.kind))
        try hyphened("conversation context", parts.conversationContexts.map(\.type))
        try hyphened("file entity", parts.fileEntities.map(\.kind))
        try hyphened("notification category", parts.notificationCategories.map(\.id))
    }

    /// Actions start with `<id>.`.
    public static func checkActions(of manifest: AppManifest) throws {
        for action in manifest.policy.declaredActions.map(\.name).sorted() where !action.hasPrefix("\(manifest.id).") {
            throw MisnamedPart(app: manifest.id, kind: "action", name: action, expected: "\(manifest.id).")
        }
    }
}
