import HTTPTypes
import NIOCore
import NIOHTTP1
import PlazaKit

/// One Server-Sent Events stream, as a channel handler: what a connection whose first request asked for
/// `/api/v1/realtime/events` (and was allowed) becomes, as a WebSocket handshake becomes a
/// ``WebSocketSession``.
///
/// Like a WebSocket here, an idle stream is only this handler, its ``SocketSink`` and its ``Connection`` — no
/// task, no async stream — and an event's frames reach a loop's streams together (``RealtimeHub``). The
/// response has no length and no chunking: its body is the stream, ended by closing the connection
/// (`Connection: close`), so each message is written as it is, past NIO's HTTP encoder. The client says
/// nothing after its request; what it might send is ignored.
final class EventStreamSession: ChannelInboundHandler, RealtimeSocket {
    typealias InboundIn = HTTPServerRequestPart

    private let hub: RealtimeHub
    private let plan: EventStreamPlan
    private let headers: HTTPFields
    private var context: ChannelHandlerContext?
    /// NIO's HTTP response encoder's place in the pipeline: bytes written from there go straight to the socket.
    private var raw: ChannelHandlerContext?
    private var connection: Connection?
    private var ended = false

    /// - Parameter headers: the route's answer's fields (and what middleware added), for the response head.
    init(hub: RealtimeHub, plan: EventStreamPlan, headers: HTTPFields) {
        self.hub = hub
        self.plan = plan
        self.headers = headers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        raw = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        // No more requests are answered here: without the decoder, what a client sends after its request comes
        // as bytes this handler drops (with it, each request's method would queue for a response never written).
        if let decoder = try? context.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            context.pipeline.syncOperations.removeHandler(context: decoder, promise: nil)
        }
        let limit = hub.settings.sendBufferBytes
        // As for WebSockets: a stream still unwritable when the next frame comes is too slow, and a stalled
        // client holds at most this much here.
        try? context.channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: limit / 2, high: limit))
        writeRaw(Self.head(headers), flush: false)
        writeRaw(EventStreamFormat.retry, flush: true)
        let sink = SocketSink(
            channel: context.channel, socket: NIOLoopBound(self, eventLoop: context.eventLoop), capacity: hub.settings.sendQueueCapacity)
        let connection = hub.connect(plan.principal, sink: sink)
        self.connection = connection
        // Accepted while the server stops: the hub has closed its connections already, so this one goes too.
        guard !hub.isShutDown else { return end(.shuttingDown) }
        let (hub, topics, lastEventId) = (self.hub, plan.topics, plan.lastEventId)
        _ = hub.spawn {
            for topic in topics { await hub.subscribe(connection, to: topic, after: lastEventId) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    /// A client that closes its side (a closed tab, `EventSource.close()`) is gone: an event stream's client
    /// never half-closes and keeps listening.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection {
            self.connection = nil
            hub.socketClosed(connection)
        }
        self.context = nil
        raw = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        hub.logger.debug("event stream socket error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func write(_ frames: [Connection.Outgoing]) {
        guard let raw, !ended, !frames.isEmpty else { return }
        for frame in frames { raw.write(NIOAny(EventStreamFormat.message(frame)), promise: nil) }
        raw.flush()
    }

    /// A comment line; a client that has gone shows up as a failed write and a closed channel.
    func heartbeat() {
        writeRaw(EventStreamFormat.heartbeat, flush: true)
    }

    /// SSE has no way to say why; the stream ends, and `EventSource` reconnects after its retry time.
    func end(_ ending: Connection.Ending) {
        guard let context, !ended else { return }
        ended = true
        context.close(promise: nil)
    }

    private func writeRaw(_ buffer: ByteBuffer, flush: Bool) {
        guard let raw, !ended else { return }
        raw.write(NIOAny(buffer), promise: nil)
        if flush { raw.flush() }
    }

    /// `HTTP/1.1 200 OK` with the route's fields, minus any framing: the body runs until the connection closes.
    static func head(_ fields: HTTPFields) -> ByteBuffer {
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
        for field in fields where ![.contentLength, .transferEncoding, .connection].contains(field.name) {
            buffer.writeString("\(field.name.rawName): \(field.value)\r\n")
        }
        buffer.writeString("Connection: close\r\n\r\n")
        return buffer
    }
}
