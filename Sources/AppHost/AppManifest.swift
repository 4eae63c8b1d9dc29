import Files
import FluentKit
import Foundation
import Identity
import PlazaKit
import Storage
import Web

/// What an app is and brings, before anything runs. Its names derive from ``id``: actions, jobs, templates
/// and workflows start with `<id>.`, topic kinds, conversation contexts and file entities with `<id>-` (or are
/// the id), tables with `<id>_` and settings with `PLAZA_<ID>_` (the contract test checks them).
public struct AppManifest: Sendable {
    /// Lowercase letters, digits and hyphens: `marketplace`, `astro`.
    public var id: String
    /// Its name for people, by language (`en`, `uk`).
    public var title: [String: String]
    /// Its own migrations, in order, run after the core's. A migration's name is what an installation records:
    /// once released it never changes (new ones are named `<id>.NNNN_…`, so two apps never collide on a number).
    public var migrations: [any Migration]
    /// Its authorization rules; an action another module or app declared refuses the start.
    public var policy: RulePolicy
    /// Its roles, upserted at migrate without touching permissions an admin edited.
    public var roles: [AppRole]
    /// Organisation types it brings (a supplier, a brand).
    public var organisationTypes: [OrganisationType]
    /// What its files may be (limits, types, visibility, variants, who uploads).
    public var filePurposes: [FilePurpose]
    /// Its settings (`PLAZA_<ID>_<NAME>`), listed by `plaza config` and in `docs/operations.md`.
    public var settings: [AppSetting]
    /// Its page templates, words in both languages and header links.
    public var pages: PageBundle?
    /// Path prefixes where it speaks another system's API, and the shape its refusals take there.
    public var errorEnvelopes: [EnvelopedPrefix]
    /// Demo markers written before apps had their own (an installation seeded with one has this app's demo).
    public var earlierDemoMarkers: [String]
    /// Every table it owns and the people in it (``PersonalTable``); tables without people are listed too.
    public var personalData: [PersonalTable]

    public init(
        id: String, title: [String: String], migrations: [any Migration] = [], policy: RulePolicy = RulePolicy(), roles: [AppRole] = [],
        organisationTypes: [OrganisationType] = [], filePurposes: [FilePurpose] = [], settings: [AppSetting] = [], pages: PageBundle? = nil,
        errorEnvelopes: [EnvelopedPrefix] = [], earlierDemoMarkers: [String] = [], personalData: [PersonalTable] = []
    ) {
        self.id = id
        self.title = title
        self.migrations = migrations
        self.policy = policy
        self.roles = roles
        self.organisationTypes = organisationTypes
        self.filePurposes = filePurposes
        self.settings = settings
        self.pages = pages
        self.errorEnvelopes = errorEnvelopes
        self.earlierDemoMarkers = earlierDemoMarkers
        self.personalData = personalData
    }

    /// The environment key of one of its settings: `PLAZA_MARKETPLACE_SEARCH_CACHE_SECONDS`.
    public func key(of setting: AppSetting) -> String {
        "PLAZA_\(id.uppercased().replacingOccurrences(of: "-", with: "_"))_\(setting.name)"
    }

    /// The marker of its demo data in the audit log.
    public var demoMarker: String { "plaza.demo.seeded.\(id)" }
}

/// One setting of an app: its name after `PLAZA_<ID>_`, its default and what it means.
public struct AppSetting: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case boolean
        case text
        /// One of these words (a currency code).
        case choice([String])
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: String
    public var meaning: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String, _ meaning: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.meaning = meaning
    }

    /// Checks a value as the configuration reads it; the problem, in words, if it is not one.
    public func problem(with raw: String) -> String? {
        switch kind {
        case .integer(let range):
            guard let value = Int(raw), range.contains(value) else {
                return "must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(raw)\""
            }
            return nil
        case .boolean:
            return AppSettings.boolean(raw) == nil ? "must be true or false, not \"\(raw)\"" : nil
        case .text:
            return nil
        case .choice(let words):
            return words.contains(raw) ? nil : "must be one of \(words.joined(separator: ", ")), not \"\(raw)\""
        }
    }
}

/// An app's settings as configured (or their defaults), read by name.
public struct AppSettings: Sendable {
    let values: [String: String]
    let declared: [String: AppSetting]

    public init(_ settings: [AppSetting], values: [String: String]) {
        self.declared = Dictionary(uniqueKeysWithValues: settings.map { ($0.name, $0) })
        self.values = values
    }

    private func raw(_ name: String) -> String {
        guard let setting = declared[name] else { preconditionFailure("the app reads \(name), which it did not declare") }
        return values[name] ?? setting.defaultValue
    }

    public func integer(_ name: String) -> Int { Int(raw(name)) ?? 0 }
    public func boolean(_ name: String) -> Bool { Self.boolean(raw(name)) ?? false }
    public func text(_ name: String) -> String { raw(name) }

    static func boolean(_ raw: String) -> Bool? {
        switch raw.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }
}
