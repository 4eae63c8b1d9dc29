import Crypto
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// Sign-up, sign-in, token refresh and sign-out: the only way other modules and the routes touch accounts.
public struct IdentityService: Sendable {
    let store: Store
    let outbox: Outbox
    let settings: IdentitySettings
    let issuer: TokenIssuer
    /// Access tokens whose signature was checked, with what they say, until they expire: an ES256 check costs
    /// more than the rest of a simple request, and a client presents one token many times. Only tokens that
    /// verified are kept; revocation is still asked every time.
    let verifiedTokens = ExpiringCache<Principal>(capacity: 20_000)
    let revocations: RevocationList
    let passwords: Passwords
    let throttle: LoginThrottle
    let codes: OneTimeCodes
    let policy: any Policy
    /// Principals of recently seen session cookies, by the cookie's hash (a miss costs one database read).
    let webSessionCache = ExpiringCache<Principal>(capacity: 10_000)
    /// The policy's role → permissions map, which Identity keeps equal to `identity_roles`.
    let rolePermissions: RolePermissions
    /// External sign-in providers' discovery documents and keys.
    let federationMetadata = MetadataCache()
    /// Every module's part in merging two accounts (``confirmMerge(into:_:caller:)``).
    public let mergeHooks = MergeHooks()
    /// What every module and app does to its own rows when an account is erased, in the erasing transaction.
    public let forgetHooks = ForgetHooks()
    /// The installation's app roles and organisation types (the core's and the apps').
    public let catalogue: RoleCatalogue
    /// The kinds of audience group apps resolve (``Audience/group(_:_:)``).
    public let audienceGroups = Registry<AudienceResolver>("audience group")

    public init(
        store: Store, outbox: Outbox, settings: IdentitySettings, bus: EventBus, policy: any Policy,
        rolePermissions: RolePermissions = RolePermissions(), catalogue: RoleCatalogue = .core
    ) throws {
        self.catalogue = catalogue
        self.store = store
        self.outbox = outbox
        self.settings = settings
        self.issuer = TokenIssuer(store: store, settings: settings)
        self.revocations = RevocationList(store: store, lifetime: settings.accessTokenLifetime.timeInterval)
        self.passwords = Passwords(cost: settings.bcryptCost)
        self.throttle = LoginThrottle(store: store)
        self.codes = OneTimeCodes(store: store, outbox: outbox)
        self.policy = policy
        self.rolePermissions = rolePermissions
        try bus.subscribe(revocations.subscription())
        let issuer = self.issuer
        try bus.subscribe(Subscription("identity.keys", topics: [SigningKeysRotated.topic], delivery: .broadcast) { _ in await issuer.reload() })
        let service = self
        try bus.subscribe(
            Subscription("identity.roles", topics: [RolesChanged.topic], delivery: .broadcast) { _ in
                try await service.loadRolePermissions()
            })
    }

    /// Rotates the signing keys (`plaza keys rotate`); every instance picks the new key up from the event.
    @discardableResult
    public func rotateSigningKeys(caller: Caller) async throws -> String {
        let (issuer, outbox) = (self.issuer, self.outbox)
        let kid = try await store.transaction { transaction in
            let kid = try await issuer.rotate(in: transaction)
            try await transaction.audit(caller, action: "identity.keys.rotate", resourceType: "signing-key", resourceID: kid)
            try await outbox.append(SigningKeysRotated(kid: kid), in: transaction)
            return kid
        }
        await issuer.reload()
        return kid
    }

    // MARK: Sign-up

