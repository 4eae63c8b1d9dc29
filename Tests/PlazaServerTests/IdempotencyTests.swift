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

/// A flag a test flips and a route reads.
final class Switch: Sendable {
    let flag: Mutex<Bool>
    init(_ on: Bool) { flag = Mutex(on) }
}

/// A creating route that writes an audit row in a transaction of its own, reads it back outside that
/// transaction, and — the first time, if asked — fails after its transaction committed, as a crash would.
func auditedOrderRoutes(_ plaza: Plaza, failAfterCommit: Switch) -> RouteTable<AppRequestContext> {
    var routes = RouteTable<AppRequestContext>()
    routes.add(Endpoint(
        .post, "/api/v1/test/audited-orders", operationID: "createAuditedOrder", summary: "Create an order.", tag: "Test",
        access: .authenticated, requestBody: .json(Order.self), responses: [EndpointResponse(201, "Created.")], idempotent: true
    ) { request, context in
        let order = try await request.decodeJSON(Order.self, context: context)
        let id = UUID()
        try await plaza.store.transaction { transaction in
            _ = try await transaction.audit(context.caller, action: "test.order", resourceType: "order", resourceID: id.uuidString)
        }
        // Read outside the transaction: inside an idempotent request it sees its own write.
        let seen = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE resource_id = \(bind: id.uuidString)")
            .first()?.decode(column: "n", as: Int.self)
        guard seen == 1 else { throw PlazaError.conflict("the request did not see its own write") }
        if failAfterCommit.flag.withLock({ fail in defer { fail = false }; return fail }) {
            throw PlazaError(.serviceUnavailable, code: "lost", title: "Lost after the commit")
        }
        return try .json(Order(item: order.item, id: id), status: .created, headers: [.location: "/api/v1/test/orders/\(id)"])
    })
    return routes
}

@Suite("Idempotency keys")
struct IdempotencyTests {
    @Test("the change and the key's response commit together: work that fails after its own transaction committed leaves nothing, and the retry runs once; without a key the same failure keeps the write")
    func changeAndResponseCommitTogether() async throws {
        try await withTestPlaza { plaza in
            let fail = Switch(true)
            let app = Application(router: plaza.buildRouter(extraAuthentication: TestAuthentication(), extraRoutes: auditedOrderRoutes(plaza, failAfterCommit: fail)))
            let headers: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: []), .contentType: "application/json", .idempotencyKey: "once"]
            let orders = { @Sendable in try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'test.order'").first()?.decode(column: "n", as: Int.self) }
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                #expect(try await orders() == 0, "the write inside the failed request was rolled back with it")
                var first = ""
                try await client.execute(uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                    first = String(buffer: response.body)
                }
                try await client.execute(uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)) { response in
                    #expect(response.status == .created && response.headers[.idempotencyReplayed] == "true")
                    #expect(String(buffer: response.body) == first)
                }
                #expect(try await orders() == 1)
                // Without a key there is nothing to commit with: the write stands although the request failed.
                fail.flag.withLock { $0 = true }
                var keyless = headers
                keyless[.idempotencyKey] = nil
                try await client.execute(uri: "/api/v1/test/audited-orders", method: .post, headers: keyless, body: ByteBuffer(string: #"{"item":"tea"}"#)) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                #expect(try await orders() == 2)
            }
        }
    }

    @Test("inside an enclosing transaction, a transaction that throws is rolled back alone and its commit hooks never run; the others commit with the whole")
    func enclosedSavepoints() async throws {
        try await withTestPlaza { plaza in
            let store = plaza.store
            let hooks = Mutex<[String]>([])
            let count = { @Sendable (action: String) in
                try await store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = \(bind: action)").first()?.decode(column: "n", as: Int.self)
            }
            let result = try await store.transaction(enclosing: {
                try await store.transaction { transaction in
                    _ = try await transaction.audit(.system("test"), action: "test.kept", resourceType: "x")
                    transaction.onCommit { hooks.withLock { $0.append("kept") } }
                }
                do {
                    try await store.transaction { transaction in
                        _ = try await transaction.audit(.system("test"), action: "test.dropped", resourceType: "x")
                        transaction.onCommit { hooks.withLock { $0.append("dropped") } }
                        transaction.onRollback { hooks.withLock { $0.append("dropped rolled back") } }
                        throw PlazaError.conflict("no")
                    }
                } catch {}
                #expect(hooks.withLock { $0 } == ["dropped rolled back"], "nothing commits before the whole does")
                return try await count("test.kept") ?? -1
            }, then: { seen, _ in seen })
            #expect(result == 1, "the work reads its own write")
            #expect(try await count("test.kept") == 1)
            #expect(try await count("test.dropped") == 0)
            #expect(hooks.withLock { $0 } == ["dropped rolled back", "kept"])
            // Afterwards transactions are their own again.
            try await store.transaction { _ = try await $0.audit(.system("test"), action: "test.after", resourceType: "x") }
            #expect(try await count("test.after") == 1)
        }
    }

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
                // The caller is checked before the key: signed out is a 401, whatever the key.
                let tooLong = String(repeating: "k", count: 300)
                try await client.execute(
                    uri: "/api/v1/test/orders", method: .post, headers: [.contentType: "application/json", .idempotencyKey: tooLong],
                    body: ByteBuffer(string: "{\"item\":\"tea\"}")
                ) { response in
                    #expect(response.status == .unauthorized)
                }
                var longKey = user
                longKey[.idempotencyKey] = tooLong
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: longKey, body: ByteBuffer(string: "{\"item\":\"tea\"}")) { response in
                    #expect(response.status == .unprocessableContent, "signed in, the key itself is checked")
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
