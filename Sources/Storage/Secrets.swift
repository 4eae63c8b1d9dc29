import FluentKit
import Foundation
import SQLKit
import Synchronization

/// Installation-wide random secrets kept in the database, so every instance signs and checks with the same
/// key (CSRF tokens, signed file URLs) without an operator having to configure one.
///
/// A secret is made on first use: `INSERT … ON CONFLICT DO NOTHING` and then a read, so two instances racing
/// at start agree on whichever row won. Values are cached for the life of the process.
public final class Secrets: Sendable {
    public static let table = "plaza_secrets"
    let store: Store
    private let cache = Mutex<[String: Data]>([:])

    public init(store: Store) {
        self.store = store
    }

    /// The 32 random bytes named `name`, made and stored the first time anyone asks.
    public func secret(named name: String) async throws -> Data {
        if let cached = cache.withLock({ $0[name] }) { return cached }
        var generator = SystemRandomNumberGenerator()
        let fresh = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
        let stored = try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                INSERT INTO plaza_secrets (name, value, created_at) VALUES (\(bind: name), \(bind: fresh), \(bind: transaction.clock.now()))
                ON CONFLICT (name) DO NOTHING
                """
            ).run()
            return try await transaction.sql.raw("SELECT value FROM plaza_secrets WHERE name = \(bind: name)").first()?
                .decode(column: "value", as: String.self)
        }
        guard let stored, let bytes = Data(base64Encoded: stored) else {
            throw SecretsError.unreadable(name)
        }
        cache.withLock { $0[name] = bytes }
        return bytes
    }
}

enum SecretsError: Error, CustomStringConvertible {
    case unreadable(String)
    var description: String {
        switch self {
        case .unreadable(let name): return "The secret \(name) in plaza_secrets is missing or not base64."
        }
    }
}

/// Creates `plaza_secrets`.
public struct CreateSecrets: AsyncMigration {
    public init() {}
    public var name: String { "0009_create_secrets" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(Secrets.table)
            .field("name", .string, .identifier(auto: false))
            .field("value", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(Secrets.table).delete()
    }
}
