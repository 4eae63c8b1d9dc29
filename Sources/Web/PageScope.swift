import Files
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import PlazaKit

/// What one page request knows: the language, the signed-in principal, the CSRF token for its forms, and the
/// cookies the response must set. Handlers make one with ``Pages/scope(_:_:)`` and end with `render` or
/// `redirect`. Apps' pages use the same scope (``PageRoutes``).
public struct PageScope: Sendable {
    let pages: Pages
    public let language: Language
    public let principal: Principal?
    let csrfCookie: String
    /// The token every form of the page carries as `_csrf`.
    public let csrfToken: String
    let secure: Bool
    let path: String
    public let query: FormData
    var cookies: [Cookie]
    /// Unread inbox entries of the signed-in person (nil when signed out).
    var unread: Int? = nil
    /// The one other origin this page's forms may end up at (OAuth's client), for the edge's `form-action`.
    public var formActionOrigin: String? = nil

    var strings: [String: String] { pages.catalogue[language] ?? Catalogue.strings(language) }

    /// A word of the pages (the core's or an app's) in the reader's language; English, then the key itself, when missing.
    public func t(_ key: String) -> String { strings[key] ?? pages.catalogue[.en]?[key] ?? key }
    /// The words for `key` in the reader's language, or nil where there are none (a refusal's code without words:
    /// its own detail is shown instead).
    public func words(for key: String) -> String? { strings[key] }

    /// The page `template`, inside the layout, with `data` merged over what every page shows.
    public func render(
        _ template: String, _ data: [String: Any] = [:], status: HTTPResponse.Status = .ok, headers: [String: String] = [:]
    ) -> Response {
        var values: [String: Any] = [
            "t": strings, "lang": language.rawValue, "otherLang": language.other.rawValue, "otherLangName": language.other.endonym,
            "csrf": csrfToken, "signedIn": principal != nil, "isAdmin": principal?.systemRoles.contains(SystemRole.admin) == true,
            "isOperations": principal.map { $0.hasSystemRole(SystemRole.admin) || $0.hasSystemRole(SystemRole.operator) } ?? false,
            "isStaff": principal.map { $0.hasSystemRole(SystemRole.admin) || $0.hasSystemRole(SystemRole.employee) } ?? false,
            "unread": unread ?? 0, "hasUnread": (unread ?? 0) > 0, "userTopic": principal.map { "user:\($0.id.uuidString.lowercased())" } ?? "",
            "appLinks": principal.map { principal in
                pages.links.filter { $0.visible(principal) }.map { ["href": $0.href, "label": t($0.label)] as [String: Any] }
            } ?? [],
        ]
        if let notice = query["notice"], let text = strings["notice_\(notice)"] { values["notice"] = text }
        for (key, value) in data { values[key] = value }
        values["hasProblems"] = (values["problems"] as? [String])?.isEmpty == false
        let html = pages.renderer.render(template, values)
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
        for (name, value) in headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
        if let formActionOrigin { response.headers[.formActionOrigin] = formActionOrigin }
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    /// A form page (`form-page`, or `template` drawn from `extra` and the page) again, with what went wrong: field errors beside their
    /// fields, the rest on
    /// top, and the refusal's status (422, 401, 409, 429 with its `Retry-After`). Errors that are not a
    /// refusal of this input (a server fault) go on to the error page.
    func rerender(
        _ page: FormPage, after error: any Error, messages: [String: String] = [:], template: String = "form-page",
        extra: [String: Any] = [:]
    ) throws -> Response {
        guard let refusal = error as? PlazaError, refusal.status.code < 500, refusal.code != "csrf" else { throw error }
        var page = page
        let unplaced = page.form.attach(refusal.errors, language: language)
        var data = extra
        for (key, value) in page.data { data[key] = value }
        data["problem"] = messages[refusal.code] ?? strings["error_\(refusal.code)"] ?? refusal.detail ?? refusal.title
        data["problems"] = unplaced
        return render(template, data, status: refusal.status, headers: refusal.headers)
    }

    /// A form field's label in the reader's language (`firstName` → "First name", `field_first_name`); the
    /// field's own name when the pages have no label for it.
    func label(forField field: String) -> String {
        let snake = field.reduce(into: "") { name, character in
            if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
        }
        return strings["field_" + snake] ?? field
    }

    /// The field problems of a refusal as the layout lists them on top of a page that has no form to put
    /// them beside (`field: message`, in the reader's language).
    public func problems(_ error: PlazaError) -> [String] {
        error.errors.map { "\($0.field): \(Catalogue.message($0.message, language))" }
    }

    /// A person's organisations as the account and admin pages list them.
    static func memberships(_ me: Me) -> [[String: Any]] {
        me.organisations.map { ["id": $0.id.uuidString, "title": $0.name, "orgRoles": $0.roles.joined(separator: ", ")] }
    }

    /// The link to the next page of a filtered list: the same filters, the cursor, no notice; `nil` on the last page.
    public static func nextPage(_ path: String, query: [String: String], cursor: String?) -> String? {
        guard let cursor else { return nil }
        var items = query.filter { $0.key != "cursor" && $0.key != "notice" }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        items.append("cursor=\(cursor)")
        return path + "?" + items.sorted().joined(separator: "&")
    }

    /// A local path to go to after signing in; anything else (another site, `//host`) becomes `fallback`.
    static func safeNext(_ next: String?, fallback: String = "/account") -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("\r"), !next.contains("\n")
        else { return fallback }
        return next
    }

