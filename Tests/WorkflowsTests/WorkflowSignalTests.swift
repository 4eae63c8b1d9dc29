import Foundation
import Jobs
import Logging
import PlazaKit
import PlazaTesting
import Storage
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
        .init("accept", from: ["submitted"], to: "accepted", guard: "sample.request.cancel", signals: [SignalSpec("application-accepted", to: .parent)]),
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

        init(_ store: Store) {
            let queue = JobQueue(store: store)
            let registry = JobRegistry()
            engine = WorkflowEngine(store: store, policy: samplePolicy(), queue: queue)
            engine.register(sampleCampaign)
            engine.register(sampleApplication)
            engine.register(in: registry)
            worker = JobWorker(queue: queue, registry: registry, logger: Logger(label: "workflows-test"))
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
            let rig = CampaignRig(store)
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
            let rig = CampaignRig(store)
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
            let rig = Rig(store, confirm: flaky.handler)
            let booking = try await rig.book(brand)
            try await rig.engine.send("pay", to: booking.id, caller: brand)
            for _ in 0..<3 {
                _ = try await rig.worker.runDue()
                clock.advance(by: 60)
            }
            var record = try #require(try await rig.engine.activities(of: booking.id).first)
            #expect(record.status == .failed && record.attempts == 3)

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

    @Test("the SVG diagram is well-formed, draws every state and command, marks the current state and escapes names")
    func diagram() throws {
        let svg = sampleRequest.svg(highlighting: "accepted")
        final class Collector: NSObject, XMLParserDelegate, @unchecked Sendable {
            var texts: [String] = []
            var currentRects = 0
            var inText = false
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
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
