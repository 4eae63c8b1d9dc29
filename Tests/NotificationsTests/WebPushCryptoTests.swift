import Crypto
import Foundation
import PlazaKit
import Testing

@testable import Notifications

/// RFC 8291 Appendix A, the published example, base64url as printed there. Checked before being written
/// down here: an independent Python implementation (the `cryptography` package) and `http_ece` both turn
/// these inputs into exactly `body`, and both private keys give the listed public keys.
enum RFC8291 {
    static let plaintext = "When I grow up, I want to be a watermelon"
    static let applicationServerPrivateKey = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
    static let applicationServerPublicKey =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    static let userAgentPrivateKey = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
    static let userAgentPublicKey =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    static let authSecret = "BTBZMqHH6r4Tts7J_aSIgg"
    static let salt = "DGv6ra1nlYgDCS1FRnbzlw"
    static let body =
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
        + "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
}

private func decoded(_ text: String) throws -> Data {
    try #require(Data(base64URLEncoded: text), "not base64url: \(text)")
}

@Suite("Web Push encryption and VAPID")
struct WebPushCryptoTests {
    @Test("RFC 8291 Appendix A: the published inputs encrypt to the published body")
    func rfcVectorEncrypts() throws {
        let serverKey = try P256.KeyAgreement.PrivateKey(rawRepresentation: decoded(RFC8291.applicationServerPrivateKey))
        #expect(serverKey.publicKey.x963Representation.base64URLEncodedString() == RFC8291.applicationServerPublicKey)
        let body = try WebPushEncryption.encrypt(
            Data(RFC8291.plaintext.utf8),
            userAgentPublicKey: decoded(RFC8291.userAgentPublicKey),
            authSecret: decoded(RFC8291.authSecret),
            applicationServerKey: serverKey,
            salt: decoded(RFC8291.salt),
            recordSize: 4096
        )
        #expect(body.base64URLEncodedString() == RFC8291.body)
        #expect(body.count == 144, "86-byte header, 41-byte payload, delimiter, 16-byte tag")
    }

