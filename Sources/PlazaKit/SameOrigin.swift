import Foundation
import HTTPTypes
import Hummingbird

extension Request {
    /// Whether a browser says this request comes from a page of this site: no `Origin` (older browsers and
    /// tools; other checks must carry those), or an `Origin` whose host is this request's host (ports aside; a
    /// proxy's `X-Forwarded-Host` counts), and no `Sec-Fetch-Site: cross-site`.
    ///
    /// Used where a cookie could carry another site's request: the pages' form posts (besides their CSRF
    /// token) and the realtime handshake made with a page's session cookie.
    public var comesFromThisSite: Bool {
        if headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site" { return false }
        guard let origin = headers[.origin] else { return true }
        guard let originHost = URL(string: origin)?.host(percentEncoded: false)?.lowercased() else { return false }
        let authorities = [head.authority, headers[HTTPField.Name("X-Forwarded-Host")!]].compactMap { $0 }
        return authorities.contains { URL(string: "http://\($0)")?.host(percentEncoded: false)?.lowercased() == originHost }
    }
}
