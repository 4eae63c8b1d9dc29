import Foundation
import Jobs
import PlazaKit
import PlazaServer
import PlazaTesting
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Several instances on PostgreSQL", .enabled(if: TestDatabase.isPostgres, "needs PLAZA_TEST_DATABASE_URL"))
struct InstancesTests {
    @Test("an event or a job committed on one instance reaches another at once, through LISTEN/NOTIFY")
    func notifyWakesOtherInstances() async throws {
        // Polling is slowed to 30 s, so anything arriving within seconds was woken by NOTIFY.
        try await withTestPlaza(configure: {
            $0.jobs.pollInterval = .seconds(30); $0.runWorkers = false
        }) { a in
            var config = a.config
            config.runWorkers = true
            let b = try await Plaza.open(config, database: a.store.settings, logger: a.logger)
            let heard = Wakeup()
            let ran = Wakeup()
            let received = Received()
            try b.bus.subscribe(
                Subscription("sockets", topics: ["test.*"], delivery: .broadcast) { event in
                    received.add("sockets", event)
                    heard.ring()
                })
            try b.jobRegistry.register("test.ping") { _, _ in ran.ring() }
            try await b.dispatcher.broadcastFromNow() // b starts at the end of the log

            let groupB = ServiceGroup(configuration: .init(services: b.backgroundServices, logger: b.logger))
            let groupA = ServiceGroup(configuration: .init(services: a.backgroundServices, logger: a.logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await groupB.run() }
                tasks.addTask { try await groupA.run() }
                try await Task.sleep(for: .milliseconds(500)) // let the listeners connect

                let started = ContinuousClock.now
                try await a.store.transaction { try await a.outbox.append(ThingHappened(name: "hello"), in: $0) }
                await heard.wait(timeout: .seconds(10))
                let eventLatency = ContinuousClock.now - started
                #expect(try received.of("sockets").map { try $0.decode(ThingHappened.self).name } == ["hello"])
                #expect(eventLatency < .seconds(5), "event took \(eventLatency)")

                let enqueued = ContinuousClock.now
                try await a.queue.enqueue(try JobRequest("test.ping", payload: ["n": 1]))
                await ran.wait(timeout: .seconds(10))
                #expect(ContinuousClock.now - enqueued < .seconds(5), "job took \(ContinuousClock.now - enqueued)")

                await groupA.triggerGracefulShutdown()
                await groupB.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await b.shutdown()
        }
    }
}
