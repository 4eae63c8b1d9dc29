import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
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
    routes.add(
        Endpoint(
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
            if failAfterCommit.flag.withLock({ fail in
                defer { fail = false }; return fail
            }) {
                throw PlazaError(.serviceUnavailable, code: "lost", title: "Lost after the commit")
            }
            return try .json(Order(item: order.item, id: id), status: .created, headers: [.location: "/api/v1/test/orders/\(id)"])
        })
    return routes
}

@Suite("Idempotency keys")
struct IdempotencyTests {
    @Test(
        "the change and the key's response commit together: work that fails after its own transaction committed leaves nothing, and the retry runs once; without a key the same failure keeps the write"
    )
    func changeAndResponseCommitTogether() async throws {
        try await withTestPlaza { plaza in
            let fail = Switch(true)
            let app = Application(
                router: plaza.buildRouter(extraAuthentication: TestAuthentication(), extraRoutes: auditedOrderRoutes(plaza, failAfterCommit: fail)))
            let headers: HTTPFields = [
                .testPrincipal: TestAuthentication.header(roles: []), .contentType: "application/json", .idempotencyKey: "once",
            ]
            let orders = { @Sendable in
                try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'test.order'").first()?.decode(
                    column: "n", as: Int.self)
            }
            try await app.test(.router) { client in
                try await client.execute(
                    uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)
                ) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                #expect(try await orders() == 0, "the write inside the failed request was rolled back with it")
                var first = ""
                try await client.execute(
                    uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)
                ) { response in
                    #expect(response.status == .created, "\(String(buffer: response.body))")
                    first = String(buffer: response.body)
                }
                try await client.execute(
                    uri: "/api/v1/test/audited-orders", method: .post, headers: headers, body: ByteBuffer(string: #"{"item":"tea"}"#)
                ) { response in
                    #expect(response.status == .created && response.headers[.idempotencyReplayed] == "true")
                    #expect(String(buffer: response.body) == first)
                }
                #expect(try await orders() == 1)
                // Without a key there is nothing to commit with: the write stands although the request failed.
                fail.flag.withLock { $0 = true }
                var keyless = headers
                keyless[.idempotencyKey] = nil
                try await client.execute(
                    uri: "/api/v1/test/audited-orders", method: .post, headers: keyless, body: ByteBuffer(string: #"{"item":"tea"}"#)
                ) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                #expect(try await orders() == 2)
            }
        }
    }

    @Test(
        "only the holder of a key's claim records: a request taken over by a retry rolls back with a 409; a 5xx answer keeps nothing and frees the key"
    )
    func claims() async throws {
        try await withTestPlaza { plaza in
            // Every running key is stale at once here, so a second begin takes the first one over.
            let keys = SQLIdempotencyStore(store: plaza.store, staleAfter: -1)
            let request = IdempotentRequest(scope: "user:claims", key: "k", method: "POST", path: "/x", body: Array("{}".utf8))
            let audited = { @Sendable in
                try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'test.claimed'").first()?.decode(
                    column: "n", as: Int.self)
            }
            let work = { @Sendable (status: Int) -> IdempotentOutcome in
                try await plaza.store.transaction { _ = try await $0.audit(.system("test"), action: "test.claimed", resourceType: "x") }
                let stored = StoredResponse(status: status, contentType: nil, location: nil, body: [])
                return IdempotentOutcome(response: Response(status: .init(code: status)), stored: stored)
            }
            guard case .proceed(let first) = try await keys.begin(request), case .proceed(let second) = try await keys.begin(request) else {
                Issue.record("both begins proceed (the second takes the key over)")
                return
            }
            #expect(first != second)
            await #expect(throws: PlazaError.self, "the first holder lost its claim") {
                _ = try await keys.perform(request, claim: first) { try await work(201) }
            }
            #expect(try await audited() == 0, "and its work rolled back")
            let answered = try await keys.perform(request, claim: second) { try await work(201) }
            #expect(answered.stored.status == 201)
            #expect(try await audited() == 1)
            guard case .replay = try await SQLIdempotencyStore(store: plaza.store).begin(request) else {
                Issue.record("the holder's answer is kept")
                return
            }

            let failing = IdempotentRequest(scope: "user:claims", key: "5xx", method: "POST", path: "/x", body: Array("{}".utf8))
            guard case .proceed(let claim) = try await keys.begin(failing) else { Issue.record("a new key proceeds"); return }
            let failed = try await keys.perform(failing, claim: claim) { try await work(503) }
            #expect(failed.stored.status == 503, "the 5xx is still the answer")
            #expect(try await audited() == 1, "but nothing it did is kept")
            guard case .proceed = try await SQLIdempotencyStore(store: plaza.store).begin(failing) else {
                Issue.record("the key is free again")
                return
            }
        }
    }

    @Test(
        "inside an enclosing transaction, a transaction that throws is rolled back alone and its commit hooks never run; the others commit with the whole"
    )
    func enclosedSavepoints() async throws {
        try await withTestPlaza { plaza in
            let store = plaza.store
            let hooks = Mutex<[String]>([])
            let count = { @Sendable (action: String) in
                try await store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = \(bind: action)").first()?.decode(
                    column: "n", as: Int.self)
            }
            let (result, hooksBeforeCommit) = try await store.transaction(
                enclosing: {
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
                    return (try await count("test.kept") ?? -1, hooks.withLock { $0 })
                }, then: { seen, _ in seen })
            #expect(result == 1, "the work reads its own write")
            #expect(hooksBeforeCommit == ["dropped rolled back"], "nothing commits before the whole does")
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
        routes.add(
            Endpoint(
                .post, "/api/v1/test/orders", operationID: "createOrder", summary: "Create an order.", tag: "Test",
                access: .authenticated, requestBody: .json(Order.self), responses: [EndpointResponse(201, "Created.")],
                idempotent: true
            ) { request, context in
                var order = try await request.decodeJSON(Order.self, context: context)
                if desk.failFirst.withLock({ fail in
                    defer { fail = false }; return fail
                }) {
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
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"tea\"}")) {
                    response in
                    #expect(response.status == .created)
                    #expect(response.headers[.idempotencyReplayed] == nil)
                    first = String(buffer: response.body)
                }
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"tea\"}")) {
                    response in
                    #expect(response.status == .created)
                    #expect(response.headers[.idempotencyReplayed] == "true")
                    #expect(response.headers[.location]?.hasPrefix("/api/v1/test/orders/") == true)
                    #expect(String(buffer: response.body) == first)
                }
                #expect(desk.count == 1)
                // The same key for another request is refused.
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: user, body: ByteBuffer(string: "{\"item\":\"coffee\"}"))
                { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(String(buffer: response.body).contains("idempotency-mismatch"))
                }
                // Another user's identical key is theirs alone.
                var other = user
                other[.testPrincipal] = TestAuthentication.header(roles: [])
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: other, body: ByteBuffer(string: "{\"item\":\"tea\"}")) {
                    response in
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
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: longKey, body: ByteBuffer(string: "{\"item\":\"tea\"}"))
                { response in
                    #expect(response.status == .unprocessableContent, "signed in, the key itself is checked")
                }
                // Without a key every request acts.
                var keyless = user
                keyless[.idempotencyKey] = nil
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: keyless, body: ByteBuffer(string: "{\"item\":\"tea\"}"))
                { _ in }
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
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: headers, body: ByteBuffer(string: "{\"item\":\"tea\"}"))
                { response in
                    #expect(response.status == .serviceUnavailable)
                }
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: headers, body: ByteBuffer(string: "{\"item\":\"tea\"}"))
                { response in
                    #expect(response.status == .created)
                }
            }
            #expect(desk.count == 1)
            // A key whose first request is still running.
            let id = UUID(uuidString: String(principal.prefix(36)))!
            let pending = IdempotentRequest(
                scope: "user:\(id)", key: "key-3", method: "POST", path: "/api/v1/test/orders", body: Array("{\"item\":\"tea\"}".utf8))
            guard case .proceed = try await plaza.idempotency.begin(pending) else {
                Issue.record("a new key proceeds")
                return
            }
            try await app.test(.router) { client in
                var running = headers
                running[.idempotencyKey] = "key-3"
                try await client.execute(uri: "/api/v1/test/orders", method: .post, headers: running, body: ByteBuffer(string: "{\"item\":\"tea\"}"))
                { response in
                    #expect(response.status == .conflict)
                    #expect(response.headers[.retryAfter] == "1")
                }
            }
        }
    }
}
