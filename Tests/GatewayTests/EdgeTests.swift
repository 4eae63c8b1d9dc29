import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Gateway

struct Widget: Codable, Sendable, APISchema {
    var name: String
    var count: Int
    var tags: [String]?
    static var schema: JSONSchema {
        .object(properties: ["name": .text, "count": .integer(), "tags": .array(.text)], required: ["name", "count"])
    }
}

struct Kaboom: Error {}

/// A refusal in another standard's form, as OAuth's are.
struct TeapotRefusal: AnsweredInItsOwnForm {
    var response: Response {
        Response(
            status: .badRequest, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"invalid_request"}"#)))
    }
}

/// A router with the real edge in front of a few test routes.
func edgeApplication(settings: EdgeSettings = EdgeSettings()) -> some ApplicationProtocol {
    var routes = RouteTable<AppRequestContext>()
    routes.add(
        Endpoint(
            .post, "/api/v1/widgets", operationID: "createWidget", summary: "Echo a widget.", tag: "Test", access: .public,
            requestBody: .json(Widget.self), responses: [EndpointResponse(201, "Created.", body: .json(Widget.self))]
        ) { request, context in try .json(try await request.decodeJSON(Widget.self, context: context), status: .created) })
    routes.add(
        Endpoint(
            .get, "/api/v1/widgets/{id}", operationID: "getWidget", summary: "A widget.", tag: "Test", access: .public,
            responses: [EndpointResponse(200, "The widget.")]
        ) { _, context in try .json(Widget(name: try context.uuidParameter("id").uuidString, count: 1)) })
    routes.add(
        Endpoint(
            .get, "/api/v1/explode", operationID: "explode", summary: "Fails unexpectedly.", tag: "Test", access: .public,
            responses: [EndpointResponse(200, "Never.")]
        ) { _, _ in throw Kaboom() })
    routes.add(
        Endpoint(
            .get, "/api/v1/own-form", operationID: "ownForm", summary: "Refuses in its own form.", tag: "Test", access: .public,
            responses: [EndpointResponse(200, "Never.")]
        ) { _, _ in throw TeapotRefusal() })
    routes.add(
        Endpoint(
            .get, "/page", operationID: "page", summary: "A page.", tag: "Test", access: .public,
            responses: [EndpointResponse(200, "HTML.")]
        ) { _, _ in Response(status: .ok) })
    let router = Router(context: AppRequestContext.self)
    let table = routes
    router.add(
        middleware: EdgeMiddleware<AppRequestContext>(
            settings: settings, accessLog: .init(label: "test.access"), allowedMethods: { table.methods(matching: $0) }))
    router.add(middleware: CORSMiddleware<AppRequestContext>(origins: settings.corsOrigins))
    router.add(middleware: RateLimitMiddleware<AppRequestContext>(rules: settings.rateLimits))
    routes.register(on: router, policy: RulePolicy())
    return Application(router: router)
}

/// The response's problem document (an issue is recorded when it is not one).
func problem(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) -> Problem {
    #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
    do {
        return try JSONDecoder().decode(Problem.self, from: Data(buffer: response.body))
    } catch {
        Issue.record("not a problem document: \(String(buffer: response.body))", sourceLocation: sourceLocation)
        return Problem(title: "", status: 0)
    }
}

let json: HTTPFields = [.contentType: "application/json"]

