import Crypto
import Foundation
import PlazaKit

/// Why a Web Push message could not be encrypted, decrypted or authorised: a bad subscription key, an
/// oversize payload, a body that does not open. The text says which, for the delivery's attempt log.
public struct WebPushError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188).
///
/// The application server agrees a secret with the subscription's `p256dh` key using a key pair of its own
/// (fresh for each message unless a test passes one), mixes in the subscription's 16-byte `auth` secret, and
/// seals the payload in one record. The body starts with the coding's header, `salt | rs | idlen | keyid`,
/// whose `keyid` is the server's 65-byte public key, so the user agent can derive the same key.
///
/// Send the body with `Content-Encoding: aes128gcm` and `Content-Type: application/octet-stream`.
public enum WebPushEncryption {
    /// The largest body every push service must accept (RFC 8291 §4): header and one record together.
    public static let maximumBodySize = 4096
    /// The header of a body: 16-byte salt, 4-byte record size, 1-byte key id length, 65-byte key id.
    static let headerSize = 16 + 4 + 1 + 65
    /// What a record adds to its plaintext: the padding delimiter and the 16-byte AES-GCM tag.
    static let recordOverhead = 1 + 16
    /// The longest payload that fits a 4096-byte body, 3993 bytes (what browsers' push code allows too).
    public static let maximumPlaintextSize = maximumBodySize - headerSize - recordOverhead

