import Foundation
import Synchronization

/// The permissions each role carries (seed 000: "a role has a list of permissions"), as admins set them.
///
/// A permission is an action name (`identity.user.read`), a prefix ending in `.*` (`operations.*`), or `*`.
/// System and app roles carry their permissions everywhere; an organisation role only for resources of that
/// organisation. The map lives in memory — Identity loads it from `identity_roles` at start and again whenever
/// any instance changes a role — so checking a permission never reads the database.
public final class RolePermissions: Sendable {
    private let map = Mutex<[String: [String]]>([:])

    public init(_ initial: [String: [String]] = [:]) {
        map.withLock { $0 = initial }
    }

    /// Replaces every role's permissions.
    public func replace(with permissions: [String: [String]]) {
        map.withLock { $0 = permissions }
    }

    /// The current map, role → permissions.
    public var snapshot: [String: [String]] { map.withLock { $0 } }

    /// Whether any role the principal holds — an organisation role only in the resource's organisation —
    /// carries a permission that covers `action`.
    public func grants(_ principal: Principal?, _ action: Action, _ resource: ResourceFacts) -> Bool {
        guard let principal else { return false }
        var roles = principal.systemRoles.union(principal.appRoles.values.flatMap { $0 })
        if let organisation = resource.organisationID { roles.formUnion(principal.roles(in: organisation)) }
        let map = snapshot
        return roles.contains { role in (map[role] ?? []).contains { Self.permission($0, covers: action) } }
    }

    /// `*` covers everything, `operations.*` every action under `operations.`, anything else only itself.
    public static func permission(_ permission: String, covers action: Action) -> Bool {
        if permission == "*" { return true }
        if permission.hasSuffix(".*") { return action.name.hasPrefix(String(permission.dropLast())) }
        return permission == action.name
    }

    /// Whether a permission is spelled as one: `*`, or dot-separated lowercase words, optionally ending in `.*`.
    public static func isWellFormed(_ permission: String) -> Bool {
        if permission == "*" { return true }
        var segments = permission.split(separator: ".", omittingEmptySubsequences: false)
        if segments.last == "*" { segments.removeLast() }
        guard !segments.isEmpty, permission.count <= 100 else { return false }
        return segments.allSatisfy { segment in
            guard let first = segment.first, first.isASCII, first.isLowercase else { return false }
            return segment.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        }
    }
}
