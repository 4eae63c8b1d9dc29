/// # Web — the HTML pages
///
/// Server-rendered pages in one shared layout, in English and Ukrainian, with no JavaScript framework and no
/// build step: Mustache templates compiled into the binary, one stylesheet.
///
/// - Sign-in, sign-up, email verification, password reset and the account pages (profile, password, email,
///   sessions, data export, deletion) for everyone; user, role and organisation administration for admins and
///   organisation owners.
/// - A browser is signed in by the `plaza_session` cookie (Identity's ``SessionCookieAuthentication``):
///   HttpOnly, SameSite=Lax, Secure when the client came over TLS.
/// - Every form carries a CSRF token: an HMAC, under an installation secret, of the browser's `plaza_csrf`
///   cookie and its session; a post without a matching token, or from another origin, is refused with 403.
/// - Handlers stay thin: parse the form, call the same service the API calls, render or redirect. The policy
///   layer guards pages exactly as it guards the API (pages are ``Endpoint``s in the same route table).
public enum WebModule {}