    /// The `aes128gcm` body carrying `plaintext` to the subscription with the given keys.
    ///
    /// - Parameters:
    ///   - userAgentPublicKey: the subscription's `p256dh`, a 65-byte uncompressed P-256 point.
    ///   - authSecret: the subscription's `auth`, 16 bytes.
    ///   - applicationServerKey: the sender's key pair for this message; leave the default (a fresh key)
    ///     outside tests.
    ///   - salt: 16 bytes; random when nil (it must never repeat for the same keys).
    ///   - recordSize: the coding's `rs`; the payload must fit one record of this size.
    /// - Throws: ``WebPushError`` for a malformed key or secret, or a payload over ``maximumPlaintextSize``.
    public static func encrypt(
        _ plaintext: Data,
        userAgentPublicKey: Data,
        authSecret: Data,
        applicationServerKey: P256.KeyAgreement.PrivateKey = .init(),
        salt: Data? = nil,
        recordSize: UInt32 = 4096
    ) throws -> Data {
        let userAgentKey = try subscriptionKey(userAgentPublicKey)
        guard authSecret.count == 16 else {
            throw WebPushError("the subscription's auth secret must be 16 bytes, not \(authSecret.count)")
        }
        let salt = salt ?? randomBytes(16)
        guard salt.count == 16 else { throw WebPushError("the salt must be 16 bytes, not \(salt.count)") }
        guard recordSize >= 18 else { throw WebPushError("the record size must be at least 18, not \(recordSize)") }
        guard plaintext.count <= maximumPlaintextSize, plaintext.count + recordOverhead <= Int(recordSize) else {
            let limit = min(maximumPlaintextSize, Int(recordSize) - recordOverhead)
            throw WebPushError("a push payload of \(plaintext.count) bytes is over the \(limit)-byte limit")
        }

        let senderPublicKey = applicationServerKey.publicKey.x963Representation
        let sealed: AES.GCM.SealedBox
        do {
            let shared = try applicationServerKey.sharedSecretFromKeyAgreement(with: userAgentKey)
            let (key, baseNonce) = try contentKeyAndNonce(
                shared: shared, authSecret: authSecret, userAgentPublicKey: userAgentKey.x963Representation,
                applicationServerPublicKey: senderPublicKey, salt: salt
            )
            var record = Data(plaintext)
            record.append(0x02) // the last (and only) record's delimiter, no further padding
            sealed = try AES.GCM.seal(record, using: key, nonce: recordNonce(baseNonce, sequence: 0))
        } catch {
            throw WebPushError("could not encrypt the push payload: \(error)")
        }

        var body = Data(capacity: headerSize + plaintext.count + recordOverhead)
        body.append(salt)
        body.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: recordSize >> $0) })
        body.append(UInt8(senderPublicKey.count))
        body.append(senderPublicKey)
        body.append(sealed.ciphertext)
        body.append(sealed.tag)
        return body
    }

    /// The payload of an `aes128gcm` body sent to the subscription whose private key is `userAgentPrivateKey`:
    /// what a browser does on receipt (tests use it; Plaza itself only sends).
    ///
    /// Accepts bodies of several records, as RFC 8188 allows.
    /// - Throws: ``WebPushError`` for a malformed header, a key id that is not a P-256 point, or a record
    ///   that does not authenticate or is badly padded.
    public static func decrypt(_ body: Data, userAgentPrivateKey: P256.KeyAgreement.PrivateKey, authSecret: Data) throws -> Data {
        guard authSecret.count == 16 else {
            throw WebPushError("the subscription's auth secret must be 16 bytes, not \(authSecret.count)")
        }
        let bytes = [UInt8](body)
        guard bytes.count >= 21 else { throw WebPushError("a push body of \(bytes.count) bytes is shorter than its header") }
        let salt = Data(bytes[0..<16])
        let recordSize = Int(bytes[16]) << 24 | Int(bytes[17]) << 16 | Int(bytes[18]) << 8 | Int(bytes[19])
        let keyIDLength = Int(bytes[20])
        let start = 21 + keyIDLength
        guard recordSize >= 18 else { throw WebPushError("the body's record size \(recordSize) is under 18") }
        guard bytes.count > start else { throw WebPushError("the push body ends before its first record") }
        let senderPublicKey = Data(bytes[21..<start])
        guard senderPublicKey.count == 65, senderPublicKey.first == 0x04,
            let senderKey = try? P256.KeyAgreement.PublicKey(x963Representation: senderPublicKey)
        else {
            throw WebPushError("the body's key id is not a 65-byte uncompressed P-256 point")
        }

        var plaintext = Data()
        do {
            let shared = try userAgentPrivateKey.sharedSecretFromKeyAgreement(with: senderKey)
            let (key, baseNonce) = try contentKeyAndNonce(
                shared: shared, authSecret: authSecret,
                userAgentPublicKey: userAgentPrivateKey.publicKey.x963Representation,
                applicationServerPublicKey: senderPublicKey, salt: salt
            )
            var offset = start
            var sequence: UInt64 = 0
            while offset < bytes.count {
                let end = min(offset + recordSize, bytes.count)
                let isLast = end == bytes.count
                let record = bytes[offset..<end]
                guard record.count > 16 else { throw WebPushError("record \(sequence) is shorter than its tag") }
                let box = try AES.GCM.SealedBox(
                    nonce: try recordNonce(baseNonce, sequence: sequence),
                    ciphertext: Data(record.dropLast(16)), tag: Data(record.suffix(16))
                )
                let padded = try AES.GCM.open(box, using: key)
                // RFC 8188 §2: data, then the delimiter (2 in the last record, 1 before), then zeros.
                guard let delimiter = padded.lastIndex(where: { $0 != 0 }), padded[delimiter] == (isLast ? 2 : 1) else {
                    throw WebPushError("record \(sequence) has no valid padding delimiter")
                }
                plaintext.append(padded[padded.startIndex..<delimiter])
                offset = end
                sequence += 1
            }
        } catch let error as WebPushError {
            throw error
        } catch {
            throw WebPushError("could not decrypt the push body: \(error)")
        }
        return plaintext
    }

    /// The subscription's `p256dh` as a key, after checking its form (65 bytes, uncompressed, on the curve).
    static func subscriptionKey(_ data: Data) throws -> P256.KeyAgreement.PublicKey {
        guard data.count == 65, data.first == 0x04 else {
            throw WebPushError("the subscription's p256dh must be a 65-byte uncompressed P-256 point, not \(data.count) bytes")
        }
        do {
            return try P256.KeyAgreement.PublicKey(x963Representation: data)
        } catch {
            throw WebPushError("the subscription's p256dh is not a point on P-256")
        }
    }

    /// RFC 8291 §3.4 then RFC 8188 §2.2–2.3: the content-encryption key and the first record's nonce.
    static func contentKeyAndNonce(
        shared: SharedSecret, authSecret: Data, userAgentPublicKey: Data, applicationServerPublicKey: Data, salt: Data
    ) throws -> (SymmetricKey, Data) {
        var keyInfo = Data("WebPush: info".utf8)
        keyInfo.append(0)
        keyInfo.append(userAgentPublicKey)
        keyInfo.append(applicationServerPublicKey)
        let inputKeyMaterial = shared.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: authSecret, sharedInfo: keyInfo, outputByteCount: 32
        )
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: salt, info: Data("Content-Encoding: aes128gcm\0".utf8), outputByteCount: 16
        )
        let nonce = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: salt, info: Data("Content-Encoding: nonce\0".utf8), outputByteCount: 12
        )
        return (key, nonce.withUnsafeBytes { Data($0) })
    }

    /// The nonce of record `sequence`: the base nonce XOR the sequence number, big-endian (RFC 8188 §2.3).
    static func recordNonce(_ base: Data, sequence: UInt64) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](base)
        for index in 0..<8 {
            bytes[11 - index] ^= UInt8(truncatingIfNeeded: sequence >> (8 * index))
        }
        return try AES.GCM.Nonce(data: bytes)
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// The application server's VAPID key (RFC 8292): it signs a short-lived JWT for each push service origin,
/// and its public half is the `applicationServerKey` browsers subscribe with.
public struct VAPIDKey: Sendable {
    public let privateKey: P256.Signing.PrivateKey

