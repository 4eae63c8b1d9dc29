import Foundation
import PlazaKit

/// Where a job is in its life.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Waiting for its `runAt`.
    case pending
    /// Claimed by a worker whose lease has not expired.
    case running
    case succeeded
    /// Failed its last attempt (or its worker died on the last attempt); kept with the last error.
    case dead
    case cancelled
}

/// A job as stored: what to run, when, and how it went.
public struct JobRecord: Codable, Sendable, Equatable {
    public var id: UUID
    public var queue: String
    public var name: String
    public var payload: String
    public var priority: Int
    public var runAt: Date
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var uniqueKey: String?
    public var lockedBy: String?
    public var lockedUntil: Date?
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
}

extension JobRecord: APISchema {
    public static var schemaName: String { "Job" }
    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "queue": .text, "name": .text, "payload": .string(description: "The job's JSON payload, as text."),
                "priority": .integer(format: "int32"), "runAt": .dateTime,
                "state": .string(enumValues: JobState.allCases.map(\.rawValue)),
                "attempts": .integer(format: "int32"), "maxAttempts": .integer(format: "int32"),
                "uniqueKey": .nullable(.text), "lockedBy": .nullable(.text), "lockedUntil": .nullable(.dateTime),
                "lastError": .nullable(.text), "createdAt": .dateTime, "updatedAt": .dateTime,
                "finishedAt": .nullable(.dateTime),
            ],
            required: ["id", "queue", "name", "payload", "priority", "runAt", "state", "attempts", "maxAttempts", "createdAt", "updatedAt"])
    }
}

/// What to enqueue. `payload` is any `Encodable`; handlers decode it back.
public struct JobRequest: Sendable {
    public var name: String
    public var payload: String
    public var queue: String
    public var priority: Int
    /// When to run; `nil` means as soon as a worker is free.
    public var runAt: Date?
    public var maxAttempts: Int?
    /// Jobs with a unique key already in the table are dropped, not enqueued twice.
    public var uniqueKey: String?

    public init<Payload: Encodable>(
        _ name: String, payload: Payload, queue: String = "default", priority: Int = 0, runAt: Date? = nil,
        maxAttempts: Int? = nil, uniqueKey: String? = nil
    ) throws {
        self.name = name
        self.payload = String(decoding: try PlazaJSON.encoder().encode(payload), as: UTF8.self)
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }
}

/// Tuning for the queue and its workers.
public struct JobSettings: Sendable, Equatable {
    /// Jobs one worker runs at once.
    public var concurrency: Int
    /// How long a claimed job is held before another worker may take it over.
    public var lease: Duration
    /// How often an idle worker (and the outbox dispatcher) looks for work when nothing wakes it.
    public var pollInterval: Duration
    public var defaultMaxAttempts: Int
    /// First retry delay; each later one doubles, up to ``maxBackoff``, then full jitter picks 50–100% of it.
    public var baseBackoff: Duration
    public var maxBackoff: Duration
    /// Queues this instance works on.
    public var queues: [String]
    /// Finished jobs are deleted after this long.
    public var retention: Duration

    public init(
        concurrency: Int = 8, lease: Duration = .seconds(60), pollInterval: Duration = .seconds(1),
        defaultMaxAttempts: Int = 5, baseBackoff: Duration = .seconds(2), maxBackoff: Duration = .seconds(3600),
        queues: [String] = ["default"], retention: Duration = .seconds(7 * 86400)
    ) {
        self.concurrency = concurrency
        self.lease = lease
        self.pollInterval = pollInterval
        self.defaultMaxAttempts = defaultMaxAttempts
        self.baseBackoff = baseBackoff
        self.maxBackoff = maxBackoff
        self.queues = queues
        self.retention = retention
    }
}
