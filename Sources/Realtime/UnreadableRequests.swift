import NIOCore
import NIOHTTP1

/// Answers a connection's first request when NIO's HTTP parser cannot read it — a control character in a header,
/// a request line that is not one, a head past the size limits — with problem+json, then closes the connection.
///
/// NIO's upgrade handler waits for a first request head that never comes, and such a connection hung, open,
/// for as long as its client liked. This sits right behind the decoder until the first head has passed, then
/// steps aside (the connection may become a WebSocket, whose frames are not its business); later requests that
/// cannot be read are Hummingbird's to refuse (a 400, and the connection closes).
final class UnreadableRequests: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        context.fireChannelRead(data)
        if case .head = unwrapInboundIn(data) { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        guard !refused else { return }
        refused = true
        let (status, detail) = Self.answer(parse)
        let body = ByteBuffer(
            string: """
                {"type":"https://plaza.dev/problems/\(status == .requestHeaderFieldsTooLarge ? "headers-too-large" : "malformed-request")",\
                "title":"\(status.reasonPhrase)","status":\(status.code),"detail":"\(detail)"}
                """)
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers = [
            "Content-Type": "application/problem+json", "Content-Length": String(body.readableBytes), "Connection": "close",
            "X-Content-Type-Options": "nosniff",
        ]
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    static func answer(_ error: HTTPParserError) -> (HTTPResponseStatus, String) {
        switch error {
        case .headerOverflow:
            return (
                .requestHeaderFieldsTooLarge,
                "The request's line and headers are larger than the server reads; send less (a long query belongs in a body)."
            )
        default:
            return (.badRequest, "The request is not HTTP/1.1 the server can read (a control character in a header, or no request line).")
        }
    }
}