@Suite("The HTTP edge")
struct EdgeTests {
    @Test("a refusal in its own form (OAuth's) is answered as it is, not logged as unhandled and turned into a 500")
    func ownForm() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/api/v1/own-form", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body) == #"{"error":"invalid_request"}"#)
            }
        }
    }

    @Test("a page may widen form-action by one origin, and only by something that is an origin")
    func formActionOrigin() {
        for good in ["https://shop.example", "http://127.0.0.1:53219", "https://[::1]:8443", "com.example.app://callback"] {
            #expect(EdgeMiddleware<AppRequestContext>.isOrigin(good), "\(good)")
        }
        for bad in [
            "https://shop.example/path", "https://shop.example; script-src *", "https://a.example 'unsafe-inline'", "javascript://x", "", "*",
        ] {
            #expect(!EdgeMiddleware<AppRequestContext>.isOrigin(bad), "\(bad)")
        }
    }

    @Test("malformed JSON is a 400 problem")
    func malformedJSON() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: "{\"name\": ")) { response in
                #expect(response.status == .badRequest)
                let body = problem(response)
                #expect(body.type.hasSuffix("/malformed-body"))
                #expect(body.status == 400)
                #expect(body.requestId == response.headers[.init("X-Request-Id")!])
            }
        }
    }

    @Test("missing fields and wrong types are a 422 naming each field")
    func fieldErrors() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: "{\"count\": 2}")) { response in
                #expect(response.status == .unprocessableContent)
                #expect(problem(response).errors == [FieldError(field: "name", message: "is required")])
            }
            try await client.execute(
                uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: "{\"name\": \"a\", \"count\": \"two\"}")
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(problem(response).errors == [FieldError(field: "count", message: "must be an integer")])
            }
            try await client.execute(
                uri: "/api/v1/widgets", method: .post, headers: json,
                body: ByteBuffer(string: "{\"name\": \"a\", \"count\": 1, \"tags\": [\"x\", 3]}")
            ) { response in
                #expect(response.status == .unprocessableContent)
                #expect(problem(response).errors == [FieldError(field: "tags[1]", message: "must be a string")])
            }
            try await client.execute(uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: "[1, 2]")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(
                uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: "{\"name\": \"a\", \"count\": 3}")
            ) { response throws in
                #expect(response.status == .created)
                #expect(try JSONDecoder().decode(Widget.self, from: Data(buffer: response.body)).count == 3)
            }
        }
    }

    @Test("an unknown route is 404, a known path with another method is 405 with Allow")
    func unknownRouteAndMethod() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/api/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(problem(response).detail?.contains("/api/v1/nothing-here") == true)
            }
            try await client.execute(uri: "/api/v1/widgets/\(UUID())", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                #expect(problem(response).status == 405)
            }
        }
    }

    @Test("a body over the limit is 413; a body that is not JSON is 415")
    func tooLargeAndWrongMediaType() async throws {
        try await edgeApplication(settings: EdgeSettings(maxBodySize: 64)).test(.router) { client in
            let big = "{\"name\": \"" + String(repeating: "x", count: 200) + "\", \"count\": 1}"
            try await client.execute(uri: "/api/v1/widgets", method: .post, headers: json, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(problem(response).type.hasSuffix("/payload-too-large"))
            }
            try await client.execute(
                uri: "/api/v1/widgets", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "name=a")
            ) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(problem(response).status == 415)
            }
        }
    }

    @Test("an unexpected error is a 500 problem that reveals nothing")
    func internalErrorsRevealNothing() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/api/v1/explode", method: .get) { response in
                #expect(response.status == .internalServerError)
                let body = problem(response)
                #expect(body.title == "Internal error")
                #expect(!(body.detail ?? "").contains("Kaboom"))
                #expect(!String(buffer: response.body).contains("Kaboom"))
            }
        }
    }

    @Test("a browser asking for a page gets a readable HTML error, the API never does")
    func htmlErrorsForPagesOnly() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/no-such-page", method: .get, headers: [.accept: "text/html,*/*"]) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(String(buffer: response.body).contains("Not found"))
            }
            try await client.execute(uri: "/api/v1/nope", method: .get, headers: [.accept: "text/html"]) { response in
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
    }

    @Test("request ids are echoed when sane and made otherwise; security headers are always set")
    func requestIDsAndHeaders() async throws {
        try await edgeApplication().test(.router) { client in
            try await client.execute(uri: "/page", method: .get, headers: [.init("X-Request-Id")!: "abc-123"]) { response in
                #expect(response.headers[.init("X-Request-Id")!] == "abc-123")
                #expect(response.headers[.init("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[.strictTransportSecurity] == nil, "no HSTS over plain HTTP")
            }
            try await client.execute(uri: "/page", method: .get, headers: [.init("X-Request-Id")!: "bad id\u{7F} with spaces"]) { response throws in
                let id = try #require(response.headers[.init("X-Request-Id")!])
                #expect(id.count == 29 && id.allSatisfy { $0.isHexDigit || $0 == "-" }, "made: \(id)")
            }
        }
    }

    @Test("the rate limiter answers 429 with Retry-After once the bucket is empty")
    func rateLimits() async throws {
        let settings = EdgeSettings(rateLimits: [RateLimitRule(prefix: "/api/", capacity: 3, period: .seconds(60))])
        try await edgeApplication(settings: settings).test(.router) { client in
            for remaining in [2, 1, 0] {
                try await client.execute(uri: "/api/v1/widgets/\(UUID())", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.init("RateLimit-Remaining")!] == String(remaining))
                }
            }
            try await client.execute(uri: "/api/v1/widgets/\(UUID())", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                let retryAfter = try #require(response.headers[.retryAfter].flatMap(Int.init))
                #expect(retryAfter >= 1 && retryAfter <= 20)
                #expect(problem(response).type.hasSuffix("/rate-limited"))
            }
            // Routes outside the rule are not limited.
            try await client.execute(uri: "/page", method: .get) { response in #expect(response.status == .ok) }
        }
    }

    @Test("CORS preflights are answered for allowed origins only")
    func cors() async throws {
        let settings = EdgeSettings(corsOrigins: ["https://app.example.com"])
        try await edgeApplication(settings: settings).test(.router) { client in
            let preflight: HTTPFields = [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"]
            try await client.execute(uri: "/api/v1/widgets", method: .options, headers: preflight) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[.accessControlAllowCredentials] == "true")
                #expect(response.headers[.accessControlAllowMethods]?.contains("POST") == true)
            }
            try await client.execute(uri: "/api/v1/widgets/\(UUID())", method: .get, headers: [.origin: "https://evil.example"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }
}

@Suite("Client addresses and limits")
struct ClientTests {
    @Test("forwarding headers are believed only from trusted proxies")
    func trustedProxies() throws {
        let resolver = ClientResolver(trustedProxies: [try IPAddressRange("10.0.0.0/8"), try IPAddressRange("::1")])
        let headers: HTTPFields = [.init("X-Forwarded-For")!: "198.51.100.7, 10.0.0.5", .init("X-Forwarded-Proto")!: "https"]
        let viaProxy = resolver.resolve(peer: "10.1.2.3", headers: headers)
        #expect(viaProxy == ClientInfo(ip: "198.51.100.7", isSecure: true))
        let direct = resolver.resolve(peer: "203.0.113.50", headers: headers)
        #expect(direct == ClientInfo(ip: "203.0.113.50", isSecure: false))
        // A client cannot hide behind a forged first hop: the nearest untrusted hop wins.
        let forged: HTTPFields = [.init("X-Forwarded-For")!: "1.2.3.4, 198.51.100.7"]
        #expect(resolver.resolve(peer: "10.0.0.1", headers: forged).ip == "198.51.100.7")
    }

    @Test("address ranges parse IPv4 and IPv6 CIDRs")
    func addressRanges() throws {
        let v4 = try IPAddressRange("192.168.0.0/16")
        #expect(v4.contains("192.168.44.1"))
        #expect(!v4.contains("192.169.0.1"))
        #expect(v4.contains("::ffff:192.168.1.1"))
        let v6 = try IPAddressRange("2001:db8::/32")
        #expect(v6.contains("2001:db8::1"))
        #expect(!v6.contains("2001:db9::1"))
        #expect(throws: IPAddressRange.ParseError.self) { try IPAddressRange("300.1.1.1") }
        #expect(throws: IPAddressRange.ParseError.self) { try IPAddressRange("10.0.0.0/33") }
    }

    @Test("rate limit rules parse from configuration text")
    func ruleParsing() throws {
        let rule = try RateLimitRule(parsing: "/api/v1/auth/=5/10s")
        #expect(rule.prefix == "/api/v1/auth/")
        #expect(rule.capacity == 5)
        #expect(rule.period == .seconds(10))
        #expect(try RateLimitRule(parsing: "/api/=600/min").period == .seconds(60))
        for bad in ["api=5/s", "/api/=five/s", "/api/=5/fortnight", "/api/"] {
            #expect(throws: (any Error).self, "\(bad)") { try RateLimitRule(parsing: bad) }
        }
    }

    @Test("token buckets refill with time")
    func bucketsRefill() {
        let limiter = RateLimiter()
        let start = ContinuousClock.now
        #expect(limiter.take("k", limit: RateLimit(2, per: .seconds(2)), now: start) == .allowed(remaining: 1))
        #expect(limiter.take("k", limit: RateLimit(2, per: .seconds(2)), now: start) == .allowed(remaining: 0))
        #expect(limiter.take("k", limit: RateLimit(2, per: .seconds(2)), now: start) == .limited(retryAfter: 1))
        #expect(limiter.take("other", limit: RateLimit(2, per: .seconds(2)), now: start) == .allowed(remaining: 1))
        #expect(limiter.take("k", limit: RateLimit(2, per: .seconds(2)), now: start + .seconds(1)) == .allowed(remaining: 0))
    }
}
