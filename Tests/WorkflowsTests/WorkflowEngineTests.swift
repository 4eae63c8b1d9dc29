import Foundation
import Jobs
import Logging
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
import Synchronization
import Testing

@testable import Workflows

/// A service request as the marketplace will run it: the customer owns it, the provider takes part.
let sampleRequest = WorkflowDefinition(
    name: "sample.request", initial: "pending",
    states: ["pending", "accepted", "declined", "in_progress", "completed", "cancelled"],
    final: ["declined", "completed", "cancelled"],
    transitions: [
        .init("accept", from: ["pending"], to: "accepted", guard: "sample.request.handle"),
        .init("decline", from: ["pending"], to: "declined", guard: "sample.request.handle"),
        .init("start", from: ["accepted"], to: "in_progress", guard: "sample.request.handle"),
        .init("complete", from: ["in_progress"], to: "completed", guard: "sample.request.handle"),
        .init("cancel", from: ["pending", "accepted"], to: "cancelled", guard: "sample.request.cancel"),
    ])

func samplePolicy() throws -> RulePolicy {
    var policy = RulePolicy()
    policy.allow("sample.request.handle", .participant)
    policy.allow("sample.request.cancel", .owner)
    try policy.merge(WorkflowPolicy.rules)
    return policy
}

func sampleEngine(_ store: Store) throws -> WorkflowEngine {
    let engine = WorkflowEngine(store: store, policy: try samplePolicy(), queue: JobQueue(store: store))
    try engine.register(sampleRequest)
    return engine
}

@Suite("Workflow engine")
struct WorkflowEngineTests {
    let customer = Caller(principal: Principal(id: UUID()))
    let provider = Caller(principal: Principal(id: UUID()))
    let stranger = Caller(principal: Principal(id: UUID()))

    func started(_ engine: WorkflowEngine, _ store: Store) async throws -> WorkflowInstance {
        let (customer, provider) = (self.customer, self.provider)
        return try await store.transaction { transaction in
            try await engine.start(
                "sample.request", subject: "request:1", owner: customer.principal!.id, participants: [provider.principal!.id],
                payload: ["description": "fix the sink"], caller: customer, in: transaction)
        }
    }

    @Test("commands move an instance through its states; the history lists every step in order with who, what and why")
    func lifecycle() async throws {
        try await TestDatabase.withStore { store in
            let engine = try sampleEngine(store)
            let request = try await started(engine, store)
            #expect(request.state == "pending" && request.version == 1)
            #expect(request.allowedCommands == ["accept", "decline", "cancel"])
            try await engine.send(
                "accept", to: request.id, expectedVersion: 1, payload: ["price": 120], comment: "On my way tomorrow", caller: provider)
            try await engine.send("start", to: request.id, caller: provider)
            let done = try await engine.send("complete", to: request.id, caller: provider)
            #expect(done.state == "completed" && done.version == 4 && done.allowedCommands.isEmpty)

            let history = try await engine.history(request.id)
            #expect(history.map(\.command) == ["start", "accept", "start", "complete"])
            #expect(history.map(\.to) == ["pending", "accepted", "in_progress", "completed"])
            #expect(history.map(\.from) == [nil, "pending", "accepted", "in_progress"])
            #expect(history.map(\.version) == [1, 2, 3, 4])
            #expect(history[0].actorId == customer.principal?.id && history[1].actorId == provider.principal?.id)
            #expect(history[1].payload == ["price": 120] && history[1].comment == "On my way tomorrow")
            #expect(sampleRequest.mermaid.contains("pending --> accepted: accept"))
        }
    }

