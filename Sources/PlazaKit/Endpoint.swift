import Foundation
import HTTPTypes
import Hummingbird

/// How a route is guarded. Every route says one of these; there is no default.
public enum Access: Sendable, Equatable {
    /// Open to anyone (health checks, sign-in, the OpenAPI document).
    case `public`
    /// Any signed-in principal; the service decides the rest.
    case authenticated
    /// The route layer asks the policy for this action before the handler runs (collection-level actions).
    case action(Action)
    /// The handler loads the resource and asks the policy itself; the route layer checks that it did.
    case resourceAction(Action)

    public var action: Action? {
        switch self {
        case .public, .authenticated: return nil
        case .action(let action), .resourceAction(let action): return action
        }
    }
}

/// A documented parameter of a route.
public struct EndpointParameter: Sendable, Equatable {
    public enum Location: String, Sendable { case path, query, header }
    public var name: String
    public var location: Location
    public var required: Bool
    public var schema: JSONSchema
    public var description: String?
    /// The media type of a parameter that carries a document (`application/json` for JSON in the URL); its
    /// `schema` is then the document's.
    public var mediaType: String?

    public init(
        _ name: String, in location: Location, required: Bool = false, schema: JSONSchema = .text, description: String? = nil,
        mediaType: String? = nil
    ) {
        self.name = name
        self.location = location
        self.required = location == .path ? true : required
        self.schema = schema
        self.description = description
        self.mediaType = mediaType
    }

    public static let limit = EndpointParameter(
        "limit", in: .query, schema: .integer(format: "int32", minimum: 1, maximum: PageRequest.maxLimit),
        description: "Page size, default \(PageRequest.defaultLimit), at most \(PageRequest.maxLimit).")
    public static let cursor = EndpointParameter("cursor", in: .query, description: "The `nextCursor` of the previous page.")
}

/// The form a route's refusals take, as `/openapi.json` declares them.
public enum ErrorFormat: Sendable, Equatable {
    /// RFC 9457 problem+json: the API's and the machines' routes.
    case problem
    /// A page's: problem+json, or an HTML page for a browser (`Accept: text/html`) and where a page must show
    /// the refusal itself (an OAuth request it cannot trust).
    case page
    /// RFC 6749 §5.2's `{"error", "error_description"}`: OAuth's token, introspection and revocation endpoints.
    case oauth
    /// Another system's shape, where an app speaks its API (``ErrorEnvelope``).
    case envelope(ErrorEnvelope)
}

/// A documented body: a named schema and its media type.
public struct EndpointBody: Sendable, Equatable {
    public var schemaName: String?
    public var schema: JSONSchema
    public var mediaType: String
    /// Whether a request must carry it (a command whose body only adds a comment may be sent without one).
    public var required = true

    public init(schemaName: String?, schema: JSONSchema, mediaType: String = "application/json") {
        self.schemaName = schemaName
        self.schema = schema
        self.mediaType = mediaType
    }

    public static func json<T: APISchema>(_ type: T.Type) -> EndpointBody {
        EndpointBody(schemaName: T.schemaName, schema: T.schema)
    }
    /// The type's schema with more fields required, under a name of its own: one input type serves a create,
    /// which needs them, and a change, which does not.
    public static func json<T: APISchema>(_ type: T.Type, requiring fields: [String], named name: String) -> EndpointBody {
        EndpointBody(schemaName: name, schema: T.schema.requiring(fields))
    }
    public static func page<T: APISchema>(of type: T.Type) -> EndpointBody {
        EndpointBody(
            schemaName: nil,
            schema: .object(
                properties: ["items": .array(.ref(T.schemaName)), "nextCursor": .nullable(.text)],
                required: ["items", "nextCursor"]),
            mediaType: "application/json"
        )
        .with(component: T.schemaName, T.schema)
    }
    public static func text(_ mediaType: String) -> EndpointBody {
        EndpointBody(schemaName: nil, schema: .text, mediaType: mediaType)
    }
    /// A file's own bytes, of whatever type it was stored as.
    public static let bytes = EndpointBody(schemaName: nil, schema: .string(format: "binary"), mediaType: "*/*")

    /// The same body, which a request may leave out.
    public var optional: EndpointBody {
        var copy = self
        copy.required = false
        return copy
    }

