import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Synchronization
import Testing

struct Order: Codable, Sendable, APISchema {
    var item: String
    var id: UUID?
    static var schema: JSONSchema { .object(properties: ["item": .text, "id": .uuid], required: ["item"]) }
}

/// How often the test route really ran, and whether its first call fails.
final class OrderDesk: Sendable {
    let created = Mutex(0)
    let failFirst: Mutex<Bool>
    init(failFirst: Bool) { self.failFirst = Mutex(failFirst) }
    var count: Int { created.withLock { $0 } }
}

@Suite("Idempotency keys")
struct IdempotencyTests {
    /// A creating route that counts how often it really ran.
    func orderRoutes(_ desk: OrderDesk) -> RouteTable<AppRequestContext> {
        var routes = RouteTable<AppRequestContext>()
        routes.add(Endpoint(
            .post, "/api/v1/test/orders", operationID: "createOrder", summary: "Create an order.", tag: "Test",
            access: .authenticated, requestBody: .json(Order.self), responses: [EndpointResponse(201, "Created.")],
            idempotent: true
        ) { request, context in
            var order = try await request.decodeJSON(Order.self, context: context)
            if desk.failFirst.withLock({ fail in defer { fail = false }; return fail }) {
                throw PlazaError(.serviceUnavailable, code: "busy", title: "Busy")
            }
            desk.created.withLock { $0 += 1 }
            order.id = UUID()
            return try .json(order, status: .created, headers: [.location: "/api/v1/test/orders/\(order.id!)"])
        })
        return routes
    }

    @Test("a retried request with the same key happens once and replays the first answer")
    func replays() async throws {
        try await withTestPlaza { plaza in
            let desk = OrderDesk(failFirst: false)
            let app = Application(router: plaza.buildRouter(extraAuthentication: TestAuthentication(), extraRoutes: orderRoutes(desk)))
            let user: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: []), .contentType: "application/json", .idempotencyKey: "key-1"]
            try await app.test(.router) { client in
                var first = ""
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .created)
                    #expect(response.headers[.idempotencyReplayed] == nil)
                    first = String(buffer: response.body)
                }
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .created)
                    #expect(response.headers[.idempotencyReplayed] == "true")
                    #expect(response.headers[.location]?.hasPrefix("/api/v1/test/orders/") == true)
                    #expect(String(buffer: response.body) == first)
                }
                #expect(desk.count == 1)
                // The same key for another request is refused.
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"coffee\"}")) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(String(buffer: response.body).contains("idempotency-mismatch"))
                }
                // Another user's identical key is theirs alone.
                var other = user
                other[.testPrincipal] = TestAuthentication.header(roles: [])
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: other, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .created)
                    #expect(response.headers[.idempotencyReplayed] == nil)
                }
                // Without a key every request acts.
                var keyless = user
                keyless[.idempotencyKey] = nil
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: keyless, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { _ in }
                #expect(desk.count == 3)
            }
        }
    }

    @Test("a request that failed can be retried with its key; a key still running is a 409")
    func failuresReleaseTheKey() async throws {
        try await withTestPlaza { plaza in
            let desk = OrderDesk(failFirst: true)
            let app = Application(router: plaza.buildRouter(extraAuthentication: TestAuthentication(), extraRoutes: orderRoutes(desk)))
            let principal = TestAuthentication.header(roles: [])
            let headers: HTTPFields = [.testPrincipal: principal, .contentType: "application/json", .idempotencyKey: "key-2"]
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: headers, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: headers, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .created)
                }
            }
            #expect(desk.count == 1)
            // A key whose first request is still running.
            let id = UUID(uuidString: String(principal.prefix(36)))!
            let pending = IdempotentRequest(scope: "user:\(id)", key: "key-3", method: "POST", path: "/api/v1/test/orders", body: Array("{\"item\":\"tea\"}".utf8))
            #expect(try await plaza.idempotency.begin(pending) == .proceed)
            try await app.test(.router) { client in
                var running = headers
                running[.idempotencyKey] = "key-3"
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: running, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .conflict)
                    #expect(response.headers[.retryAfter] == "1")
                }
            }
        }
    }
}
