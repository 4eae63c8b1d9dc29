import Foundation
import PlazaKit
import Synchronization

/// Who may subscribe to which topics. A topic is `kind:id` (`conversation:0192…`); the module that owns a
/// kind registers the rule that decides, usually by loading the resource and asking the policy.
public final class Topics: Sendable {
    public typealias Rule = @Sendable (_ principal: Principal, _ id: String) async throws -> Bool
    private let rules = Registry<Rule>("topic kind")

    public init() {
        // `user:<id>`: a person's own notifications and signals, for that person only.
        try! register("user") { principal, id in UUID(uuidString: id) == principal.id }
        // `broadcast:<name>`: live channels for everyone signed in (a status banner, a dashboard feed),
        // published by operators and admins through `POST /api/v1/realtime/broadcast/{name}`.
        try! register("broadcast") { _, name in Self.isBroadcastName(name) }
    }

    /// 1 to 64 lowercase letters, digits and hyphens.
    public static let broadcastNamePattern = "^[a-z0-9-]{1,64}$"

    public static func isBroadcastName(_ name: String) -> Bool {
        name.wholly(matches: broadcastNamePattern)
    }

    /// Registers the rule for topics of one kind; a kind registered before throws ``DuplicateName``.
    public func register(_ kind: String, owner: String = #fileID, _ rule: @escaping Rule) throws {
        try rules.add(kind, rule, owner: owner)
    }

    public enum Decision: Equatable { case allowed, refused, unknown }

    /// Whether `principal` may subscribe to `topic`. A rule that throws (the resource is gone) refuses.
    public func decide(_ principal: Principal, _ topic: String) async -> Decision {
        guard topic.count <= 200, let colon = topic.firstIndex(of: ":") else { return .unknown }
        let kind = String(topic[..<colon])
        let id = String(topic[topic.index(after: colon)...])
        guard let rule = rules[kind], !id.isEmpty else { return .unknown }
        do {
            return try await rule(principal, id) ? .allowed : .refused
        } catch {
            return .refused
        }
    }
}
