import Foundation
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
import Synchronization
import Testing

@testable import Workflows

/// `plaza workflows list|show|retry|reset|cancel` against a database the test fills and checks.
@Suite("plaza workflows", .enabled(if: FileManager.default.fileExists(atPath: PlazaProcess.binary.path), "build the plaza executable first"))
struct WorkflowCLITests {
    @Test("the console lists and shows instances, retries and resets a failed activity and cancels an instance; bad input is one line")
    func console() async throws {
        let shared = try await SharedDatabase.withCrashSample()
        do {
            try await Self.exercise(shared)
        } catch {
            await shared.close()
            throw error
        }
        await shared.close()
    }

    static func exercise(_ shared: SharedDatabase) async throws {
        let engine = shared.plaza.workflows
        try engine.register(
            WorkflowDefinition(
                name: "cli.sample", initial: "new", states: ["new", "sent", "done"], final: ["done"],
                transitions: [
                    .init(
                        "send", from: ["new"], to: "sent", guard: WorkflowPolicy.operate,
                        activities: [ActivitySpec("cli.call", retry: RetryPolicy(maxAttempts: 2))]),
                    .init("finish", from: ["sent"], to: "done", guard: WorkflowPolicy.operate),
                ]))
        let works = Mutex(false)
        try engine.registerActivity("cli.call") { _ in
            if !works.withLock({ $0 }) { throw ActivityFailure.permanent("the partner is closed") }
        }
        func plaza(_ arguments: String...) throws -> PlazaProcess.Output {
            try PlazaProcess.run(["workflows"] + arguments, environment: shared.settings)
        }
        let (failing, quiet) = try await shared.plaza.store.transaction { transaction in
            (
                try await engine.start("cli.sample", subject: "order:1", owner: nil, caller: .console("test"), in: transaction),
                try await engine.start("cli.sample", subject: "order:2", owner: nil, caller: .console("test"), in: transaction)
            )
        }
        try await engine.send("send", to: failing.id, comment: "by hand", caller: .console("test"))
        try await shared.plaza.runPendingWork()
        let activity = try #require(try await engine.activities(of: failing.id).first)
        #expect(activity.status == .failed)
        let (failingID, quietID, activityID) = (
            failing.id.uuidString.lowercased(), quiet.id.uuidString.lowercased(), activity.id.uuidString.lowercased()
        )

        let all = try plaza("list")
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains(failingID) && all.stdout.contains(quietID))
        #expect(all.stdout.contains("FAILED cli.call: the partner is closed"))
        let failed = try plaza("list", "--failed", "--definition", "cli.sample")
        #expect(failed.stdout.contains(failingID) && !failed.stdout.contains(quietID))
        #expect(try plaza("list", "--state", "done").stdout == "No workflow instances match.\n")

        let shown = try plaza("show", failingID)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("cli.sample \(failingID): sent, version 2"))
        #expect(shown.stdout.contains("\(activityID)  cli.call  failed  attempts 1/2"))
        #expect(shown.stdout.contains("2. ") && shown.stdout.contains("send  new → sent") && shown.stdout.contains("“by hand”"))

        let retried = try plaza("retry", activityID)
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout.contains("gets attempt 2"))
        try await shared.plaza.runPendingWork()
        #expect(try await engine.activities(of: failing.id).first?.attempts == 2, "the retry ran, and failed again")

        works.withLock { $0 = true }
        let reset = try plaza("reset", activityID)
        #expect(reset.stdout.contains("starts again with 2 attempts"), "\(reset.stderr)")
        try await shared.plaza.runPendingWork()
        #expect(try await engine.activities(of: failing.id).first?.status == .succeeded)
        let again = try plaza("reset", activityID)
        #expect(again.status != 0 && again.stderr.hasPrefix("plaza: ") && again.stderr.contains("succeeded"))
        #expect(again.stderr.split(separator: "\n").count == 1)

        let cancelled = try plaza("cancel", quietID, "--reason", "ordered twice")
        #expect(cancelled.stdout == "Cancelled cli.sample \(quietID) in new.\n", "\(cancelled.stderr)")
        #expect(try await engine.history(quiet.id).last?.comment == "ordered twice")
        let audit = try await shared.plaza.store.sql.raw(
            """
            SELECT request_id, actor_kind FROM \(ident: AuditLogTable.name) WHERE action = 'workflows.instance.cancel'
            """
        ).first()
        #expect(try audit?.decode(column: "request_id", as: String.self) == "console: workflows cancel")
        let twice = try plaza("cancel", quietID, "--reason", "again")
        #expect(twice.status != 0 && twice.stderr.contains("cancelled already"))

        let notAnID = try plaza("show", "nope")
        #expect(notAnID.status != 0 && notAnID.stderr == "plaza: nope is not an instance id (a UUID)\n")
        let unknown = try plaza("show", UUID().uuidString)
        #expect(unknown.status != 0 && unknown.stderr.contains("There is no workflow instance"))
        let noReason = try plaza("cancel", failingID, "--reason", " ")
        #expect(noReason.status != 0 && noReason.stderr.contains("reason"))
        #expect(try plaza("list", "--limit", "0").stderr == "plaza: --limit must be from 1 to 100\n")
    }
}
