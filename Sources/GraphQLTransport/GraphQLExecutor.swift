import Foundation
import GraphQL
import HTTPTypes
import PlazaKit

/// Who asks a GraphQL question: the same caller the REST handlers pass to the services, so the same policies
/// decide. Resolvers receive it as their context.
public struct GraphQLContext: Sendable {
    public let caller: Caller
    public init(caller: Caller) { self.caller = caller }
}

/// One app's schema, ready to answer requests within ``GraphQLLimits``: bounds the text, parses once, measures,
/// validates (introspection refused with the measure unless the limits allow it), then executes under the deadline.
public struct GraphQLExecutor: Sendable {
    public let schema: GraphQLSchema
    public let limits: GraphQLLimits
    let rootValue: any Sendable
    let costs: SchemaCosts

    /// `rootValue` is what the root fields' resolvers receive (a Graphiti API's resolver); `costs` prices fields
    /// as `"Type.field"` (`"Query.providers": 100`), every other field costing 1.
    public init(schema: GraphQLSchema, rootValue: any Sendable, costs: [String: Int] = [:], limits: GraphQLLimits) {
        self.schema = schema
        self.rootValue = rootValue
        self.limits = limits
        self.costs = SchemaCosts(schema: schema, costs: costs)
    }

    /// Answers one request. Refusals before execution throw ``GraphQLRefusal``; a resolver's error is in the
    /// result's `errors`, with its ``PlazaError``'s status and code as extensions. `allowMutations` is false for
    /// GET, where a mutation is a 405.
    public func execute(_ request: GraphQLRequest, caller: Caller, allowMutations: Bool = true) async throws(GraphQLRefusal) -> GraphQLResult {
        try DocumentBounds.check(request.query, limits: limits)
        let document: Document
        do {
            document = try parse(source: Source(body: request.query, name: "GraphQL request"))
        } catch let error as GraphQLError {
            throw GraphQLRefusal.reported([error], code: "graphql-syntax")
        } catch {
            throw GraphQLRefusal(code: "graphql-syntax", "The document could not be read.")
        }
        guard let operation = Self.operation(in: document, named: request.operationName) else {
            throw GraphQLRefusal(
                code: "graphql-request",
                request.operationName.map { "The document has no operation named \($0)." }
                    ?? "The document has several operations (or none): name the one to run with operationName.")
        }
        if !allowMutations, operation.operation == .mutation {
            throw GraphQLRefusal(status: .methodNotAllowed, code: "mutation-over-get", "Send mutations with POST.")
        }
        try costs.measure(document, maxSpreads: limits.maxDepth).check(limits)
        try Self.refuseNUL(in: document, variables: request.variables)
        let invalid = validate(schema: schema, ast: document, rules: specifiedRules)
        guard invalid.isEmpty else { throw GraphQLRefusal.reported(invalid, code: "graphql-validation") }

        let (schema, rootValue, context, variables) = (schema, rootValue, GraphQLContext(caller: caller), request.variables)
        let operationName = request.operationName
        let outcome = await withDeadline(limits.timeout) {
            try await GraphQL.execute(
                schema: schema, documentAST: document, rootValue: rootValue, context: context, variableValues: variables,
                operationName: operationName)
        }
        switch outcome {
        case .finished(.success(var result)):
            // No data and no field's error: the request could not start (a variable missing or of the wrong type).
            if result.data == nil, !result.errors.isEmpty, result.errors.allSatisfy({ $0.originalError == nil && $0.path.elements.isEmpty }) {
                throw GraphQLRefusal.reported(result.errors, code: "graphql-request")
            }
            result.errors = result.errors.map(Self.problem)
            return result
        case .finished(.failure(let error as GraphQLError)):
            // Variables that do not fit the operation, or no operation to run: the request's fault.
            throw GraphQLRefusal.reported([error], code: "graphql-request")
        case .finished(.failure):
            throw GraphQLRefusal(status: .internalServerError, code: "internal", "Something went wrong on our side.")
        case .timedOut:
            throw GraphQLRefusal(
                status: .serviceUnavailable, code: "deadline-exceeded",
                "The request took longer than \(limits.timeout.components.seconds) seconds and was stopped.")
        }
    }