    @Test("RFC 8291 Appendix A: the user agent's key opens the published body")
    func rfcVectorDecrypts() throws {
        let userAgentKey = try P256.KeyAgreement.PrivateKey(rawRepresentation: decoded(RFC8291.userAgentPrivateKey))
        #expect(userAgentKey.publicKey.x963Representation.base64URLEncodedString() == RFC8291.userAgentPublicKey)
        let plaintext = try WebPushEncryption.decrypt(
            decoded(RFC8291.body), userAgentPrivateKey: userAgentKey, authSecret: decoded(RFC8291.authSecret)
        )
        #expect(String(decoding: plaintext, as: UTF8.self) == RFC8291.plaintext)

        var tampered = try decoded(RFC8291.body)
        tampered[tampered.count - 1] ^= 0x01
        let tamperedBody = tampered
        #expect(throws: WebPushError.self) {
            try WebPushEncryption.decrypt(tamperedBody, userAgentPrivateKey: userAgentKey, authSecret: decoded(RFC8291.authSecret))
        }
        #expect(throws: WebPushError.self) {
            try WebPushEncryption.decrypt(
                decoded(RFC8291.body), userAgentPrivateKey: userAgentKey, authSecret: Data(repeating: 7, count: 16)
            )
        }
    }

    @Test("a fresh subscription round-trips, with a new salt and sender key each time")
    func roundTrip() throws {
        let userAgentKey = P256.KeyAgreement.PrivateKey()
        let authSecret = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
        let publicKey = userAgentKey.publicKey.x963Representation
        for payload in [Data(), Data(#"{"title":"Привіт","body":"✓"}"#.utf8), Data(repeating: 0x61, count: 3993)] {
            let first = try WebPushEncryption.encrypt(payload, userAgentPublicKey: publicKey, authSecret: authSecret)
            let second = try WebPushEncryption.encrypt(payload, userAgentPublicKey: publicKey, authSecret: authSecret)
            #expect(first != second)
            #expect(first.count == WebPushEncryption.headerSize + payload.count + WebPushEncryption.recordOverhead)
            #expect(first.count <= WebPushEncryption.maximumBodySize)
            #expect(try WebPushEncryption.decrypt(first, userAgentPrivateKey: userAgentKey, authSecret: authSecret) == payload)
            #expect(try WebPushEncryption.decrypt(second, userAgentPrivateKey: userAgentKey, authSecret: authSecret) == payload)
        }
    }

    @Test("malformed subscriptions and oversize payloads are refused")
    func badInputs() throws {
        let publicKey = try decoded(RFC8291.userAgentPublicKey)
        let authSecret = try decoded(RFC8291.authSecret)
        let payload = Data("hello".utf8)

        #expect(throws: WebPushError.self, "15-byte auth secret") {
            try WebPushEncryption.encrypt(payload, userAgentPublicKey: publicKey, authSecret: authSecret.prefix(15))
        }
        #expect(throws: WebPushError.self, "64-byte key (no 0x04 prefix)") {
            try WebPushEncryption.encrypt(payload, userAgentPublicKey: publicKey.dropFirst(), authSecret: authSecret)
        }
        var offCurve = publicKey
        offCurve[offCurve.count - 1] ^= 0x01
        let offCurveKey = offCurve
        #expect(throws: WebPushError.self, "a 65-byte point that is not on P-256") {
            try WebPushEncryption.encrypt(payload, userAgentPublicKey: offCurveKey, authSecret: authSecret)
        }
        #expect(throws: WebPushError.self, "one byte over one 4096-byte body") {
            try WebPushEncryption.encrypt(Data(count: 3994), userAgentPublicKey: publicKey, authSecret: authSecret)
        }
        #expect(throws: WebPushError.self, "payload larger than the record size") {
            try WebPushEncryption.encrypt(Data(count: 100), userAgentPublicKey: publicKey, authSecret: authSecret, recordSize: 64)
        }
        #expect(throws: WebPushError.self, "salt of the wrong length") {
            try WebPushEncryption.encrypt(payload, userAgentPublicKey: publicKey, authSecret: authSecret, salt: Data(count: 8))
        }
        #expect(throws: WebPushError.self, "a body shorter than its header") {
            try WebPushEncryption.decrypt(Data(count: 40), userAgentPrivateKey: .init(), authSecret: authSecret)
        }
        let error = #expect(throws: WebPushError.self) {
            try WebPushEncryption.encrypt(Data(count: 5000), userAgentPublicKey: publicKey, authSecret: authSecret)
        }
        #expect(error?.description.contains("3993") == true)
    }

    @Test("VAPID: an ES256 JWT for the endpoint's origin that verifies with the k key")
    func vapidAuthorization() throws {
        let key = VAPIDKey(privateKey: P256.Signing.PrivateKey())
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let endpoint = try #require(URL(string: "https://push.example.net:8443/send/abc"))
        let header = try key.authorization(
            endpoint: endpoint, subject: "mailto:ops@plaza.example", expires: now.addingTimeInterval(12 * 3600), now: now
        )

        #expect(header.hasPrefix("vapid t="))
        let parameters = String(header.dropFirst("vapid ".count)).components(separatedBy: ", ")
        #expect(parameters.count == 2)
        let token = String(try #require(parameters.first { $0.hasPrefix("t=") }).dropFirst(2))
        let k = String(try #require(parameters.first { $0.hasPrefix("k=") }).dropFirst(2))
        #expect(k == key.publicKeyBase64URL)
        #expect(!token.contains("=") && !k.contains("="), "base64url without padding")

        let segments = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(segments.count == 3)
        let publicKeyBytes = try decoded(k)
        #expect(publicKeyBytes.count == 65 && publicKeyBytes.first == 0x04)
        let publicKey = try P256.Signing.PublicKey(x963Representation: publicKeyBytes)
        let signatureBytes = try decoded(segments[2])
        #expect(signatureBytes.count == 64, "raw r||s, not DER")
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
        #expect(publicKey.isValidSignature(signature, for: Data("\(segments[0]).\(segments[1])".utf8)))
        #expect(!publicKey.isValidSignature(signature, for: Data("\(segments[0]).\(segments[1])x".utf8)))

        let jwtHeader = try JSONDecoder().decode([String: String].self, from: decoded(segments[0]))
        #expect(jwtHeader == ["typ": "JWT", "alg": "ES256"])
        let claims = try JSONDecoder().decode(VAPIDKey.Claims.self, from: decoded(segments[1]))
        #expect(claims == VAPIDKey.Claims(aud: "https://push.example.net:8443", exp: 1_750_043_200, sub: "mailto:ops@plaza.example"))
    }

    @Test("VAPID: expiry is cut to 24 hours, default ports leave the origin, bad subjects are refused")
    func vapidLimits() throws {
        let key = VAPIDKey(privateKey: P256.Signing.PrivateKey())
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let endpoint = try #require(URL(string: "https://FCM.googleapis.com:443/fcm/send/xyz"))
        let header = try key.authorization(
            endpoint: endpoint, subject: "https://plaza.example/contact", expires: now.addingTimeInterval(48 * 3600), now: now
        )
        let token = try #require(header.split(separator: " ").dropFirst().first).dropFirst(2).dropLast() // "t=…,"
        let segments = token.split(separator: ".").map(String.init)
        try #require(segments.count == 3)
        let claims = try JSONDecoder().decode(VAPIDKey.Claims.self, from: decoded(segments[1]))
        #expect(claims.aud == "https://fcm.googleapis.com")
        #expect(claims.exp == 1_750_000_000 + 24 * 3600)
        #expect(claims.sub == "https://plaza.example/contact")

        let local = try #require(URL(string: "http://127.0.0.1:8080/push/sub1"))
        #expect(try VAPIDKey.origin(of: local) == "http://127.0.0.1:8080")
        let defaultPort = try #require(URL(string: "http://localhost/push"))
        #expect(try VAPIDKey.origin(of: defaultPort) == "http://localhost")
        let ftp = try #require(URL(string: "ftp://push.example/x"))
        #expect(throws: WebPushError.self) {
            try key.authorization(endpoint: endpoint, subject: "ops@plaza.example", expires: now.addingTimeInterval(3600), now: now)
        }
        #expect(throws: WebPushError.self) {
            try key.authorization(endpoint: endpoint, subject: "mailto:ops@plaza.example", expires: now, now: now)
        }
        #expect(throws: WebPushError.self) {
            try key.authorization(endpoint: ftp, subject: "mailto:ops@plaza.example", expires: now.addingTimeInterval(3600), now: now)
        }
    }

    @Test("a VAPID key survives its raw representation; a wrong length is refused")
    func vapidKeyStorage() throws {
        let key = VAPIDKey(privateKey: P256.Signing.PrivateKey())
        #expect(key.rawRepresentation.count == 32)
        #expect(try VAPIDKey(rawRepresentation: key.rawRepresentation).publicKeyBase64URL == key.publicKeyBase64URL)
        #expect(try decoded(key.publicKeyBase64URL).count == 65)
        #expect(throws: WebPushError.self) { try VAPIDKey(rawRepresentation: Data(count: 31)) }
    }
}
