import Foundation
import PlazaKit

/// How Identity issues and checks credentials.
public struct IdentitySettings: Sendable, Equatable {
    /// The `iss` of every token (the public URL).
    public var issuer: String
    /// The `aud` first-party access tokens carry and require.
    public var audience: String
    public var accessTokenLifetime: Duration
    public var refreshTokenLifetime: Duration
    /// bcrypt's cost factor (2^cost rounds); 12 by default, lower only in tests.
    public var bcryptCost: UInt8
    /// When true, an account must verify its email before it can sign in.
    public var requireVerifiedEmail: Bool
    /// Whether this installation can send SMS (an SMS provider is configured), so mobile numbers can be verified.
    public var sendsSMS = false
    /// System roles that act only in a session that passed a second factor (`PLAZA_MFA_REQUIRED_ROLES`);
    /// in any other session their holders are signed in without them.
    public var mfaRequiredRoles: Set<String> = [SystemRole.admin, SystemRole.operator]

    public init(
        issuer: String = "http://127.0.0.1:8080", audience: String = "plaza", accessTokenLifetime: Duration = .seconds(900),
        refreshTokenLifetime: Duration = .seconds(30 * 86400), bcryptCost: UInt8 = 12, requireVerifiedEmail: Bool = false
    ) {
        self.issuer = issuer
        self.audience = audience
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.bcryptCost = bcryptCost
        self.requireVerifiedEmail = requireVerifiedEmail
    }
}

/// The roles the core knows from the start (app roles: ``RoleCatalogue``).
public enum Roles {
    public static let system = ["admin", "employee", "operator"]
    public static let organisation = ["owner", "manager", "member"]
    /// App roles granted at sign-up hold in every app (`*`), so one account is a customer everywhere.
    public static let everyApp = "*"
}
