import Foundation
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
import Testing

@testable import Workflows

/// Crash safety with a real server: `workflow-peer` (a `plaza serve` hosting PlazaTesting's CrashSample) is
/// killed with SIGKILL in the middle of an activity, or while a timer comes due, and started again on the
/// same database. The test reads the database through a Plaza of its own that runs no workers.
@Suite(
    "Workflows survive a killed server", .timeLimit(.minutes(5)),
    .enabled(
        if: FileManager.default.fileExists(atPath: ServerProcess.binary.deletingLastPathComponent().appendingPathComponent("workflow-peer").path)))
struct WorkflowCrashTests {
    static func waitFor(_ what: String, within limit: Duration = .seconds(40), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test("killed in the middle of an activity, the restarted server runs it again with the same idempotency key, and the instance completes")
    func killedDuringActivity() async throws {
        let shared = try await SharedDatabase.withCrashSample()
        do {
            FileManager.default.createFile(atPath: shared.directory + "/hang", contents: nil)
            let first = try await shared.peer()
            let instance = try await shared.start("crash.activity")
            try await Self.waitFor("the first attempt") { CrashSample.attempts(in: shared.directory).count == 1 }
            first.kill()
            let cut = try #require(try await shared.plaza.workflows.activities(of: instance.id).first)
            #expect(cut.status == .scheduled && cut.attempts == 0, "an attempt cut short by the kill is not counted")

            try FileManager.default.removeItem(atPath: shared.directory + "/hang")
            let second = try await shared.peer()
            defer { second.stop() }
            try await Self.waitFor("the instance to finish") { try await shared.plaza.workflows.instance(instance.id).state == "done" }
            let attempts = CrashSample.attempts(in: shared.directory)
            #expect(attempts.count == 2)
            #expect(Set(attempts.map { $0.split(separator: " ")[0] }).count == 1, "one idempotency key for both attempts: \(attempts)")
            #expect(attempts.allSatisfy { $0.hasSuffix(" 1") }, "the attempt the kill cut short is not counted: \(attempts)")
            try await Self.waitFor("the activity to be marked") {
                try await shared.plaza.workflows.activities(of: instance.id).first?.status == .succeeded
            }
            #expect(try await shared.plaza.workflows.history(instance.id).map(\.command) == ["start", "finish"])
        } catch {
            await shared.close()
            throw error
        }
        await shared.close()
    }

    @Test("a timer that came due while the server was down fires once after the restart")
    func timerDueWhileDown() async throws {
        let shared = try await SharedDatabase.withCrashSample()
        do {
            // Started before any server runs: with a server writing to the same SQLite file, a start has waited
            // for the file's lock for as long as 8 s on a loaded machine, and the timer came due before the kill.
            let started = ContinuousClock.now
            let instance = try await shared.start("crash.timer")
            let committed = ContinuousClock.now // the timer is due at most `timerDelay` after this
            let first = try await shared.peer() // a server runs, with the timer set and not yet due
            first.kill()
            try #require(started.duration(to: .now) < CrashSample.timerDelay - .seconds(1), "the server died before the timer was due")
            try await Task.sleep(until: committed + CrashSample.timerDelay + .seconds(1)) // past the timer, with nobody running
            #expect(try await shared.plaza.workflows.instance(instance.id).state == "waiting")
            let second = try await shared.peer()
            try await Self.waitFor("the timer") { try await shared.plaza.workflows.instance(instance.id).state == "expired" }
            // Another restart: nothing fires twice.
            second.kill()
            let third = try await shared.peer()
            defer { third.stop() }
            try await Task.sleep(for: .seconds(2))
            let history = try await shared.plaza.workflows.history(instance.id)
            #expect(history.map(\.command) == ["start", "expire"])
            #expect(history.last?.comment == "timer deadline")
        } catch {
            await shared.close()
            throw error
        }
        await shared.close()
    }
}

/// The shared database of the workflow crash tests: `workflow-peer` hosts CrashSample's workflows on it.
extension SharedDatabase {
    static func withCrashSample() async throws -> SharedDatabase {
        // A short lease: a job whose worker was killed is taken again after 5 s, not a minute.
        let shared = try await SharedDatabase.make(settings: ["PLAZA_JOBS_LEASE_SECONDS": "5"])
        try CrashSample.install(on: shared.plaza.workflows, directory: shared.directory)
        return shared
    }

    func start(_ definition: String) async throws -> WorkflowInstance {
        try await plaza.store.transaction { transaction in
            try await plaza.workflows.start(definition, owner: nil, caller: .console("crash test"), in: transaction)
        }
    }

    func peer() async throws -> ServerProcess {
        try await ServerProcess(settings: settings.merging(["WORKFLOW_PEER_DIR": directory]) { $1 }, executable: "workflow-peer")
    }
}
