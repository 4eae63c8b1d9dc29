import Foundation
import PlazaKit

/// A role an app brings: `provider` in the marketplace. Its labels name it on pages (`en`, `uk`); people may
/// choose a self-assignable role at sign-up, the others come from admins or organisation owners.
public struct AppRole: Sendable, Equatable {
    public var name: String
    public var description: String
    public var labels: [String: String]
    public var selfAssignable: Bool

    public init(_ name: String, description: String, labels: [String: String], selfAssignable: Bool = false) {
        self.name = name
        self.description = description
        self.labels = labels
        self.selfAssignable = selfAssignable
    }
}

/// A kind of organisation an app brings (a provider company, a brand), with its labels (`en`, `uk`).
public struct OrganisationType: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]

    public init(_ name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }
}

/// The app roles and organisation types of this installation: the core's (`customer`, a `team`), then every
/// installed app's. Identity checks sign-ups, grants, imports and organisations against it; pages label with it.
public struct RoleCatalogue: Sendable {
    /// The core's app role: people request and book what apps offer, in every app.
    public static let customer = AppRole(
        "customer", description: "Requests and books what is offered.", labels: ["en": "Customer", "uk": "Клієнт"], selfAssignable: true)
    /// The core's organisation type.
    public static let team = OrganisationType("team", labels: ["en": "Team", "uk": "Команда"])

    public let appRoles: [AppRole]
    public let organisationTypes: [OrganisationType]

    /// The core's roles and types, then `appRoles` and `organisationTypes` (the apps'); a name twice throws
    /// ``DuplicateName``.
    public init(appRoles: [(owner: String, role: AppRole)] = [], organisationTypes: [(owner: String, type: OrganisationType)] = []) throws {
        let roleNames = NameClaims("role")
        for name in Roles.system + Roles.organisation + [Self.customer.name] { try roleNames.claim(name, owner: "Identity") }
        for (owner, role) in appRoles { try roleNames.claim(role.name, owner: owner) }
        let typeNames = NameClaims("organisation type")
        try typeNames.claim(Self.team.name, owner: "Identity")
        for (owner, type) in organisationTypes { try typeNames.claim(type.name, owner: owner) }
        self.appRoles = [Self.customer] + appRoles.map(\.role)
        self.organisationTypes = [Self.team] + organisationTypes.map(\.type)
    }

    /// The core's alone (tests of the core).
    public static let core = try! RoleCatalogue()

    public var appRoleNames: [String] { appRoles.map(\.name) }
    /// App roles a person may choose at sign-up; the others come from admins or organisation owners.
    public var selfAssignable: [String] { appRoles.filter(\.selfAssignable).map(\.name) }
    /// The roles Plaza and its apps rely on: admins may edit their permissions but not delete them.
    public var builtIn: Set<String> { Set(Roles.system + Roles.organisation + appRoleNames) }
    public var organisationTypeNames: [String] { organisationTypes.map(\.name) }
}
