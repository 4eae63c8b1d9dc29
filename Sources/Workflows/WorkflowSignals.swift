import Foundation
import Jobs
import Logging
import PlazaKit
import SQLKit
import Storage

/// Signals between instances: a command one instance sends another (its parent, its children, or any
/// instance module code names). Each travels as a job queued in the sender's transaction, so it is sent
/// exactly when the sender's step commits, survives restarts, and is retried while the receiver is busy.
extension WorkflowEngine {
    static let signalJob = "workflows.signal"

    struct SignalJob: Codable, Sendable {
        var target: UUID
        var command: String
        var source: UUID
        var sourceVersion: Int
    }

    /// Sends `command` to `target` on behalf of the instance `source`, once the caller's transaction
    /// commits. The receiver takes it without a guard (no person sent it); its history names the sender.
    public func signal(_ command: String, to target: UUID, from source: UUID, in transaction: Transaction) async throws {
        let sender = try await instance(source, in: transaction)
        _ = try await instance(target, in: transaction)
        // Every call is a signal of its own, even two alike from an instance that has not moved between them.
        try await enqueue(
            SignalJob(target: target, command: command, source: source, sourceVersion: sender.version),
            uniqueKey: "workflow-signal:\(PlazaID.make(at: transaction.clock.now()))", in: transaction)
    }

    /// Queues the signals a transition declares, to the instances related to `id` now.
    func enqueue(_ signals: [SignalSpec], from id: UUID, version: Int, in transaction: Transaction) async throws {
        guard !signals.isEmpty else { return }
        for signal in signals {
            let targets: [UUID]
            switch signal.target {
            case .parent:
                let row = try await transaction.sql.raw("SELECT parent_id FROM workflow_instances WHERE id = \(bind: id)").first()
                targets = try row.flatMap { try $0.decode(column: "parent_id", as: UUID?.self) }.map { [$0] } ?? []
            case .children:
                targets = try await transaction.sql.raw(
                    """
                    SELECT id FROM workflow_instances WHERE parent_id = \(bind: id) AND cancelled_at IS NULL ORDER BY id
                    """
                ).all().map { try $0.decode(column: "id", as: UUID.self) }
            }
            for target in targets {
                let job = SignalJob(target: target, command: signal.command, source: id, sourceVersion: version)
                try await enqueue(job, uniqueKey: "workflow-signal:\(id):\(version):\(target):\(signal.command)", in: transaction)
            }
        }
    }

    private func enqueue(_ job: SignalJob, uniqueKey: String, in transaction: Transaction) async throws {
        _ = try await queue.enqueue(JobRequest(Self.signalJob, payload: job, maxAttempts: 10, uniqueKey: uniqueKey), in: transaction)
    }

    /// Delivers one signal. A receiver that is cancelled, or whose state does not take the command, ignores
    /// it; a version conflict (a person's command landed first) throws, and the job tries again.
    func deliver(_ job: SignalJob) async throws {
        try await store.transaction { transaction in
            let receiver = try await self.instance(job.target, in: transaction)
            guard receiver.cancelledAt == nil, receiver.allowedCommands.contains(job.command) else {
                Logger(label: "plaza.workflows").debug(
                    "a signal the receiver does not take now was ignored",
                    metadata: ["target": "\(job.target)", "command": "\(job.command)", "state": "\(receiver.state)"])
                return
            }
            let sender = try await self.instance(job.source, in: transaction)
            _ = try await self.send(
                job.command, to: job.target, expectedVersion: receiver.version,
                payload: .object(["source": .string(job.source.uuidString.lowercased()), "sourceDefinition": .string(sender.definition)]),
                comment: "signal from \(sender.definition)", caller: .system("workflow signal"), guarded: false, in: transaction)
        }
    }
}
