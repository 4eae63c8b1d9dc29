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
        try await withTestPlaza(apps: everyApp, configure: { $0.edge.rateLimits = [] }) { plaza in
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
                    for endpoint in plaza.routes.endpoints
                    where endpoint.method == .get && endpoint.path.hasPrefix("/api/") && endpoint.path != "/api/v1/realtime/events" {
                        for path in found.paths(for: endpoint.path) {
                            for person in everyone {
                                try await client.execute(uri: path, method: .get, headers: [.authorization: person]) { response in
                                    if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)) {
                                        found.collect(value, at: path)
                                    }
                                }
                            }
                        }
                    }
                }
                var sampled = 0
                var unreached: [String] = []
                var wrong: [String] = []
                /// Sends `value` as each of the people in turn until one reaches the resource; the last answer.
                func send(_ value: [String: JSONValue], _ endpoint: Endpoint<AppRequestContext>, path: String) async throws -> (
                    HTTPResponse.Status, Problem?
                ) {
                    let sent = try JSONEncoder().encode(JSONValue.object(value))
                    var status = HTTPResponse.Status.notFound
                    var problem: Problem?
                    for person in everyone where [.notFound, .forbidden].contains(status) {
                        (status, problem) = try await client.execute(
                            uri: path, method: endpoint.method,
                            headers: [.authorization: person, .contentType: "application/json"], body: ByteBuffer(data: sent)
                        ) { ($0.status, try? JSONDecoder().decode(Problem.self, from: Data(buffer: $0.body))) }
                    }
                    return (status, problem)
                }
                // Past the limits first, then at them: a value at every limit may create the resource (a provider
                // profile), after which the create answers 409 before it reads the body.
                for pass in ["past", "at"] {
                    for endpoint in plaza.routes.endpoints {
                        guard let body = endpoint.requestBody, body.mediaType == "application/json", endpoint.path.hasPrefix("/api/") else {
                            continue
                        }
                        var schema = body.schema.json
                        if let name = body.schemaName, let component = components?[name] { schema = component }
                        let path = found.paths(for: endpoint.path).first ?? endpoint.path
                        for sample in Samples.limited(schema, components: components) {
                            let field = sample.path.joined(separator: ".")
                            let where_ = "\(endpoint.method.rawValue) \(endpoint.path) \(field)"
                            for (label, probe) in pass == "past" ? sample.pastLimits : sample.atLimits {
                                var value = Samples.valid(schema, components: components)
                                Samples.set(probe, at: sample.path, in: &value, schema: schema, components: components)
                                let (status, problem) = try await send(value, endpoint, path: path)
                                let named = problem?.errors?.first(where: { $0.field == field })
                                if pass == "at" {
                                    // The limit itself is allowed: whatever else is said, nothing about this field.
                                    if let named { wrong.append("\(where_) \(label), at the limit, refused → \(status.code) \(named.message)") }
                                } else if status == .unprocessableContent, let named {
                                    // Refused for the limit, not for a rule between fields that a partial body breaks.
                                    if named.message.contains(" come together") { wrong.append("\(where_) \(label) → refused for its partner") }
                                    sampled += 1
                                } else if [.notFound, .forbidden, .conflict].contains(status) {
                                    unreached.append("\(where_) \(label) → \(status.code)")
                                } else {
                                    wrong.append("\(where_) \(label) → \(status.code) \(problem?.detail ?? "")")
                                }
                            }
                        }
                    }
                }
                #expect(wrong.isEmpty, "past a declared limit, not a 422 naming the field (or at it, refused):\n\(wrong.joined(separator: "\n"))")
                // Every limited field is reached (with the ids the walk found), so none is left unsampled.
                #expect(sampled >= 150 && unreached.isEmpty, "sampled \(sampled); unreached:\n\(unreached.joined(separator: "\n"))")

                // The body limit, which no JSON Schema keyword states: one byte past it is a 413.
                let limit = plaza.config.edge.maxBodySize
                #expect(document["paths"]?["/api/v1/organisations"]?["post"]?["requestBody"]?["x-plaza-max-bytes"] == .number(Double(limit)))
                let tooLarge = try await client.execute(
                    uri: "/api/v1/organisations", method: .post, headers: [.authorization: authorization, .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name":""# + String(repeating: "a", count: limit) + #"","type":"team"}"#)
                ) { $0.status }
                #expect(tooLarge == .contentTooLarge)
            }
        }
    }
}

