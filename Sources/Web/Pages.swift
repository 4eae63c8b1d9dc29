import Files
import Foundation
import Hummingbird
import Identity
import Jobs
import Notifications
import PlazaKit
import Storage
import Workflows

/// What every page handler shares: the services it calls, the CSRF signer, the template renderer and the
/// words of every page, the apps' among them.
public struct Pages: Sendable {
    /// The largest form a page accepts; files go through the files API, never through a page form.
    static let formLimit = 64 * 1024
    static let csrfCookieLifetime = 30 * 86400
    static let languageCookieLifetime = 365 * 86400

    let identity: IdentityService
    let notifications: NotificationService
    let files: FileService
    let workflows: WorkflowEngine
    let queue: JobQueue
    let csrf: CSRF
    let renderer: Renderer
    /// The core's words with every bundle's, by language.
    let catalogue: [Language: [String: String]]
    let links: [PageBundle.Link]
    /// How long a session cookie lives (the session's own lifetime).
    let sessionLifetime: Int
    /// "SQLite" or "PostgreSQL", for the landing page.
    let databaseEngine: String

    public init(
        identity: IdentityService, notifications: NotificationService, files: FileService, workflows: WorkflowEngine, queue: JobQueue,
        secrets: Secrets,
        sessionLifetime: Duration, databaseEngine: String, bundles: [(owner: String, bundle: PageBundle)] = []
    ) throws {
        self.identity = identity
        self.notifications = notifications
        self.files = files
        self.workflows = workflows
        self.queue = queue
        self.csrf = CSRF(secrets: secrets)
        var templates = Templates.all
        var catalogue: [Language: [String: String]] = [.en: Catalogue.en, .uk: Catalogue.uk]
        // A template or word two owners define would silently hide one of them: refused, naming both.
        let templateOwners = NameClaims("page template")
        let wordOwners = NameClaims("word")
        for name in templates.keys.sorted() { try templateOwners.claim(name, owner: "Web") }
        for key in Catalogue.en.keys.sorted() { try wordOwners.claim(key, owner: "Web") }
        // App roles and organisation types are labelled where they are declared (the core's and each app's).
        for (key, labels) in identity.catalogue.appRoles.map({ ("role_\($0.name)", $0.labels) })
            + identity.catalogue.organisationTypes.map({ ("organisation_type_\($0.name)", $0.labels) })
        {
            try wordOwners.claim(key, owner: "the role catalogue")
            for language in Language.allCases { catalogue[language, default: [:]][key] = labels[language.rawValue] ?? labels["en"] ?? key }
        }
        for (owner, bundle) in bundles {
            for name in bundle.templates.keys.sorted() { try templateOwners.claim(name, owner: owner) }
            let keys = Set(Language.allCases.flatMap { (bundle.strings[$0] ?? [:]).keys })
            for key in keys.sorted() { try wordOwners.claim(key, owner: owner) }
            templates.merge(bundle.templates) { first, _ in first }
            for language in Language.allCases { catalogue[language, default: [:]].merge(bundle.strings[language] ?? [:]) { first, _ in first } }
        }
        self.renderer = bundles.isEmpty ? .shared : try Renderer(templates: templates)
        self.catalogue = catalogue
        self.links = bundles.flatMap(\.bundle.links)
        self.sessionLifetime = Int(sessionLifetime.components.seconds)
        self.databaseEngine = databaseEngine
    }

    /// Every page route, in the order the router gets them.
    public func table<Context: PlazaRequestContext>(context: Context.Type = Context.self) -> RouteTable<Context> {
        var table = RouteTable<Context>()
        table.add(contentsOf: HomePage<Context>(pages: self).table)
        table.add(contentsOf: Assets<Context>().table)
        table.add(contentsOf: NotificationPages<Context>(pages: self).table)
        table.add(contentsOf: SignInPages<Context>(pages: self).table)
        table.add(contentsOf: AccountPages<Context>(pages: self).table)
        table.add(contentsOf: AdminPages<Context>(pages: self).table)
        table.add(contentsOf: OrganisationPages<Context>(pages: self).table)
        table.add(contentsOf: WorkflowPages<Context>(pages: self).table)
        table.add(contentsOf: OAuthPages<Context>(pages: self).table)
        table.add(contentsOf: OAuthAdminPages<Context>(pages: self).table)
        table.add(contentsOf: MFAPages<Context>(pages: self).table)
        table.add(contentsOf: UserImportPages<Context>(pages: self).table)
        return table
    }

    /// The scope of one page request: language, CSRF cookie and token, cookies to set.
    func scope(_ request: Request, _ context: some PlazaRequestContext) async throws -> PageScope {
        let query = FormData(pairs: request.uri.queryParameters.map { (String($0.key), String($0.value)) })
        let language = Language.negotiate(
            query: query["lang"], cookie: request.cookies[Language.cookieName]?.value, acceptLanguage: request.headers[.acceptLanguage])
        let existing = request.cookies[CSRF.cookieName]?.value
        let csrfCookie = existing.flatMap { $0.isEmpty ? nil : $0 } ?? CSRF.newCookieValue()
        var scope = PageScope(
            pages: self, language: language, principal: context.principal, csrfCookie: csrfCookie,
            csrfToken: try await csrf.token(cookie: csrfCookie, session: context.principal?.sessionID),
            secure: context.client.isSecure, path: request.uri.path, query: query, cookies: [])
        // The badge in the layout; the page's script keeps it current over the realtime socket.
        if context.principal != nil { scope.unread = try? await notifications.unreadCount(caller: context.caller) }
        if csrfCookie != existing { scope.setCookie(CSRF.cookieName, csrfCookie, maxAge: Self.csrfCookieLifetime) }
        if query["lang"].flatMap(Language.init(rawValue:)) != nil {
            scope.setCookie(Language.cookieName, language.rawValue, maxAge: Self.languageCookieLifetime)
        }
        return scope
    }
}
