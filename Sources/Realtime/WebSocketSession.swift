import Foundation
import Logging
import NIOCore
import NIOWebSocket
import PlazaKit
import Synchronization

/// One realtime WebSocket, as a channel handler behind NIO's frame decoder and encoder.
///
/// Nothing waits on an idle connection: no task, no stream, only this handler, its ``SocketSink`` and the
/// ``Connection`` (which is what keeps an idle socket to a few kilobytes). Frames from the client are
/// reassembled here and handed, in order, to a task that exists only while there are frames to act on;
/// frames to the client are written on the channel's event loop, a whole event's worth of connections at a
/// time (see ``RealtimeHub``).
///
/// The protocol's chores live here too: pongs for pings, the hub's heartbeat pings (a client that has not
/// answered the last one by the next is dropped), and the closing handshake — the server's close frame
/// says why (4008 too slow, 4001 session ended, 1001 restarting, 1009 too big, 1007 not UTF-8) and the socket
/// goes when the client answers, or after `closeTimeout`.
final class WebSocketSession: ChannelInboundHandler, RealtimeSocket {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let hub: RealtimeHub
    private let principal: Principal
    private var context: ChannelHandlerContext?
    /// NIO's frame encoder's place in the pipeline: frames encoded already are written from there, past it.
    private var encoded: ChannelHandlerContext?
    private var connection: Connection?
    private var inbox: Inbox?
    /// A text or binary message whose continuation frames are still coming.
    private var message: (opcode: WebSocketOpcode, data: ByteBuffer)?
    private var closeSent = false
    private var awaitingPong = false
    private var closeDeadline: Scheduled<Void>?

