import Foundation
import Gateway
import Hummingbird
import NIOCore
import PlazaKit

/// `/openapi.json`: the document is generated from the same route table the router is built from.
enum OpenAPIRoute {
    static func info(_ edge: EdgeSettings) -> OpenAPI.Info {
        var info = OpenAPI.Info(
            title: "Plaza", version: "0.1.0",
            description:
                "One server for marketplaces, booking systems and community platforms. Errors are RFC 9457 problem+json; lists use "
                + "?limit= and ?cursor=."
        )
        info.maxBodyBytes = edge.maxBodySize
        info.streamingBodyPaths = edge.streamingBodyPaths
        return info
    }

    static func adding<Context: PlazaRequestContext>(to routes: RouteTable<Context>, policy: RulePolicy, edge: EdgeSettings) -> RouteTable<Context> {
        var table = routes
        func endpoint(_ handler: @escaping Endpoint<Context>.Handler) -> Endpoint<Context> {
            Endpoint(
                .get, "/openapi.json", operationID: "openapi", summary: "This document: every endpoint Plaza serves.",
                tag: "Operations", access: .public,
                responses: [EndpointResponse(200, "An OpenAPI 3.1 document.", body: EndpointBody(schemaName: nil, schema: .anyObject))],
                handler: handler)
        }
        var documented = table
        documented.add(endpoint { _, _ in Response(status: .ok) })
        let document = OpenAPI.document(for: documented, info: info(edge), anonymousMay: anonymousMay(policy))
        let bytes = Data(OpenAPI.serialize(document).utf8)
        table.add(
            endpoint { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            })
        return table
    }

    /// The document as pretty-printed JSON (for `plaza openapi`).
    static func document<Context: PlazaRequestContext>(for routes: RouteTable<Context>, policy: RulePolicy, edge: EdgeSettings) throws -> String {
        OpenAPI.serialize(OpenAPI.document(for: routes, info: info(edge), anonymousMay: anonymousMay(policy)), pretty: true)
    }

    /// Whether a route's access may let someone signed out through, as the policy's rules say.
    static func anonymousMay(_ policy: RulePolicy) -> @Sendable (Access) -> Bool {
        { access in
            switch access {
            case .public: return true
            case .authenticated: return false
            case .action(let action): return policy.allows(nil, action)
            case .resourceAction(let action): return policy.mayAllowAnonymous(action)
            }
        }
    }
}

extension Plaza {
    /// The OpenAPI document of every route, pretty-printed.
    public func openAPIDocument() throws -> String {
        try OpenAPIRoute.document(for: routes, policy: policy, edge: config.edge)
    }
}
