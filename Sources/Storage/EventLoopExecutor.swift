import NIOCore

/// A task executor that runs jobs on one NIO event loop: a PostgreSQL transaction's code runs on the loop of
/// its connection, so a statement is written to the socket from the loop itself and its answer resumes the
/// code on the same thread — no hop to the cooperative pool and back per statement (two thread wake-ups).
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
