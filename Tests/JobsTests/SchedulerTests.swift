import Foundation
import Jobs
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Recurring jobs")
struct SchedulerTests {
    func date(_ text: String) -> Date { PlazaJSON.parseDate(text)! }

    @Test("cron schedules find their next minute")
    func cronNext() throws {
        #expect(try CronSchedule("*/15 * * * *").next(after: date("2026-11-20T10:07:30Z")) == date("2026-11-20T10:15:00Z"))
        #expect(try CronSchedule("0 9 * * 1-5").next(after: date("2026-11-20T10:00:00Z")) == date("2026-11-23T09:00:00Z")) // Fri → Mon
        #expect(try CronSchedule("@daily").next(after: date("2026-12-31T23:59:00Z")) == date("2027-01-01T00:00:00Z"))
        #expect(try CronSchedule("30 2 1 * *").next(after: date("2026-01-31T12:00:00Z")) == date("2026-02-01T02:30:00Z"))
        #expect(try CronSchedule("0 0 1,15 * 0").next(after: date("2026-11-02T00:00:00Z")) == date("2026-11-08T00:00:00Z")) // Sunday or 1st/15th
        #expect(try CronSchedule("0 0 30 2 *").next(after: date("2026-01-01T00:00:00Z")) == nil)
    }

    @Test("bad cron schedules are refused with a reason")
    func cronErrors() {
        for bad in ["* * * *", "61 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *"] {
            #expect(throws: CronSchedule.ParseError.self, "\(bad)") { try CronSchedule(bad) }
        }
    }

    @Test("each occurrence is enqueued once, however many schedulers tick")
    func schedulerEnqueuesOnce() async throws {
        let clock = ManualClock(PlazaJSON.parseDate("2026-11-20T10:07:00Z")!)
        try await withTestPlaza(clock: clock) { plaza in
            let job = RecurringJob("test.hourly", schedule: try CronSchedule("@hourly"))
            let first = Scheduler(jobs: [job], queue: plaza.queue, logger: plaza.logger)
            let second = Scheduler(jobs: [job], queue: plaza.queue, logger: plaza.logger)
            #expect(try await first.tick() == 1)
            #expect(try await first.tick() == 0)
            #expect(try await second.tick() == 0)
            let jobs = try await plaza.queue.list(JobFilter(name: "test.hourly")).items
            #expect(jobs.count == 1)
            #expect(jobs.first?.runAt == date("2026-11-20T11:00:00Z"))
            clock.advance(by: 3600)
            #expect(try await second.tick() == 1)
        }
    }

    @Test("a ring before the wait is not lost; a wait without a ring times out")
    func wakeup() async {
        let bell = Wakeup()
        bell.ring()
        let start = ContinuousClock.now
        // A lost ring would wait the whole 30 s; a busy machine may take a moment to resume the task.
        await bell.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(10))
        let again = ContinuousClock.now
        await bell.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - again >= .milliseconds(45))
    }
}
