import Foundation

/// The languages the pages speak. A person's choice travels in the `plaza_lang` cookie.
public enum Language: String, Sendable, CaseIterable {
    case en, uk

    public static let cookieName = "plaza_lang"

    /// The name of the language in itself, for the switch in the header.
    var endonym: String {
        switch self {
        case .en: return "English"
        case .uk: return "Українська"
        }
    }

    var other: Language { self == .en ? .uk : .en }

    /// `?lang=` wins, then the cookie, then the browser's `Accept-Language`, then English.
    static func negotiate(query: String?, cookie: String?, acceptLanguage: String?) -> Language {
        if let query, let language = Language(rawValue: query) { return language }
        if let cookie, let language = Language(rawValue: cookie) { return language }
        return preferred(acceptLanguage) ?? .en
    }

    /// The first of the browser's ranges, by quality, that names a language the pages speak.
    static func preferred(_ header: String?) -> Language? {
        guard let header else { return nil }
        let ranges = header.split(separator: ",").compactMap { part -> (String, Double)? in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { return nil }
            let quality = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (tag, quality)
        }
        for (tag, quality) in ranges.sorted(by: { $0.1 > $1.1 }) where quality > 0 {
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            if let language = Language(rawValue: primary) { return language }
        }
        return nil
    }
}
