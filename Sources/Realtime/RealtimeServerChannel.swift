import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import PlazaKit
import ServiceLifecycle

/// The server's connections: HTTP/1.1, and WebSocket upgrades and event streams that become realtime sessions.
///
/// An upgrade request runs through the router like any request (so authentication, rate limits and the
/// realtime route's checks all apply); when the route answers 200 and names who is connecting, NIO's
/// WebSocket codec replaces HTTP on the channel and a ``WebSocketSession`` handler serves it. The connection's
/// task ends there: an open realtime socket costs no task, unlike an HTTP exchange. A refused handshake gets
/// the route's own answer (401, 403, 429 as problem+json) and the connection closes.
///
/// A connection whose first request is `GET /api/v1/realtime/events` goes the same way: the router decides,
/// and an accepted stream is served by an ``EventStreamSession`` handler instead of a response's task.
public struct RealtimeServerChannel<Upgrades: HTTPResponder>: ServerChildChannel, HTTPChannelHandler
where Upgrades.Context: RealtimeRequestContext, Upgrades.Context.Source == ApplicationRequestContextSource {
    public struct Value: ServerChildChannelValue {
        let outcome: EventLoopFuture<Outcome>
        public let channel: any Channel
    }

    enum Outcome: Sendable {
        /// The socket is a realtime session now; nothing waits on it.
        case upgraded
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade the route refused, with its answer.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Refusal)
    }

    struct Refusal: Sendable {
        var head: HTTPResponse
        var body: ByteBuffer
    }

    public let responder: HTTPChannelHandler.Responder
    let upgrades: Upgrades
    let hub: RealtimeHub
    let http1: HTTP1Channel.Configuration

    /// - Parameters:
    ///   - responder: the application's responder, for plain HTTP.
    ///   - upgrades: the router, run for each upgrade request to decide it.
    public init(responder: @escaping HTTPChannelHandler.Responder, upgrades: Upgrades, hub: RealtimeHub, http1: HTTP1Channel.Configuration = .init())
    {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.upgrades = upgrades
        self.hub = hub
        self.http1 = http1
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // What the handshake decided, kept for the pipeline step that follows it on this channel.
            let decision = NIOLoopBoundBox<Decision?>(nil, eventLoop: channel.eventLoop)
            // The connection's first request head, which NIO's upgrade handler does not pass on to the step
            // for requests that are not upgrades.
            let firstRequest = NIOLoopBoundBox<HTTPRequestHead?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<Outcome>(
                maxFrameSize: hub.settings.maxInboundFrame,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: Decision.self)
                    promise.completeWithTask { await self.decide(head, channel: channel, logger: logger) }
                    return promise.futureResult.map { result in
                        decision.value = result
                        if case .upgrade(_, let headers) = result { return HTTPHeaders(headers) }
                        return nil
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .upgrade(let principal, _) = decision.value else { preconditionFailure("an upgrade nobody decided") }
                        try channel.pipeline.syncOperations.addHandler(WebSocketSession(hub: hub, principal: principal))
                        return .upgraded
                    }
                })
            let notUpgrading = NIOTypedHTTPServerUpgradeConfiguration(upgraders: [upgrader]) { channel in
                // (A handshake the upgrader refused comes here too, with its decision: it gets that answer.)
                if decision.value == nil, let head = firstRequest.value, head.method == .GET,
                    head.uri.split(separator: "?").first == EventStreamFormat.path[...]
                {
                    let promise = channel.eventLoop.makePromise(of: Decision.self)
                    promise.completeWithTask { await self.decide(head, channel: channel, logger: logger, eventStream: true) }
                    return promise.futureResult.flatMapThrowing { decided in
                        switch decided {
                        case .eventStream(let plan, let headers):
                            try channel.pipeline.syncOperations.addHandler(EventStreamSession(hub: hub, plan: plan, headers: headers))
                            return .upgraded
                        case .refuse(let refusal):
                            return .refused(try http(channel, logger: logger), refusal)
                        case .upgrade: // only the WebSocket route names a principal, and not for this path: refuse, never guess
                            return .refused(try http(channel, logger: logger), Refusal(head: HTTPResponse(status: .badRequest), body: ByteBuffer()))
                        }
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    let http = try http(channel, logger: logger)
                    // NIO asks `shouldUpgrade` only of a well-formed handshake, and does not come here after a yes.
                    if case .refuse(let refusal) = decision.value { return .refused(http, refusal) }
                    return .http(http)
                }
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Outcome>(upgradeConfiguration: notUpgrading)
            configuration.enablePipelining = false // NIOAsyncChannel takes one request at a time already
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false // HTTPTypes validated them
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let outcome = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgrades = try channel.pipeline.syncOperations.context(handlerType: NIOTypedHTTPServerUpgradeHandler<Outcome>.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestHead(firstRequest), position: .before(upgrades.handler))
            // Behind the decoder, before anything that waits for a request head (see ``UnreadableRequests``).
            let decoder = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(UnreadableRequests(), position: .after(decoder.handler))
            return Value(outcome: outcome, channel: channel)
        }
    }

    /// Plain HTTP from here on: HTTPTypes' codec and Hummingbird's handlers, under an async channel.
    private func http(_ channel: any Channel, logger: Logger) throws -> NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart> {
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
        try channel.pipeline.syncOperations.addHandler(
            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .nanoseconds($0.nanoseconds) }, logger: logger))
        return try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
    }

    public func handle(value: Value, logger: Logger) async {
        // The server's stop reaches a connection as a quiesce event. Until its first request is decided no
        // handler here acts on one — NIO's upgrade handler passes it on, Hummingbird's state handler comes with
        // plain HTTP — so a connection that never sent a request would hold `plaza serve` up for good: the
        // event is sent again while the first request is awaited (``FirstRequestHead`` closes a connection that
        // has sent none) and once plain HTTP's handlers are there (at once if the stop has begun).
        let channel = value.channel
        let quiesce: @Sendable () -> Void = { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        do {
            let outcome = try await withGracefulShutdownHandler {
                try await value.outcome.get()
            } onGracefulShutdown: {
                quiesce()
            }
            switch outcome {
            case .upgraded:
                return
            case .http(let http):
                await withGracefulShutdownHandler {
                    await handleHTTP(asyncChannel: http, logger: logger)
                } onGracefulShutdown: {
                    quiesce()
                }
            case .refused(let http, let refusal):
                try await http.executeThenClose { _, outbound in
                    var head = refusal.head
                    let body = refusal.body
                    head.headerFields[.connection] = "close"
                    head.headerFields[.contentLength] = "\(body.readableBytes)"
                    head.headerFields[.transferEncoding] = nil
                    try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
                }
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("the client left before its upgrade was decided")
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }

    enum Decision: Sendable {
        case upgrade(Principal, HTTPFields)
        case eventStream(EventStreamPlan, HTTPFields)
        case refuse(Refusal)
    }

    /// Runs the handshake (or the event stream's request) through the router: a 200 from the realtime route
    /// with a principal upgrades, one from the event stream route with a plan streams; any other answer is kept
    /// for the client.
    private func decide(_ head: HTTPRequestHead, channel: any Channel, logger: Logger, eventStream: Bool = false) async -> Decision {
        let context = Upgrades.Context(source: .init(channel: channel, logger: logger))
        // Always: the event stream route must not start a stream whose body this would wait for without end.
        context.realtimeUpgrade.takesEventStream.withLock { $0 = true }
        let request: Request
        do {
            request = Request(head: try HTTPRequest(head, secure: false, splitCookie: false), body: .init(buffer: ByteBuffer()))
        } catch {
            return .refuse(Refusal(head: HTTPResponse(status: .badRequest), body: ByteBuffer()))
        }
        var response: Response
        do {
            response = try await upgrades.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            response = (try? error.response(from: request, context: context)) ?? Response(status: error.status)
        } catch {
            logger.error("realtime handshake failed", metadata: ["error": "\(error)"])
            response = Response(status: .internalServerError)
        }
        if response.status == .ok, let principal = context.realtimeUpgrade.principal.withLock({ $0 }) {
            return .upgrade(principal, response.headers)
        }
        if response.status == .ok, let plan = context.realtimeUpgrade.eventStream.withLock({ $0 }) {
            guard eventStream else {
                return .refuse(
                    Refusal(
                        head: HTTPResponse(status: .badRequest, headerFields: [.contentType: "application/problem+json"]),
                        body: ByteBuffer(
                            string:
                                #"{"type":"about:blank","title":"Bad Request","status":400,"#
                                + #""detail":"This endpoint speaks Server-Sent Events, not WebSocket."}"#
                        )))
            }
            return .eventStream(plan, response.headers)
        }
        let body = (try? await response.collectedBody()) ?? []
        return .refuse(Refusal(head: response.head, body: ByteBuffer(bytes: body)))
    }

    /// Upgrade requests that reach plain HTTP: a well-formed one arrived after a plain request on the same
    /// connection (NIO upgrades only a connection's first request) and is redirected to itself with a close,
    /// so the client retries it fresh; a malformed one (no key, another version) is a 400 naming version 13.
    static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        return { request, writer, channel in
            guard request.asksForWebSocket else { return try await responder(request, writer, channel) }
            guard request.headers[.secWebSocketKey] != nil, request.headers[.secWebSocketVersion] == "13" else {
                try await writer.writeResponse(
                    HTTPResponse(
                        status: .badRequest, headerFields: [.connection: "close", .contentLength: "0", .secWebSocketVersion: "13"]))
                throw EndedUpgrade()
            }
            var location = request.uri.path
            if let query = request.uri.query { location += "?\(query)" }
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw EndedUpgrade()
        }
    }
}

/// Ends the connection after answering an upgrade on plain HTTP.
private struct EndedUpgrade: Error {}

/// Notes a connection's first request head on its way to NIO's upgrade handler, then steps aside.
private final class FirstRequestHead: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let box: NIOLoopBoundBox<HTTPRequestHead?>

    init(_ box: NIOLoopBoundBox<HTTPRequestHead?>) {
        self.box = box
    }

    /// The server is stopping and this connection has not sent a request: nothing is lost by closing it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, box.value == nil {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            box.value = head
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }
}
