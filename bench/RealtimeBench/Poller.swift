import CEpoll
import Foundation
import Synchronization

/// One thread that reads every subscriber socket given to it: epoll, one `read` per ready socket into one
/// buffer, the bytes decoded in place. The NIO client this replaced spent ~10 µs of the shared two cores
/// per delivery (a channel pipeline, a WebSocket frame and a buffer per read); reading 1,000 sockets per
/// event at that cost put a ~10 ms floor under every latency the bench reported, on the server's cores.
final class Poller: @unchecked Sendable {
    // @unchecked: `epoll`, `wake` and `sink` never change; `buffer` and `sentAt` are used by the thread
    // alone; a connection is touched by the thread alone once `add` has registered it.
    private let epoll: Int32
    private let wake: Int32
    private let sink: Sink
    private let connections = Mutex<[SubscriberConnection]>([])
    private let stopping = Atomic<Bool>(false)
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    private var sentAt: [UInt64] = []
    private let finished = DispatchSemaphore(value: 0)

    init(sink: Sink) throws {
        self.sink = sink
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard epoll >= 0, wake >= 0 else { throw BenchError("epoll: \(String(cString: strerror(errno)))") }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.ptr = nil
        epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &event)
        sentAt.reserveCapacity(64)
        let thread = Thread { [self] in run() }
        thread.name = "subscribers"
        thread.start()
    }

    /// Hands a connected socket to the thread; from here on only the thread touches `connection`.
    func add(_ connection: SubscriberConnection) throws {
        connections.withLock { $0.append(connection) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        event.data.ptr = Unmanaged.passUnretained(connection).toOpaque()
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, connection.fd, &event) == 0 else {
            throw BenchError("epoll_ctl: \(String(cString: strerror(errno)))")
        }
    }

    /// Stops the thread and closes every socket.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        finished.wait()
        for connection in connections.withLock({ $0 }) { connection.close() }
        Glibc.close(epoll)
        Glibc.close(wake)
        buffer.deallocate()
    }

    private func run() {
        let capacity: Int32 = 1_024
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer {
            events.deallocate()
            finished.signal()
        }
        while !stopping.load(ordering: .relaxed) {
            let count = epoll_wait(epoll, events, capacity, -1)
            if count < 0 {
                if errno == EINTR { continue }
                note("epoll_wait: \(String(cString: strerror(errno)))")
                return
            }
            for index in 0..<Int(count) {
                guard let pointer = events[index].data.ptr else { continue } // the wake-up
                read(Unmanaged<SubscriberConnection>.fromOpaque(pointer).takeUnretainedValue())
            }
        }
    }

    /// One read per readiness: epoll is level-triggered, so what is left is reported again.
    private func read(_ connection: SubscriberConnection) {
        guard !connection.isClosed else { return }
        let count = Glibc.read(connection.fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            let receivedAt = nowMicros()
            do {
                try connection.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), sentAt: &sentAt)
            } catch {
                sentAt.removeAll(keepingCapacity: true)
                forget(connection, reason: "\(error)")
                return
            }
            if !sentAt.isEmpty {
                sink.record(sentAt: sentAt, receivedAt: receivedAt)
                sentAt.removeAll(keepingCapacity: true)
            }
            if let reason = connection.closeReason { forget(connection, reason: reason) }
        } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
            forget(connection, reason: count == 0 ? "stream ended" : String(cString: strerror(errno)))
        }
    }

    private func forget(_ connection: SubscriberConnection, reason: String) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd, nil)
        connection.fail(BenchError(reason))
        sink.connectionClosed(reason)
        connection.close()
    }
}
