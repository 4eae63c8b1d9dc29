import Foundation
import Logging
import PlazaKit
import Synchronization

/// What a handler knows about the job it runs.
public struct JobContext: Sendable {
    public let job: JobRecord
    public let logger: Logger
    let queue: JobQueue
    let worker: String

    /// Holds the job for another lease (handlers that run longer than a lease call this periodically;
    /// the worker also does it on its own every third of a lease).
    public func extendLease() async throws {
        try await queue.extendLease(job, worker: worker)
    }
}

/// Job names and the code that runs them, filled by modules at start-up.
public final class JobRegistry: Sendable {
    public typealias Handler = @Sendable (JobRecord, JobContext) async throws -> Void
    private let handlers = Registry<Handler>("job")

    public init() {}

    /// Registers the handler for jobs named `name`, decoding their payload as `Payload`; a name registered
    /// before throws ``DuplicateName``.
    public func register<Payload: Decodable & Sendable>(
        _ name: String, payload: Payload.Type, owner: String = #fileID,
        handler: @escaping @Sendable (Payload, JobContext) async throws -> Void
    ) throws {
        try register(name, owner: owner) { job, context in
            let payload = try PlazaJSON.decoder().decode(Payload.self, from: Data(job.payload.utf8))
            try await handler(payload, context)
        }
    }

    /// Registers a handler that reads the raw job.
    public func register(_ name: String, owner: String = #fileID, handler: @escaping Handler) throws {
        try handlers.add(name, handler, owner: owner)
    }

    public func handler(for name: String) -> Handler? { handlers[name] }
    public var names: [String] { handlers.names.sorted() }
}

/// The error a job records when no handler knows its name.
struct UnknownJob: Error, CustomStringConvertible {
    let name: String
    var description: String { "no handler is registered for jobs named \(name)" }
}
