import Foundation
import Hummingbird
import PlazaKit

/// How pages fail: in the layout and the reader's language rather than as problem+json.
///
/// For a browser (it asks for `text/html`) outside the API: a page that needs a signed-in person sends a
/// signed-out one to `/sign-in?next=…`; every other refusal is drawn as an error page with its status.
/// API clients, and anything that does not ask for HTML, get the edge's problem+json as usual.
public struct PageErrors<Context: PlazaRequestContext>: RouterMiddleware {
    let pages: Pages

    public init(pages: Pages) {
        self.pages = pages
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PlazaError {
            let path = request.uri.path
            guard Self.isPage(path), request.headers[.accept]?.contains("text/html") == true else { throw error }
            let scope = try await pages.scope(request, context)
            if error.status == .unauthorized, context.principal == nil, request.method == .get {
                let target = request.uri.query.map { "\(path)?\($0)" } ?? path
                return scope.redirect("/sign-in?next=\(SignInPages<Context>.encode(target))")
            }
            // The CSRF refusal is already worded for people, in their language.
            let worded = error.code == "csrf"
            let heading = worded ? error.title : scope.strings["error_title_\(error.status.code)"] ?? error.title
            let detail =
                worded
                ? (error.detail ?? "")
                : (scope.strings["error_\(error.code)"] ?? scope.strings["error_detail_\(error.status.code)"] ?? error.detail ?? "")
            // Which fields, when a form was refused before its page could show them beside the inputs (a NUL).
            let fieldErrors = error.errors.map { "\(scope.label(forField: $0.field)): \(Catalogue.message($0.message, scope.language))" }
            return scope.render(
                "error",
                [
                    "heading": heading, "detail": detail, "requestId": context.requestID, "fieldErrors": fieldErrors,
                    "hasFieldErrors": !fieldErrors.isEmpty,
                ],
                status: error.status, headers: error.headers)
        }
    }

    /// Paths that are pages (the API, OAuth, health and metrics answer machines).
    static func isPage(_ path: String) -> Bool {
        !(path.hasPrefix("/api/") || path.hasPrefix("/oauth/") || path.hasPrefix("/.well-known/") || path == "/health"
            || path == "/ready" || path == "/metrics" || path == "/openapi.json")
    }
}