    @Test(
        "a command the state does not allow is a 409 naming the allowed ones; a stale version is a 409; the guard's refusal is a 403; an unknown instance a 404"
    )
    func refusals() async throws {
        try await TestDatabase.withStore { store in
            let engine = try sampleEngine(store)
            let request = try await started(engine, store)
            let early = await #expect(throws: PlazaError.self) { try await engine.send("complete", to: request.id, caller: provider) }
            #expect(early?.status == .conflict)
            #expect(early?.detail == "complete is not allowed when pending; allowed: accept, decline, cancel.")
            let stale = await #expect(throws: PlazaError.self) {
                try await engine.send("accept", to: request.id, expectedVersion: 7, caller: provider)
            }
            #expect(stale?.status == .conflict)
            let refused = await #expect(throws: PlazaError.self) { try await engine.send("accept", to: request.id, caller: stranger) }
            #expect(refused?.status == .forbidden)
            let notTheirs = await #expect(throws: PlazaError.self) { try await engine.send("cancel", to: request.id, caller: provider) }
            #expect(notTheirs?.status == .forbidden, "only the owner cancels")
            let missing = await #expect(throws: PlazaError.self) { try await engine.send("accept", to: UUID(), caller: provider) }
            #expect(missing?.status == .notFound)
            try await engine.send("cancel", to: request.id, caller: customer)
            let finished = await #expect(throws: PlazaError.self) { try await engine.send("accept", to: request.id, caller: provider) }
            #expect(finished?.detail == "The instance is cancelled and takes no more commands.")
            #expect(try await engine.history(request.id).count == 2, "refused commands leave no trace")
        }
    }

    @Test(
        "starts made outside any transaction, side by side, are each whole — instance, first step, start activity — and a start that cannot be made is refused alone"
    )
    func startsOfTheirOwn() async throws {
        try await TestDatabase.withStore { store in
            let rig = try EngineRig(store)
            try rig.engine.register(
                WorkflowDefinition(
                    name: "sample.greeted", initial: "new", states: ["new"], final: [], transitions: [],
                    startActivities: [ActivitySpec("sample.greet")]))
            let greeted = Mutex<Set<Int>>([])
            try rig.engine.registerActivity("sample.greet") { context in
                guard case .object(let payload) = try await rig.engine.history(context.instance.id).first?.payload,
                    case .number(let number) = payload["n"]
                else { return }
                greeted.withLock { _ = $0.insert(Int(number)) }
            }
            let customer = self.customer
            let engine = rig.engine
            let outcomes = await withTaskGroup(of: (Int, Result<WorkflowInstance, any Error>).self) { group in
                for index in 0..<42 {
                    group.addTask {
                        let name = index == 40 ? "sample.unknown" : "sample.greeted"
                        let parent = index == 41 ? UUID() : nil
                        do {
                            return (
                                index,
                                .success(
                                    try await engine.start(
                                        name, owner: customer.principal!.id, parent: parent, payload: ["n": .number(Double(index))], caller: customer)
                                )
                            )
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<WorkflowInstance, any Error>]()) { $0[$1.0] = $1.1 }
            }
            for refused in [40, 41] {
                guard case .failure(let error) = outcomes[refused] else { Issue.record("start \(refused) was made"); continue }
                #expect((error as? PlazaError)?.status == .notFound)
            }
            let started = try (0..<40).map { try #require(try outcomes[$0]?.get()) }
            #expect(Set(started.map(\.id)).count == 40)
            for (index, instance) in started.enumerated() {
                let stored = try await engine.instance(instance.id)
                #expect(stored.state == "new" && stored.version == 1 && stored.ownerId == customer.principal?.id)
                let history = try await engine.history(instance.id)
                #expect(history.map(\.command) == ["start"] && history.first?.payload == ["n": .number(Double(index))])
                #expect(try await engine.activities(of: instance.id).map(\.name) == ["sample.greet"])
            }
            while try await rig.worker.runDue() > 0 {}
            #expect(greeted.withLock { $0 } == Set(0..<40))
        }
    }

    @Test("50 concurrent commands on one instance make exactly one transition; the others get 409 with the current state")
    func concurrentCommands() async throws {
        try await TestDatabase.withStore { store in
            let engine = try sampleEngine(store)
            let request = try await started(engine, store)
            let provider = self.provider
            let outcomes = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            try await engine.send(
                                index.isMultiple(of: 2) ? "accept" : "decline", to: request.id, expectedVersion: 1, caller: provider)
                            return 200
                        } catch let error as PlazaError {
                            return Int(error.status.code)
                        }
                    }
                }
                var outcomes: [Int] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 == 200 }.count == 1)
            #expect(outcomes.filter { $0 == 409 }.count == 49)
            let history = try await engine.history(request.id)
            #expect(history.count == 2)
            #expect(try await engine.instance(request.id).version == 2)
        }
    }
}

/// A booking held for 15 minutes unless paid, whose confirmation e-mail is an activity that may fail.
let sampleBooking = WorkflowDefinition(
    name: "sample.booking", initial: "held",
    states: ["held", "paid", "released"], final: ["released"],
    transitions: [
        .init(
            "pay", from: ["held"], to: "paid", guard: "sample.request.cancel",
            activities: [
                ActivitySpec(
                    "sample.confirm", retry: RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(10), maxBackoff: .seconds(60), timeout: .seconds(5))
                )
            ]),
        .init("release", from: ["held", "paid"], to: "released", guard: "sample.request.cancel"),
    ],
    startTimers: [TimerSpec("hold", after: .seconds(900), command: "release")])

/// An engine with its own job queue and worker on a test database, driven by hand.
struct Rig {
    let store: Store
    let engine: WorkflowEngine
    let worker: JobWorker

    init(_ store: Store, confirm: @escaping ActivityHandler) throws {
        let rig = try EngineRig(store)
        (engine, worker) = (rig.engine, rig.worker)
        try engine.register(sampleBooking)
        try engine.registerActivity("sample.confirm", confirm)
        self.store = store
    }

    func book(_ caller: Caller) async throws -> WorkflowInstance {
        let engine = self.engine
        return try await store.transaction { transaction in
            try await engine.start("sample.booking", owner: caller.principal?.id, caller: caller, in: transaction)
        }
    }

