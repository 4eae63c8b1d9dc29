import Foundation
import Jobs
import PlazaKit
import PlazaServer
import PlazaTesting
import Synchronization
import Testing

struct ThingHappened: DomainEvent, Equatable {
    static let topic = "test.thing.happened"
    var name: String
}

/// Collects what subscribers received, in order.
final class Received: Sendable {
    private let events = Mutex<[String: [EventEnvelope]]>([:])
    func add(_ subscriber: String, _ event: EventEnvelope) { events.withLock { $0[subscriber, default: []].append(event) } }
    func of(_ subscriber: String) -> [EventEnvelope] { events.withLock { $0[subscriber] ?? [] } }
}

@Suite("Outbox")
struct OutboxTests {
    struct Boom: Error {}

    @Test("committed events reach each subscriber once; rolled-back events never do")
    func deliversCommittedEventsOnce() async throws {
        try await withTestPlaza { plaza in
            let received = Received()
            for (name, delivery) in [("mailer", Delivery.work), ("indexer", .work), ("sockets", .broadcast)] {
                try plaza.bus.subscribe(Subscription(name, topics: ["test.*"], delivery: delivery) { received.add(name, $0) })
            }
            try plaza.bus.subscribe(Subscription("elsewhere", topics: ["other.topic"], delivery: .work) { received.add("elsewhere", $0) })
            try await plaza.dispatcher.broadcast() // an instance starts at the end of the log

            for name in ["one", "two", "three"] {
                try await plaza.store.transaction { try await plaza.outbox.append(ThingHappened(name: name), key: name, in: $0) }
            }
            await #expect(throws: Boom.self) {
                try await plaza.store.transaction { transaction in
                    try await plaza.outbox.append(ThingHappened(name: "rolled back"), in: transaction)
                    throw Boom()
                }
            }

            #expect(try await plaza.dispatcher.sequence() == .numbered(3))
            #expect(try await plaza.dispatcher.sequence() == .numbered(0))
            #expect(try await plaza.dispatcher.broadcast() == 3)
            #expect(try await plaza.dispatcher.broadcast() == 0)
            try await plaza.worker.runDue()
            try await plaza.worker.runDue()

            for subscriber in ["mailer", "indexer", "sockets"] {
                let names = try received.of(subscriber).map { try $0.decode(ThingHappened.self).name }
                #expect(names.sorted() == ["one", "three", "two"], "subscriber \(subscriber)")
            }
            #expect(received.of("elsewhere").isEmpty)
            // Broadcasts arrive in delivery order, numbered 1, 2, 3.
            #expect(received.of("sockets").map(\.seq) == [1, 2, 3])
            #expect(received.of("sockets").map(\.key) == ["one", "two", "three"])
        }
    }

    @Test("a failing work subscriber is retried as a job without redelivering to the others")
    func failingSubscriberRetries() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock) { plaza in
            let received = Received()
            let failures = Mutex(1)
            try plaza.bus.subscribe(
                Subscription("flaky", topics: [ThingHappened.topic], delivery: .work) { event in
                    if failures.withLock({ count in
                        defer { count -= 1 }; return count > 0
                    }) {
                        throw Boom()
                    }
                    received.add("flaky", event)
                })
            try plaza.bus.subscribe(Subscription("steady", topics: [ThingHappened.topic], delivery: .work) { received.add("steady", $0) })
            try await plaza.store.transaction { try await plaza.outbox.append(ThingHappened(name: "x"), in: $0) }
            try await plaza.dispatcher.sequence()
            try await plaza.worker.runDue()
            #expect(received.of("flaky").isEmpty)
            #expect(received.of("steady").count == 1)
            clock.advance(by: 60)
            try await plaza.worker.runDue()
            #expect(received.of("flaky").count == 1)
            #expect(received.of("steady").count == 1)
        }
    }

    @Test("clients resume from a sequence number; old events are pruned")
    func resumeAndPrune() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock) { plaza in
            for name in ["a", "b", "c", "d"] {
                try await plaza.store.transaction { try await plaza.outbox.append(ThingHappened(name: name), in: $0) }
                clock.advance(by: 3600)
            }
            try await plaza.dispatcher.sequence()
            #expect(try await plaza.outbox.latestSeq() == 4)
            let after2 = try await plaza.outbox.events(after: 2)
            #expect(try after2.map { try $0.decode(ThingHappened.self).name } == ["c", "d"])
            #expect(try await plaza.outbox.events(after: 0, topics: ["nope"]).isEmpty)
            let removed = try await plaza.outbox.prune(before: clock.now().addingTimeInterval(-2.5 * 3600))
            #expect(removed == 2)
            #expect(try await plaza.outbox.events(after: 0).map(\.seq) == [3, 4])
        }
    }
}
