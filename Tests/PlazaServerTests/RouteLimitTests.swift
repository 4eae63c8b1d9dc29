import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

/// The limits `/openapi.json` declares — lengths, ranges, patterns and the body size — sampled against the server:
/// for every JSON body's field with a limit, a request whose other fields are valid and whose field is just past
/// the limit must be a 422 naming that field. The schema and the validator share one ``TextLimit`` (or
/// ``IntegerLimit``, ``NumberLimit``), so this is the check that they were wired both ways.
@Suite("Declared limits hold")
struct RouteLimitTests {
    @Test("every declared limit of a JSON body is what the server refuses, field by field; the body size limit too")
    func declaredLimitsHold() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            #expect(try await Demo.seed(plaza))
            // The admin first; where a resource is only its participants' (a conversation), its customer, then its provider.
            var people: [String] = []
            for role in ["admin", "customer", "provider"] {
                people.append("Bearer \(try await signIn(plaza, IdentityDemo.email(for: role), password: IdentityDemo.password).token)")
            }
            let everyone = people
            let authorization = everyone[0]
            try await plaza.testApplication().test(.router) { client in
                let document = try await client.execute(uri: "/openapi.json", method: .get) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                let components = document["components"]?["schemas"]
                // Real ids for the paths, found by reading what these people may read, after adding what the demo lacks.
                var found = FoundIdentifiers()
                try await ResponseSchemaTests.addWhatTheDemoLacks(
                    client, plaza, customer: everyone[1], admin: everyone[0], into: &found, conformance: ResponseConformance(document: document))
                for _ in 0..<2 {
                    for endpoint in plaza.routes.endpoints where endpoint.method == .get && endpoint.path.hasPrefix("/api/") && endpoint.path != "/api/v1/realtime/events" {
                        for path in found.paths(for: endpoint.path) {
                            for person in everyone {
                                try await client.execute(uri: path, method: .get, headers: [.authorization: person]) { response in
                                    if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)) { found.collect(value, at: path) }
                                }
                            }
                        }
                    }
                }
                var sampled = 0
                var unreached: [String] = []
                var wrong: [String] = []
                for endpoint in plaza.routes.endpoints {
                    guard let body = endpoint.requestBody, body.mediaType == "application/json", endpoint.path.hasPrefix("/api/") else { continue }
                    var schema = body.schema.json
                    if let name = body.schemaName, let component = components?[name] { schema = component }
                    guard case .object(let properties)? = schema["properties"] else { continue }
                    let path = found.paths(for: endpoint.path).first ?? endpoint.path
                    for (field, property) in properties.sorted(by: { $0.key < $1.key }) {
                        for (label, bad) in Samples.pastLimits(property) {
                            var value = Samples.valid(schema, components: components)
                            value[field] = bad
                            let sent = try JSONEncoder().encode(JSONValue.object(value))
                            var status = HTTPResponse.Status.notFound
                            var problem: Problem?
                            for person in everyone where [.notFound, .forbidden].contains(status) {
                                (status, problem) = try await client.execute(
                                    uri: path, method: endpoint.method,
                                    headers: [.authorization: person, .contentType: "application/json"], body: ByteBuffer(data: sent)
                                ) { ($0.status, try? JSONDecoder().decode(Problem.self, from: Data(buffer: $0.body))) }
                            }
                            let where_ = "\(endpoint.method.rawValue) \(endpoint.path) \(field) \(label)"
                            if status == .unprocessableContent, problem?.errors?.contains(where: { $0.field == field }) == true {
                                sampled += 1
                            } else if [.notFound, .forbidden, .conflict].contains(status) {
                                unreached.append("\(where_) → \(status.code)")
                            } else {
                                wrong.append("\(where_) → \(status.code) \(problem?.detail ?? "")")
                            }
                        }
                    }
                }
                #expect(wrong.isEmpty, "past a declared limit, not a 422 naming the field:\n\(wrong.joined(separator: "\n"))")
                // Every limited field is reached (with the ids the walk found), so none is left unsampled.
                #expect(sampled >= 100 && unreached.isEmpty, "sampled \(sampled); unreached:\n\(unreached.joined(separator: "\n"))")

                // The body limit, which no JSON Schema keyword states: one byte past it is a 413.
                let limit = plaza.config.edge.maxBodySize
                #expect(document["paths"]?["/api/v1/organisations"]?["post"]?["requestBody"]?["x-plaza-max-bytes"] == .number(Double(limit)))
                let tooLarge = try await client.execute(
                    uri: "/api/v1/organisations", method: .post, headers: [.authorization: authorization, .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name":""# + String(repeating: "a", count: limit) + #"","type":"team"}"#)) { $0.status }
                #expect(tooLarge == .contentTooLarge)
            }
        }
    }
}

/// Values for the sampling: a valid body, and values just past a field's limits.
enum Samples {
    /// Values one step past each limit the property declares, labelled.
    static func pastLimits(_ property: JSONValue) -> [(String, JSONValue)] {
        var samples: [(String, JSONValue)] = []
        if case .number(let most)? = property["maxLength"] { samples.append(("maxLength+1", .string(String(repeating: "a", count: Int(most) + 1)))) }
        if case .number(let least)? = property["minLength"], least >= 1 { samples.append(("minLength-1", .string(String(repeating: "a", count: Int(least) - 1)))) }
        if property["pattern"] == "\\S" { samples.append(("blank", .string("   "))) }
        if case .number(let most)? = property["maximum"] { samples.append(("maximum+1", .number(most + 1))) }
        if case .number(let least)? = property["minimum"] { samples.append(("minimum-1", .number(least - 1))) }
        return samples
    }

    /// A body whose required fields hold plausible valid values (the smallest the schema allows).
    static func valid(_ schema: JSONValue, components: JSONValue?) -> [String: JSONValue] {
        guard case .object(let properties)? = schema["properties"], case .array(let required)? = schema["required"] else { return [:] }
        var body: [String: JSONValue] = [:]
        for case .string(let name) in required { body[name] = properties[name].map { value(for: $0, components: components) } ?? .null }
        return body
    }

    static func value(for schema: JSONValue, components: JSONValue?) -> JSONValue {
        if case .string(let reference)? = schema["$ref"], let target = components?[String(reference.split(separator: "/").last ?? "")] {
            return value(for: target, components: components)
        }
        if case .array(let options)? = schema["oneOf"], let first = options.first { return value(for: first, components: components) }
        if case .array(let values)? = schema["enum"], let first = values.first { return first }
        switch schema["type"] {
        case "string":
            switch schema["format"] {
            case "uuid": return .string(UUID().uuidString)
            case "email": return "limits@example.com"
            case "date-time": return .string(Date().addingTimeInterval(86_400).formatted(.iso8601))
            default:
                let least = schema["minLength"].flatMap { if case .number(let n) = $0 { Int(n) } else { nil } } ?? 1
                return .string(String(repeating: "a", count: max(least, 1)))
            }
        case "integer", "number":
            if case .number(let least)? = schema["minimum"] { return .number(max(least, 0) == least ? least : 0) }
            return 1
        case "boolean": return false
        case "array": return []
        case "object": return .object(valid(schema, components: components))
        default: return .null
        }
    }
}
