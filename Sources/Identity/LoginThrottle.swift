import FluentKit
import Foundation
import PlazaKit
import SQLKit
import Storage

/// Brute-force protection for sign-in, shared by every instance through the database.
///
/// Failures are counted per account (email) and per client address within a 15-minute window. From the 5th
/// failure on an account, sign-in is locked for 30 s, doubling with each further failure up to 15 minutes;
/// an address is locked for 15 minutes after 50 failures. A locked sign-in is a 429 with `Retry-After`,
/// answered before the password is checked. A successful sign-in clears the account's count.
struct LoginThrottle: Sendable {
    static let window: TimeInterval = 15 * 60
    static let accountThreshold = 5
    static let addressThreshold = 50
    static let maxLock: TimeInterval = 15 * 60

    let store: Store

    /// Throws a 429 when either key is locked.
    func check(email: String, ip: String?) async throws {
        let now = store.clock.now()
        let keys = ["email:\(email)"] + (ip.map { ["ip:\($0)"] } ?? [])
        let rows = try await store.sql.raw(
            """
            SELECT locked_until FROM identity_login_failures WHERE throttle_key IN (\(binds: keys)) AND locked_until > \(bind: now)
            """
        ).all()
        let until = try rows.map { try $0.decode(column: "locked_until", as: Date.self) }.max()
        if let until {
            // Stored times lose sub-millisecond precision; do not round a 30 s lock up to 31.
            let wait = max(1, Int((until.timeIntervalSince(now) - 0.001).rounded(.up)))
            throw PlazaError(
                .tooManyRequests, code: "sign-in-locked", title: "Too many failed sign-ins",
                detail: "Too many failed attempts. Try again in \(wait) seconds.", headers: ["Retry-After": String(wait)])
        }
    }

    /// Counts a failure against the account and the address, locking them past their thresholds.
    func recordFailure(email: String, ip: String?, in transaction: Transaction) async throws {
        try await bump("email:\(email)", threshold: Self.accountThreshold, progressive: true, in: transaction)
        if let ip { try await bump("ip:\(ip)", threshold: Self.addressThreshold, progressive: false, in: transaction) }
    }

    /// Clears the account's count after a successful sign-in.
    func recordSuccess(email: String, in transaction: Transaction) async throws {
        try await transaction.sql.raw("DELETE FROM identity_login_failures WHERE throttle_key = \(bind: "email:\(email)")").run()
    }

    private func bump(_ key: String, threshold: Int, progressive: Bool, in transaction: Transaction) async throws {
        let now = transaction.clock.now()
        let row = try await transaction.sql.raw(
            """
            SELECT failures, window_start FROM identity_login_failures WHERE throttle_key = \(bind: key)
            """
        ).first()
        var failures = 1
        var windowStart = now
        if let row, try row.decode(column: "window_start", as: Date.self).addingTimeInterval(Self.window) > now {
            failures = try row.decode(column: "failures", as: Int.self) + 1
            windowStart = try row.decode(column: "window_start", as: Date.self)
        }
        var lockedUntil: Date?
        if failures >= threshold {
            let lock = progressive ? min(Self.maxLock, 30 * pow(2, Double(failures - threshold))) : Self.maxLock
            lockedUntil = now.addingTimeInterval(lock)
        }
        try await transaction.sql.raw(
            """
            INSERT INTO identity_login_failures (throttle_key, failures, window_start, locked_until)
            VALUES (\(bind: key), \(bind: failures), \(bind: windowStart), \(bind: lockedUntil))
            ON CONFLICT (throttle_key) DO UPDATE SET failures = \(bind: failures), window_start = \(bind: windowStart),
                locked_until = \(bind: lockedUntil)
            """
        ).run()
    }
}

/// Creates the sign-in failure counters.
public struct CreateLoginFailures: AsyncMigration {
    public init() {}
    public var name: String { "0006_create_login_failures" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_login_failures")
            .field("throttle_key", .string, .identifier(auto: false))
            .field("failures", .int, .required)
            .field("window_start", .datetime, .required)
            .field("locked_until", .datetime)
            .create()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_login_failures").delete()
    }
}