    /// A paid booking whose confirmation has failed all three of its attempts.
    func paidAndFailed(_ caller: Caller, clock: ManualClock) async throws -> (WorkflowInstance, ActivityRecord) {
        let booking = try await book(caller)
        try await engine.send("pay", to: booking.id, caller: caller)
        for _ in 0..<3 {
            _ = try await worker.runDue()
            clock.advance(by: 60)
        }
        let record = try #require(try await engine.activities(of: booking.id).first)
        #expect(record.status == .failed && record.attempts == 3)
        return (booking, record)
    }
}

/// Counts attempts and fails the first `failures` of them.
final class Flaky: Sendable {
    private let state: Mutex<(attempts: Int, failures: Int, keys: Set<String>)>
    init(failures: Int) { state = Mutex((0, failures, [])) }
    var attempts: Int { state.withLock { $0.attempts } }
    var keys: Set<String> { state.withLock { $0.keys } }
    func succeedFromNowOn() { state.withLock { $0.failures = 0 } }

    var handler: ActivityHandler {
        { [self] context in
            let fail = state.withLock { state -> Bool in
                state.attempts += 1
                state.keys.insert(context.idempotencyKey)
                return state.attempts <= state.failures
            }
            if fail { throw FlakyError() }
        }
    }
    struct FlakyError: Error, CustomStringConvertible { var description: String { "the mail server said no" } }
}

@Suite("Workflow activities and timers")
struct WorkflowActivityTests {
    let guest = Caller(principal: Principal(id: UUID()))
    let operatorCaller = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.operator]))

    @Test("a flaky activity is retried with backoff and succeeds; every attempt has the same idempotency key")
    func retried() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let flaky = Flaky(failures: 2)
            let rig = try Rig(store, confirm: flaky.handler)
            let booking = try await rig.book(guest)
            try await rig.engine.send("pay", to: booking.id, caller: guest)
            _ = try await rig.worker.runDue()
            var record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .scheduled && record.attempts == 1 && record.lastError == "the mail server said no")
            // The second attempt waits 10 s, the third 20 s.
            #expect(record.nextAttemptAt == clock.now().addingTimeInterval(10))
            _ = try await rig.worker.runDue()
            #expect(flaky.attempts == 1, "not before its time")
            clock.advance(by: 10)
            _ = try await rig.worker.runDue()
            record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.attempts == 2 && record.nextAttemptAt == clock.now().addingTimeInterval(20))
            clock.advance(by: 20)
            _ = try await rig.worker.runDue()
            record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .succeeded && record.attempts == 3)
            #expect(flaky.keys.count == 1)
            #expect(try await rig.engine.instance(booking.id).failure == nil)
        }
    }

    @Test("after its last attempt the activity fails visibly; reset through the engine, it completes")
    func failedThenReset() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let flaky = Flaky(failures: 100)
            let rig = try Rig(store, confirm: flaky.handler)
            let (booking, failed) = try await rig.paidAndFailed(guest, clock: clock)
            var record = failed
            #expect(try await rig.engine.instance(booking.id).failure == "sample.confirm: the mail server said no")
            _ = try await rig.worker.runDue()
            #expect(flaky.attempts == 3, "a failed activity is not run again by itself")

            let refused = await #expect(throws: PlazaError.self) { try await rig.engine.resetActivity(record.id, caller: guest) }
            #expect(refused?.status == .forbidden)
            flaky.succeedFromNowOn()
            try await rig.engine.resetActivity(record.id, caller: operatorCaller)
            #expect(try await rig.engine.instance(booking.id).failure == nil)
            _ = try await rig.worker.runDue()
            record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .succeeded && record.attempts == 1)
            let again = await #expect(throws: PlazaError.self) { try await rig.engine.resetActivity(record.id, caller: operatorCaller) }
            #expect(again?.status == .conflict)
        }
    }

    @Test("a timer survives a restart and fires once; one set in a state left earlier does nothing")
    func timers() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let first = try Rig(store, confirm: Flaky(failures: 0).handler)
            let unpaid = try await first.book(guest)
            let paid = try await first.book(guest)
            try await first.engine.send("pay", to: paid.id, caller: guest)
            // "Restart": a new engine, queue and worker on the same database.
            let second = try Rig(store, confirm: Flaky(failures: 0).handler)
            _ = try await second.worker.runDue()
            #expect(try await second.engine.instance(unpaid.id).state == "held", "not before its time")
            clock.advance(by: 901)
            _ = try await second.worker.runDue()
            _ = try await second.worker.runDue()
            #expect(try await second.engine.instance(unpaid.id).state == "released")
            let steps = try await second.engine.history(unpaid.id)
            #expect(steps.map(\.command) == ["start", "release"])
            #expect(steps.last?.actorId == nil && steps.last?.comment == "timer hold")
            #expect(try await second.engine.instance(paid.id).state == "paid", "the paid booking's hold timer was for a state it left")
        }
    }
}
