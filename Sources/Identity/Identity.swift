/// # Identity — people, organisations, roles, sign-in and tokens
///
/// What the seeds' auth services (OAuth tokens, JWT, Keycloak, Cognito) do for Plaza's own apps:
///
/// - Users with the seed-000 profile (names, bio, birth date, email, mobile, gender, locale, time zone,
///   status, verified flags), organisations with a hierarchy, memberships with organisation roles, and
///   grants of system roles (`admin`, `employee`, `operator`) and app roles (`customer`, and those the installed apps bring).
/// - ``IdentityService``: sign-up, sign-in (bcrypt, off the event loop), refresh-token rotation where a reused
///   token revokes its whole family, sign-out, and the signed-in user's profile.
/// - ``TokenIssuer``: short-lived ES256 access tokens (JWTKit) from keys kept in the database, so every
///   instance signs and verifies with the same ring; `GET /oauth/jwks` publishes the public halves.
/// - ``BearerAuthentication``: turns `Authorization: Bearer …` into the request's ``Principal`` without a
///   database read, consulting the ``RevocationList`` (revoked sessions, disabled users) that every instance
///   keeps current from broadcast events.
/// - ``OAuthProvider`` and ``OAuthClients`` (`OAuth/`): Plaza as an OAuth 2.1 / OpenID Connect provider for
///   other applications — codes with PKCE, refresh, client credentials, introspection, revocation, userinfo
///   and ID tokens over the same sessions and keys.
/// - Two-step sign-in (`MFA/`): TOTP with recovery codes and a QR code to enrol; the roles of
///   ``IdentitySettings/mfaRequiredRoles`` act only in sessions that passed it.
/// - ``Federation`` (`Federation/`): signing in through external OpenID Connect providers, linking accounts
///   by verified email.
/// - Merging accounts (`Merge/`, every module's ``MergeHook``) and bulk CSV imports (`Import/`) for admins.
public enum IdentityModule {}
