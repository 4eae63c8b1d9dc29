import Foundation
import HummingbirdBcrypt
import NIOPosix
import PlazaKit
import Synchronization

/// bcrypt, run on the blocking thread pool: a hash at cost 12 takes a quarter of a second, which must not
/// stall an event loop.
struct Passwords: Sendable {
    let cost: UInt8

    /// Length rules (NIST SP 800-63B): at least 8 characters; at most 72 bytes, bcrypt's limit, so that no
    /// part of a password is silently ignored.
    static func problems(with password: String) -> [FieldError] {
        if password.unicodeScalars.count < 8 { return [FieldError(field: "password", message: "must be at least 8 characters")] }
        if password.utf8.count > 72 { return [FieldError(field: "password", message: "must be at most 72 bytes")] }
        return []
    }

    /// A new password's schema. JSON Schema counts characters, not bytes: 72 is the most any password may have,
    /// and one of many-byte characters is refused sooner, as its description says.
    static let schema = JSONSchema.string(description: "8 characters to 72 bytes (UTF-8).", minLength: 8, maxLength: 72)

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String?) async throws -> Bool {
        // A missing user still costs one bcrypt check, so timing does not tell whether the email exists.
        let target: String
        if let hash { target = hash } else { target = try await dummyHash() }
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }

    /// A hash of a random secret at this cost, made once per process.
    private func dummyHash() async throws -> String {
        if let known = Self.dummies.withLock({ $0[cost] }) { return known }
        let made = try await hash(UUID().uuidString)
        Self.dummies.withLock { $0[cost] = made }
        return made
    }
    private static let dummies = Mutex<[UInt8: String]>([:])
}