    /// Extra named schemas this body refers to.
    public var components: [String: JSONSchema] = [:]
    func with(component name: String, _ schema: JSONSchema) -> EndpointBody {
        var copy = self
        copy.components[name] = schema
        return copy
    }
}

/// A documented response.
public struct EndpointResponse: Sendable, Equatable {
    public var status: Int
    public var description: String
    public var body: EndpointBody?
    public init(_ status: Int, _ description: String, body: EndpointBody? = nil) {
        self.status = status
        self.description = description
        self.body = body
    }
}

/// One route, described once: the router, `/openapi.json` and the authorization matrix are all made from it.
public struct Endpoint<Context: PlazaRequestContext>: Sendable {
    public typealias Handler = @Sendable (Request, Context) async throws -> Response

    public var method: HTTPRequest.Method
    /// The path in OpenAPI form, `/api/v1/jobs/{id}`.
    public var path: String
    public var operationID: String
    public var summary: String
    public var tag: String
    public var access: Access
    public var parameters: [EndpointParameter]
    public var requestBody: EndpointBody?
    public var responses: [EndpointResponse]
    /// Whether the route honours `Idempotency-Key` (creating calls that must not happen twice).
    public var idempotent: Bool
    /// The form its refusals take.
    public var errors: ErrorFormat
    /// Its own rate limit, per person (or client address), checked after the caller and before the handler.
    public var rateLimit: RateLimit?
    public var handler: Handler

    public init(
        _ method: HTTPRequest.Method, _ path: String, operationID: String, summary: String, tag: String,
        access: Access, parameters: [EndpointParameter] = [], requestBody: EndpointBody? = nil,
        responses: [EndpointResponse], idempotent: Bool = false, errors: ErrorFormat = .problem, rateLimit: RateLimit? = nil,
        handler: @escaping Handler
    ) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.summary = summary
        self.tag = tag
        self.access = access
        self.parameters = parameters
        self.requestBody = requestBody
        self.responses = responses
        self.idempotent = idempotent
        self.errors = errors
        self.rateLimit = rateLimit
        self.handler = handler
    }

    /// The path as Hummingbird's router spells it (`{id}` → `:id`).
    public var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    /// What can be checked of the caller before the handler runs: signed in where the route needs it, and the
    /// route's action where it is collection-level.
    static func checkCaller(_ access: Access, _ context: Context, policy: any Policy) throws {
        switch access {
        case .public: return
        case .authenticated: guard context.principal != nil else { throw PlazaError.unauthorized() }
        case .action(let action): try policy.authorize(context.caller, action)
        case .resourceAction(let action): if context.principal == nil, !policy.mayAllowAnonymous(action) { throw PlazaError.unauthorized() }
        }
    }

    /// The handler wrapped with the access check its declaration promises.
    func guardedHandler(policy: any Policy) -> Handler {
        let access = self.access
        let handler = self.handler
        let operationID = self.operationID
        return { request, context in
            try Self.checkCaller(access, context, policy: policy)
            switch access {
            case .public, .authenticated, .action:
                return try await handler(request, context)
            case .resourceAction(let action):
                let response = try await handler(request, context)
                guard context.authorizationTrace.contains(action) else {
                    context.logger.error(
                        "route answered without asking the policy", metadata: ["operation": "\(operationID)", "action": "\(action)"])
                    throw PlazaError(
                        .internalServerError, code: "unauthorized-route", title: "Internal error",
                        detail: "This route did not check authorization.")
                }
                return response
            }
        }
    }
}

/// The routes a module contributes, in the order they were added.
public struct RouteTable<Context: PlazaRequestContext>: Sendable {
    public private(set) var endpoints: [Endpoint<Context>] = []
    public init() {}

    public mutating func add(_ endpoint: Endpoint<Context>) { endpoints.append(endpoint) }
    public mutating func add(contentsOf other: RouteTable<Context>) { endpoints.append(contentsOf: other.endpoints) }

