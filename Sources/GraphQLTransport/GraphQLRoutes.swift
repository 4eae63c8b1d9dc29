import Foundation
import GraphQL
import HTTPTypes
import Hummingbird
import OrderedCollections
import PlazaKit

/// GraphQL over HTTP for one executor: `POST` with a JSON body and `GET` with the query in the URL (queries
/// only). The route is open to everyone — what a caller may do is decided field by field by the resolvers'
/// service calls and policies. Refusals before execution answer their status (400 for limits, syntax and
/// validation; 405 for a mutation over GET; 503 past the deadline) with GraphQL's `{"errors": [...]}`.
public struct GraphQLRoutes<Context: PlazaRequestContext>: Sendable {
    let path: String
    let executor: GraphQLExecutor
    let summary: String

    /// `summary` names what the schema offers in `/openapi.json` ("the marketplace").
    public init(path: String = "/graphql", executor: GraphQLExecutor, summary: String) {
        self.path = path
        self.executor = executor
        self.summary = summary
    }

    /// The body: a document, an operation name and variables as JSON. Variables are read as ``JSONValue``s, not
    /// with Map's own Decodable, which decodes every object twice — time exponential in its nesting.
    struct Body: Decodable {
        var query: String
        var operationName: String?
        var variables: [String: JSONValue]?
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let executor = self.executor
        let limits = executor.limits
        let answers = [
            EndpointResponse(
                200, "A GraphQL result: data, and errors with extensions {status, code, errors}.", body: .json(GraphQLResponseSchema.self)),
            EndpointResponse(400, "Over a limit, not GraphQL, or invalid for the schema: errors only.", body: .json(GraphQLResponseSchema.self)),
            EndpointResponse(503, "Execution passed its deadline.", body: .json(GraphQLResponseSchema.self)),
        ]
        let body = EndpointBody(
            schemaName: nil,
            schema: .object(
                properties: [
                    "query": .string(minLength: 1, maxLength: limits.maxDocumentBytes), "operationName": .nullable(.text),
                    "variables": .nullable(.anyObject),
                    // GraphQL over HTTP's fourth member; clients send it (Apollo's persisted-query hash), Plaza reads none.
                    "extensions": .nullable(.anyObject),
                ],
                required: ["query"]))
        routes.add(
            Endpoint(
                .post, path, operationID: "graphql", summary: "GraphQL queries and mutations (\(summary)).", tag: "GraphQL", access: .public,
                requestBody: body, responses: answers
            ) { request, context in
                let body = try await request.decodeJSON(Body.self, context: context)
                let graphQLRequest = GraphQLRequest(
                    query: body.query, operationName: body.operationName, variables: (body.variables ?? [:]).mapValues(Map.init(json:)))
                return try await Self.answer(graphQLRequest, executor: executor, caller: context.caller, allowMutations: true)
            })
        routes.add(
            Endpoint(
                .get, path, operationID: "graphqlQuery", summary: "A GraphQL query in the URL (\(summary); mutations need POST).",
                tag: "GraphQL", access: .public,
                parameters: [
                    EndpointParameter(
                        "query", in: .query, required: true, schema: .string(minLength: 1, maxLength: Self.maxQueryInURL),
                        description: "At most \(Self.maxQueryInURL) characters: a URL holds less than a body (send longer documents with POST)."),
                    EndpointParameter("operationName", in: .query),
                    EndpointParameter("variables", in: .query, schema: .anyObject, description: "A JSON object.", mediaType: "application/json"),
                ],
                responses: answers + [
                    EndpointResponse(405, "The operation is a mutation: send it with POST.", body: .json(GraphQLResponseSchema.self))
                ]
            ) { request, context in
                let query = request.queryItems
                guard let text = query["query"] else { throw PlazaError.validation(field: "query", "is required") }
                guard text.unicodeScalars.count <= Self.maxQueryInURL else {
                    throw PlazaError.validation(
                        field: "query", "must be at most \(Self.maxQueryInURL) characters in a URL; send longer documents with POST")
                }
                var variables: [String: Map] = [:]
                if let raw = query["variables"], !raw.isEmpty {
                    do {
                        try JSONScan.check(Data(raw.utf8))
                    } catch let problem as PlazaError where problem.status == .unprocessableContent {
                        throw PlazaError.validation(field: "variables." + (problem.errors.first?.field ?? ""), InputText.nulMessage)
                    }
                    guard let decoded = try? PlazaJSON.decoder().decode([String: JSONValue].self, from: Data(raw.utf8)) else {
                        throw PlazaError.validation(field: "variables", "must be a JSON object")
                    }
                    variables = decoded.mapValues(Map.init(json:))
                }
                let graphQLRequest = GraphQLRequest(query: text, operationName: query["operationName"], variables: variables)
                return try await Self.answer(graphQLRequest, executor: executor, caller: context.caller, allowMutations: false)
            })
        return routes
    }

    /// The longest document a GET carries: percent-encoded, a character may take twelve bytes, and the request
    /// line and headers together must stay under the server's head limit (80 KB).
    static var maxQueryInURL: Int { 4096 }

    static func answer(_ request: GraphQLRequest, executor: GraphQLExecutor, caller: Caller, allowMutations: Bool) async throws -> Response {
        let status: HTTPResponse.Status
        let result: GraphQLResult
        do {
            result = try await executor.execute(request, caller: caller, allowMutations: allowMutations)
            status = .ok
        } catch {
            result = GraphQLResult(errors: error.errors)
            status = error.status
        }
        let data = try JSONEncoder().encode(result)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// GraphQL's response, as `/openapi.json` describes it.
enum GraphQLResponseSchema: APISchema {
    static let schemaName = "GraphQLResponse"
    static var schema: JSONSchema {
        .object(
            properties: [
                "data": .nullable(.anyObject),
                "errors": .array(
                    .object(
                        properties: [
                            "message": .text, "locations": .array(.anyObject), "path": .array(.anyValue),
                            "extensions": .object(properties: ["status": .integer(), "code": .text], required: ["code"]),
                        ],
                        required: ["message"])),
            ],
            required: [])
    }
}

extension Map {
    /// A JSON value as GraphQL's variables hold it.
    init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let value): self = .number(Number(value))
        case .string(let value): self = .string(value)
        case .array(let values): self = .array(values.map(Map.init(json:)))
        case .object(let fields): self = .dictionary(OrderedDictionary(uniqueKeysWithValues: fields.map { ($0.key, Map(json: $0.value)) }))
        }
    }
}
