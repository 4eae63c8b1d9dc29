import Foundation
import PlazaKit

/// Writes `docs/authorization.md` from the declared rules and routes, so the document cannot drift:
/// a test fails when the committed file differs from what this produces.
public enum AuthorizationMatrix {
    public static func markdown<Context>(policy: RulePolicy, routes: RouteTable<Context>) -> String {
        var lines = [
            "# Authorization",
            "",
            "Generated from the declared policies and routes by `plaza authorization` — do not edit by hand;",
            "a test fails when this file and the code disagree.",
            "",
            "Every action is `module.resource.action`. A principal may take an action when any rule listed for it",
            "matches, or when a role it holds carries a permission covering the action (see the last table); admins",
            "may take every declared action; an action no policy declares is refused to everyone.",
            "Relationship rules (owner, participant, organisation role) are checked by the service after it loads",
            "the resource.",
            "",
            "## Actions",
            "",
            "| action | who may | routes |",
            "|---|---|---|",
        ]
        let actions = Set(policy.rules.keys).union(routes.endpoints.compactMap(\.access.action))
        for action in actions.sorted(by: { $0.name < $1.name }) {
            let rules = policy.rules[action].map { ["admin"] + $0.map(\.description) } ?? ["nobody (undeclared)"]
            let used = routes.endpoints.filter { $0.access.action == action }.map { "`\($0.method.rawValue) \($0.path)`" }
            lines.append("| `\(action.name)` | \(rules.joined(separator: ", ")) | \(used.isEmpty ? "—" : used.joined(separator: "<br>")) |")
        }
        lines += [
            "",
            "## Routes open to everyone or to any signed-in principal",
            "",
            "| route | access |",
            "|---|---|",
        ]
        for endpoint in routes.endpoints where endpoint.access.action == nil {
            lines.append("| `\(endpoint.method.rawValue) \(endpoint.path)` | \(endpoint.access == .public ? "anyone" : "signed in") |")
        }
        lines += [
            "",
            "## System roles",
            "",
            "| action | anonymous | signed in | employee | operator | admin |",
            "|---|---|---|---|---|---|",
        ]
        let columns: [Principal?] = [
            nil, Principal(id: UUID()), Principal(id: UUID(), systemRoles: [SystemRole.employee]),
            Principal(id: UUID(), systemRoles: [SystemRole.operator]), Principal(id: UUID(), systemRoles: [SystemRole.admin]),
        ]
        for action in policy.rules.keys.sorted(by: { $0.name < $1.name }) {
            // Without a resource, relationship rules cannot match: this grid shows what roles alone allow.
            let cells = columns.map { policy.allows($0, action) ? "yes" : "—" }
            lines.append("| `\(action.name)` | \(cells.joined(separator: " | ")) |")
        }
        lines += [
            "",
            "## Roles and their permissions",
            "",
            "As a fresh installation has them; admins change them at `/admin/roles` or `PUT /api/v1/admin/roles/{name}`,",
            "and every instance applies a change at once. An organisation role's permissions hold only for resources",
            "of that organisation.",
            "",
            "| role | permissions |",
            "|---|---|",
        ]
        for (role, permissions) in policy.permissions.snapshot.sorted(by: { $0.key < $1.key }) {
            lines.append("| `\(role)` | \(permissions.isEmpty ? "—" : permissions.map { "`\($0)`" }.joined(separator: ", ")) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Plaza {
    /// `docs/authorization.md` as the code declares it.
    public var authorizationMarkdown: String { AuthorizationMatrix.markdown(policy: policy, routes: routes) }
}
