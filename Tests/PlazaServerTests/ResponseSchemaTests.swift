import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

/// Every answer the demo's people get from every GET route, held against the schema `/openapi.json` declares
/// for it. The route walk of the authorization matrix checks the refusals; this walk reaches the successes, with
/// the ids of real demo resources found on the way (lists first, then what their items point at).
@Suite("Responses match their schemas")
struct ResponseSchemaTests {
    @Test("every GET answer to the demo's people, anonymous included, matches /openapi.json; absent values are null")
    func demoAnswersConform() async throws {
        try await withTestPlaza(
            apps: everyApp,
            configure: {
                $0.edge.rateLimits = []; $0.metricsToken = "walk-metrics-token-0123456789"
            }
        ) { plaza in
            #expect(try await Demo.seed(plaza))
            var people: [(name: String, id: UUID?, authorization: String?)] = [("anonymous", nil, nil)]
            for role in ["customer", "provider", "operator", "admin", "employee"] {
                let person = try await signIn(plaza, IdentityDemo.email(for: role), password: IdentityDemo.password)
                people.append((role, person.id, "Bearer \(person.token)"))
            }
            let everyone = people
            let reads = plaza.routes.endpoints.filter { $0.method == .get && $0.path != "/metrics" }
            try await plaza.testApplication().test(.router) { client in
                let document = try await client.execute(uri: "/openapi.json", method: .get) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                let conformance = ResponseConformance(document: document)
                var found = FoundIdentifiers()
                try await Self.addWhatTheDemoLacks(
                    client, plaza, customer: everyone[1].authorization!, admin: everyone[4].authorization!, into: &found, conformance: conformance)
                var problems: Set<String> = []
                var answered: Set<String> = []
                // Twice: the second round reaches paths whose ids only the first round found.
                for _ in 0..<2 {
                    for endpoint in reads {
                        for path in found.paths(for: endpoint.path) {
                            for person in everyone {
                                var headers: HTTPFields = [.accept: "application/json"]
                                if let authorization = person.authorization { headers[.authorization] = authorization }
                                // Presence is asked of a topic: each person's own.
                                let uri =
                                    endpoint.path == "/api/v1/realtime/presence"
                                    ? path + "?topic=user:\(person.id?.uuidString.lowercased() ?? "")" : path
                                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                                    let body = Array(buffer: response.body)
                                    let code = Int(response.status.code)
                                    problems.formUnion(
                                        conformance.problems(
                                            method: "GET", path: endpoint.path, status: code, contentType: response.headers[.contentType], body: body
                                        ).map {
                                            "\(person.name): " + $0.replacingOccurrences(of: "\\[[0-9]+\\]", with: "[*]", options: .regularExpression)
                                        })
                                    if code >= 500 { problems.insert("\(person.name): GET \(path) → \(code)") }
                                    guard (200..<300).contains(code) else { return }
                                    answered.insert(endpoint.path)
                                    if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) {
                                        found.collect(value, at: path)
                                    }
                                }
                            }
                        }
                    }
                }
                // The issue's cases by name: a root category's parent, a search without a point's distance.
                let categories = try await client.execute(uri: "/api/v1/marketplace/categories", method: .get) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                guard case .array(let tree)? = categories["items"] else { Issue.record("no categories"); return }
                #expect(tree.allSatisfy { $0["parentId"] != nil } && tree.contains { $0["parentId"] == .null })
                let search = try await client.execute(uri: "/api/v1/marketplace/providers", method: .get) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                guard case .array(let providers)? = search["items"], !providers.isEmpty else { Issue.record("no providers"); return }
                #expect(providers.allSatisfy { $0["distanceKm"] == .null })
                let sorted = problems.sorted()
                #expect(sorted.isEmpty, "\(sorted.count) answers do not match /openapi.json:\n\(sorted.prefix(80).joined(separator: "\n"))")
                // The walk must reach what it is for: every API read answered someone at least once.
                let unreached = reads.map(\.path).filter { $0.hasPrefix("/api/") && !answered.contains($0) && !Self.unreachable.contains($0) }
                #expect(unreached.isEmpty, "no demo person got a success from: \(Array(Set(unreached)).sorted().joined(separator: ", "))")
            }
        }
    }

    /// API reads a walk of GETs cannot finish: the realtime socket wants an upgrade, the event stream never ends
    /// (RealtimeTests read both).
    static let unreachable: Set<String> = ["/api/v1/realtime", "/api/v1/realtime/events"]

    /// What the demo has none of, added through the API: an organisation, an OAuth client, a user import, a file,
    /// and the e-mails these send (deliveries).
    static func addWhatTheDemoLacks(
        _ client: some TestClientProtocol, _ plaza: Plaza, customer: String, admin: String, into found: inout FoundIdentifiers,
        conformance: ResponseConformance
    ) async throws {
        func send(_ path: String, _ authorization: String?, _ type: String, _ body: ByteBuffer) async throws {
            var headers: HTTPFields = [.contentType: type]
            if let authorization { headers[.authorization] = authorization }
            let (status, body, contentType) = try await client.execute(uri: path, method: .post, headers: headers, body: body) {
                ($0.status, $0.body, $0.headers[.contentType])
            }
            #expect([.created, .accepted].contains(status), "POST \(path) → \(status.code): \(String(buffer: body))")
            let answered = conformance.problems(
                method: "POST", path: path, status: Int(status.code), contentType: contentType, body: Array(buffer: body))
            #expect(answered.isEmpty, "\(answered)")
            if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)) { found.collect(value, at: path) }
        }
        try await send("/api/v1/organisations", customer, "application/json", ByteBuffer(string: #"{"name":"Walk Studio","type":"team"}"#))
        try await send(
            "/api/v1/oauth/clients", admin, "application/json",
            ByteBuffer(string: #"{"name":"Walk","confidential":true,"redirectUris":["https://walk.example/cb"],"grants":["authorization_code"]}"#))
        try await send("/api/v1/admin/users/imports", admin, "text/csv", ByteBuffer(string: "email,first_name\nwalk1@example.com,Walk\n"))
        let boundary = "walk-\(UUID().uuidString)"
        var upload = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\navatar\r\n".utf8)
        upload.append(
            Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n".utf8))
        upload.append(TestImages.png(width: 64, height: 64))
        upload.append(Data("\r\n--\(boundary)--\r\n".utf8))
        try await send("/api/v1/files", customer, "multipart/form-data; boundary=\(boundary)", ByteBuffer(data: upload))
        let email = IdentityDemo.email(for: "customer")
        try await send("/api/v1/auth/password-reset/request", nil, "application/json", ByteBuffer(string: #"{"email":"\#(email)"}"#))
        try await plaza.runPendingWork()
    }
}