    /// Text is stored exactly as accepted or refused (``InputText``): a NUL in a string literal or a variable is
    /// a 422 naming the argument or variable, before anything runs.
    static func refuseNUL(in document: Document, variables: [String: Map]) throws(GraphQLRefusal) {
        var field: String?
        for definition in document.definitions where field == nil {
            switch definition {
            case let operation as OperationDefinition:
                for variable in operation.variableDefinitions where field == nil {
                    if let value = variable.defaultValue, containsNUL(value) { field = "$" + variable.variable.name.value }
                }
                field = field ?? argumentWithNUL(in: operation.directives) ?? argumentWithNUL(in: operation.selectionSet)
            case let fragment as FragmentDefinition:
                field = argumentWithNUL(in: fragment.directives) ?? argumentWithNUL(in: fragment.selectionSet)
            default: continue
            }
        }
        field = field ?? variables.sorted { $0.key < $1.key }.first { containsNUL($0.value) }.map { "$" + $0.key }
        guard let field else { return }
        throw GraphQLRefusal(status: .unprocessableContent, errors: [graphQLError(PlazaError.validation(field: field, InputText.nulMessage))])
    }

    /// The first argument (of a field or of a directive anywhere in the selections) whose value holds a NUL.
    /// Recursion is bounded by the bracket nesting checked before parsing.
    static func argumentWithNUL(in set: SelectionSet) -> String? {
        for selection in set.selections {
            switch selection {
            case let field as Field:
                if let argument = field.arguments.first(where: { containsNUL($0.value) }) { return argument.name.value }
                if let found = argumentWithNUL(in: field.directives) { return found }
                if let inner = field.selectionSet, let found = argumentWithNUL(in: inner) { return found }
            case let inline as InlineFragment:
                if let found = argumentWithNUL(in: inline.directives) ?? argumentWithNUL(in: inline.selectionSet) { return found }
            case let spread as FragmentSpread:
                if let found = argumentWithNUL(in: spread.directives) { return found }
            default: continue
            }
        }
        return nil
    }

    static func argumentWithNUL(in directives: [Directive]) -> String? {
        directives.lazy.flatMap(\.arguments).first { containsNUL($0.value) }?.name.value
    }

    static func containsNUL(_ value: Value) -> Bool {
        switch value {
        case let string as StringValue: return InputText.containsNUL(string.value)
        case let list as ListValue: return list.values.contains(where: containsNUL)
        case let object as ObjectValue: return object.fields.contains { containsNUL($0.value) }
        default: return false
        }
    }

    static func containsNUL(_ value: Map) -> Bool {
        switch value {
        case .string(let text): return InputText.containsNUL(text)
        case .array(let items): return items.contains(where: containsNUL)
        case .dictionary(let fields): return fields.contains { InputText.containsNUL($0.key) || containsNUL($0.value) }
        default: return false
        }
    }

    /// The operation a request runs: the one named, or the document's only one.
    static func operation(in document: Document, named name: String?) -> OperationDefinition? {
        let operations = document.definitions.compactMap { $0 as? OperationDefinition }
        guard let name else { return operations.count == 1 ? operations.first : nil }
        return operations.first { $0.name?.value == name }
    }

    /// A resolver's ``PlazaError`` as a GraphQL error: its detail as the message, its status and code (and
    /// field errors) as extensions. Other errors keep GraphQL's message but never show internals.
    static func problem(_ error: GraphQLError) -> GraphQLError {
        guard let original = error.originalError else { return error }
        let problem =
            original as? PlazaError
            ?? PlazaError(.internalServerError, code: "internal", title: "Internal error", detail: "Something went wrong on our side.")
        return graphQLError(problem, locations: error.locations, path: error.path)
    }

    /// A ``PlazaError`` in GraphQL's shape: its detail as the message; its status, code and field errors as extensions.
    static func graphQLError(_ problem: PlazaError, locations: [SourceLocation] = [], path: GraphQL.IndexPath = []) -> GraphQLError {
        var extensions = GraphQLRefusal.extensions(problem.status, problem.code)
        if !problem.errors.isEmpty {
            extensions["errors"] = .array(problem.errors.map { .dictionary(["field": .string($0.field), "message": .string($0.message)]) })
        }
        return GraphQLError(message: problem.detail ?? problem.title, locations: locations, path: path, extensions: extensions)
    }
}
