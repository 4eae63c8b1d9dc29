import Dispatch
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Watches, from a plain thread, that the timers tests rely on still fire, and says on stderr when they do not.
///
/// Why: full PostgreSQL passes used to stop with every thread idle and tests waiting, and timers that stopped
/// firing were a suspect (sessions 9–10). Three kinds of timer are ticked every 100 ms — `Task.sleep` on the
/// continuous and on the suspending clock (both through libdispatch), and a NIO event loop's scheduled task —
/// and a kind that has not ticked for 10 s is reported on stderr, with the time it comes back (shorter pauses
/// happen when tests keep both cooperative threads busy). It cleared the timers: the stall was a lost wakeup
/// (notes of 2026-11-30); it stays so that the next stall says at once whether timers are in it.
enum TimerWatch {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func tick() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }
    private static let ticks = [Counter(), Counter(), Counter()]
    private static let names = ["Task.sleep (continuous clock)", "Task.sleep (suspending clock)", "NIO scheduled task"]

    static let started: Void = {
        Task.detached {
            while true {
                try? await Task.sleep(for: .milliseconds(100))
                ticks[0].tick()
            }
        }
        Task.detached {
            while true {
                try? await SuspendingClock().sleep(for: .milliseconds(100))
                ticks[1].tick()
            }
        }
        @Sendable func tickLoop() {
            MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: .milliseconds(100)) {
                ticks[2].tick()
                tickLoop()
            }
        }
        tickLoop()
        let thread = Thread {
            var last = ticks.map(\.count)
            var since = Array(repeating: ContinuousClock.now, count: ticks.count)
            var reported = Array(repeating: false, count: ticks.count)
            while true {
                usleep(250_000)
                let now = ContinuousClock.now
                for index in ticks.indices {
                    let value = ticks[index].count
                    if value != last[index] {
                        if reported[index] { say("\(names[index]) fired again after \(since[index].duration(to: now))") }
                        last[index] = value
                        since[index] = now
                        reported[index] = false
                    } else if !reported[index], since[index].duration(to: now) > .seconds(10) {
                        say("\(names[index]) has not fired for \(since[index].duration(to: now))")
                        reported[index] = true
                    }
                }
            }
        }
        thread.name = "timer-watch"
        thread.start()
    }()

    private static func say(_ line: String) {
        FileHandle.standardError.write(Data("!! timer watch: \(line) (\(Date()))\n".utf8))
        TraceLog.note("timer watch: \(line)")
    }
}
