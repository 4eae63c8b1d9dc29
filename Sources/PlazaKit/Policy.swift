import Foundation

/// A permission name, `module.resource.action` (for example `operations.audit.read`).
public struct Action: Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public var description: String { name }
}

/// What a policy may know about the resource an action touches, loaded by the service before it asks.
///
/// Services fill in the relationships they know: who owns it, which organisation it belongs to, who
/// takes part in it (the two sides of a conversation or a booking).
public struct ResourceFacts: Sendable, Equatable {
    public var ownerID: UUID?
    public var organisationID: UUID?
    public var participantIDs: Set<UUID>

    public init(ownerID: UUID? = nil, organisationID: UUID? = nil, participantIDs: Set<UUID> = []) {
        self.ownerID = ownerID
        self.organisationID = organisationID
        self.participantIDs = participantIDs
    }

    /// No resource: the action is about a collection or the system itself.
    public static let none = ResourceFacts()
}

/// One way to be allowed an action. A policy allows an action when any of its rules matches.
public enum PolicyRule: Sendable, Equatable, CustomStringConvertible {
    /// Anyone, signed in or not.
    case anyone
    /// Any signed-in principal.
    case authenticated
    /// A principal holding this system role (`admin`, `employee`, `operator`).
    case systemRole(String)
    /// A principal holding this role in this app (`customer` in `marketplace`).
    case appRole(app: String, role: String)
    /// The resource's owner.
    case owner
    /// A participant of the resource.
    case participant
    /// A principal holding one of these roles in the resource's organisation.
    case organisationRole(Set<String>)

    public func matches(_ principal: Principal?, _ resource: ResourceFacts) -> Bool {
        switch self {
        case .anyone: return true
        case .authenticated: return principal != nil
        case .systemRole(let role): return principal?.hasSystemRole(role) ?? false
        case .appRole(let app, let role): return principal?.hasAppRole(role, in: app) ?? false
        case .owner:
            guard let principal, let owner = resource.ownerID else { return false }
            return principal.id == owner
        case .participant:
            guard let principal else { return false }
            return resource.participantIDs.contains(principal.id)
        case .organisationRole(let roles):
            guard let principal, let organisation = resource.organisationID else { return false }
            return !principal.roles(in: organisation).isDisjoint(with: roles)
        }
    }

    public var description: String {
        switch self {
        case .anyone: return "anyone"
        case .authenticated: return "signed in"
        case .systemRole(let role): return "role \(role)"
        case .appRole(let app, let role): return "\(app) \(role)"
        case .owner: return "owner"
        case .participant: return "participant"
        case .organisationRole(let roles): return "organisation " + roles.sorted().joined(separator: "/")
        }
    }
}

/// Decides whether a principal may perform an action on a resource.
///
/// Services call `authorize` after loading the resource, so ownership, participation and organisation
/// membership can be checked; REST handlers, GraphQL resolvers and realtime subscriptions all end up here.
public protocol Policy: Sendable {
    /// Throws `401` when a principal is needed and missing, `403` when the principal is refused.
    func authorize(_ principal: Principal?, _ action: Action, _ resource: ResourceFacts) throws

    /// Whether some resource could let an anonymous caller take the action. When not, routes refuse signed-out
    /// callers with 401 before reading their input.
    func mayAllowAnonymous(_ action: Action) -> Bool

    /// Every action some rule speaks of (a role's permission must cover at least one of them).
    var declaredActions: Set<Action> { get }
}

extension Policy {
    public func mayAllowAnonymous(_ action: Action) -> Bool { true }
    public var declaredActions: Set<Action> { [] }
}

/// The declarative policy: each action lists the rules that allow it; an action nobody declared is refused.
/// Besides the rules, a declared action is allowed to any role whose permissions (``RolePermissions``, set by
/// admins) cover it.
///
/// Because the rules are data, `docs/authorization.md` is generated from them.
public struct RulePolicy: Policy {
    public private(set) var rules: [Action: [PolicyRule]]
    /// Shared by every copy of this policy, so Identity can update it while the router holds a copy.
    public let permissions: RolePermissions

    public init(_ rules: [Action: [PolicyRule]] = [:], permissions: RolePermissions = RolePermissions()) {
        self.rules = rules
        self.permissions = permissions
    }

    public var declaredActions: Set<Action> { Set(rules.keys) }

    /// Adds rules for an action; modules call this from their `…Module.swift`.
    public mutating func allow(_ action: Action, _ rules: PolicyRule...) {
        self.rules[action, default: []].append(contentsOf: rules)
    }

    /// Which module or app declared each merged action (for the refusal of a second declaration).
    public private(set) var owners: [Action: String] = [:]

    /// Adds another module's (or app's) rules. An action it shares with rules already here throws
    /// ``DuplicateName``: two owners' rules for one action would otherwise be silently unioned.
    public mutating func merge(_ other: RulePolicy, owner: String = #fileID) throws {
        let owner = Owner.named(owner)
        for action in other.rules.keys.sorted(by: { $0.name < $1.name }) where rules[action] != nil {
            throw DuplicateName(kind: "action", name: action.name, first: owners[action] ?? "the core", second: owner)
        }
        for (action, rules) in other.rules {
            self.rules[action] = rules
            owners[action] = owner
        }
    }

    public func allows(_ principal: Principal?, _ action: Action, _ resource: ResourceFacts = .none) -> Bool {
        // Admins may do everything that is declared; undeclared actions stay refused for everyone.
        guard let rules = rules[action] else { return false }
        if principal?.hasSystemRole(SystemRole.admin) == true { return true }
        return rules.contains { $0.matches(principal, resource) } || permissions.grants(principal, action, resource)
    }

    public func mayAllowAnonymous(_ action: Action) -> Bool {
        rules[action]?.contains(.anyone) ?? false
    }

    public func authorize(_ principal: Principal?, _ action: Action, _ resource: ResourceFacts = .none) throws {
        if allows(principal, action, resource) { return }
        if principal == nil { throw PlazaError.unauthorized() }
        throw PlazaError.forbidden("You may not \(action.name).")
    }
}
