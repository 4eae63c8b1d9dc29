import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the server under test listens.
struct Endpoint: Sendable {
    var host: String
    var port: Int

    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw BenchError("--url must be http://host:port") }
        let rest = url.dropFirst("http://".count).split(separator: "/").first.map(String.init) ?? ""
        let parts = rest.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw BenchError("--url must be http://host:port") }
        host = String(parts[0])
        self.port = port
    }

    var hostHeader: String { "\(host):\(port)" }
}

/// One `text/event-stream` subscriber. Ready when the response starts (Plaza subscribes by query) or,
/// when `waitsForClientId`, when PocketBase's `PB_CONNECT` event names the connection.
final class EventStreamSubscriber: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let sink: Sink
    private let ready: EventLoopPromise<String>
    private let waitsForClientId: Bool
    private var sentAt = FieldScanner(key: "sentAt")
    private var clientId = FieldScanner(key: "clientId", quoted: true)
    private var isReady = false

    init(head: HTTPRequestHead, sink: Sink, ready: EventLoopPromise<String>, waitsForClientId: Bool) {
        self.head = head
        self.sink = sink
        self.ready = ready
        self.waitsForClientId = waitsForClientId
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            guard response.status == .ok else {
                becomeReady(failing: BenchError("event stream answered \(response.status.code)"))
                context.close(promise: nil)
                return
            }
            if !waitsForClientId { becomeReady(with: "") }
        case .body(let buffer):
            let receivedAt = nowMicros()
            if !isReady {
                var id: String?
                clientId.scan(buffer) { id = String(decoding: $0, as: UTF8.self) }
                if let id { becomeReady(with: id) }
            }
            var sent: [UInt64] = []
            sentAt.scan(buffer) { sent.append($0.decimal) }
            sink.record(sentAt: sent, receivedAt: receivedAt)
        case .end:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.connectionClosed("stream ended")
        becomeReady(failing: BenchError("the event stream closed before it was ready"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func becomeReady(with id: String) {
        guard !isReady else { return }
        isReady = true
        ready.succeed(id)
    }

    private func becomeReady(failing error: any Error) {
        guard !isReady else { return }
        isReady = true
        ready.fail(error)
    }
}

/// Sends the upgrade request, and reports a refused upgrade; removed once the socket is a WebSocket.
final class UpgradeRequest: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    static let name = "bench-upgrade-request"

    private let head: HTTPRequestHead
    private let ready: EventLoopPromise<String>

    init(head: HTTPRequestHead, ready: EventLoopPromise<String>) {
        self.head = head
        self.ready = ready
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let response) = unwrapInboundIn(data) {
            ready.fail(BenchError("the WebSocket upgrade was refused with \(response.status.code)"))
            context.close(promise: nil)
        }
    }
}

/// One WebSocket subscriber speaking Plaza's frame protocol: it subscribes once the upgrade is done,
/// is ready at `subscribed`, answers pings, and reports each event's `sentAt`.
final class WebSocketSubscriber: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let topic: String
    private let sink: Sink
    private let ready: EventLoopPromise<String>
    private var sentAt = FieldScanner(key: "sentAt")
    private var type = FieldScanner(key: "type", quoted: true)
    private var isReady = false

    init(topic: String, sink: Sink, ready: EventLoopPromise<String>) {
        self.topic = topic
        self.sink = sink
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let frame = #"{"type":"subscribe","topic":"\#(topic)"}"#
        send(context, opcode: .text, data: context.channel.allocator.buffer(string: frame))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            let receivedAt = nowMicros()
            if !isReady {
                var types: [String] = []
                type.scan(frame.data) { types.append(String(decoding: $0, as: UTF8.self)) }
                if types.contains("subscribed") {
                    isReady = true
                    ready.succeed("")
                } else if types.contains("error") {
                    isReady = true
                    ready.fail(BenchError("subscribe refused: \(String(buffer: frame.data))"))
                }
            }
            var sent: [UInt64] = []
            sentAt.scan(frame.data) { sent.append($0.decimal) }
            sink.record(sentAt: sent, receivedAt: receivedAt)
        case .ping:
            send(context, opcode: .pong, data: frame.data)
        case .connectionClose:
            var payload = frame.data
            let code = payload.readWebSocketErrorCode().map { "\(WebSocketErrorCode.codeValue($0))" } ?? "none"
            sink.connectionClosed("close \(code)")
            send(context, opcode: .connectionClose, data: frame.data)
            context.close(promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isReady {
            isReady = true
            ready.fail(BenchError("the WebSocket closed before it was subscribed"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func send(_ context: ChannelHandlerContext, opcode: WebSocketOpcode, data: ByteBuffer) {
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}

extension WebSocketErrorCode {
    static func codeValue(_ code: WebSocketErrorCode) -> UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }
}

/// Opens subscribers on one event loop group.
struct Subscribers: Sendable {
    let group: MultiThreadedEventLoopGroup
    let endpoint: Endpoint
    let sink: Sink

    private func requestHead(_ path: String, headers extra: [(String, String)] = []) -> HTTPRequestHead {
        var headers = HTTPHeaders([("Host", endpoint.hostHeader), ("Accept", "text/event-stream")])
        for (name, value) in extra { headers.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
    }

    /// An event stream at `path`; the future gives the channel and, for PocketBase, its client id.
    func eventStream(_ path: String, waitsForClientId: Bool) -> EventLoopFuture<(any Channel, String)> {
        let loop = group.next()
        let ready = loop.makePromise(of: String.self)
        let head = requestHead(path)
        let sink = self.sink
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        EventStreamSubscriber(head: head, sink: sink, ready: ready, waitsForClientId: waitsForClientId))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMap { channel in ready.futureResult.map { (channel, $0) } }
    }

    /// A WebSocket at `path`, subscribed to `topic`.
    func webSocket(_ path: String, topic: String) -> EventLoopFuture<any Channel> {
        let loop = group.next()
        let ready = loop.makePromise(of: String.self)
        let head = requestHead(path)
        let sink = self.sink
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 16) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                WebSocketSubscriber(topic: topic, sink: sink, ready: ready))
                        }
                    }
                    let upgrade: NIOHTTPClientUpgradeConfiguration = (
                        upgraders: [upgrader],
                        completionHandler: { context in
                            context.pipeline.syncOperations.removeHandler(name: UpgradeRequest.name, promise: nil)
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(withClientUpgrade: upgrade)
                    try channel.pipeline.syncOperations.addHandler(UpgradeRequest(head: head, ready: ready), name: UpgradeRequest.name)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMap { channel in ready.futureResult.map { _ in channel } }
    }
}
