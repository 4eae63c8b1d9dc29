import Crypto
import Foundation

/// The `X-Twilio-Signature` of a webhook: how the SMS provider proves that a status callback came from it.
///
/// The provider signs `url + name₁value₁ + name₂value₂ + …` with HMAC-SHA1 under the account's auth token and
/// sends the digest in base64. The parameters are the POSTed form fields, sorted by name and then by value;
/// a name sent twice with the same value counts once, as in Twilio's own helper libraries (twilio-python's
/// `RequestValidator`, twilio-node's `getExpectedTwilioSignature`). Names and values are compared by Unicode
/// code point (their UTF-8 bytes), never by Swift's canonical-equivalence ordering, so `"é"` and `"e\u{301}"`
/// stay distinct, as they do on the provider's side.
///
/// `url` is the exact callback URL the provider was given (scheme, host, port, path and query as sent);
/// pass the `StatusCallback` Plaza registered rather than one rebuilt from the request's `Host` header.
public enum TwilioSignature {
    /// The base64 signature the provider sends for a POST of `parameters` (decoded form fields) to `url`.
    public static func compute(url: String, parameters: [(String, String)], authToken: String) -> String {
        let key = SymmetricKey(data: Data(authToken.utf8))
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(signedText(url: url, parameters: parameters).utf8), using: key)
        return Data(code).base64EncodedString()
    }

    /// Whether `signature` (the `X-Twilio-Signature` header) is the one for `parameters` posted to `url`.
    ///
    /// Compares in time that depends only on the lengths, so a caller cannot learn the expected signature
    /// a byte at a time.
    public static func isValid(_ signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        let expected = Array(compute(url: url, parameters: parameters, authToken: authToken).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) {
            difference |= a ^ b
        }
        return difference == 0
    }

    /// The text that is signed: the URL, then each distinct (name, value) pair in (name, value) order.
    static func signedText(url: String, parameters: [(String, String)]) -> String {
        let pairs = parameters.map { (name: Array($0.0.utf8), value: Array($0.1.utf8)) }.sorted { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.lexicographicallyPrecedes(rhs.value) : lhs.name.lexicographicallyPrecedes(rhs.name)
        }
        var bytes = Array(url.utf8)
        var previous: (name: [UInt8], value: [UInt8])?
        for pair in pairs {
            if let previous, previous.name == pair.name, previous.value == pair.value { continue }
            bytes += pair.name
            bytes += pair.value
            previous = pair
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