    /// Adds every route to the router, each guarded as it declares; routes marked `idempotent` honour
    /// `Idempotency-Key` when a store is given.
    public func register(
        on router: Router<Context>, policy: any Policy, idempotency: (any IdempotencyStore)? = nil, limiter: RateLimiter = RateLimiter()
    ) {
        for var endpoint in endpoints {
            if let body = endpoint.requestBody, body.mediaType == "application/json" {
                endpoint.handler = Self.followingBodyRules(endpoint.handler, schema: body.schema)
            }
            if let limit = endpoint.rateLimit {
                let (handler, operation) = (endpoint.handler, endpoint.operationID)
                endpoint.handler = { request, context in
                    let subject = context.principal.map { "user:\($0.id)" } ?? "ip:\(context.client.ip)"
                    if case .limited(let retryAfter) = limiter.take("route:\(operation)|\(subject)", limit: limit) {
                        throw limit.refusal(retryAfter: retryAfter)
                    }
                    return try await handler(request, context)
                }
            }
            var handler = endpoint.guardedHandler(policy: policy)
            if endpoint.idempotent, let idempotency {
                // The caller is checked before the key, so a signed-out request is a 401 whatever its key says.
                let (access, keyed) = (endpoint.access, IdempotencyGuard.wrap(handler, store: idempotency))
                handler = { request, context in
                    try Endpoint.checkCaller(access, context, policy: policy)
                    return try await keyed(request, context)
                }
            }
            router.on(RouterPath(endpoint.routerPath), method: endpoint.method, use: handler)
        }
    }

    /// A handler that first holds a JSON body to the rules of docs/api.md, read from the route's declared schema:
    /// a body needs its `Content-Type` (415), and fields the schema does not list, or `null` where it allows none,
    /// are refused with a 422 naming them. An empty body is left to the handler (a command whose body is optional).
    static func followingBodyRules(_ handler: @escaping Endpoint<Context>.Handler, schema: JSONSchema) -> Endpoint<Context>.Handler {
        { request, context in
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: context.maxUploadSize)
            } catch {
                throw PlazaError.payloadTooLarge(limit: context.maxUploadSize)
            }
            guard buffer.readableBytes > 0 else { return try await handler(request, context) }
            guard request.headers[.contentType] != nil else {
                throw PlazaError(
                    .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                    detail: "The body has no Content-Type: send it as application/json.")
            }
            // Another media type, or JSON that does not parse, is the decoder's to answer (415, 400).
            if request.isJSON, let value = try? JSONDecoder().decode(JSONValue.self, from: try JSONScan.checked(Data(buffer: buffer))) {
                let violations = schema.bodyRuleViolations(in: value)
                if !violations.isEmpty { throw PlazaError.validation(violations) }
            }
            return try await handler(request, context)
        }
    }

    /// The methods of the route the router resolves a concrete path to (used to answer 405 with `Allow`), each once.
    ///
    /// Resolved as Hummingbird's trie does: at each segment a literal is tried before a parameter; when the rest of
    /// the path cannot be matched below a segment, the next candidate for that segment is tried (except at the
    /// first segment); and a path that ends at a node without routes resolves to nothing. So `PATCH /providers/me`
    /// names only the methods written with `me`, and `/providers/me/reviews` those of `/providers/{id}/reviews`.
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let requested = path.split(separator: "/", omittingEmptySubsequences: true)
        let templates = endpoints.map { ($0.method, $0.path.split(separator: "/", omittingEmptySubsequences: true)) }
        func isParameter(_ segment: Substring) -> Bool { segment.hasPrefix("{") && segment.hasSuffix("}") }
        /// The routes of the node the router stops at, given the routes that share the segments before `level`.
        func descend(_ level: Int, _ group: [(HTTPRequest.Method, [Substring])]) -> [(HTTPRequest.Method, [Substring])]? {
            let deeper = group.filter { $0.1.count > level }
            let literal = deeper.filter { $0.1[level] == requested[level] }
            let parameter = deeper.filter { isParameter($0.1[level]) }
            for candidates in [literal, parameter] where !candidates.isEmpty {
                if level == requested.count - 1 { return candidates.filter { $0.1.count == requested.count } }
                if let found = descend(level + 1, candidates) { return found }
                if level == 0 { return nil }
            }
            return nil
        }
        let resolved = requested.isEmpty ? templates.filter { $0.1.isEmpty } : descend(0, templates) ?? []
        var seen: [HTTPRequest.Method] = []
        for (method, _) in resolved where !seen.contains(method) { seen.append(method) }
        return seen
    }
}
