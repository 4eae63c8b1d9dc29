import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// An instance of a lifecycle as the API shows it.
public struct WorkflowInstance: Codable, Sendable, Equatable {
    public var id: UUID
    public var definition: String
    public var state: String
    /// Starts at 1 and grows by one with each transition; send it back as `expectedVersion`.
    public var version: Int
    /// What the instance is about (`request:<id>`), for the module that owns it.
    public var subject: String?
    public var ownerId: UUID?
    /// The instance this one was started under; signals travel between the two.
    public var parentId: UUID?
    public var participantIds: [UUID]
    public var allowedCommands: [String]
    /// Set while an activity has failed for good (until it is retried or reset): `<activity>: <error>`.
    public var failure: String?
    /// Set when an operator cancelled the instance: it takes no more commands, its timers and pending
    /// activities are dropped.
    public var cancelledAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
}

/// One entry of an instance's history.
public struct WorkflowStep: Codable, Sendable, Equatable {
    public var version: Int
    public var at: Date
    public var actorId: UUID?
    public var from: String?
    public var to: String
    public var command: String
    public var payload: JSONValue?
    public var comment: String?
}

/// Starts instances, moves them by commands, and keeps their history.
public final class WorkflowEngine: Sendable {
    /// A command's comment (kept in the instance's history).
    public static let commentLimit = TextLimit.atMost(2000)
    /// Why an operator cancelled an instance.
    public static let reasonLimit = TextLimit(1...500)
    let store: Store
    let policy: any Policy
    let queue: JobQueue
    private let definitions = Registry<WorkflowDefinition>("workflow")
    let activityHandlers = Registry<ActivityHandler>("workflow activity")
    private let observers = Mutex<[@Sendable (WorkflowInstance) -> Void]>([])
    /// Activity successes waiting to be recorded together (see `WorkflowSuccesses.swift`).
    let successes: Batcher<ActivitySuccess>
    /// Activities run in this process (see `WorkflowInline.swift`).
    let inline = Mutex(InlineState())

    public init(store: Store, policy: any Policy, queue: JobQueue) {
        self.store = store
        self.policy = policy
        self.queue = queue
        // The batcher calls back into the engine, which does not exist yet: it finds it through a weak box.
        let engine = WeakEngine()
        successes = Batcher(maxBatch: Self.successBatch) { batch in
            guard let engine = engine.value.withLock({ $0.engine }) else { return batch.map { _ in CancellationError() } }
            return await engine.record(batch)
        }
        engine.value.withLock { $0.engine = self }
    }

    private final class WeakEngine: Sendable {
        struct Reference { weak var engine: WorkflowEngine? }
        let value = Mutex(Reference())
    }

    /// Registers a definition; a name registered before throws ``DuplicateName``.
    public func register(_ definition: WorkflowDefinition, owner: String = #fileID) throws {
        try definitions.add(definition.name, definition, owner: owner)
    }

    public func definition(_ name: String) -> WorkflowDefinition? { definitions[name] }

