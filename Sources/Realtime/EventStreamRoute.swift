import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PlazaKit
import ServiceLifecycle

/// `GET /api/v1/realtime/events?topics=a,b`: the same events as Server-Sent Events, for clients that cannot
/// open a WebSocket (or prefer `EventSource`).
///
/// Topics are checked before the stream starts (403 names the refused one). `Last-Event-ID` (the header
/// `EventSource` sends when it reconnects, or `?lastEventId=`) replays what was missed on every topic —
/// event ids are numbers of the one event log, so one id serves all topics. A comment line every
/// `pingInterval` (``RealtimeKeeper``) keeps proxies from closing an idle stream; a client that stops reading
/// fills its queue and the stream ends.
///
/// Two ways to carry a stream. As a connection's first request (what `EventSource` and most clients send)
/// the route only decides: ``RealtimeServerChannel`` then writes the stream from an ``EventStreamSession``
/// handler, with no task per stream, as it does for WebSockets. A stream asked for later on a kept-alive
/// connection is a streaming response written by the request's task (a ``StreamSink``).
struct EventStreamRoute<Context: RealtimeRequestContext>: Sendable {
    let hub: RealtimeHub

    var endpoint: Endpoint<Context> {
        let hub = self.hub
        return Endpoint(
            .get, "/api/v1/realtime/events", operationID: "realtimeEvents",
            summary: "Follow topics as Server-Sent Events (the fallback for clients without WebSocket).", tag: "Realtime",
            access: .authenticated,
            parameters: [
                EndpointParameter(
                    "topics", in: .query, required: true, schema: .string(minLength: 1), description: "Comma-separated topics, e.g. user:<your id>."),
                EndpointParameter(
                    "lastEventId", in: .query, schema: .integer(minimum: 0), description: "Replay what came after this id (or send Last-Event-ID)."),
                EndpointParameter("access_token", in: .query, description: "An access token, for clients that cannot set headers."),
            ],
            responses: [
                EndpointResponse(200, "An event stream: each event's data is the frame of docs/realtime.md.", body: .text("text/event-stream"))
            ]
        ) { request, context in
            guard let principal = context.principal else { throw PlazaError.unauthorized() }
            let query = request.queryItems
            let topics = (query["topics"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !topics.isEmpty, topics.count <= hub.settings.maxSubscriptions else {
                throw PlazaError.validation(field: "topics", "must name 1 to \(hub.settings.maxSubscriptions) topics, comma-separated")
            }
            let lastID = request.headers[.lastEventID] ?? query["lastEventId"]
            let lastEventId: Int64?
            if let lastID {
                guard let value = Int64(lastID), value >= 0 else { throw PlazaError.validation(field: "lastEventId", "must be an event id") }
                lastEventId = value
            } else {
                lastEventId = nil
            }
            for topic in topics {
                switch await hub.topics.decide(principal, topic) {
                case .allowed: continue
                case .refused: throw PlazaError.forbidden("You may not follow \(topic).")
                case .unknown: throw PlazaError.validation(field: "topics", "\(topic) is not a topic")
                }
            }
            if context.realtimeUpgrade.takesEventStream.withLock({ $0 }) {
                context.realtimeUpgrade.eventStream.withLock { $0 = EventStreamPlan(principal: principal, topics: topics, lastEventId: lastEventId) }
                return Response(status: .ok, headers: EventStreamFormat.headers)
            }
            let sink = StreamSink(capacity: hub.settings.sendQueueCapacity)
            let connection = hub.connect(principal, sink: sink)
            return Response(
                status: .ok,
                headers: EventStreamFormat.headers,
                body: ResponseBody { writer in
                    do {
                        try await Self.stream(connection, frames: sink.frames, topics: topics, after: lastEventId, hub: hub, to: &writer)
                    } catch {
                        await hub.disconnect(connection)
                        throw error
                    }
                    await hub.disconnect(connection)
                    try await writer.finish(nil)
                })
        }
    }

    /// Subscribes (replaying if asked) while writing frames until the client goes.
    static func stream(
        _ connection: Connection, frames: AsyncStream<Connection.Outgoing>, topics: [String], after lastEventId: Int64?, hub: RealtimeHub,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for topic in topics { await hub.subscribe(connection, to: topic, after: lastEventId) }
            }
            // The retry hint first, then frames until the client goes or falls behind.
            try await writer.write(EventStreamFormat.retry)
            // A stream never ends by itself: on shutdown its queue is closed, so the server need not wait for it.
            try await withGracefulShutdownHandler {
                for await frame in frames { try await writer.write(EventStreamFormat.message(frame)) }
            } onGracefulShutdown: {
                connection.sink.finish()
            }
            group.cancelAll()
        }
    }

}

/// Frames as Server-Sent Events messages.
enum EventStreamFormat {
    static let heartbeat = ByteBuffer(string: ": ping\n\n")
    /// The first thing a stream says: how long a client waits before it reconnects.
    static let retry = ByteBuffer(string: "retry: 2000\n\n")
    static let headers: HTTPFields = [
        .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
    ]
    static let path = "/api/v1/realtime/events"

    /// One SSE message, in one buffer (so one chunk): `id:` for events, the JSON frame as `data:`; an empty
    /// payload is a heartbeat comment.
    static func message(_ frame: Connection.Outgoing) -> ByteBuffer {
        let json = frame.frame.json
        if json.readableBytes == 0 { return heartbeat }
        var message = ByteBuffer()
        message.reserveCapacity(json.readableBytes + 32)
        if let id = frame.eventID { message.writeString("id: \(id)\n") }
        // JSON text has no raw newlines, so one data line carries it.
        message.writeString("data: ")
        message.writeImmutableBuffer(json)
        message.writeString("\n\n")
        return message
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