    /// Creates an account with a self-assignable app role (`customer` unless it asks for another that people may choose).
    public func register(_ input: Registration, caller: Caller) async throws -> Me {
        let email = Self.normalise(email: input.email)
        var errors: [FieldError] = []
        if !Self.isPlausible(email: email) { errors.append(FieldError(field: "email", message: "is not an email address")) }
        errors += Passwords.problems(with: input.password)
        Registration.nameLimit.check(input.firstName, field: "firstName", into: &errors)
        Registration.nameLimit.check(input.lastName, field: "lastName", into: &errors)
        let firstName = input.firstName.trimmingCharacters(in: .whitespacesAndNewlines)
        let lastName = input.lastName.trimmingCharacters(in: .whitespacesAndNewlines)
        let role = input.role ?? "customer"
        if !catalogue.selfAssignable.contains(role) {
            errors.append(
                FieldError(
                    field: "role", message: "must be one of \(catalogue.selfAssignable.joined(separator: ", ")); other roles are granted by admins"))
        }
        let locale = input.locale ?? "en"
        if !Identity.locales.contains(locale) { errors.append(FieldError(field: "locale", message: "must be en or uk")) }
        let timeZone = input.timeZone ?? "UTC"
        if TimeZone(identifier: timeZone) == nil { errors.append(FieldError(field: "timeZone", message: "is not an IANA time zone")) }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }

