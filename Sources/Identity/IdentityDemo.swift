import Foundation
import PlazaKit
import Storage

/// One account for every role, for demos and first steps: `<role>@demo.plaza.test` / `plaza-demo`.
public enum IdentityDemo {
    public static let password = "plaza-demo"
    /// (role, app): system roles have no app; app roles hold in every app.
    public static let accounts: [(role: String, app: String)] = [
        ("admin", ""), ("employee", ""), ("operator", ""),
        ("customer", Roles.everyApp), ("provider", Roles.everyApp), ("brand", Roles.everyApp),
        ("creator", Roles.everyApp), ("supplier", Roles.everyApp),
    ]

    public static func email(for role: String) -> String { "\(role)@demo.plaza.test" }

    /// Creates the demo accounts in the given transaction; returns their ids by role.
    @discardableResult
    /// `passwordHash` is ``passwordHash(_:)``'s, when the caller made it already (for more people after these).
    public static func seed(_ identity: IdentityService, passwordHash: String? = nil, in transaction: Transaction) async throws -> [String: UUID] {
        let people = accounts.map {
            (
                email: email(for: $0.role), firstName: $0.role.prefix(1).uppercased() + $0.role.dropFirst(), lastName: "Demo", role: $0.role,
                app: $0.app
            )
        }
        let hash: String
        if let passwordHash { hash = passwordHash } else { hash = try await Self.passwordHash(identity) }
        let ids = try await add(people, passwordHash: hash, in: transaction)
        return Dictionary(uniqueKeysWithValues: zip(accounts.map(\.role), ids))
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
