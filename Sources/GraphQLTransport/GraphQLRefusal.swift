import GraphQL
import HTTPTypes

/// A request refused before execution: over a limit, unparsable or invalid. Answered with `status` and
/// GraphQL's `{"errors": [...]}`, each error's `extensions.code` saying which rule refused it.
public struct GraphQLRefusal: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var errors: [GraphQLError]

    public init(status: HTTPResponse.Status = .badRequest, errors: [GraphQLError]) {
        self.status = status
        self.errors = errors
    }

    /// One error with a Plaza code (`depth-limit`, `graphql-syntax`, …) in its extensions.
    public init(status: HTTPResponse.Status = .badRequest, code: String, _ message: String, locations: [SourceLocation] = []) {
        self.init(status: status, errors: [GraphQLError(message: message, locations: locations, extensions: Self.extensions(status, code))])
    }

    /// Errors GraphQL reported (syntax, validation), each marked with `code`.
    static func reported(_ errors: [GraphQLError], code: String) -> GraphQLRefusal {
        GraphQLRefusal(
            errors: errors.map {
                GraphQLError(message: $0.message, locations: $0.locations, path: $0.path, extensions: Self.extensions(.badRequest, code))
            })
    }

    static func extensions(_ status: HTTPResponse.Status, _ code: String) -> [String: Map] {
        ["status": .number(Number(status.code)), "code": .string(code)]
    }

    public static func == (lhs: GraphQLRefusal, rhs: GraphQLRefusal) -> Bool {
        lhs.status == rhs.status && lhs.errors.map(\.message) == rhs.errors.map(\.message)
    }
}
