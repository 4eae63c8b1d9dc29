import Foundation
import GraphQL
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/graphql`: the marketplace's queries and mutations for customers and providers. The route is open to
/// everyone — what a caller may do is decided field by field by the same service calls and policies as REST.
/// A refused field comes back as a GraphQL error whose `extensions` carry the problem's `status`, `code`
/// and field errors, so clients tell 401, 403, 404, 409 and 422 apart as they would over REST.
public struct GraphQLRoutes<Context: PlazaRequestContext>: Sendable {
    let api: MarketplaceGraphQL

    public init(api: MarketplaceGraphQL) {
        self.api = api
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let api = self.api
        let answer = [EndpointResponse(200, "A GraphQL result: data, and errors with extensions {status, code, errors}.", body: .text("application/json"))]
        routes.add(Endpoint(
            .post, "/graphql", operationID: "graphql", summary: "GraphQL queries and mutations (the marketplace).", tag: "GraphQL",
            access: .public,
            requestBody: EndpointBody(schemaName: nil, schema: .object(
                properties: ["query": .text, "operationName": .text, "variables": .anyObject], required: ["query"])),
            responses: answer
        ) { request, context in
            let buffer = try await request.body.collect(upTo: context.maxUploadSize)
            let graphQLRequest: GraphQLRequest
            do {
                graphQLRequest = try JSONDecoder().decode(GraphQLRequest.self, from: Data(buffer: buffer))
            } catch {
                throw PlazaError.badRequest("Send {\"query\": …, \"variables\": {…}} as JSON.", code: "malformed-body")
            }
            return try await Self.run(graphQLRequest, api: api, caller: context.caller)
        })
        routes.add(Endpoint(
            .get, "/graphql", operationID: "graphqlQuery", summary: "A GraphQL query in the URL (mutations need POST).", tag: "GraphQL",
            access: .public,
            parameters: [
                EndpointParameter("query", in: .query, required: true), EndpointParameter("operationName", in: .query),
                EndpointParameter("variables", in: .query, description: "JSON."),
            ],
            responses: answer
        ) { request, context in
            let query = request.queryItems
            guard let text = query["query"] else { throw PlazaError.validation(field: "query", "is required") }
            if Self.isMutation(text, operationName: query["operationName"]) {
                throw PlazaError(.methodNotAllowed, code: "mutation-over-get", title: "Method not allowed", detail: "Send mutations with POST.")
            }
            var variables: [String: Map] = [:]
            if let raw = query["variables"], !raw.isEmpty {
                guard let decoded = try? JSONDecoder().decode([String: Map].self, from: Data(raw.utf8)) else {
                    throw PlazaError.validation(field: "variables", "must be a JSON object")
                }
                variables = decoded
            }
            return try await Self.run(
                GraphQLRequest(query: text, operationName: query["operationName"], variables: variables), api: api, caller: context.caller)
        })
        return routes
    }

    /// Whether the operation a GET would run is a mutation (the one named, or the document's only one). A
    /// document that does not parse is left to the executor, which answers with its syntax error.
    static func isMutation(_ text: String, operationName: String?) -> Bool {
        guard let document = try? parse(source: Source(body: text)) else { return false }
        let operations = document.definitions.compactMap { $0 as? OperationDefinition }
        let chosen = operationName.map { name in operations.filter { $0.name?.value == name } } ?? operations
        return chosen.contains { $0.operation == .mutation }
    }

    static func run(_ request: GraphQLRequest, api: MarketplaceGraphQL, caller: Caller) async throws -> Response {
        var result = try await api.execute(request: request, context: GraphQLContext(caller: caller))
        result.errors = result.errors.map(Self.problem)
        let data = try JSONEncoder().encode(result)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A resolver's ``PlazaError`` as a GraphQL error: its detail as the message, its status and code (and
    /// field errors) as extensions. Other errors keep GraphQL's message but never show internals.
    static func problem(_ error: GraphQLError) -> GraphQLError {
        guard let original = error.originalError else { return error }
        let problem = original as? PlazaError
            ?? PlazaError(.internalServerError, code: "internal", title: "Internal error", detail: "Something went wrong on our side.")
        var extensions: [String: Map] = ["status": .number(Number(problem.status.code)), "code": .string(problem.code)]
        if !problem.errors.isEmpty {
            extensions["errors"] = .array(problem.errors.map { .dictionary(["field": .string($0.field), "message": .string($0.message)]) })
        }
        return GraphQLError(message: problem.detail ?? problem.title, locations: error.locations, path: error.path, extensions: extensions)
    }
}
