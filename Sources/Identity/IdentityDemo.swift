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

    /// Creates the demo accounts in the given transaction (the password hash is made beforehand, off the loop).
    public static func seed(_ identity: IdentityService, in transaction: Transaction) async throws {
        let hash = try await identity.passwords.hash(password)
        let now = transaction.clock.now()
        for (role, app) in accounts {
            let id = PlazaID.make(at: now)
            try await IdentityService.insertUser(
                id: id, email: email(for: role), hash: hash, firstName: role.prefix(1).uppercased() + role.dropFirst(),
                lastName: "Demo", locale: "en", timeZone: "UTC", at: now, in: transaction)
            try await transaction.sql.raw("UPDATE identity_users SET email_verified = \(bind: true) WHERE id = \(bind: id)").run()
            try await IdentityService.grant(role, app: app, to: id, at: now, in: transaction)
        }
    }
}
