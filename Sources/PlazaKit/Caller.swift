import Foundation
import Synchronization

/// Who is asking a service to do something, from where, under which request: what authorization
/// and the audit log both need. Handlers build it from the request context and pass it to services.
public struct Caller: Sendable {
    public var principal: Principal?
    public var requestID: String?
    public var ip: String?
    /// Records the actions this call was authorized for, so the route layer can prove a policy was asked.
    public let trace: AuthorizationTrace

    public init(principal: Principal?, requestID: String? = nil, ip: String? = nil, trace: AuthorizationTrace = .init()) {
        self.principal = principal
        self.requestID = requestID
        self.ip = ip
        self.trace = trace
    }

    /// The system itself (jobs, the CLI, seeding): no principal, and policies are not consulted.
    public static func system(_ reason: String = "system") -> Caller {
        Caller(principal: nil, requestID: reason, ip: nil)
    }

    /// Whoever runs `plaza` at the server's console: they hold the database already, so they act as an
    /// operator through the same policy-checked services as the operators' API. The audit log shows a
    /// service principal with the nil UUID and `command` as the request id. Commands that administer
    /// accounts and clients (`plaza oauth …`, `plaza users …`) act as an admin instead.
    public static func console(_ command: String, role: String = SystemRole.operator) -> Caller {
        Caller(
            principal: Principal(id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), kind: .service, systemRoles: [role]),
            requestID: "console: \(command)", ip: nil)
    }
}

/// The actions a request was authorized for. A route declared as guarded by an action fails loudly when
/// its handler returns without asking the policy for that action.
public final class AuthorizationTrace: Sendable {
    private let actions = Mutex<Set<Action>>([])
    public init() {}
    public func record(_ action: Action) { actions.withLock { _ = $0.insert(action) } }
    public func contains(_ action: Action) -> Bool { actions.withLock { $0.contains(action) } }
}

extension Policy {
    /// Whether the caller may act, without recording or throwing (to hide resources from strangers).
    public func allowsQuietly(_ caller: Caller, _ action: Action, _ resource: ResourceFacts) -> Bool {
        (try? authorize(caller.principal, action, resource)) != nil
    }

    /// Authorizes a caller and records the decision in the caller's trace.
    public func authorize(_ caller: Caller, _ action: Action, _ resource: ResourceFacts = .none) throws {
        try authorize(caller.principal, action, resource)
        caller.trace.record(action)
    }
}

extension PlazaRequestContext {
    /// The caller for service calls made while handling this request.
    public var caller: Caller {
        Caller(principal: principal, requestID: requestID, ip: client.ip, trace: authorizationTrace)
    }
}
