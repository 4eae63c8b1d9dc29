import Foundation
import Workflows

/// Two small workflows for the crash tests, shared by the tests and `workflow-peer` (a `plaza serve` that
/// hosts them): one whose activity can be made to hang — the moment to kill the server — and one whose
/// timer comes due while the server is down.
public enum CrashSample {
    public static let activity = WorkflowDefinition(
        name: "crash.activity", initial: "working", states: ["working", "done"], final: ["done"],
        transitions: [.init("finish", from: ["working"], to: "done", guard: WorkflowPolicy.operate)],
        startActivities: [
            ActivitySpec(
                "crash.step", retry: RetryPolicy(maxAttempts: 5, initialBackoff: .seconds(1), maxBackoff: .seconds(2), timeout: .seconds(600)))
        ])

    public static let timer = WorkflowDefinition(
        name: "crash.timer", initial: "waiting", states: ["waiting", "expired"], final: ["expired"],
        transitions: [.init("expire", from: ["waiting"], to: "expired", guard: WorkflowPolicy.operate)],
        startTimers: [TimerSpec("deadline", after: timerDelay, command: "expire")])

    /// Long enough that the server the test starts and kills right after the instance's start is surely dead
    /// before the timer is due, even on a loaded CI machine (at 3 s, a slow start once let it fire the timer).
    public static let timerDelay: Duration = .seconds(10)

    /// Registers both; the activity writes `<idempotency key> <attempt>` to `directory/attempts.log`, waits
    /// while `directory/hang` exists, then finishes its instance with its success.
    public static func install(on engine: WorkflowEngine, directory: String) throws {
        try engine.register(activity)
        try engine.register(timer)
        try engine.registerActivity("crash.step") { context in
            try record("\(context.idempotencyKey) \(context.attempt)\n", in: directory + "/attempts.log")
            while FileManager.default.fileExists(atPath: directory + "/hang") { try await Task.sleep(for: .milliseconds(50)) }
            context.then(send: "finish")
        }
    }

    /// Appends and syncs, so a line written just before a kill is there after it.
    static func record(_ line: String, in path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        let bytes = Array(line.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count, fsync(fd) == 0 else { throw POSIXError(.EIO) }
    }

    /// The lines `attempts.log` holds so far.
    public static func attempts(in directory: String) -> [String] {
        ((try? String(contentsOfFile: directory + "/attempts.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
