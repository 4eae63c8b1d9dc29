import NIOCore
import Synchronization

/// A realtime connection served by a channel handler on its event loop — a ``WebSocketSession`` or an
/// ``EventStreamSession`` — as its ``SocketSink`` sees it.
protocol RealtimeSocket: AnyObject {
    /// Writes frames (on the event loop), one flush for all of them.
    func write(_ frames: [Connection.Outgoing])
    /// The hub's heartbeat: keep the connection alive, find a client that has gone.
    func heartbeat()
    /// The server ends the connection, saying why where the protocol can.
    func end(_ ending: Connection.Ending)
}

/// A socket's way out: frames pushed from any thread wait here, in order, until a task on the channel's
/// event loop writes them all with one flush.
final class SocketSink: FrameSink {
    private let channel: any Channel
    private let socket: NIOLoopBound<any RealtimeSocket>
    private let capacity: Int
    private let queue = Mutex(Queue())

    struct Queue {
        var frames: [Connection.Outgoing] = []
        var drainScheduled = false
    }

    init(channel: any Channel, socket: NIOLoopBound<any RealtimeSocket>, capacity: Int) {
        self.channel = channel
        self.socket = socket
        self.capacity = capacity
    }

    var eventLoop: (any EventLoop)? { channel.eventLoop }

    func push(_ frame: Connection.Outgoing, drainLater: Bool) -> Bool {
        // Unwritable means more than `sendBufferBytes` is waiting for the client already.
        guard channel.isWritable else { return false }
        let schedule: Bool? = queue.withLock { queue in
            guard queue.frames.count < capacity else { return nil }
            queue.frames.append(frame)
            guard drainLater, !queue.drainScheduled else { return false }
            queue.drainScheduled = true
            return true
        }
        guard let schedule else { return false }
        if schedule { channel.eventLoop.execute { self.drain() } }
        return true
    }

    func drain() {
        let frames = queue.withLock { queue in
            queue.drainScheduled = false
            defer { queue.frames = [] }
            return queue.frames
        }
        socket.value.write(frames)
    }

    func heartbeat() {
        let socket = self.socket
        channel.eventLoop.execute { socket.value.heartbeat() }
    }

    func end(_ ending: Connection.Ending) {
        let socket = self.socket
        channel.eventLoop.execute { socket.value.end(ending) }
    }

    func finish() {
        queue.withLock { $0.frames = [] }
    }
}