    init(hub: RealtimeHub, principal: Principal) {
        self.hub = hub
        self.principal = principal
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // NIO's upgrader puts its encoder in the pipeline before this handler.
        encoded = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        let limit = hub.settings.sendBufferBytes
        // Above the high mark the channel is unwritable, and a connection that is still unwritable when the next
        // frame comes is too slow: so a stalled client holds at most this much here (and the kernel's buffer).
        try? context.channel.syncOptions?.setOption(
            ChannelOptions.writeBufferWaterMark, value: .init(low: limit / 2, high: limit))
        let sink = SocketSink(
            channel: context.channel, socket: NIOLoopBound(self, eventLoop: context.eventLoop), capacity: hub.settings.sendQueueCapacity)
        let connection = hub.connect(principal, sink: sink)
        self.connection = connection
        inbox = Inbox(hub: hub, connection: connection)
        // Upgraded while the server stops: the hub has closed its sockets already, so this one goes too.
        if hub.isShutDown { end(.shuttingDown) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeDeadline?.cancel()
        closeDeadline = nil
        if let connection {
            self.connection = nil
            inbox = nil
            hub.socketClosed(connection)
        }
        self.context = nil
        encoded = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        hub.logger.debug("realtime socket error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey != nil else { return close(.protocolError, "a client's frames are masked") }
        switch frame.opcode {
        case .text, .binary:
            guard message == nil else { return close(.protocolError, "a new message began before the last one ended") }
            if frame.fin {
                received(frame.opcode, frame.unmaskedData)
            } else {
                message = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var (opcode, data) = message else { return close(.protocolError, "a continuation frame with no message") }
            message = nil // so that `data` is the buffer's only owner and grows in place
            var more = frame.unmaskedData
            guard data.readableBytes + more.readableBytes <= hub.settings.maxInboundFrame else {
                return close(.messageTooLarge, "messages are at most \(hub.settings.maxInboundFrame) bytes")
            }
            data.writeBuffer(&more)
            if frame.fin {
                message = nil
                received(opcode, data)
            } else {
                message = (opcode, data)
            }
        case .ping:
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            awaitingPong = false
        case .connectionClose:
            if closeSent {
                context.close(promise: nil)
            } else {
                // The client closes: answer with its code, then the socket goes once the answer is written.
                closeSent = true
                var data = frame.unmaskedData
                let code = data.readableBytes >= 2 ? data.readSlice(length: 2)! : context.channel.allocator.buffer(capacity: 0)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                    .whenComplete { _ in channel.close(promise: nil) }
                // A client that closes and stops reading may never take the answer.
                closeDeadline = context.eventLoop.scheduleTask(in: TimeAmount(hub.settings.closeTimeout)) { channel.close(promise: nil) }
            }
        default:
            close(.protocolError, "unknown opcode")
        }
    }

    /// A whole message from the client.
    private func received(_ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        guard let connection, let inbox, !closeSent else { return }
        guard opcode == .text else { return connection.enqueue(ServerFrame.error(.badFrame, "Frames are JSON text, not binary.")) }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            return close(.dataInconsistentWithMessage, "text frames are UTF-8")
        }
        if !inbox.add(text) { close(.policyViolation, "too many frames waiting for an answer") }
    }

    /// Writes what the sink holds (on the event loop), one flush for all of it.
    func write(_ frames: [Connection.Outgoing]) {
        guard let context, !closeSent, !frames.isEmpty else { return }
        guard let encoded else { preconditionFailure("a WebSocket pipeline without NIO's frame encoder") }
        for frame in frames { encoded.write(NIOAny(frame.frame.webSocket), promise: nil) }
        context.flush()
    }

    /// The hub's heartbeat: a client that has not answered the last ping is gone; otherwise ping it again.
    func heartbeat() {
        guard let context, !closeSent else { return }
        if awaitingPong {
            hub.logger.debug("realtime client stopped answering pings")
            return context.close(promise: nil)
        }
        awaitingPong = true
        context.writeAndFlush(
            wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))), promise: nil)
    }

    /// The server ends the connection (``Connection/end(_:)``). A restart does not wait for the client's answer.
    func end(_ ending: Connection.Ending) {
        close(WebSocketErrorCode(codeNumber: Int(ending.closeCode)), ending.reason, waitForAnswer: ending != .shuttingDown)
    }

    /// Sends the close frame once; the socket goes when the client answers, or after the close timeout.
    private func close(_ code: WebSocketErrorCode, _ reason: String, waitForAnswer: Bool = true) {
        guard let context, !closeSent else { return }
        closeSent = true
        message = nil
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        let channel = context.channel
        let written = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
        // A restart does not wait for the answer, only (briefly) for the close frame to go out.
        if !waitForAnswer { written.whenComplete { _ in channel.close(promise: nil) } }
        let deadline = waitForAnswer ? TimeAmount(hub.settings.closeTimeout) : .seconds(2)
        closeDeadline = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }
}

/// The client's frames waiting to be acted on, in order, by one task that runs only while there are some.
private final class Inbox: Sendable {
    /// Frames a client may have waiting for answers; one that sends faster than that is closed (1008).
    static let limit = 64

    private let hub: RealtimeHub
    private let connection: Connection
    private let state = Mutex<(texts: [String], running: Bool)>(([], false))

    init(hub: RealtimeHub, connection: Connection) {
        self.hub = hub
        self.connection = connection
    }

    /// Queues a frame and starts the task if none runs; `false` when the client is over the limit.
    func add(_ text: String) -> Bool {
        let start: Bool? = state.withLock { state in
            guard state.texts.count < Self.limit else { return nil }
            state.texts.append(text)
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard let start else { return false }
        if start {
            let started = hub.spawn { [self] in
                while let text = next() { await hub.receive(text, from: connection) }
            }
            // The server is stopping: nobody will act on frames any more.
            if !started { state.withLock { $0 = ([], false) } }
        }
        return true
    }

    private func next() -> String? {
        state.withLock { state in
            guard !state.texts.isEmpty else {
                state.running = false
                return nil
            }
            return state.texts.removeFirst()
        }
    }
}
