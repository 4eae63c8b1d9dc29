import Crypto
import FluentKit
import Foundation
import PlazaKit
import SQLKit

/// `Idempotency-Key` bookkeeping in the database, so every instance agrees on what was already done.
///
/// A key is scoped to its caller and remembered with a SHA-256 fingerprint of the request (method, path,
/// body) and, once finished, the first response. A key still marked running after `staleAfter` (its
/// instance died mid-request) may be taken over.
public struct SQLIdempotencyStore: IdempotencyStore {
    public static let table = "plaza_idempotency_keys"
    let store: Store
    let lifetime: TimeInterval
    let staleAfter: TimeInterval

    public init(store: Store, lifetime: TimeInterval = 24 * 3600, staleAfter: TimeInterval = 60) {
        self.store = store
        self.lifetime = lifetime
        self.staleAfter = staleAfter
    }

    static func fingerprint(_ request: IdempotentRequest) -> String {
        var hash = SHA256()
        hash.update(data: Data("\(request.method) \(request.path)\n".utf8))
        hash.update(data: request.body)
        return hash.finalize().hexString
    }

    public func begin(_ request: IdempotentRequest) async throws -> IdempotencyDecision {
        let fingerprint = Self.fingerprint(request)
        let (lifetime, staleAfter) = (self.lifetime, self.staleAfter)
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            let claim = UUID().uuidString
            let inserted = try await transaction.sql.raw(
                """
                INSERT INTO plaza_idempotency_keys (scope, idempotency_key, fingerprint, state, created_at, expires_at, claim)
                VALUES (\(bind: request.scope), \(bind: request.key), \(bind: fingerprint), 'running', \(bind: now),\
                 \(bind: now.addingTimeInterval(lifetime)),
                        \(bind: claim))
                ON CONFLICT (scope, idempotency_key) DO NOTHING
                RETURNING scope
                """
            ).all()
            if !inserted.isEmpty { return .proceed(claim: claim) }
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT * FROM plaza_idempotency_keys WHERE scope = \(bind: request.scope) AND idempotency_key = \(bind: request.key)
                    """
                ).first()
            else { return .inProgress }
            let expires = try row.decode(column: "expires_at", as: Date.self)
            let created = try row.decode(column: "created_at", as: Date.self)
            let state = try row.decode(column: "state", as: String.self)
            let takeOver = expires < now || (state == "running" && created.addingTimeInterval(staleAfter) < now)
            if takeOver {
                try await transaction.sql.raw(
                    """
                    UPDATE plaza_idempotency_keys SET fingerprint = \(bind: fingerprint), state = 'running', response = NULL,
                           created_at = \(bind: now), expires_at = \(bind: now.addingTimeInterval(lifetime)), claim = \(bind: claim)
                    WHERE scope = \(bind: request.scope) AND idempotency_key = \(bind: request.key)
                    """
                ).run()
                return .proceed(claim: claim)
            }
            guard try row.decode(column: "fingerprint", as: String.self) == fingerprint else { return .mismatch }
            guard state == "done", let text = try row.decode(column: "response", as: String?.self) else { return .inProgress }
            return .replay(try JSONDecoder().decode(StoredResponse.self, from: Data(text.utf8)))
        }
    }

    /// The request runs inside one transaction (``Store/transaction(enclosing:then:)``) whose last statement
    /// records its response, so the change and the key's `done` commit together: a crash before the commit
    /// leaves the key `running` with nothing changed (a retry takes it over after `staleAfter` and runs once), a
    /// crash after it leaves a response to replay. (Before 2026-12, the change, the key's state and the response
    /// were three transactions, and a crash between the first two made a retry run the change twice.)
    ///
    /// Only the holder of the key's `claim` records: a request that ran past `staleAfter` and was taken over by a
    /// retry finds the claim changed, throws, and rolls back, so the key's work commits once.
    public func perform(
        _ request: IdempotentRequest, claim: String, _ work: @escaping @Sendable () async throws -> IdempotentOutcome
    ) async throws -> IdempotentOutcome {
        do {
            return try await store.transaction(enclosing: work) { outcome, transaction in
                // A 5xx answer keeps nothing: thrown, so the work rolls back with it, and answered below.
                guard outcome.stored.status < 500 else { throw FailedAnswer(outcome: outcome) }
                let text = String(decoding: try JSONEncoder().encode(outcome.stored), as: UTF8.self)
                let recorded = try await transaction.sql.raw(
                    """
                    UPDATE plaza_idempotency_keys SET state = 'done', response = \(bind: text)
                    WHERE scope = \(bind: request.scope) AND idempotency_key = \(bind: request.key) AND claim = \(bind: claim)
                    RETURNING scope
                    """
                ).all()
                guard !recorded.isEmpty else {
                    throw PlazaError.conflict("This request ran so long that a retry with its Idempotency-Key took over; the retry's answer stands.")
                }
                return outcome
            }
        } catch {
            // Nothing was kept: let the client retry with the same key — unless a retry holds it now.
            try? await store.transaction { transaction in
                try await transaction.sql.raw(
                    """
                    DELETE FROM plaza_idempotency_keys
                    WHERE scope = \(bind: request.scope) AND idempotency_key = \(bind: request.key) AND claim = \(bind: claim)
                    """
                ).run()
            }
            if let failed = error as? FailedAnswer { return failed.outcome }
            throw error
        }
    }

    /// A 5xx answer, carried out of the transaction it rolls back.
    struct FailedAnswer: Error {
        let outcome: IdempotentOutcome
    }

    /// Forgets expired keys; returns how many.
    @discardableResult
    public func prune() async throws -> Int {
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                DELETE FROM plaza_idempotency_keys WHERE expires_at < \(bind: transaction.clock.now()) RETURNING scope
                """
            ).all().count
        }
    }
}

/// Gives each running key the claim of the request that runs it (see ``SQLIdempotencyStore/perform(_:claim:_:)``).
public struct AddIdempotencyClaims: AsyncMigration {
    public init() {}
    public var name: String { "0023_add_idempotency_claims" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(SQLIdempotencyStore.table).field("claim", .string).update()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(SQLIdempotencyStore.table).deleteField("claim").update()
    }
}

/// Creates the idempotency key table.
public struct CreateIdempotencyKeys: AsyncMigration {
    public init() {}
    public var name: String { "0004_create_idempotency_keys" }

    public func prepare(on database: any Database) async throws {
        try await database.schema(SQLIdempotencyStore.table)
            .field("scope", .string, .required)
            .field("idempotency_key", .string, .required)
            .field("fingerprint", .string, .required)
            .field("state", .string, .required)
            .field("response", .string)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .compositeIdentifier(over: "scope", "idempotency_key")
            .create()
        try await database.execute("CREATE INDEX plaza_idempotency_expiry ON plaza_idempotency_keys (expires_at)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema(SQLIdempotencyStore.table).delete()
    }
}
