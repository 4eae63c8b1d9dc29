import PlazaKit

/// What an app adds to the pages: its templates (which may use the core's `layout`, `form` and `field`
/// partials), its words in every language, and links in the shared navigation. Apps add their routes with
/// ``PageRoutes`` and hand their bundle to
/// ``Pages/init(identity:notifications:files:workflows:queue:secrets:sessionLifetime:databaseEngine:bundles:)``;
/// the core pages never import an app.
public struct PageBundle: Sendable {
    /// A link in the header for the people `visible` admits.
    public struct Link: Sendable {
        public var href: String
        /// A key of the bundle's strings.
        public var label: String
        public var visible: @Sendable (Principal) -> Bool

        public init(href: String, label: String, visible: @escaping @Sendable (Principal) -> Bool) {
            self.href = href
            self.label = label
            self.visible = visible
        }
    }

    public var templates: [String: String]
    /// Every word by language; both languages must have the same keys (the app's tests check it).
    public var strings: [Language: [String: String]]
    public var links: [Link]

    public init(templates: [String: String], strings: [Language: [String: String]], links: [Link] = []) {
        self.templates = templates
        self.strings = strings
        self.links = links
    }
}