        let hash = try await passwords.hash(input.password)
        let (outbox, codes) = (self.outbox, self.codes)
        do {
            let id = try await store.transaction { transaction in
                let now = transaction.clock.now()
                if try await transaction.sql.raw("SELECT id FROM identity_users WHERE email = \(bind: email)").first() != nil {
                    throw PlazaError.conflict("An account with this email already exists.")
                }
                let id = PlazaID.make(at: now)
                try await Self.insertUser(
                    id: id, email: email, hash: hash, firstName: firstName, lastName: lastName, locale: locale,
                    timeZone: timeZone, at: now, in: transaction)
                try await Self.grant(role, app: Roles.everyApp, to: id, at: now, in: transaction)
                try await transaction.audit(
                    Caller(principal: Principal(id: id), requestID: caller.requestID, ip: caller.ip),
                    action: "identity.user.register", resourceType: "user", resourceID: id.uuidString, details: ["role": .string(role)])
                try await outbox.append(
                    UserRegistered(userId: id, email: email, firstName: firstName, locale: locale), key: id.uuidString,
                    caller: caller, in: transaction)
                try await codes.issue(.verifyEmail, user: id, email: email, locale: locale, in: transaction)
                return id
            }
            return try await me(id)
        } catch let error where Self.isUniqueViolation(error) {
            throw PlazaError.conflict("An account with this email already exists.")
        }
    }

    // MARK: Sign-in

    /// Checks the password and opens a session. A wrong password and an unknown email get the same answer.
    /// An account with a second factor is refused here (`mfa-required`): sign it in with ``beginLogin``.
    public func login(_ credentials: Credentials, caller: Caller, userAgent: String? = nil) async throws -> TokenPair {
        switch try await beginLogin(credentials, caller: caller, userAgent: userAgent) {
        case .done(let tokens): return tokens
        case .secondFactor: throw Self.mfaRequired
        }
    }

    /// The password, then either a session (no second factor) or a challenge to answer with
    /// ``completeLogin(_:caller:userAgent:)``.
    public func beginLogin(_ credentials: Credentials, caller: Caller, userAgent: String? = nil) async throws -> SignInStep<TokenPair> {
        let (userID, email) = try await checkPassword(credentials, caller: caller)
        if try await isMFAEnabled(userID) { return .secondFactor(try await challenge(user: userID, caller: caller)) }
        return .done(try await openTokenSession(user: userID, email: email, amr: "pwd", caller: caller, userAgent: userAgent))
    }

    /// The second step: a code (or a recovery code) for the challenge; the session opened counts as MFA.
    public func completeLogin(_ verification: MFAVerification, caller: Caller, userAgent: String? = nil) async throws -> TokenPair {
        let (userID, email, amr) = try await answer(verification, caller: caller)
        return try await openTokenSession(user: userID, email: email, amr: amr, caller: caller, userAgent: userAgent)
    }

    private func openTokenSession(user userID: UUID, email: String, amr: String, caller: Caller, userAgent: String?) async throws -> TokenPair {
        let refreshToken = Self.newRefreshToken()
        let sessionID = try await openSession(user: userID, email: email, amr: amr, caller: caller, userAgent: userAgent) {
            session, now, transaction in
            try await Self.insertRefreshToken(refreshToken, session: session, at: now, in: transaction)
        }
        return try await tokens(user: userID, session: sessionID, refreshToken: refreshToken)
    }

    /// The account these credentials prove, after the throttle, the password, the account's status and (when
    /// configured) its verified email. Every failure is counted towards the throttle and audited.
    func checkPassword(_ credentials: Credentials, caller: Caller) async throws -> (user: UUID, email: String) {
        let email = Self.normalise(email: credentials.email)
        try await throttle.check(email: email, ip: caller.ip)
        let throttle = self.throttle
        let row = try await store.sql.raw(
            """
            SELECT id, password_hash, status, email_verified FROM identity_users WHERE email = \(bind: email)
            """
        ).first()
        let hash = try row?.decode(column: "password_hash", as: String?.self)
        guard try await passwords.verify(credentials.password, hash: hash), let row else {
            let userID = try row?.decode(column: "id", as: UUID.self)
            try await store.transaction { transaction in
                try await throttle.recordFailure(email: email, ip: caller.ip, in: transaction)
                try await transaction.audit(
                    caller, action: "identity.login.failed", resourceType: "user", resourceID: userID?.uuidString,
                    details: ["email": .string(email)])
            }
            throw PlazaError.unauthorized("The email or password is wrong.")
        }
        switch try row.decode(column: "status", as: String.self) {
        case "active": break
        case "merged":
            throw PlazaError(
                .forbidden, code: "account-merged", title: "Account merged",
                detail: "This account was merged into another one; sign in with that account.")
        default:
            throw PlazaError(.forbidden, code: "account-disabled", title: "Account disabled", detail: "This account is disabled.")
        }
        if settings.requireVerifiedEmail, try row.decode(column: "email_verified", as: Bool.self) == false {
            throw PlazaError(
                .forbidden, code: "email-not-verified", title: "Email not verified", detail: "Verify your email address before signing in.")
        }
        return (try row.decode(column: "id", as: UUID.self), email)
    }

    /// Opens a session for a user whose credentials were checked; `credential` stores what the client will
    /// present later (a refresh token's hash, a cookie's hash) in the same transaction.
    func openSession(
        user userID: UUID, email: String, amr: String = "pwd", caller: Caller, userAgent: String?,
        credential: @escaping @Sendable (UUID, Date, Transaction) async throws -> Void
    ) async throws -> UUID {
        let lifetime = settings.refreshTokenLifetime.timeInterval
        let throttle = self.throttle
        let outbox = self.outbox
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let sessionID = PlazaID.make(at: now)
            try await transaction.sql.raw(
                """
                INSERT INTO identity_sessions (id, user_id, created_at, last_used_at, expires_at, ip, user_agent, amr)
                VALUES (\(bind: sessionID), \(bind: userID), \(bind: now), \(bind: now), \(bind: now.addingTimeInterval(lifetime)),
                        \(bind: caller.ip), \(bind: userAgent.map { String($0.prefix(500)) }), \(bind: amr))
                """
            ).run()
            try await credential(sessionID, now, transaction)
            try await throttle.recordSuccess(email: email, in: transaction)
            // A sign-in from an address and browser this account has not used before is worth telling its
            // owner about; the very first sign-in after sign-up is not.
            let earlier = try await transaction.sql.raw(
                """
                SELECT COUNT(*) AS total,
                       SUM(CASE WHEN ip IS NOT DISTINCT FROM \(bind: caller.ip) AND user_agent IS NOT DISTINCT \
                FROM \(bind: userAgent.map { String($0.prefix(500)) }) THEN 1 ELSE 0 END) AS same
                FROM identity_sessions WHERE user_id = \(bind: userID) AND id <> \(bind: sessionID)
                """
            ).first()
            let total = try earlier?.decode(column: "total", as: Int.self) ?? 0
            let same = try earlier?.decode(column: "same", as: Int?.self) ?? 0
            try await outbox.append(
                SignedIn(
                    userId: userID, sessionId: sessionID, ip: caller.ip, userAgent: userAgent.map { String($0.prefix(200)) }, at: now,
                    newDevice: total > 0 && same == 0),
                key: userID.uuidString, in: transaction)
            try await transaction.audit(
                Caller(principal: Principal(id: userID), requestID: caller.requestID, ip: caller.ip),
                action: "identity.session.create", resourceType: "session", resourceID: sessionID.uuidString)
            return sessionID
        }
    }

    /// Swaps a refresh token for a new pair. Presenting a token that was already used revokes its whole family
    /// (the session): someone else may hold a copy.
    public func refresh(_ request: RefreshRequest, caller: Caller) async throws -> TokenPair {
        let rotated = try await rotate(refreshToken: request.refreshToken, client: nil, caller: caller)
        return try await tokens(user: rotated.user, session: rotated.session, refreshToken: rotated.refreshToken)
    }

    /// A refresh token swapped for its successor.
    struct Rotation: Sendable {
        var user: UUID
        var session: UUID
        var refreshToken: String
    }

    /// Rotates a refresh token of a session that belongs to `client` (nil: a first-party session; a token
    /// issued to an OAuth client is refused at `/api/v1/auth/refresh`, and the other way round).
    func rotate(refreshToken: String, client: UUID?, caller: Caller) async throws -> Rotation {
        enum Outcome: Sendable { case rotated(user: UUID, session: UUID), reused, invalid }
        let presented = Self.hash(refreshToken)
        let next = Self.newRefreshToken()
        let outbox = self.outbox
        let revocations = self.revocations
        let outcome = try await store.transaction { transaction -> Outcome in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT t.used_at, s.id AS session_id, s.user_id, s.revoked_at, s.expires_at, u.status, o.client_id
                    FROM identity_refresh_tokens t
                    JOIN identity_sessions s ON s.id = t.session_id
                    JOIN identity_users u ON u.id = s.user_id
                    LEFT JOIN identity_oauth_sessions o ON o.session_id = s.id
                    WHERE t.token_hash = \(bind: presented)
                    """
                ).first(),
                try row.decode(column: "client_id", as: UUID?.self) == client
            else { return .invalid }
            let session = try row.decode(column: "session_id", as: UUID.self)
            let user = try row.decode(column: "user_id", as: UUID.self)
            guard try row.decodeNil(column: "revoked_at"), try row.decode(column: "expires_at", as: Date.self) > now,
                try row.decode(column: "status", as: String.self) == "active"
            else { return .invalid }
            if try !row.decodeNil(column: "used_at") {
                try await Self.revoke(
                    sessions: [session], of: user, reason: "refresh token reused", caller: caller, outbox: outbox,
                    revocations: revocations, in: transaction)
                return .reused
            }
            try await transaction.sql.raw(
                """
                UPDATE identity_refresh_tokens SET used_at = \(bind: now) WHERE token_hash = \(bind: presented)
                """
            ).run()
            try await transaction.sql.raw("UPDATE identity_sessions SET last_used_at = \(bind: now) WHERE id = \(bind: session)").run()
            try await Self.insertRefreshToken(next, session: session, at: now, in: transaction)
            return .rotated(user: user, session: session)
        }
        switch outcome {
        case .rotated(let user, let session):
            return Rotation(user: user, session: session, refreshToken: next)
        case .reused:
            throw PlazaError.unauthorized("This refresh token was already used; the session has been ended. Sign in again.")
        case .invalid:
            throw PlazaError.unauthorized("The refresh token is not valid.")
        }
    }

    /// Ends the caller's session: its refresh tokens stop working and its access tokens are refused at once.
    public func logout(caller: Caller) async throws {
        guard let principal = caller.principal, let session = principal.sessionID else { throw PlazaError.unauthorized() }
        let (outbox, revocations) = (self.outbox, self.revocations)
        try await store.transaction { transaction in
            try await Self.revoke(
                sessions: [session], of: principal.id, reason: "signed out", caller: caller, outbox: outbox,
                revocations: revocations, in: transaction)
        }
    }

    // MARK: Profile and principal

    /// The signed-in user's profile, roles and organisations.
    public func me(_ id: UUID) async throws -> Me {
        guard let row = try await store.sql.raw("SELECT * FROM identity_users WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("No user has the id \(id).")
        }
        let principal = try await principal(user: id, session: nil, on: store.sql)
        let organisations = try await store.sql.raw(
            """
            SELECT o.id, o.name, o.slug, o.type, m.role FROM identity_memberships m
            JOIN identity_organisations o ON o.id = m.organisation_id
            WHERE m.user_id = \(bind: id) ORDER BY o.name, m.role
            """
        ).all()
        var memberships: [OrganisationMembership] = []
        for row in organisations {
            let orgID = try row.decode(column: "id", as: UUID.self)
            let role = try row.decode(column: "role", as: String.self)
            if let index = memberships.firstIndex(where: { $0.id == orgID }) {
                memberships[index].roles.append(role)
            } else {
                memberships.append(
                    OrganisationMembership(
                        id: orgID, name: try row.decode(column: "name", as: String.self), slug: try row.decode(column: "slug", as: String.self),
                        type: try row.decode(column: "type", as: String.self), roles: [role]))
            }
        }
        let appRoles = principal.appRoles.mapValues { $0.sorted() }
        let allRoles = principal.systemRoles.union(principal.appRoles.values.flatMap { $0 })
        return Me(
            id: id, email: try row.decode(column: "email", as: String.self),
            firstName: try row.decode(column: "first_name", as: String.self), lastName: try row.decode(column: "last_name", as: String.self),
            roles: allRoles.sorted(), appRoles: appRoles, organisations: memberships,
            locale: try row.decode(column: "locale", as: String.self), timeZone: try row.decode(column: "time_zone", as: String.self),
            status: try row.decode(column: "status", as: String.self), emailVerified: try row.decode(column: "email_verified", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: Date.self), bio: try row.decode(column: "bio", as: String?.self),
            birthDate: try row.decode(column: "birth_date", as: String?.self), mobile: try row.decode(column: "mobile", as: String?.self),
            phoneVerified: try row.decode(column: "phone_verified", as: Bool.self), gender: try row.decode(column: "gender_id", as: String?.self),
            avatarFileId: try row.decode(column: "avatar_file_id", as: UUID?.self))
    }

    /// The principal for a bearer token: its signature, expiry and audience (once per token: a verified token
    /// is remembered until it expires), then the revocation list (every time).
    public func authenticate(bearer token: String) async throws -> Principal {
        let now = store.clock.now()
        let principal: Principal
        if let known = verifiedTokens.value(for: token, at: now) {
            principal = known
        } else {
            let verified = try await issuer.verify(token)
            verifiedTokens.remember(verified.principal, for: token, until: verified.expires, now: now)
            principal = verified.principal
        }
        if try await revocations.isRevoked(user: principal.id, session: principal.sessionID) {
            throw PlazaError.unauthorized("This session has ended or the account is disabled.")
        }
        return enforcingMFA(principal)
    }

    /// The public signing keys (`GET /oauth/jwks`).
    public func jwks() async throws -> JWKSDocument { try await issuer.jwks() }

    func tokens(user: UUID, session: UUID, refreshToken: String) async throws -> TokenPair {
        let principal = try await principal(user: user, session: session, on: store.sql)
        let (token, expiresIn) = try await issuer.issue(for: principal, sessionID: session, amr: try await amr(of: session))
        return TokenPair(accessToken: token, refreshToken: refreshToken, expiresIn: expiresIn, tokenType: "Bearer")
    }

    /// How a session was authenticated (RFC 8176 values), as its tokens state it.
    func amr(of session: UUID) async throws -> [String] {
        let text =
            try await store.sql.raw("SELECT amr FROM identity_sessions WHERE id = \(bind: session)").first()?
            .decode(column: "amr", as: String?.self) ?? nil
        return (text ?? "pwd").split(separator: " ").map(String.init)
    }

    func principal(user: UUID, session: UUID?, on sql: any SQLDatabase) async throws -> Principal {
        var principal = Principal(id: user, sessionID: session)
        for row in try await sql.raw("SELECT role, app FROM identity_role_grants WHERE user_id = \(bind: user)").all() {
            let role = try row.decode(column: "role", as: String.self)
            let app = try row.decode(column: "app", as: String.self)
            if app.isEmpty { principal.systemRoles.insert(role) } else { principal.appRoles[app, default: []].insert(role) }
        }
        for row in try await sql.raw("SELECT organisation_id, role FROM identity_memberships WHERE user_id = \(bind: user)").all() {
            principal.organisationRoles[try row.decode(column: "organisation_id", as: UUID.self), default: []]
                .insert(try row.decode(column: "role", as: String.self))
        }
        return principal
    }

    // MARK: Shared steps

    static func insertUser(
        id: UUID, email: String, hash: String, firstName: String, lastName: String, locale: String, timeZone: String,
        at now: Date, in transaction: Transaction
    ) async throws {
        try await transaction.sql.raw(
            """
            INSERT INTO identity_users (id, email, password_hash, first_name, last_name, locale, time_zone, status,
                                        email_verified, phone_verified, created_at, updated_at)
            VALUES (\(bind: id), \(bind: email), \(bind: hash), \(bind: firstName), \(bind: lastName), \(bind: locale),
                    \(bind: timeZone), 'active', \(bind: false), \(bind: false), \(bind: now), \(bind: now))
            """
        ).run()
    }

    /// Grants a role: `app` is `""` for system roles, an app name or `*` for app roles.
    static func grant(_ role: String, app: String, to user: UUID, at now: Date, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            """
            INSERT INTO identity_role_grants (user_id, role, app, granted_at) VALUES (\(bind: user), \(bind: role), \(bind: app), \(bind: now))
            ON CONFLICT (user_id, role, app) DO NOTHING
            """
        ).run()
    }

    static func revoke(
        sessions: [UUID], of user: UUID, reason: String, caller: Caller, outbox: Outbox, revocations: RevocationList,
        in transaction: Transaction
    ) async throws {
        let now = transaction.clock.now()
        try await transaction.sql.raw(
            """
            UPDATE identity_sessions SET revoked_at = \(bind: now), revoked_reason = \(bind: reason)
            WHERE id IN (\(binds: sessions)) AND revoked_at IS NULL
            """
        ).run()
        for session in sessions {
            try await transaction.audit(
                caller, action: "identity.session.revoke", resourceType: "session", resourceID: session.uuidString,
                details: ["reason": .string(reason), "userId": .string(user.uuidString)])
        }
        try await outbox.append(
            SessionRevoked(userId: user, sessionIds: sessions, reason: reason), key: user.uuidString, caller: caller, in: transaction)
        // This instance refuses the tokens as soon as the change commits; the others when the event reaches them.
        transaction.onCommit { for session in sessions { revocations.revokeSession(session) } }
    }

    /// Ends every open session of a user (but `keeping`, when given); returns how many ended.
    @discardableResult
    static func revokeAllSessions(
        of user: UUID, keeping: UUID? = nil, reason: String, caller: Caller, outbox: Outbox, revocations: RevocationList,
        in transaction: Transaction
    ) async throws -> Int {
        let sessions = try await transaction.sql.raw(
            """
            SELECT id FROM identity_sessions WHERE user_id = \(bind: user) AND revoked_at IS NULL
            """
        ).all().map { try $0.decode(column: "id", as: UUID.self) }.filter { $0 != keeping }
        if !sessions.isEmpty {
            try await revoke(sessions: sessions, of: user, reason: reason, caller: caller, outbox: outbox, revocations: revocations, in: transaction)
        }
        return sessions.count
    }

    static func insertRefreshToken(_ token: String, session: UUID, at now: Date, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            """
            INSERT INTO identity_refresh_tokens (token_hash, session_id, created_at) VALUES (\(bind: hash(token)), \(bind: session), \(bind: now))
            """
        ).run()
    }

    /// 256 random bits, base64url: refresh tokens are opaque, only their SHA-256 is stored.
    static func newRefreshToken() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64URLEncodedString()
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).hexString
    }

    static func normalise(email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// One `@`, something before it, a dot in the domain, no spaces, at most 254 characters (RFC 5321).
    static func isPlausible(email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, email.count <= 254, !email.contains(where: \.isWhitespace) else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
    }

    static func isUniqueViolation(_ error: any Error) -> Bool { Storage.isUniqueViolation(error) }
}
