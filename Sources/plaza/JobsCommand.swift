import ArgumentParser
import Foundation
import Jobs
import PlazaKit
import PlazaServer

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Inspect and repair the job queue.",
        subcommands: [List.self, Retry.self, Purge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first, and the counts per queue and state.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only jobs in this state (pending, running, succeeded, dead, cancelled).") var state: String?
        @Option(help: "Only jobs in this queue.") var queue: String?
        @Option(help: "How many jobs to show (1-100).") var limit = 20

        func run() async throws {
            try await guarded {
                var filter = JobFilter(queue: queue)
                if let state {
                    guard let parsed = JobState(rawValue: state) else {
                        throw fail("--state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    filter.state = parsed
                }
                guard (1...100).contains(limit) else { throw fail("--limit must be from 1 to 100") }
                try await withPlaza(try common.load()) { plaza in
                    let stats = try await plaza.queue.stats()
                    print(stats.isEmpty ? "No jobs." : stats.map { "\($0.queue)/\($0.state.rawValue): \($0.count)" }.joined(separator: "  "))
                    let page = try await plaza.queue.list(filter, page: PageRequest(limit: limit))
                    for job in page.items {
                        let error = job.lastError.map { "  last error: \($0.prefix(120))" } ?? ""
                        print(
                            "\(job.id)  \(job.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) "
                                + "\(job.queue)/\(job.name)  attempts \(job.attempts)/\(job.maxAttempts)\(error)"
                        )
                    }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a dead or cancelled job back in line with fresh attempts.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The job's id.") var id: String

        func run() async throws {
            try await guarded {
                guard let uuid = UUID(uuidString: id) else { throw fail("\(id) is not a job id (a UUID)") }
                try await withPlaza(try common.load()) { plaza in
                    let job = try await plaza.queue.retry(uuid, caller: .system("cli"))
                    print("Job \(job.id) (\(job.name)) is pending again.")
                }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete finished jobs (succeeded, dead, cancelled).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only jobs that finished more than this many hours ago.") var olderThanHours = 0
        @Option(help: "Only this state (succeeded, dead or cancelled); default all three.") var state: String?

        func run() async throws {
            try await guarded {
                var states: [JobState] = [.succeeded, .dead, .cancelled]
                if let state {
                    guard let parsed = JobState(rawValue: state), states.contains(parsed) else {
                        throw fail("--state must be succeeded, dead or cancelled")
                    }
                    states = [parsed]
                }
                guard olderThanHours >= 0 else { throw fail("--older-than-hours cannot be negative") }
                try await withPlaza(try common.load()) { plaza in
                    let cutoff = Date().addingTimeInterval(-Double(olderThanHours) * 3600)
                    let removed = try await plaza.queue.purge(states: states, finishedBefore: cutoff, caller: .system("cli"))
                    print("Deleted \(removed) finished jobs.")
                }
            }
        }
    }
}
