import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit
import Synchronization

/// Who may publish on broadcast topics.
public enum RealtimePolicy {
    public static let broadcast: Action = "realtime.broadcast.publish"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(broadcast, .systemRole(SystemRole.operator), .systemRole(SystemRole.admin))
        return policy
    }
}

/// The answer to a broadcast.
public struct BroadcastReceipt: Codable, Sendable, APISchema {
    public var topic: String
    public static var schema: JSONSchema { .object(properties: ["topic": .text], required: ["topic"]) }
}

/// Where the realtime routes leave who is upgrading, for ``RealtimeServerChannel`` to open the socket as them:
/// the WebSocket's principal, or — when the channel offered to carry an event stream itself — what the stream
/// follows.
public final class RealtimeUpgrade: Sendable {
    let principal = Mutex<Principal?>(nil)
    /// Set by the channel before it runs a connection's first request, an event stream: the route then only
    /// decides and leaves its ``EventStreamPlan`` here instead of streaming a response.
    let takesEventStream = Mutex(false)
    let eventStream = Mutex<EventStreamPlan?>(nil)
    public init() {}
}

/// An accepted event stream: who follows which topics, from which event on.
struct EventStreamPlan: Sendable {
    var principal: Principal
    var topics: [String]
    var lastEventId: Int64?
}

/// A request context that can carry a realtime upgrade.
public protocol RealtimeRequestContext: PlazaRequestContext {
    var realtimeUpgrade: RealtimeUpgrade { get }
}

/// `GET /api/v1/realtime`: the WebSocket endpoint.
///
/// Authentication happens before the upgrade, like any request: a bearer token, or — because browsers cannot
/// set headers on a WebSocket — `?access_token=`, or a page's session cookie (see `docs/realtime.md`). The
/// route only decides; ``RealtimeServerChannel`` runs it for the handshake and, on a 200, turns the channel into
/// a ``WebSocketSession``.
public struct RealtimeRoutes<Context: RealtimeRequestContext>: Sendable {
    let hub: RealtimeHub

    public init(hub: RealtimeHub) {
        self.hub = hub
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let hub = self.hub
        routes.add(
            Endpoint(
                .get, "/api/v1/realtime", operationID: "realtime",
                summary: "Open the realtime WebSocket (JSON frames: subscribe, unsubscribe, ping; see docs/realtime.md).", tag: "Realtime",
                access: .authenticated,
                parameters: [EndpointParameter("access_token", in: .query, description: "An access token, for clients that cannot set headers.")],
                responses: [
                    EndpointResponse(101, "Switching to the WebSocket protocol."),
                    EndpointResponse(426, "Not a WebSocket handshake."),
                ]
            ) { request, context in
                guard request.asksForWebSocket else {
                    throw PlazaError(
                        .upgradeRequired, code: "upgrade-required", title: "Upgrade required",
                        detail: "This endpoint speaks WebSocket; connect with a WebSocket client.", headers: ["Upgrade": "websocket"])
                }
                guard let principal = context.principal else { throw PlazaError.unauthorized() }
                context.realtimeUpgrade.principal.withLock { $0 = principal }
                return Response(status: .ok)
            })
        routes.add(EventStreamRoute<Context>(hub: hub).endpoint)
        routes.add(
            Endpoint(
                .post, "/api/v1/realtime/broadcast/{name}", operationID: "realtimeBroadcast",
                summary: "Publish a JSON object on broadcast:<name> to everyone following it (operators and admins).", tag: "Realtime",
                access: .action(RealtimePolicy.broadcast),
                parameters: [
                    EndpointParameter("name", in: .path, schema: .string(pattern: Topics.broadcastNamePattern), description: "1-64 of a-z, 0-9, -")
                ],
                requestBody: EndpointBody(schemaName: nil, schema: .anyObject),
                responses: [EndpointResponse(202, "Logged; followers get it once it is numbered.", body: .json(BroadcastReceipt.self))]
            ) { request, context in
                let name = context.parameters.get("name") ?? ""
                guard Topics.isBroadcastName(name) else {
                    throw PlazaError.validation(field: "name", "must be 1 to 64 lowercase letters, digits and hyphens")
                }
                let data = try await request.decodeJSON(JSONValue.self, context: context)
                guard case .object = data else { throw PlazaError.validation(field: "body", "must be a JSON object") }
                let topic = "broadcast:\(name)"
                try await hub.outbox.store.transaction { transaction in
                    try await RealtimePublisher(outbox: hub.outbox).publish(data, to: topic, caller: context.caller, in: transaction)
                }
                return try .json(BroadcastReceipt(topic: topic), status: .accepted)
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/realtime/presence", operationID: "realtimePresence", summary: "Who is connected to a topic, on every instance.",
                tag: "Realtime", access: .authenticated,
                parameters: [
                    EndpointParameter("topic", in: .query, required: true, schema: .string(minLength: 1), description: "A topic you may follow.")
                ],
                responses: [EndpointResponse(200, "The people connected.", body: .json(PresenceReport.self))]
            ) { request, context in
                guard let principal = context.principal else { throw PlazaError.unauthorized() }
                guard let topic = request.queryItems["topic"], !topic.isEmpty else { throw PlazaError.validation(field: "topic", "is required") }
                switch await hub.topics.decide(principal, topic) {
                case .allowed: return try .json(PresenceReport(topic: topic, users: try await hub.present(on: topic)))
                case .refused: throw PlazaError.forbidden("You may not follow \(topic).")
                case .unknown: throw PlazaError.validation(field: "topic", "\(topic) is not a topic")
                }
            })
        return routes
    }
}

/// `GET /api/v1/realtime/presence`.
public struct PresenceReport: Codable, Sendable, APISchema {
    public var topic: String
    public var users: [UUID]
    public static var schema: JSONSchema {
        .object(properties: ["topic": .text, "users": .array(.uuid)], required: ["topic", "users"])
    }
}

extension Request {
    /// `Upgrade: websocket`: the request is a WebSocket handshake (well-formed or not).
    var asksForWebSocket: Bool { headers[.upgrade]?.lowercased() == "websocket" }
}
