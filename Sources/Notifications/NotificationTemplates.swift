import Foundation
import Mustache
import PlazaKit
import Synchronization

/// The words of one template in one language, each a Mustache template over the notification's data.
public struct TemplateTexts: Sendable {
    /// The e-mail subject, the inbox entry's title, the push title.
    public var title: String
    /// The message: the e-mail's text and the inbox entry's body. Blank lines separate paragraphs.
    public var body: String
    /// The SMS and push text; the title when absent.
    public var short: String?
    /// The label of the e-mail's button and the link it leads to (a path on this site, or a whole URL).
    public var action: String?
    public var link: String?

    public init(title: String, body: String, short: String? = nil, action: String? = nil, link: String? = nil) {
        self.title = title
        self.body = body
        self.short = short
        self.action = action
        self.link = link
    }
}

/// A kind of message: its category, the channels it may use, and its words in each language.
public struct NotificationTemplate: Sendable {
    public var id: String
    public var category: String
    /// Channels this message makes sense on (a sign-up code is only e-mailed); the category's defaults and
    /// the person's preferences choose among them.
    public var channels: Set<Channel>
    public var texts: [String: TemplateTexts]

    public init(id: String, category: String, channels: Set<Channel> = Set(Channel.allCases), texts: [String: TemplateTexts]) {
        precondition(texts["en"] != nil, "template \(id) needs English words")
        self.id = id
        self.category = category
        self.channels = channels
        self.texts = texts
    }
}

/// A template rendered for one person.
public struct RenderedMessage: Sendable, Equatable, Codable {
    public var title: String
    public var body: String
    public var short: String
    public var action: String?
    /// Absolute (the site's base URL prepended to a path).
    public var link: String?
}

/// Every template and category, registered by modules at start-up; renders them by locale.
public final class NotificationTemplates: Sendable {
    struct Compiled: Sendable {
        var title: MustacheTemplate
        var body: MustacheTemplate
        var short: MustacheTemplate?
        var action: MustacheTemplate?
        var link: MustacheTemplate?
    }

    private let templates = Registry<NotificationTemplate>("notification template")
    private let compiled = Mutex<[String: Compiled]>([:])
    private let categories = Registry<NotificationCategory>("notification category")
    let baseURL: String
    let product: String

    public init(baseURL: String, product: String = "Plaza") {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.product = product
        for category in [NotificationCategory.security, .account, .organisation, .messages, .announcements] { try! register(category) }
        for template in Self.builtIn { try! register(template) }
    }

    /// Registers a category people may mute; an id registered before throws ``DuplicateName``.
    public func register(_ category: NotificationCategory, owner: String = #fileID) throws {
        try categories.add(category.id, category, owner: owner)
    }

    /// Registers a template; its Mustache is compiled now, so a broken template fails at start-up, and an id
    /// registered before throws ``DuplicateName``.
    public func register(_ template: NotificationTemplate, owner: String = #fileID) throws {
        guard category(template.category) != nil else {
            throw TemplateProblem(description: "template \(template.id) names unknown category \(template.category)")
        }
        var compiledTexts: [String: Compiled] = [:]
        for (locale, texts) in template.texts {
            do {
                func text(_ source: String) throws -> MustacheTemplate { try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source) }
                compiledTexts["\(template.id)|\(locale)"] = Compiled(
                    title: try text(texts.title), body: try text(texts.body), short: try texts.short.map(text),
                    action: try texts.action.map(text), link: try texts.link.map(text))
            } catch {
                throw TemplateProblem(description: "template \(template.id) (\(locale)) does not compile: \(error)")
            }
        }
        try templates.add(template.id, template, owner: owner)
        compiled.withLock { $0.merge(compiledTexts) { $1 } }
    }

    public func template(_ id: String) -> NotificationTemplate? { templates[id] }
    public func category(_ id: String) -> NotificationCategory? { categories[id] }
    public var allCategories: [NotificationCategory] { categories.values }
    public var templateIDs: [String] { templates.names.sorted() }

    /// Renders `id` in `locale` (English when the template has no words in it) for someone called `firstName`.
    public func render(_ id: String, locale: String, data: [String: JSONValue], firstName: String?) throws -> RenderedMessage {
        guard let template = template(id) else { throw PlazaError.validation(field: "template", "\(id) is not a template") }
        let language = template.texts[locale] != nil ? locale : "en"
        guard let compiled = compiled.withLock({ $0["\(id)|\(language)"] }) else {
            throw PlazaError.validation(field: "template", "\(id) has no words in \(language)")
        }
        var context: [String: Any] = data.mapValues(Self.mustacheValue)
        context["firstName"] = firstName ?? ""
        context["product"] = product
        context["baseURL"] = baseURL
        let title = Self.clean(compiled.title.render(context))
        let link = compiled.link.map { $0.render(context).trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        return RenderedMessage(
            title: title, body: compiled.body.render(context).trimmingCharacters(in: .whitespacesAndNewlines),
            short: compiled.short.map { Self.clean($0.render(context)) } ?? title,
            action: compiled.action.map { Self.clean($0.render(context)) }.flatMap { $0.isEmpty ? nil : $0 },
            link: link.map { $0.hasPrefix("/") ? baseURL + $0 : $0 })
    }

    /// One line: titles become e-mail subjects, where a line break would end the header.
    static func clean(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    static func mustacheValue(_ value: JSONValue) -> Any {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .string(let text): return text
        case .array(let items): return items.map(mustacheValue)
        case .object(let fields): return fields.mapValues(mustacheValue)
        }
    }
}

/// A template that cannot be registered: it names a category nobody registered, or its Mustache does not compile.
public struct TemplateProblem: Error, CustomStringConvertible {
    public let description: String
}
