import Foundation

/// Who is making a request: a person or a service client, with everything authorization needs
/// and nothing it has to fetch again.
///
/// Roles live at three levels: system roles (`admin`, `employee`, `operator`), app roles keyed by app
/// (a user can be a `customer` in the marketplace and in AstroBookings), and organisation roles keyed by
/// organisation id (`owner`, `member`, …). Scopes narrow what a token may do on the principal's behalf.
public struct Principal: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case user, service }

    /// How strongly the session was authenticated (NIST SP 800-63 assurance levels).
    public enum AssuranceLevel: Int, Sendable, Codable, Comparable {
        case none = 0, password = 1, multiFactor = 2
        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    public var id: UUID
    public var kind: Kind
    public var systemRoles: Set<String>
    public var appRoles: [String: Set<String>]
    public var organisationRoles: [UUID: Set<String>]
    public var scopes: Set<String>
    public var sessionID: UUID?
    public var assurance: AssuranceLevel

    public init(
        id: UUID, kind: Kind = .user, systemRoles: Set<String> = [], appRoles: [String: Set<String>] = [:],
        organisationRoles: [UUID: Set<String>] = [:], scopes: Set<String> = [], sessionID: UUID? = nil,
        assurance: AssuranceLevel = .password
    ) {
        self.id = id
        self.kind = kind
        self.systemRoles = systemRoles
        self.appRoles = appRoles
        self.organisationRoles = organisationRoles
        self.scopes = scopes
        self.sessionID = sessionID
        self.assurance = assurance
    }

    public func hasSystemRole(_ role: String) -> Bool { systemRoles.contains(role) }
    /// Whether the principal holds `role` in `app`, or in every app (`*`, how sign-up grants roles).
    public func hasAppRole(_ role: String, in app: String) -> Bool {
        (appRoles[app]?.contains(role) ?? false) || (appRoles["*"]?.contains(role) ?? false)
    }
    public func roles(in organisation: UUID) -> Set<String> { organisationRoles[organisation] ?? [] }
}

/// The names of the system roles every Plaza installation has.
public enum SystemRole {
    public static let admin = "admin"
    public static let employee = "employee"
    public static let `operator` = "operator"
}
