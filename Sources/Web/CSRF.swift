import Crypto
import Foundation
import PlazaKit
import Storage

/// Cross-site request forgery protection for the pages' forms: the signed double-submit cookie.
///
/// A browser gets a random `plaza_csrf` cookie (HttpOnly, SameSite=Lax). Each form carries
/// `HMAC-SHA256(secret, cookie | session)`; a post is taken only when its field matches the cookie it came with.
/// Another site can make a browser post, but can neither read the cookie nor compute the HMAC without the
/// installation's secret, and a token minted before sign-in (or for another session) does not work after it.
struct CSRF: Sendable {
    static let cookieName = "plaza_csrf"
    static let fieldName = "_csrf"
    let secrets: Secrets

    /// A fresh cookie value: 256 random bits.
    static func newCookieValue() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64URLEncodedString()
    }

    func token(cookie: String, session: UUID?) async throws -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Self.message(cookie: cookie, session: session), using: try await key()))
            .base64URLEncodedString()
    }

    /// Whether `field` is the token for this cookie and session (compared in constant time).
    func verify(field: String?, cookie: String?, session: UUID?) async throws -> Bool {
        guard let field, let cookie, !cookie.isEmpty, let mac = Data(base64URLEncoded: field) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.message(cookie: cookie, session: session), using: try await key())
    }

    private func key() async throws -> SymmetricKey {
        SymmetricKey(data: try await secrets.secret(named: "web.csrf"))
    }

    private static func message(cookie: String, session: UUID?) -> Data {
        Data("csrf|\(cookie)|\(session?.uuidString ?? "-")".utf8)
    }
}
