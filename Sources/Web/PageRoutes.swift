import Hummingbird
import PlazaKit

/// Collects page routes: each is an ``Endpoint`` (so the policy guards it and the route walk and the
/// authorization matrix list it) whose handler gets the request's ``PageScope``. Apps add their pages the same way.
public struct PageRoutes<Context: PlazaRequestContext>: Sendable {
    public typealias Handler = @Sendable (Request, Context, PageScope) async throws -> Response
    let pages: Pages
    public private(set) var table = RouteTable<Context>()

    public init(pages: Pages) {
        self.pages = pages
    }

    /// Adds a page. A GET page that is not public may send a signed-out browser to sign in (303); `redirects`
    /// says a public one may send its reader on as well (the sign-in page, to where a signed-in person was going).
    /// `answers` is what a GET page answers when it is not HTML (a download); a form that `uploads` takes
    /// `multipart/form-data` rather than a urlencoded form; `query` lists the parameters a GET page reads.
    public mutating func add(
        _ method: HTTPRequest.Method, _ path: String, _ operationID: String, _ summary: String, access: Access = .public,
        redirects: Bool = false, answers: EndpointBody = .text("text/html"), uploads: Bool = false, query: [EndpointParameter] = [],
        _ handler: @escaping Handler
    ) {
        let pages = self.pages
        let isPost = method == .post
        let elsewhere = !isPost && (redirects || access != .public)
        table.add(
            Endpoint(
                method, path, operationID: operationID, summary: summary, tag: "Pages", access: access,
                parameters: path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
                    let name = String($0.dropFirst().dropLast())
                    return EndpointParameter(name, in: .path, schema: name == "id" || name.hasSuffix("Id") ? .uuid : .text)
                } + query,
                requestBody: isPost
                    ? EndpointBody(
                        schemaName: nil, schema: .anyObject, mediaType: uploads ? "multipart/form-data" : "application/x-www-form-urlencoded")
                    : nil,
                responses: [
                    isPost
                        ? EndpointResponse(303, "Done; on to the next page.")
                        : EndpointResponse(200, answers == .text("text/html") ? "An HTML page." : "A download.", body: answers)
                ] + (elsewhere ? [EndpointResponse(303, "Elsewhere first: to sign in, or on to where the reader was going.")] : []),
                errors: .page
            ) { request, context in try await handler(request, context, try await pages.scope(request, context)) })
    }
}