    public init(privateKey: P256.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// A key from its 32-byte private scalar (what ``rawRepresentation`` gives, for keeping in secrets).
    public init(rawRepresentation: Data) throws {
        guard rawRepresentation.count == 32 else {
            throw WebPushError("a VAPID private key is 32 bytes, not \(rawRepresentation.count)")
        }
        do {
            self.privateKey = try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation)
        } catch {
            throw WebPushError("not a P-256 private key: \(error)")
        }
    }

    /// The 32-byte private scalar.
    public var rawRepresentation: Data { privateKey.rawRepresentation }

    /// The public key as browsers take it (`applicationServerKey`) and as the `k` parameter: the 65-byte
    /// uncompressed point, base64url without padding.
    public var publicKeyBase64URL: String { privateKey.publicKey.x963Representation.base64URLEncodedString() }

    /// The `Authorization` header for a push to `endpoint`: `vapid t=<JWT>, k=<public key>`.
    ///
    /// The JWT is ES256 over `{"aud": <endpoint's origin>, "exp": <expires>, "sub": <subject>}`.
    /// - Parameters:
    ///   - subject: a contact for the push service's operators, `mailto:…` or an `https:` URL.
    ///   - expires: when the token stops being valid; push services refuse more than 24 hours ahead, so a
    ///     later time is cut to 24 hours after `now` (12 hours is the usual choice).
    /// - Throws: ``WebPushError`` for an endpoint without an http(s) origin, a bad subject, or an `expires`
    ///   not after `now`.
    public func authorization(endpoint: URL, subject: String, expires: Date, now: Date = Date()) throws -> String {
        guard subject.hasPrefix("mailto:") || subject.hasPrefix("https://") else {
            throw WebPushError("the VAPID subject must be a mailto: or https: URL, not \"\(subject)\"")
        }
        guard expires > now else { throw WebPushError("the VAPID token would expire at once (\(expires))") }
        let audience = try Self.origin(of: endpoint)
        let expiry = min(expires, now.addingTimeInterval(24 * 60 * 60))
        let claims = Claims(aud: audience, exp: Int(expiry.timeIntervalSince1970.rounded(.down)), sub: subject)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = Data(#"{"typ":"JWT","alg":"ES256"}"#.utf8).base64URLEncodedString()
        let payload = try encoder.encode(claims).base64URLEncodedString()
        let signingInput = header + "." + payload
        let signature: P256.Signing.ECDSASignature
        do {
            signature = try privateKey.signature(for: Data(signingInput.utf8))
        } catch {
            throw WebPushError("could not sign the VAPID token: \(error)")
        }
        let token = signingInput + "." + signature.rawRepresentation.base64URLEncodedString()
        return "vapid t=\(token), k=\(publicKeyBase64URL)"
    }

    struct Claims: Codable, Equatable {
        var aud: String
        var exp: Int
        var sub: String
    }

    /// The ASCII serialisation of a URL's origin (RFC 6454): `scheme://host`, then `:port` unless default.
    static func origin(of url: URL) throws -> String {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host, !host.isEmpty
        else {
            throw WebPushError("the push endpoint \(url.absoluteString) has no http(s) origin")
        }
        var origin = scheme + "://"
        origin += host.contains(":") && !host.hasPrefix("[") ? "[\(host.lowercased())]" : host.lowercased()
        if let port = components.port, port != (scheme == "https" ? 443 : 80) {
            origin += ":\(port)"
        }
        return origin
    }
}
