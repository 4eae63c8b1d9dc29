import ArgumentParser
import Foundation
import PlazaKit
import PlazaServer
import Workflows

/// `plaza workflows …`: the operators' workflow tools at the console — the same engine calls as
/// `/api/v1/workflows` and `/admin/workflows`, acting as an operator (``Caller/console(_:)``).
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows", abstract: "Find workflow instances, read their history, retry or reset failed activities, cancel.",
        subcommands: [List.self, Show.self, Retry.self, Reset.self, Cancel.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List instances, newest first.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only instances of this definition.") var definition: String?
        @Option(help: "Only instances in this state.") var state: String?
        @Flag(help: "Only instances with a failed activity.") var failed = false
        @Option(help: "Only instances that have not moved for this many minutes.") var idleMinutes: Int?
        @Option(help: "How many to show (1-100).") var limit = 20

        func run() async throws {
            try await guarded {
                guard (1...100).contains(limit) else { throw fail("--limit must be from 1 to 100") }
                var query = WorkflowQuery(definition: definition, state: state, failed: failed ? true : nil)
                if let idleMinutes {
                    guard idleMinutes > 0 else { throw fail("--idle-minutes must be a positive whole number") }
                    query.idleSince = Date().addingTimeInterval(-Double(idleMinutes) * 60)
                }
                try await withPlaza(try common.load()) { plaza in
                    let page = try await plaza.workflows.instances(query, page: PageRequest(limit: limit), caller: .console("workflows list"))
                    if page.items.isEmpty { print("No workflow instances match.") }
                    for instance in page.items {
                        var line = "\(instance.id.lowercased)  \(instance.definition)  \(instance.state)  v\(instance.version)"
                        line += "  moved \(Self.format(instance.updatedAt))"
                        if let subject = instance.subject { line += "  \(subject)" }
                        if instance.cancelledAt != nil { line += "  cancelled" }
                        if let failure = instance.failure { line += "  FAILED \(failure.prefix(120))" }
                        print(line)
                    }
                    if page.nextCursor != nil { print("… more: narrow the filters or raise --limit.") }
                }
            }
        }

        static func format(_ date: Date) -> String { date.formatted(.iso8601) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an instance: its state, activities and history.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The instance's id.") var id: String

        func run() async throws {
            try await guarded {
                let uuid = try parseID(id, "an instance")
                try await withPlaza(try common.load()) { plaza in
                    let detail = try await plaza.workflows.detail(uuid, caller: .console("workflows show"))
                    let instance = detail.instance
                    print("\(instance.definition) \(instance.id.lowercased): \(instance.state), version \(instance.version)")
                    if let subject = instance.subject { print("subject: \(subject)") }
                    if let parent = instance.parentId { print("started under: \(parent.lowercased)") }
                    if let failure = instance.failure { print("FAILED: \(failure)") }
                    if let cancelled = instance.cancelledAt { print("cancelled at \(List.format(cancelled))") }
                    print("takes: \(instance.allowedCommands.isEmpty ? "nothing more" : instance.allowedCommands.joined(separator: ", "))")
                    print("\nactivities:")
                    if detail.activities.isEmpty { print("  none") }
                    for activity in detail.activities {
                        var line =
                            "  \(activity.id.lowercased)  \(activity.name)  \(activity.status.rawValue)  attempts "
                            + "\(activity.attempts)/\(activity.maxAttempts)"
                        if let error = activity.lastError { line += "  last error: \(error.prefix(160))" }
                        print(line)
                    }
                    print("\nhistory:")
                    for step in detail.history {
                        var line = "  \(step.version). \(List.format(step.at))  \(step.command)  \(step.from ?? "·") → \(step.to)"
                        line += "  by \(step.actorId?.lowercased ?? "the system")"
                        if let comment = step.comment { line += "  “\(comment)”" }
                        print(line)
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a failed activity one more attempt (a running server runs it).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The activity's id (from `plaza workflows show`).") var id: String

        func run() async throws {
            try await restart(id, common: common, fresh: false)
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a failed activity a fresh set of attempts (a running server runs it).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The activity's id (from `plaza workflows show`).") var id: String

        func run() async throws {
            try await restart(id, common: common, fresh: true)
        }
    }

    /// Retry (`fresh: false`) or reset a failed activity and say what happens next.
    static func restart(_ id: String, common: CommonOptions, fresh: Bool) async throws {
        try await guarded {
            let uuid = try parseID(id, "an activity")
            try await withPlaza(try common.load()) { plaza in
                if fresh {
                    let activity = try await plaza.workflows.resetActivity(uuid, caller: .console("workflows reset"))
                    print("Activity \(activity.name) of \(activity.instanceId.lowercased) starts again with \(activity.maxAttempts) attempts.")
                } else {
                    let activity = try await plaza.workflows.retryActivity(uuid, caller: .console("workflows retry"))
                    print("Activity \(activity.name) of \(activity.instanceId.lowercased) gets attempt \(activity.maxAttempts).")
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an instance for good; its timers and pending activities are dropped.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The instance's id.") var id: String
        @Option(help: "Why (kept in the instance's history and the audit log).") var reason: String

        func run() async throws {
            try await guarded {
                let uuid = try parseID(id, "an instance")
                try await withPlaza(try common.load()) { plaza in
                    let instance = try await plaza.workflows.cancel(uuid, reason: reason, caller: .console("workflows cancel"))
                    print("Cancelled \(instance.definition) \(instance.id.lowercased) in \(instance.state).")
                }
            }
        }
    }
}

func parseID(_ text: String, _ what: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else { throw fail("\(text) is not \(what) id (a UUID)") }
    return id
}

extension UUID {
    fileprivate var lowercased: String { uuidString.lowercased() }
}