/// Values for the sampling: a valid body, the fields with limits (nested objects included), values one step past
/// each limit and values at it.
enum Samples {
    struct Limited {
        var path: [String]
        var pastLimits: [(String, JSONValue)]
        var atLimits: [(String, JSONValue)]
    }

    /// Every property with a limit, at any depth of nested objects (array items are the server's to name by index).
    static func limited(_ schema: JSONValue, components: JSONValue?, at path: [String] = []) -> [Limited] {
        let schema = resolved(schema, components: components)
        guard case .object(let properties)? = schema["properties"] else { return [] }
        var found: [Limited] = []
        for (name, property) in properties.sorted(by: { $0.key < $1.key }) {
            let property = resolved(property, components: components)
            let here = path + [name]
            let (past, at) = limits(property, components: components)
            if !past.isEmpty { found.append(Limited(path: here, pastLimits: past, atLimits: at)) }
            if property["type"] == "object" { found += limited(property, components: components, at: here) }
        }
        return found
    }

    static func resolved(_ schema: JSONValue, components: JSONValue?) -> JSONValue {
        if case .string(let reference)? = schema["$ref"], let target = components?[String(reference.split(separator: "/").last ?? "")] {
            return target
        }
        return schema
    }

    /// Values one step past each limit the property declares, and values at them, labelled.
    static func limits(_ property: JSONValue, components: JSONValue?) -> ([(String, JSONValue)], [(String, JSONValue)]) {
        var past: [(String, JSONValue)] = []
        var at: [(String, JSONValue)] = []
        func number(_ key: String) -> Double? { if case .number(let value)? = property[key] { value } else { nil } }
        // A value at a length limit is only known to be valid when nothing else constrains its text.
        let free = property["enum"] == nil && property["format"] == nil && (property["pattern"] == nil || property["pattern"] == "\\S")
        if let most = number("maxLength") {
            past.append(("maxLength+1", .string(String(repeating: "a", count: Int(most) + 1))))
            if free { at.append(("maxLength", .string(String(repeating: "a", count: Int(most))))) }
        }
        if let least = number("minLength"), least >= 1 {
            past.append(("minLength-1", .string(String(repeating: "a", count: Int(least) - 1))))
            if free { at.append(("minLength", .string(String(repeating: "a", count: Int(least))))) }
        }
        if case .string(let pattern)? = property["pattern"] {
            // "\S" refuses blank text; an anchored pattern refuses what ends in a line break (ICU's $ would not).
            past.append(pattern == "\\S" ? ("blank", .string("   ")) : ("pattern", .string("~\n")))
        }
        if let most = number("maximum") {
            past.append(("maximum+1", .number(most + 1)))
            at.append(("maximum", .number(most)))
        }
        if let least = number("minimum") {
            past.append(("minimum-1", .number(least - 1)))
            at.append(("minimum", .number(least)))
        }
        if let most = number("maxItems"), let items = property["items"] {
            past.append(("maxItems+1", .array((0...Int(most)).map { _ in value(for: items, components: components) })))
        }
        if let least = number("minItems"), least >= 1 { past.append(("minItems-1", .array([]))) }
        return (past, at)
    }

    /// Puts `value` at `path` in `body`, making the objects on the way valid first.
    static func set(_ value: JSONValue, at path: [String], in body: inout [String: JSONValue], schema: JSONValue, components: JSONValue?) {
        guard let first = path.first else { return }
        if path.count == 1 { body[first] = value; return }
        let property = resolved(resolved(schema, components: components)["properties"]?[first] ?? [:], components: components)
        var inner: [String: JSONValue]
        if case .object(let existing)? = body[first] { inner = existing } else { inner = valid(property, components: components) }
        set(value, at: Array(path.dropFirst()), in: &inner, schema: property, components: components)
        body[first] = .object(inner)
    }

    /// A body whose required fields hold plausible valid values (the smallest the schema allows).
    static func valid(_ schema: JSONValue, components: JSONValue?) -> [String: JSONValue] {
        let schema = resolved(schema, components: components)
        guard case .object(let properties)? = schema["properties"], case .array(let required)? = schema["required"] else { return [:] }
        var body: [String: JSONValue] = [:]
        for case .string(let name) in required { body[name] = properties[name].map { value(for: $0, components: components) } ?? .null }
        // Numbers with a range come in pairs or not at all (a point's lat and lng): present, inside their ranges.
        for (name, property) in properties where body[name] == nil && property["minimum"] != nil && property["maximum"] != nil {
            body[name] = value(for: property, components: components)
        }
        return body
    }

    static func value(for schema: JSONValue, components: JSONValue?) -> JSONValue {
        let schema = resolved(schema, components: components)
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
