import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Routes, OpenAPI and policies")
struct RouteTableTests {
    @Test("/openapi.json documents every registered route, and every documented route is registered")
    func openAPIMatchesRouter() async throws {
        try await withTestPlaza(apps: everyApp) { plaza in
            let routes = plaza.routes
            try await plaza.testApplication().test(.router) { client in
                var documented: [(method: String, path: String)] = []
                try await client.execute(uri: "/openapi.json", method: .get) { response in
                    #expect(response.status == .ok)
                    guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)),
                        case .object(let paths)? = document["paths"]
                    else {
                        Issue.record("not an OpenAPI document")
                        return
                    }
                    #expect(document["openapi"] == "3.1.0")
                    for (path, item) in paths {
                        guard case .object(let operations) = item else { continue }
                        for method in operations.keys { documented.append((method.uppercased(), path)) }
                    }
                }
                // Everything registered is documented…
                for endpoint in routes.endpoints {
                    #expect(
                        documented.contains { $0.method == endpoint.method.rawValue && $0.path == endpoint.path },
                        "\(endpoint.method.rawValue) \(endpoint.path) is missing from /openapi.json")
                }
                #expect(documented.count == routes.endpoints.count)
                // …and everything documented answers from a real route (not the router's 404/405).
                for (method, path) in documented {
                    let concrete = path.replacingOccurrences(of: "\\{[^}]+\\}", with: UUID().uuidString, options: .regularExpression)
                    try await client.execute(
                        uri: concrete, method: HTTPRequest.Method(method)!, headers: [.contentType: "application/json"], body: .init(string: "{}")
                    ) { response in
                        let body = String(buffer: response.body)
                        #expect(response.status != .methodNotAllowed, "\(method) \(path)")
                        #expect(!body.contains("No route matches"), "\(method) \(path) is documented but not routed")
                    }
                }
            }
        }
    }

    @Test("every path answers 405 with exactly its own methods in Allow, literal siblings of {id} included")
    func allowHeaders() async throws {
        try await withTestPlaza(apps: everyApp, configure: { $0.edge.rateLimits = [] }) { plaza in
            let endpoints = plaza.routes.endpoints
            // A path's shape: its parameters are all alike. A concrete path made from a template is served by the
            // routes of the same shape only (a UUID never equals a literal sibling such as `me`).
            func shape(_ path: String) -> String { path.replacingOccurrences(of: "\\{[^}]+\\}", with: "{}", options: .regularExpression) }
            let methodsByShape = endpoints.reduce(into: [String: Set<String>]()) { $0[shape($1.path), default: []].insert($1.method.rawValue) }
            #expect(methodsByShape.keys.contains("/api/v1/marketplace/providers/me"), "the walk includes literal siblings of {id}")
            let probes: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
            try await plaza.testApplication().test(.router) { client in
                // The router backtracks from a literal that cannot match the rest of a path to `{id}`…
                try await client.execute(uri: "/api/v1/marketplace/providers/me/reviews", method: .patch) { response in
                    #expect(response.status == .methodNotAllowed && response.headers[.allow] == "GET", "\(response.headers[.allow] ?? "none")")
                }
                // …but a path that ends at a literal with no routes of its own is not found, whatever the method.
                for method in probes {
                    try await client.execute(uri: "/api/v1/workflows/activities", method: method) { response in
                        #expect(response.status == .notFound && response.headers[.allow] == nil, "\(method)")
                    }
                }
                for (pathShape, methods) in methodsByShape.sorted(by: { $0.key < $1.key }) {
                    let concrete = pathShape.replacingOccurrences(of: "{}", with: UUID().uuidString)
                    let allow = methods.sorted().joined(separator: ", ")
                    for method in probes where !methods.contains(method.rawValue) {
                        try await client.execute(
                            uri: concrete, method: method, headers: [.contentType: "application/json"], body: .init(string: "{}")
                        ) { response in
                            #expect(response.status == .methodNotAllowed, "\(method) \(pathShape)")
                            #expect(
                                response.headers[.allow] == allow,
                                "\(method) \(pathShape): Allow \(response.headers[.allow] ?? "none"), expected \(allow)")
                        }
                    }
                }
            }
        }
    }

    @Test("every API route is guarded: public access is reserved for a short, reviewed list")
    func everyAPIRouteIsGuarded() async throws {
        try await withTestPlaza(apps: everyApp) { plaza in
            let publicAPI: Set<String> = [
                "register", "login", "loginSecondFactor", "refresh", "requestEmailVerification", "verifyEmail", "requestPasswordReset",
                "resetPassword",
                // The VAPID public key is public by design; the SMS provider's callback proves itself by its HMAC signature.
                "getPushKey", "smsStatusCallback",
                // A public file's metadata is as public as its bytes; a private one's is checked by the service (404 to strangers).
                "getFile",
            ]
            for endpoint in plaza.routes.endpoints where endpoint.path.hasPrefix("/api/") {
                if endpoint.access == .public {
                    #expect(publicAPI.contains(endpoint.operationID), "\(endpoint.operationID) is public")
                }
                if let action = endpoint.access.action {
                    #expect(plaza.policy.rules[action] != nil, "\(endpoint.operationID) needs \(action), which no policy declares")
                }
            }
            let ids = plaza.routes.endpoints.map(\.operationID)
            #expect(Set(ids).count == ids.count, "operation ids are unique")
        }
    }

    @Test("a route that promises a resource check but skips it fails loudly")
    func skippedAuthorizationFails() async throws {
        var routes = RouteTable<AppRequestContext>()
        routes.add(
            Endpoint(
                .get, "/api/v1/sloppy", operationID: "sloppy", summary: "Forgets to authorize.", tag: "Test",
                access: .resourceAction("test.thing.read"), responses: [EndpointResponse(200, "Never.")]
            ) { _, _ in Response(status: .ok) })
        var policy = RulePolicy()
        policy.allow("test.thing.read", .authenticated)
        routes.add(
            Endpoint(
                .get, "/api/v1/careful", operationID: "careful", summary: "Authorizes.", tag: "Test",
                access: .resourceAction("test.thing.read"), responses: [EndpointResponse(200, "Fine.")]
            ) { [policy] _, context in
                try policy.authorize(context.caller, "test.thing.read", ResourceFacts(ownerID: context.principal?.id))
                return Response(status: .ok)
            })
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: TestAuthentication())
        routes.register(on: router, policy: policy)
        try await Application(router: router).test(.router) { client in
            let signedIn: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: [])]
            try await client.execute(uri: "/api/v1/sloppy", method: .get, headers: signedIn) { response in
                #expect(response.status == .internalServerError)
            }
            try await client.execute(uri: "/api/v1/careful", method: .get, headers: signedIn) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("rules: roles, ownership, participation and organisation membership")
    func policyRules() {
        let owner = UUID()
        let organisation = UUID()
        var policy = RulePolicy()
        policy.allow("booking.booking.read", .owner, .participant, .organisationRole(["owner", "manager"]), .systemRole("employee"))
        policy.allow("catalog.launch.list", .anyone)
        policy.allow("marketplace.request.create", .appRole(app: "marketplace", role: "customer"))
        let resource = ResourceFacts(ownerID: owner, organisationID: organisation, participantIDs: [UUID()])
        #expect(policy.allows(Principal(id: owner), "booking.booking.read", resource))
        #expect(policy.allows(Principal(id: resource.participantIDs.first!), "booking.booking.read", resource))
        #expect(policy.allows(Principal(id: UUID(), organisationRoles: [organisation: ["manager"]]), "booking.booking.read", resource))
        #expect(!policy.allows(Principal(id: UUID(), organisationRoles: [UUID(): ["manager"]]), "booking.booking.read", resource))
        #expect(policy.allows(Principal(id: UUID(), systemRoles: ["employee"]), "booking.booking.read", resource))
        #expect(!policy.allows(Principal(id: UUID()), "booking.booking.read", resource))
        #expect(!policy.allows(nil, "booking.booking.read", resource))
        #expect(policy.allows(nil, "catalog.launch.list"))
        #expect(policy.allows(Principal(id: UUID(), appRoles: ["marketplace": ["customer"]]), "marketplace.request.create"))
        #expect(!policy.allows(Principal(id: UUID(), appRoles: ["astro": ["customer"]]), "marketplace.request.create"))
        #expect(policy.allows(Principal(id: UUID(), appRoles: ["*": ["customer"]]), "marketplace.request.create"), "roles in every app")
        #expect(policy.allows(Principal(id: UUID(), systemRoles: ["admin"]), "marketplace.request.create"))
        #expect(!policy.allows(Principal(id: UUID(), systemRoles: ["admin"]), "undeclared.action"), "undeclared actions stay refused")
        #expect(throws: PlazaError.unauthorized()) { try policy.authorize(nil, "booking.booking.read", resource) }
    }
}

