import Foundation
import NIOCore
import NIOPosix
import Jobs
import Logging
import PlazaKit
import PlazaTesting
import Storage
import Synchronization
import Testing

@testable import Workflows

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Seed 003's campaign and its applications: closing the campaign closes the applications still open,
/// and an accepted application tells its campaign.
let sampleCampaign = WorkflowDefinition(
    name: "sample.campaign", initial: "open", states: ["open", "closed"], final: ["closed"],
    transitions: [
        .init("close", from: ["open"], to: "closed", guard: "sample.request.cancel", signals: [SignalSpec("close", to: .children)]),
        // Stays open: the step is only history.
        .init("application-accepted", from: ["open"], to: nil, guard: "sample.request.cancel"),
        .init("comment", from: ["open"], to: nil, guard: "sample.request.handle"),
    ])

let sampleApplication = WorkflowDefinition(
    name: "sample.application", initial: "submitted", states: ["submitted", "accepted", "closed"], final: ["accepted", "closed"],
    transitions: [
        .init(
            "accept", from: ["submitted"], to: "accepted", guard: "sample.request.cancel",
            signals: [SignalSpec("application-accepted", to: .parent)]),
        .init("close", from: ["submitted"], to: "closed", guard: "sample.request.cancel"),
    ])

@Suite("Workflow signals, stays, retries and diagrams")
struct WorkflowSignalTests {
    let brand = Caller(principal: Principal(id: UUID()))
    let creator = Caller(principal: Principal(id: UUID()))
    let operatorCaller = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.operator]))

    struct CampaignRig {
        let engine: WorkflowEngine
        let worker: JobWorker
        let store: Store

        init(_ store: Store) throws {
            let rig = try EngineRig(store)
            (engine, worker) = (rig.engine, rig.worker)
            try engine.register(sampleCampaign)
            try engine.register(sampleApplication)
            self.store = store
        }

        func start(_ name: String, owner: Caller, participants: [UUID] = [], parent: UUID? = nil) async throws -> WorkflowInstance {
            let engine = self.engine
            return try await store.transaction { transaction in
                try await engine.start(name, owner: owner.principal?.id, participants: participants, parent: parent, caller: owner, in: transaction)
            }
        }
    }

    @Test("a campaign that closes closes its open applications; an accepted application tells its campaign, which stays open")
    func parentAndChildren() async throws {
        try await TestDatabase.withStore { store in
            let rig = try CampaignRig(store)
            let campaign = try await rig.start("sample.campaign", owner: brand, participants: [creator.principal!.id])
            let first = try await rig.start("sample.application", owner: brand, parent: campaign.id)
            let second = try await rig.start("sample.application", owner: brand, parent: campaign.id)
            let third = try await rig.start("sample.application", owner: brand, parent: campaign.id)
            #expect(first.parentId == campaign.id)

            try await rig.engine.send("accept", to: first.id, caller: brand)
            _ = try await rig.worker.runDue()
            var parent = try await rig.engine.instance(campaign.id)
            #expect(parent.state == "open" && parent.version == 2)
            let told = try #require(try await rig.engine.history(campaign.id).last)
            #expect(told.command == "application-accepted" && told.from == "open" && told.to == "open" && told.actorId == nil)
            #expect(told.payload == ["source": .string(first.id.uuidString.lowercased()), "sourceDefinition": "sample.application"])
            #expect(told.comment == "signal from sample.application")

            // A person may say something without moving it: the step is history, the version moves.
            parent = try await rig.engine.send("comment", to: campaign.id, comment: "Looking for two more", caller: creator)
            #expect(parent.state == "open" && parent.version == 3)

            try await rig.engine.cancel(third.id, reason: "withdrawn", caller: operatorCaller)
            try await rig.engine.send("close", to: campaign.id, caller: brand)
            _ = try await rig.worker.runDue()
            #expect(try await rig.engine.instance(second.id).state == "closed", "the open application is closed by the signal")
            #expect(try await rig.engine.history(second.id).last?.comment == "signal from sample.campaign")
            #expect(try await rig.engine.instance(first.id).state == "accepted", "an accepted application does not take close: ignored")
            #expect(try await rig.engine.history(first.id).count == 2)
            #expect(try await rig.engine.instance(third.id).state == "submitted", "a cancelled child gets no signals")
            _ = try await rig.worker.runDue()
            #expect(try await rig.engine.history(second.id).count == 2, "each signal is delivered once")

            let missing = await #expect(throws: PlazaError.self) {
                try await rig.start("sample.application", owner: brand, parent: UUID())
            }
            #expect(missing?.status == .notFound)
        }
    }

    @Test("module code signals any instance once its transaction commits; a signal that lands while the receiver is busy waits for it")
    func signalFromCode() async throws {
        try await TestDatabase.withStore { store in
            let rig = try CampaignRig(store)
            let campaign = try await rig.start("sample.campaign", owner: brand)
            let application = try await rig.start("sample.application", owner: brand)
            let engine = rig.engine
            // Rolled back: nothing is sent.
            await #expect(throws: PlazaError.self) {
                try await store.transaction { transaction in
                    try await engine.signal("close", to: campaign.id, from: application.id, in: transaction)
                    throw PlazaError.conflict("changed my mind")
                }
            }
            _ = try await rig.worker.runDue()
            #expect(try await engine.instance(campaign.id).state == "open")
            try await store.transaction { transaction in
                try await engine.signal("close", to: campaign.id, from: application.id, in: transaction)
            }
            _ = try await rig.worker.runDue()
            #expect(try await engine.instance(campaign.id).state == "closed")
        }
    }

    @Test("retry gives a failed activity exactly one more attempt; reset gives it its policy's attempts again")
    func retryAndReset() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let flaky = Flaky(failures: 100)
            let rig = try Rig(store, confirm: flaky.handler)
            let (booking, failed) = try await rig.paidAndFailed(brand, clock: clock)
            var record = failed

            let retried = try await rig.engine.retryActivity(record.id, caller: operatorCaller)
            #expect(retried.status == .scheduled && retried.attempts == 3 && retried.maxAttempts == 4)
            _ = try await rig.worker.runDue()
            record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .failed && record.attempts == 4, "one attempt, and failed again at once")
            #expect(flaky.attempts == 4)

            let reset = try await rig.engine.resetActivity(record.id, caller: operatorCaller)
            #expect(reset.attempts == 0 && reset.maxAttempts == 3)
            _ = try await rig.worker.runDue()
            record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .scheduled && record.attempts == 1, "a reset activity backs off and tries again")
            let busy = await #expect(throws: PlazaError.self) { try await rig.engine.retryActivity(record.id, caller: operatorCaller) }
            #expect(busy?.status == .conflict)
        }
    }

    @Test(
        "an activity's follow-up commits with its success; one the instance no longer takes is dropped; a race runs the activity again; observers hear each commit"
    )
    func followUps() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let rig = try EngineRig(store)
            let engine = rig.engine
            try engine.register(
                WorkflowDefinition(
                    name: "sample.steps", initial: "a", states: ["a", "b", "c"], final: ["c"],
                    transitions: [
                        .init("advance", from: ["a"], to: "b", guard: "sample.request.cancel"),
                        .init("skip", from: ["a", "b"], to: "c", guard: "sample.request.cancel"),
                    ],
                    startActivities: [ActivitySpec("sample.step")]))
            final class Race: Sendable { let id = Mutex<UUID?>(nil); let runs = Mutex(0) }
            let race = Race()
            let brand = self.brand
            try engine.registerActivity("sample.step") { context in
                race.runs.withLock { $0 += 1 }
                // Someone moves the racing instance while its activity runs.
                if race.id.withLock({ $0 }) == context.instance.id, context.instance.state == "a" {
                    try await engine.send("skip", to: context.instance.id, caller: brand)
                }
                context.then(send: "advance", payload: ["result": 42])
            }
            let worker = rig.worker
            final class Seen: Sendable { let states = Mutex<[String]>([]) }
            let seen = Seen()
            engine.observe { instance in seen.states.withLock { $0.append("\(instance.definition):\(instance.state)") } }
            func start() async throws -> WorkflowInstance {
                try await store.transaction { try await engine.start("sample.steps", owner: brand.principal?.id, caller: brand, in: $0) }
            }

            let plain = try await start()
            _ = try await worker.runDue()
            #expect(try await engine.instance(plain.id).state == "b")
            let step = try #require(try await engine.history(plain.id).last)
            #expect(step.command == "advance" && step.actorId == nil && step.comment == "activity sample.step" && step.payload == ["result": 42])
            #expect(try await engine.activities(of: plain.id).first?.status == .succeeded)
            #expect(seen.states.withLock { $0 } == ["sample.steps:a", "sample.steps:b"])

            let moved = try await start()
            try await engine.send("skip", to: moved.id, caller: brand)
            _ = try await worker.runDue()
            #expect(try await engine.instance(moved.id).state == "c", "advance is not allowed in c: dropped")
            #expect(try await engine.activities(of: moved.id).first?.status == .succeeded)

            let racing = try await start()
            race.id.withLock { $0 = racing.id }
            let runsBefore = race.runs.withLock { $0 }
            _ = try await worker.runDue()
            #expect(try await engine.activities(of: racing.id).first?.status == .scheduled, "the success rolled back with the stale follow-up")
            clock.advance(by: 3600)
            _ = try await worker.runDue()
            #expect(race.runs.withLock { $0 } == runsBefore + 2, "the activity ran again")
            #expect(try await engine.activities(of: racing.id).first?.status == .succeeded)
            #expect(try await engine.history(racing.id).map(\.command) == ["start", "skip"])
        }
    }

    @Test("a serving process runs activities right after their transition commits, removing their claimed jobs with the step that records them")
    func inlineActivities() async throws {
        try await TestDatabase.withStore { store in
            let rig = try EngineRig(store)
            let (queue, engine) = (rig.queue, rig.engine)
            try engine.register(
                WorkflowDefinition(
                    name: "sample.chain", initial: "one", states: ["one", "two", "done"], final: ["done"],
                    transitions: [
                        .init("next", from: ["one"], to: "two", guard: "sample.request.cancel", activities: [ActivitySpec("sample.second")]),
                        .init("finish", from: ["two"], to: "done", guard: "sample.request.cancel"),
                    ],
                    startActivities: [ActivitySpec("sample.first")]))
            try engine.registerActivity("sample.first") { $0.then(send: "next") }
            try engine.registerActivity("sample.second") { $0.then(send: "finish") }
            engine.runActivitiesInline(worker: "inline-test", limit: 16)
            final class Done: Sendable { let ids = Mutex<Set<UUID>>([]) }
            let done = Done()
            engine.observe { instance in if instance.state == "done" { done.ids.withLock { _ = $0.insert(instance.id) } } }
            let brand = self.brand
            let instances = try await withThrowingTaskGroup(of: WorkflowInstance.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await store.transaction { try await engine.start("sample.chain", owner: brand.principal?.id, caller: brand, in: $0) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // No worker runs here: only the process that scheduled them.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, done.ids.withLock({ $0.count }) < 10 { try await Task.sleep(for: .milliseconds(20)) }
            for instance in instances {
                #expect(try await engine.instance(instance.id).state == "done")
                #expect(try await engine.history(instance.id).map(\.command) == ["start", "next", "finish"])
                #expect(try await engine.activities(of: instance.id).allSatisfy { $0.status == .succeeded && $0.attempts == 1 })
            }
            let jobs = try await queue.list(JobFilter(), page: PageRequest(limit: 100))
            // Each activity's job was written claimed (a lease against a crash) and is removed by the step that
            // records the activity's success: the activity's row is the record.
            #expect(jobs.items.isEmpty, "claimed at enqueue, removed with the step: \(jobs.items.map(\.state))")
        }
    }

    @Test("in process at most `limit` activities run; the rest wait in the queue; stopping waits for those running and records them")
    func inlineLimitAndDrain() async throws {
        try await TestDatabase.withStore { store in
            let rig = try EngineRig(store)
            let (queue, engine) = (rig.queue, rig.engine)
            try engine.register(
                WorkflowDefinition(
                    name: "sample.gated", initial: "open", states: ["open", "done"], final: ["done"],
                    transitions: [.init("finish", from: ["open"], to: "done", guard: "sample.request.cancel")],
                    startActivities: [ActivitySpec("sample.gate")]))
            final class Gate: Sendable { let open = Mutex(false); let entered = Mutex(0) }
            let gate = Gate()
            try engine.registerActivity("sample.gate") { context in
                gate.entered.withLock { $0 += 1 }
                while !gate.open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                context.then(send: "finish")
            }
            engine.runActivitiesInline(worker: "inline-test", limit: 2)
            let brand = self.brand
            let instances = try await withThrowingTaskGroup(of: WorkflowInstance.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await store.transaction { try await engine.start("sample.gated", owner: brand.principal?.id, caller: brand, in: $0) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for _ in 0..<200 where gate.entered.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(gate.entered.withLock { $0 } == 2, "two run in process")
            let jobs = try await queue.list(JobFilter(), page: PageRequest(limit: 100)).items
            #expect(jobs.filter { $0.state == .running && $0.lockedBy == "inline-test" }.count == 2)
            #expect(jobs.filter { $0.state == .pending }.count == 4, "the rest wait for a worker")

            // Stopping waits for the two running ones, and their results are recorded before it returns.
            let stopped = Task { await engine.stopRunningActivitiesInline() }
            try await Task.sleep(for: .milliseconds(100))
            gate.open.withLock { $0 = true }
            await stopped.value
            let done = try await withThrowingTaskGroup(of: String.self) { group in
                for instance in instances { group.addTask { try await engine.instance(instance.id).state } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(done.filter { $0 == "done" }.count == 2)
            // After the stop nothing runs in process: a worker runs the rest.
            let worker = rig.worker
            _ = try await worker.runDue()
            for instance in instances { #expect(try await engine.instance(instance.id).state == "done") }
            #expect(try await queue.list(JobFilter(), page: PageRequest(limit: 100)).items.allSatisfy { $0.state == .succeeded })
        }
    }

    @Test("an attempt past its timeout fails at once even when its code ignores cancellation", .timeLimit(.minutes(5)))
    func timeoutAbandons() async throws {
        try await TestDatabase.withStore { store in
            let rig = try EngineRig(store)
            let engine = rig.engine
            try engine.register(
                WorkflowDefinition(
                    name: "sample.slow", initial: "open", states: ["open", "done"], final: ["done"],
                    transitions: [.init("finish", from: ["open"], to: "done", guard: "sample.request.cancel")],
                    startActivities: [ActivitySpec("sample.stuck", retry: RetryPolicy(maxAttempts: 1, timeout: .milliseconds(200)))]))
            final class Gate: Sendable { let open = Mutex(false) }
            let gate = Gate()
            try engine.registerActivity("sample.stuck") { context in
                // Deaf to cancellation, without holding one of the (two, here) cooperative threads: a wait that
                // only a timer of an event loop ends.
                while !gate.open.withLock({ $0 }) {
                    await withCheckedContinuation { (resume: CheckedContinuation<Void, Never>) in
                        MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .milliseconds(2)) { resume.resume() }
                    }
                }
                context.then(send: "finish")
            }
            let worker = rig.worker
            let brand = self.brand
            let slow = try await store.transaction { try await engine.start("sample.slow", owner: brand.principal?.id, caller: brand, in: $0) }
            // The stuck code ends only when the gate opens, after this: that the run returns at all is the proof the
            // attempt was abandoned (30 s is ages past its 0.2 s timeout, however busy the machine).
            let ran = await withDeadline(.seconds(30)) { try await worker.runDue() }
            gate.open.withLock { $0 = true }
            guard case .finished(.success) = ran else {
                Issue.record("the run did not return within 30 s of an attempt with a 0.2 s timeout: \(ran)")
                return
            }
            let record = try #require(try await engine.activities(of: slow.id).first)
            #expect(record.status == .failed && record.lastError == "timed out after 0.2 seconds")
            // The abandoned attempt ends later and its follow-up is ignored.
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await engine.instance(slow.id).state == "open")
        }
    }

    @Test("a comment keeps the state's timers; leaving the state drops them")
    func staysKeepTimers() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let rig = try EngineRig(store)
            let engine = rig.engine
            try engine.register(
                WorkflowDefinition(
                    name: "sample.offer", initial: "open", states: ["open", "taken", "expired"], final: ["taken", "expired"],
                    transitions: [
                        .init("comment", from: ["open"], to: nil, guard: "sample.request.handle"),
                        .init("take", from: ["open"], to: "taken", guard: "sample.request.cancel"),
                        .init("expire", from: ["open"], to: "expired", guard: "sample.request.cancel"),
                    ],
                    startTimers: [TimerSpec("deadline", after: .seconds(60), command: "expire")]))
            let worker = rig.worker
            let (brand, creator) = (self.brand, self.creator)
            let offer = try await store.transaction {
                try await engine.start("sample.offer", owner: brand.principal?.id, participants: [creator.principal!.id], caller: brand, in: $0)
            }
            try await engine.send("comment", to: offer.id, comment: "Still open?", caller: creator)
            try await engine.send("comment", to: offer.id, comment: "Anyone?", caller: creator)
            let taken = try await store.transaction { try await engine.start("sample.offer", owner: brand.principal?.id, caller: brand, in: $0) }
            try await engine.send("take", to: taken.id, caller: brand)
            clock.advance(by: 61)
            _ = try await worker.runDue()
            #expect(try await engine.instance(offer.id).state == "expired")
            #expect(try await engine.history(offer.id).map(\.command) == ["start", "comment", "comment", "expire"])
            #expect(try await engine.instance(taken.id).state == "taken", "its timer was for a state it left")
        }
    }

    @Test("the SVG diagram is well-formed, draws every state and command, marks the current state and escapes names")
    func diagram() throws {
        let svg = sampleRequest.svg(highlighting: "accepted")
        final class Collector: NSObject, XMLParserDelegate, @unchecked Sendable {
            var texts: [String] = []
            var currentRects = 0
            var inText = false
            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]
            ) {
                inText = name == "text"
                if name == "g", attributes["class"] == "state current" { currentRects += 1 }
                if inText { texts.append("") }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inText { texts[texts.count - 1] += string } }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { inText = false }
        }
        let collector = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        #expect(parser.parse(), "well-formed: \(parser.parserError.map(String.init(describing:)) ?? "")")
        for state in sampleRequest.states { #expect(collector.texts.contains(state)) }
        #expect(collector.texts.contains("cancel"))
        for command in ["accept", "decline", "start", "complete"] { #expect(collector.texts.contains(command)) }
        #expect(collector.currentRects == 1)

        let odd = WorkflowDefinition(
            name: "odd", initial: "a<b", states: ["a<b", "c&d"], final: ["c&d"],
            transitions: [.init("go \"now\"", from: ["a<b"], to: "c&d", guard: "x"), .init("note", from: ["a<b"], to: nil, guard: "x")])
        let oddSVG = odd.svg()
        #expect(XMLParser(data: Data(oddSVG.utf8)).parse())
        #expect(oddSVG.contains("a&lt;b") && oddSVG.contains("c&amp;d") && oddSVG.contains("go &quot;now&quot;"))
        #expect(odd.mermaid.contains("a<b --> a<b: note"))
    }
}

/// An engine with a job queue, registry and worker of its own on a test database; the tests add definitions
/// and activities and drive the worker themselves.
struct EngineRig {
    let queue: JobQueue
    let engine: WorkflowEngine
    let worker: JobWorker

    init(_ store: Store) throws {
        queue = JobQueue(store: store)
        let registry = JobRegistry()
        engine = WorkflowEngine(store: store, policy: try samplePolicy(), queue: queue)
        try engine.register(in: registry)
        worker = JobWorker(queue: queue, registry: registry, logger: Logger(label: "workflows-test"))
    }
}
