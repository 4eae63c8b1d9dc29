import Foundation

/// Builds the OpenAPI 3.1 document from the route descriptions, so the document cannot drift from the router.
public enum OpenAPI {
    public struct Info: Sendable {
        public var title: String
        public var version: String
        public var description: String
        /// The largest body the edge reads (the uploads' paths hold theirs to limits of their own).
        public var maxBodyBytes: Int?
        public var streamingBodyPaths: Set<String> = []
        public init(title: String, version: String, description: String) {
            self.title = title
            self.version = version
            self.description = description
        }
    }

    /// The document of `routes`. `anonymousMay` says whether an action may be allowed to someone signed out
    /// (the policy's answer), so routes that serve both declare both.
    public static func document<Context>(
        for routes: RouteTable<Context>, info: Info, anonymousMay: (Access) -> Bool = { $0 == .public }
    ) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        var components: [String: JSONValue] = ["Problem": problemSchema.json, "OAuthError": oauthErrorSchema.json]
        for endpoint in routes.endpoints {
            if case .envelope(let envelope) = endpoint.errors { components[envelope.name] = envelope.schema.json }
            var operation: [String: JSONValue] = [
                "operationId": .string(endpoint.operationID),
                "summary": .string(endpoint.summary),
                "tags": [.string(endpoint.tag)],
                "x-plaza-access": .string(accessDescription(endpoint.access)),
            ]
            if let limit = endpoint.rateLimit {
                // Requests per period for each person (each client address when signed out); more are a 429.
                operation["x-plaza-rate-limit"] = .object([
                    "requests": .number(Double(limit.capacity)), "seconds": .number(limit.period.timeInterval),
                ])
            }
            if endpoint.access != .public {
                // An empty requirement is OpenAPI's "or nobody": reads open to all that show more to the signed in.
                let open: [JSONValue] = anonymousMay(endpoint.access) ? [[:]] : []
                operation["security"] = .array(open + [["bearerAuth": []], ["cookieAuth": []]])
            }
            var parameters = endpoint.parameters
            if endpoint.idempotent {
                parameters.append(
                    EndpointParameter(
                        "Idempotency-Key", in: .header, schema: .string(minLength: 1, maxLength: 255),
                        description: "Retrying with the same key replays the first response instead of acting twice."))
            }
            if !parameters.isEmpty {
                operation["parameters"] = .array(
                    parameters.map { parameter in
                        var object: [String: JSONValue] = [
                            "name": .string(parameter.name), "in": .string(parameter.location.rawValue), "required": .bool(parameter.required),
                        ]
                        // A parameter that carries a document (JSON in the URL) says so with content, not a schema.
                        if let mediaType = parameter.mediaType {
                            object["content"] = [mediaType: ["schema": parameter.schema.json]]
                        } else {
                            object["schema"] = parameter.schema.json
                        }
                        if let description = parameter.description { object["description"] = .string(description) }
                        return .object(object)
                    })
            }
            if let body = endpoint.requestBody {
                var requestBody: [String: JSONValue] = [
                    "required": .bool(body.required), "content": [body.mediaType: ["schema": schemaValue(body, into: &components)]],
                ]
                // No JSON Schema keyword bounds a body's size: said in words and in an extension, and a 413 declared.
                if let limit = info.maxBodyBytes, body.mediaType == "application/json", !info.streamingBodyPaths.contains(endpoint.path) {
                    requestBody["description"] = .string("At most \(limit) bytes (PLAZA_MAX_BODY_SIZE); a larger body is a 413.")
                    requestBody["x-plaza-max-bytes"] = .number(Double(limit))
                }
                operation["requestBody"] = .object(requestBody)
            }
            var responses: [String: JSONValue] = [:]
            for response in endpoint.responses {
                var object: [String: JSONValue] = ["description": .string(response.description)]
                if let body = response.body {
                    var content: [String: JSONValue] = [body.mediaType: ["schema": schemaValue(body, into: &components)]]
                    // A refusal of the route's own may also come from the edge before it (a 400 for a body that is
                    // not JSON, a 413, a 429), in the route's error form.
                    if response.status >= 400, case .object(let errors) = errorContent(endpoint.errors) {
                        content.merge(errors) { own, _ in own }
                    }
                    object["content"] = .object(content)
                } else if response.status >= 400 {
                    // A declared refusal has the body every refusal of the route has.
                    object["content"] = errorContent(endpoint.errors)
                }
                responses[String(response.status)] = .object(object)
            }
            responses["default"] = ["description": .string(errorDescription(endpoint.errors)), "content": errorContent(endpoint.errors)]
            operation["responses"] = .object(responses)
            paths[endpoint.path, default: [:]][endpoint.method.rawValue.lowercased()] = .object(operation)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": .string(info.title), "version": .string(info.version), "description": .string(info.description)],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(components),
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"],
                    "cookieAuth": ["type": "apiKey", "in": "cookie", "name": "plaza_session"],
                ],
            ],
        ]
    }

    static func errorContent(_ format: ErrorFormat) -> JSONValue {
        switch format {
        case .problem: return [Problem.mediaType: ["schema": .ref("Problem")]]
        case .page: return [Problem.mediaType: ["schema": .ref("Problem")], "text/html": ["schema": ["type": "string"]]]
        // The route's own refusals; the edge's before it (413, 429, a NUL in the query) are problem+json.
        case .oauth: return ["application/json": ["schema": .ref("OAuthError")], Problem.mediaType: ["schema": .ref("Problem")]]
        case .envelope(let envelope): return [envelope.mediaType: ["schema": .ref(envelope.name)]]
        }
    }

    static func errorDescription(_ format: ErrorFormat) -> String {
        switch format {
        case .problem: return "An error, as RFC 9457 problem details."
        case .page: return "An error: an HTML page for a browser (it asks for text/html), RFC 9457 problem details otherwise."
        case .oauth: return "An error in OAuth's form (RFC 6749 §5.2)."
        case .envelope(let envelope): return "An error, in the \(envelope.name) shape this API speaks."
        }
    }

    /// The member of a schema that orders its `properties` (``JSONSchema/ordered(properties:required:)``).
    public static let orderKey = "x-plaza-order"

    /// The document as JSON: keys sorted, as JSONEncoder's `.sortedKeys` would, except the properties of a schema
    /// that states their order, which come in it (generators such as schemathesis send parts in document order).
    public static func serialize(_ value: JSONValue, pretty: Bool = false) -> String {
        var out = ""
        write(value, order: nil, indent: pretty ? "" : nil, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, order: [String]?, indent: String?, into out: inout String) {
        let inner = indent.map { $0 + "  " }
        func newline(_ level: String?) { if let level { out += "\n" + level } }
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number):
            // JSON has no NaN or infinity; a schema that held one is a mistake in the code, found at start.
            precondition(number.isFinite, "a non-finite number in the OpenAPI document")
            out += JSONText.number(number)
        case .string(let text): JSONText.appendString(text, to: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                newline(inner)
                write(item, order: nil, indent: inner, into: &out)
            }
            newline(indent)
            out += "]"
        case .object(let members):
            guard !members.isEmpty else { out += "{}"; return }
            let sorted = members.keys.sorted()
            let keys = order.map { order in order.filter { members[$0] != nil } + sorted.filter { !order.contains($0) } } ?? sorted
            var propertyOrder: [String]?
            if case .array(let names)? = members[orderKey] {
                propertyOrder = names.compactMap { if case .string(let name) = $0 { name } else { nil } }
            }
            out += "{"
            for (index, key) in keys.enumerated() {
                if index > 0 { out += "," }
                newline(inner)
                JSONText.appendString(key, to: &out)
                out += indent == nil ? ":" : ": "
                write(members[key]!, order: key == "properties" ? propertyOrder : nil, indent: inner, into: &out)
            }
            newline(indent)
            out += "}"
        }
    }

    static func accessDescription(_ access: Access) -> String {
        switch access {
        case .public: return "public"
        case .authenticated: return "authenticated"
        case .action(let action), .resourceAction(let action): return action.name
        }
    }

    private static func schemaValue(_ body: EndpointBody, into components: inout [String: JSONValue]) -> JSONValue {
        for (name, schema) in body.components { components[name] = schema.json }
        if let name = body.schemaName {
            components[name] = body.schema.json
            return JSONSchema.ref(name).json
        }
        return body.schema.json
    }

    static let problemSchema = JSONSchema.object(
        properties: [
            "type": .string(format: "uri-reference"), "title": .text, "status": .integer(format: "int32"),
            "detail": .text, "instance": .text, "requestId": .text,
            "errors": .array(.object(properties: ["field": .text, "message": .text], required: ["field", "message"])),
        ],
        required: ["type", "title", "status"], additional: true)

    static let oauthErrorSchema = JSONSchema.object(
        properties: [
            "error": .string(enumValues: [
                "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope",
                "unsupported_token_type",
            ]),
            "error_description": .text,
        ],
        required: ["error"], additional: true)
}

extension JSONValue {
    static func ref(_ name: String) -> JSONValue { JSONSchema.ref(name).json }
}
