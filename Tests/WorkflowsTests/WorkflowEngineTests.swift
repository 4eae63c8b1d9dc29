import Foundation
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
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

func sampleEngine(_ store: Store) -> WorkflowEngine {
    var policy = RulePolicy()
    policy.allow("sample.request.handle", .participant)
    policy.allow("sample.request.cancel", .owner)
    let engine = WorkflowEngine(store: store, policy: policy)
    engine.register(sampleRequest)
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
            let engine = sampleEngine(store)
            let request = try await started(engine, store)
            #expect(request.state == "pending" && request.version == 1)
            #expect(request.allowedCommands == ["accept", "decline", "cancel"])
            try await engine.send("accept", to: request.id, expectedVersion: 1, payload: ["price": 120], comment: "On my way tomorrow", caller: provider)
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

    @Test("a command the state does not allow is a 409 naming the allowed ones; a stale version is a 409; the guard's refusal is a 403; an unknown instance a 404")
    func refusals() async throws {
        try await TestDatabase.withStore { store in
            let engine = sampleEngine(store)
            let request = try await started(engine, store)
            let early = await #expect(throws: PlazaError.self) { try await engine.send("complete", to: request.id, caller: provider) }
            #expect(early?.status == .conflict)
            #expect(early?.detail == "complete is not allowed when pending; allowed: accept, decline, cancel.")
            let stale = await #expect(throws: PlazaError.self) { try await engine.send("accept", to: request.id, expectedVersion: 7, caller: provider) }
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

    @Test("50 concurrent commands on one instance make exactly one transition; the others get 409 with the current state")
    func concurrentCommands() async throws {
        try await TestDatabase.withStore { store in
            let engine = sampleEngine(store)
            let request = try await started(engine, store)
            let provider = self.provider
            let outcomes = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        do {
                            try await engine.send(index.isMultiple(of: 2) ? "accept" : "decline", to: request.id, expectedVersion: 1, caller: provider)
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