    /// Calls `observer` in this process after every start and transition commits, with the instance as it
    /// now is (for live views; other processes learn of it from their own reads).
    public func observe(_ observer: @escaping @Sendable (WorkflowInstance) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    private func announce(_ instance: WorkflowInstance, after transaction: Transaction) {
        transaction.onCommit { [self] in announce(instance) }
    }

    /// Tells the observers, now (after a commit).
    func announce(_ instance: WorkflowInstance) {
        for observer in observers.withLock({ $0 }) { observer(instance) }
    }

    /// Every registered definition's name, sorted.
    public var definitionNames: [String] { definitions.names.sorted() }

    /// Starts an instance in its definition's initial state, in the caller's transaction; `parent` relates
    /// it to another instance (a campaign's application) for signals.
    public func start(
        _ name: String, subject: String? = nil, owner: UUID?, participants: [UUID] = [], parent: UUID? = nil, payload: JSONValue? = nil,
        caller: Caller, in transaction: Transaction
    ) async throws -> WorkflowInstance {
        guard let definition = definition(name) else { throw PlazaError.notFound("There is no workflow \(name).") }
        if let parent { _ = try await instance(parent, in: transaction) }
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        let insert: SQLQueryString = """
            INSERT INTO workflow_instances (id, definition, state, version, subject, owner_id, parent_id, participants, created_at, updated_at)
            VALUES (\(bind: id), \(bind: name), \(bind: definition.initial), 1, \(bind: subject), \(bind: owner), \(bind: parent),
                    \(bind: try Self.encode(participants)), \(bind: now), \(bind: now))
            """
        let step = try Self.stepInsert(
            id,
            WorkflowStep(
                version: 1, at: now, actorId: caller.principal?.id, from: nil, to: definition.initial, command: "start",
                payload: payload, comment: nil))
        let started = WorkflowInstance(
            id: id, definition: name, state: definition.initial, version: 1, subject: subject, ownerId: owner, parentId: parent,
            participantIds: participants, allowedCommands: definition.commands(in: definition.initial), failure: nil, cancelledAt: nil,
            createdAt: now, updatedAt: now)
        // The instance, its first step, its activities and their jobs: one round trip on PostgreSQL.
        try await schedule(
            [Entry(activities: definition.startActivities, timers: definition.startTimers, signals: [], instance: started)],
            after: [insert, step], in: transaction)
        announce(started, after: transaction)
        return started
    }

    /// Sends a command, in a transaction of its own.
    @discardableResult
    public func send(
        _ command: String, to id: UUID, expectedVersion: Int? = nil, payload: JSONValue? = nil, comment: String? = nil, caller: Caller
    ) async throws -> WorkflowInstance {
        try await store.transaction { transaction in
            try await self.send(
                command, to: id, expectedVersion: expectedVersion, payload: payload, comment: comment, caller: caller, in: transaction)
        }
    }

    /// Sends a command in the caller's transaction (with the domain change it belongs to). Exactly one of
    /// several concurrent commands moves the instance; the others get 409 with its current state.
    public func send(
        _ command: String, to id: UUID, expectedVersion: Int? = nil, payload: JSONValue? = nil, comment: String? = nil, caller: Caller,
        in transaction: Transaction
    ) async throws -> WorkflowInstance {
        try await send(
            command, to: id, expectedVersion: expectedVersion, payload: payload, comment: comment, caller: caller, guarded: true, in: transaction)
    }

    /// `guarded: false` is for the engine's own commands (timers, signals, activities' follow-ups), which no
    /// person sends; `current` is the instance as the caller read it in this transaction, if it did.
    func send(
        _ command: String, to id: UUID, expectedVersion: Int?, payload: JSONValue?, comment: String?, caller: Caller, guarded: Bool,
        current: WorkflowInstance? = nil, in transaction: Transaction
    ) async throws -> WorkflowInstance {
        let current = if let current { current } else { try await instance(id, in: transaction) }
        guard let definition = definition(current.definition) else { throw PlazaError.notFound("There is no workflow \(current.definition).") }
        if let expectedVersion, expectedVersion != current.version {
            throw Self.conflict("The instance changed: it is at version \(current.version), \(current.state).", current)
        }
        guard current.cancelledAt == nil else { throw Self.conflict("The instance was cancelled and takes no more commands.", current) }
        guard let transition = definition.transition(command, from: current.state) else {
            let allowed = current.allowedCommands
            throw Self.conflict(
                allowed.isEmpty
                    ? "The instance is \(current.state) and takes no more commands."
                    : "\(command) is not allowed when \(current.state); allowed: \(allowed.joined(separator: ", ")).", current)
        }
        if guarded {
            try policy.authorize(caller, transition.guardAction, ResourceFacts(ownerID: current.ownerId, participantIDs: Set(current.participantIds)))
        }
        try comment.map { try Self.commentLimit.require($0, field: "comment") }
        let now = transaction.clock.now()
        let target = transition.target(from: current.state)
        // The version in the WHERE is the check: a concurrent winner has moved it on, and this updates nothing.
        let moved = try await transaction.sql.raw(
            """
            UPDATE workflow_instances SET state = \(bind: target), version = version + 1, updated_at = \(bind: now)
            WHERE id = \(bind: id) AND version = \(bind: current.version) RETURNING version
            """
        ).first()
        guard moved != nil else {
            throw Self.conflict("Another command moved the instance first.", try await instance(id, in: transaction))
        }
        let step = try Self.stepInsert(
            id,
            WorkflowStep(
                version: current.version + 1, at: now, actorId: caller.principal?.id, from: current.state, to: target,
                command: command, payload: payload, comment: comment))
        var next = current
        next.state = target
        next.version = current.version + 1
        next.updatedAt = now
        next.allowedCommands = definition.commands(in: target)
        if transition.to == nil { try await carryTimers(of: id, from: current.version, to: next.version, in: transaction) }
        // The step goes with what the new state starts: one round trip on PostgreSQL.
        try await schedule(
            [Entry(activities: transition.activities, timers: transition.timers, signals: transition.signals, instance: next)],
            after: [step], in: transaction)
        announce(next, after: transaction)
        return next
    }

    /// Adds someone to an instance's participants in the caller's transaction (a provider who takes an open
    /// request), so the guards that admit participants admit them from now on. The history says nothing:
    /// the command they send next is the step.
    public func addParticipant(_ user: UUID, to id: UUID, in transaction: Transaction) async throws {
        let current = try await instance(id, in: transaction)
        guard !current.participantIds.contains(user) else { return }
        try await transaction.sql.raw(
            """
            UPDATE workflow_instances SET participants = \(bind: try Self.encode(current.participantIds + [user])) WHERE id = \(bind: id)
            """
        ).run()
    }

    static func conflict(_ detail: String, _ instance: WorkflowInstance) -> PlazaError {
        PlazaError(
            .conflict, code: "workflow-conflict", title: "Conflict", detail: detail,
            errors: [FieldError(field: "state", message: instance.state), FieldError(field: "version", message: String(instance.version))]
                + instance.allowedCommands.map { FieldError(field: "allowedCommands", message: $0) })
    }

    private static func stepInsert(_ id: UUID, _ step: WorkflowStep) throws -> SQLQueryString {
        """
        INSERT INTO workflow_history (instance_id, version, at, actor_id, from_state, to_state, command, payload, comment)
        VALUES (\(bind: id), \(bind: step.version), \(bind: step.at), \(bind: step.actorId), \(bind: step.from), \(bind: step.to),
                \(bind: step.command), \(bind: try step.payload.map(Self.encode)), \(bind: step.comment))
        """
    }

    // MARK: Reading

    public func instance(_ id: UUID) async throws -> WorkflowInstance {
        guard let row = try await store.sql.raw("SELECT * FROM workflow_instances WHERE id = \(bind: id)").first() else {
            throw Self.missing(id)
        }
        return try instance(row)
    }

    func instance(_ id: UUID, in transaction: Transaction) async throws -> WorkflowInstance {
        guard let row = try await transaction.sql.raw("SELECT * FROM workflow_instances WHERE id = \(bind: id)").first() else {
            throw Self.missing(id)
        }
        return try instance(row)
    }

    static func missing(_ id: UUID) -> PlazaError { PlazaError.notFound("There is no workflow instance \(id).") }

    /// An instance from its row (`SELECT *`).
    func instance(_ row: any SQLRow) throws -> WorkflowInstance {
        let name = try row.decode(column: "definition", as: String.self)
        let state = try row.decode(column: "state", as: String.self)
        let cancelledAt = try row.decode(column: "cancelled_at", as: Date?.self)
        return WorkflowInstance(
            id: try row.decode(column: "id", as: UUID.self), definition: name, state: state, version: try row.decode(column: "version", as: Int.self),
            subject: try row.decode(column: "subject", as: String?.self), ownerId: try row.decode(column: "owner_id", as: UUID?.self),
            parentId: try row.decode(column: "parent_id", as: UUID?.self),
            participantIds: try PlazaJSON.decoder().decode([UUID].self, from: Data(try row.decode(column: "participants", as: String.self).utf8)),
            allowedCommands: cancelledAt == nil ? definition(name)?.commands(in: state) ?? [] : [],
            failure: try row.decode(column: "failure", as: String?.self), cancelledAt: cancelledAt,
            createdAt: try row.decode(column: "created_at", as: Date.self), updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    /// Every step of an instance, oldest first.
    public func history(_ id: UUID) async throws -> [WorkflowStep] {
        try await store.sql.raw("SELECT * FROM workflow_history WHERE instance_id = \(bind: id) ORDER BY version").all().map { row in
            WorkflowStep(
                version: try row.decode(column: "version", as: Int.self), at: try row.decode(column: "at", as: Date.self),
                actorId: try row.decode(column: "actor_id", as: UUID?.self), from: try row.decode(column: "from_state", as: String?.self),
                to: try row.decode(column: "to_state", as: String.self), command: try row.decode(column: "command", as: String.self),
                payload: try row.decode(column: "payload", as: String?.self).map {
                    try PlazaJSON.decoder().decode(JSONValue.self, from: Data($0.utf8))
                },
                comment: try row.decode(column: "comment", as: String?.self))
        }
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try PlazaJSON.encoder().encode(value), as: UTF8.self)
    }
}