    /// 303 See Other: after a form post, so reloading the next page does not post again.
    public func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    /// The posted form, after checking that it is a form, fits the limit, came from this site and carries
    /// this browser's CSRF token. A refusal is a 403 page that says what to do.
    public func form(_ request: Request, _ context: some PlazaRequestContext) async throws -> FormData {
        let media = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "application/x-www-form-urlencoded" else {
            throw PlazaError(
                .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                detail: "Pages take forms (application/x-www-form-urlencoded).")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Pages.formLimit)
        } catch {
            throw PlazaError.payloadTooLarge(limit: Pages.formLimit)
        }
        let form = FormData(encoded: String(buffer: buffer))
        guard request.comesFromThisSite,
            try await pages.csrf.verify(
                field: form[CSRF.fieldName], cookie: request.cookies[CSRF.cookieName]?.value, session: principal?.sessionID)
        else {
            throw PlazaError(
                .forbidden, code: "csrf", title: t("csrf_title"), detail: t("csrf_detail"))
        }
        try InputText.check(form.pairs)
        return form
    }

    /// Checks a form that cannot carry `_csrf` as a field read before its body (a file upload streams its
    /// body to the files module): the token comes in the action's query instead, bound to the same cookie
    /// and session, so it is worth nothing without them.
    public func checkUploadForm(_ request: Request) async throws {
        let media = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard media == "multipart/form-data" else {
            throw PlazaError(
                .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                detail: "This page takes a file form (multipart/form-data).")
        }
        guard request.comesFromThisSite,
            try await pages.csrf.verify(
                field: request.uri.queryParameters.get(CSRF.fieldName), cookie: request.cookies[CSRF.cookieName]?.value,
                session: principal?.sessionID)
        else {
            throw PlazaError(.forbidden, code: "csrf", title: t("csrf_title"), detail: t("csrf_detail"))
        }
    }

    /// A form that carries files as well as fields (`enctype="multipart/form-data"`, `_csrf` in the action's
    /// query): checked like an upload form, its fields returned as ``FormData`` and its files, parts named
    /// `field`, stored with `purpose` (at most `maxFiles`).
    public func form(
        _ request: Request, files: FileService, field: String, purpose: FilePurpose, maxFiles: Int, caller: Caller
    ) async throws -> (FormData, [StoredFile]) {
        try await checkUploadForm(request)
        let received = try await files.receiveForm(request, files: field, purpose: purpose, maxFiles: maxFiles, caller: caller)
        return (FormData(pairs: received.fields), received.files)
    }

    /// A cookie for the pages: HttpOnly, SameSite=Lax, on every path, Secure when the client came over TLS.
    func cookie(_ name: String, _ value: String, maxAge: Int?) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    mutating func setCookie(_ name: String, _ value: String, maxAge: Int?) {
        cookies.removeAll { $0.name == name }
        cookies.append(cookie(name, value, maxAge: maxAge))
    }
}
