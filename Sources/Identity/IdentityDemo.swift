import Foundation
import PlazaKit
import Storage

/// One account for every role, for demos and first steps: `<role>@demo.plaza.test` / `plaza-demo`.
public enum IdentityDemo {
    public static let password = "plaza-demo"
    /// The core's demo roles (role, app): system roles have no app; `customer` holds in every app. Apps add an
    /// account for each role they bring.
    public static let accounts: [(role: String, app: String)] = [
        ("admin", ""), ("employee", ""), ("operator", ""), ("customer", Roles.everyApp),
    ]

    public static func email(for role: String) -> String { "\(role)@demo.plaza.test" }

    /// The demo account of each of `roles`, created in the given transaction where there is none yet (an app
    /// installed after the first seed brings its roles' accounts then); returns their ids by role.
    /// `passwordHash` is ``passwordHash(_:)``'s.
    @discardableResult
    public static func accounts(
        _ roles: [(role: String, app: String)], passwordHash: String, in transaction: Transaction
    ) async throws -> [String: UUID] {
        var ids: [String: UUID] = [:]
        for entry in roles {
            if let row = try await transaction.sql.raw("SELECT id FROM identity_users WHERE email = \(bind: email(for: entry.role))").first() {
                ids[entry.role] = try row.decode(column: "id", as: UUID.self)
                continue
            }
            let person = (
                email: email(for: entry.role), firstName: entry.role.prefix(1).uppercased() + entry.role.dropFirst(), lastName: "Demo",
                role: entry.role, app: entry.app
            )
            ids[entry.role] = try await add([person], passwordHash: passwordHash, in: transaction).first
        }
        return ids
    }

    /// The core's demo accounts, in the given transaction (tests that need people with every core role).
    @discardableResult
    public static func seed(_ identity: IdentityService, in transaction: Transaction) async throws -> [String: UUID] {
        try await Self.accounts(accounts, passwordHash: try await passwordHash(identity), in: transaction)
    }

    /// The demo password's hash (bcrypt is slow on purpose: make it once, then add everyone with it).
    public static func passwordHash(_ identity: IdentityService) async throws -> String {
        try await identity.passwords.hash(password)
    }

    /// Adds more demo people (an app's providers and customers), verified, with the demo password (as
    /// ``passwordHash(_:)`` made it), each holding one role; returns their ids in order.
    public static func add(
        _ people: [(email: String, firstName: String, lastName: String, role: String, app: String)], passwordHash hash: String,
        in transaction: Transaction
    ) async throws -> [UUID] {
        let now = transaction.clock.now()
        var ids: [UUID] = []
        for person in people {
            let id = PlazaID.make(at: now)
            try await IdentityService.insertUser(
                id: id, email: person.email, hash: hash, firstName: person.firstName, lastName: person.lastName, locale: "en", timeZone: "UTC",
                at: now, in: transaction)
            try await transaction.sql.raw("UPDATE identity_users SET email_verified = \(bind: true) WHERE id = \(bind: id)").run()
            try await IdentityService.grant(person.role, app: person.app, to: id, at: now, in: transaction)
            ids.append(id)
        }
        return ids
    }
}