@Suite("Generated documents")
struct GeneratedDocumentTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("docs/authorization.md is what the declared rules and routes produce")
    func authorizationMatrixIsCurrent() async throws {
        try await withTestPlaza(apps: everyApp) { plaza in
            let path = Self.repository.appendingPathComponent("docs/authorization.md").path
            let generated = plaza.authorizationMarkdown
            if ProcessInfo.processInfo.environment["PLAZA_UPDATE_DOCS"] == "1" {
                try generated.write(toFile: path, atomically: true, encoding: .utf8)
            }
            let committed = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            #expect(committed == generated, "docs/authorization.md is stale: run `swift run plaza authorization > docs/authorization.md`")
            #expect(generated.contains("| `operations.jobs.manage` | admin, role operator |"))
        }
    }
}

extension GeneratedDocumentTests {
    @Test("docs/operations.md documents every configuration key")
    func operationsGuideListsEveryKey() throws {
        let guide = try String(contentsOf: Self.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        var config = PlazaConfig()
        config.apps = everyApp
        for key in config.allKeys {
            #expect(guide.contains("`\(key.key)`"), "\(key.key) is missing from docs/operations.md")
        }
    }
}

@Suite("Authorization matrix over HTTP")
struct AuthorizationWalkTests {
    @Test("every route answers every role as the declared policy says")
    func walkEveryRouteWithEveryRole() async throws {
        let metricsToken = "walk-metrics-token-0123456789"
        try await withTestPlaza(
            apps: everyApp,
            configure: {
                $0.edge.rateLimits = []; $0.metricsToken = metricsToken
            }
        ) { plaza in
            var roles: [(name: String, header: String?)] = [
                ("anonymous", nil), ("signed in", TestAuthentication.header(roles: [])),
                ("employee", TestAuthentication.header(roles: ["employee"])), ("operator", TestAuthentication.header(roles: ["operator"])),
                ("admin", TestAuthentication.header(roles: ["admin"])),
            ]
            // The core's app role, then every role the apps bring.
            for role in ["customer"] + everyApp.types.flatMap({ $0.manifest.roles.map(\.name) }) {
                roles.append((role, TestAuthentication.header(roles: [], apps: [role])))
            }
            let everyone = roles
            try await plaza.testApplication().test(.router) { client in
                let document = try await client.execute(uri: "/openapi.json", method: .get) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                let conformance = ResponseConformance(document: document)
                var nonconforming: [String] = []
                for endpoint in plaza.routes.endpoints {
                    let path = endpoint.path.replacingOccurrences(of: "\\{[^}]+\\}", with: UUID().uuidString, options: .regularExpression)
                    for role in everyone {
                        var headers: HTTPFields = [.contentType: "application/json"]
                        if let header = role.header { headers[.testPrincipal] = header }
                        // /metrics is guarded by its scrape token (or network), not by who is signed in.
                        if endpoint.path == "/metrics" { headers[.authorization] = "Bearer \(metricsToken)" }
                        let principal = role.header.flatMap(TestAuthentication.principal(header:))
                        let (status, challenge) = try await client.execute(
                            uri: path, method: endpoint.method, headers: headers, body: .init(string: "{}")
                        ) { response in
                            // Every answer, refusals included, is one the document declares.
                            nonconforming += conformance.problems(
                                method: endpoint.method.rawValue, path: endpoint.path, status: Int(response.status.code),
                                contentType: response.headers[.contentType], body: Array(buffer: response.body)
                            ).map { "\(role.name): \($0)" }
                            return (response.status, response.headers[.wwwAuthenticate] ?? "")
                        }
                        #expect(status.code < 500, "\(role.name): \(endpoint.method.rawValue) \(endpoint.path) → \(status.code)")
                        let refused = status == .unauthorized || status == .forbidden
                        let label = "\(role.name): \(endpoint.method.rawValue) \(endpoint.path) → \(status.code)"
                        switch endpoint.access {
                        case .public:
                            #expect(!refused, "\(label)")
                        case .authenticated:
                            // The walk's people have no accounts: a route that reads the account says the token is no good.
                            let accountGone = principal != nil && status == .unauthorized && challenge.contains("invalid_token")
                            #expect(refused == (principal == nil) || (principal != nil && status == .notFound) || accountGone, "\(label)")
                            if principal == nil { #expect(status == .unauthorized, "\(label)") }
                        case .action(let action):
                            let allowed = plaza.policy.allows(principal, action)
                            #expect(refused == !allowed, "\(label)")
                            if !allowed { #expect(status == (principal == nil ? .unauthorized : .forbidden), "\(label)") }
                        case .resourceAction:
                            // Without a real resource these answer 404 (or 401 when signed out); never a success.
                            #expect(status.code >= 400, "\(label)")
                            if principal == nil { #expect(status == .unauthorized, "\(label)") }
                        }
                    }
                }
                let distinct = Array(Set(nonconforming)).sorted()
                #expect(distinct.isEmpty, "\(distinct.count) answers do not match /openapi.json:\n\(distinct.prefix(60).joined(separator: "\n"))")
            }
        }
    }
}
