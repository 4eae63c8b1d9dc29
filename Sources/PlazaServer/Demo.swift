import AppHost
import Foundation
import Identity
import PlazaKit
import SQLKit
import Storage

/// A demo login printed by `plaza serve --demo`.
public struct DemoLogin: Sendable, Equatable {
    public var role: String
    public var email: String
    public var password: String
}

/// Demo data: what `plaza seed --demo` and `plaza serve --demo` put in a database.
///
/// Each part is seeded once, marked in the audit log: the core's accounts (`plaza.demo.seeded.core`), then
/// each app's data (`plaza.demo.seeded.<app>`), so an installation seeded before an app existed gets that
/// app's demo data — and its roles' accounts — on its next seed. (`plaza.demo.seeded`, the one marker of
/// installations seeded before apps had their own, stands for the core and the apps that declare it.)
public enum Demo {
    static let coreMarker = "plaza.demo.seeded.core"
    static let earlierMarker = "plaza.demo.seeded"

    /// Seeds what is not there yet; returns whether it seeded anything now.
    @discardableResult
    public static func seed(_ plaza: Plaza) async throws -> Bool {
        var seeded = false
        var hash: String?
        func passwordHash() async throws -> String {
            if let hash { return hash }
            // bcrypt is slow on purpose: one hash for every demo person.
            let made = try await IdentityDemo.passwordHash(plaza.identity)
            hash = made
            return made
        }
        // Each marker is looked at first (to spare the slow hash when all is there) and again inside the seeding
        // transaction, so two processes seeding at once seed once.
        let coreMarkers = [coreMarker, earlierMarker]
        if try await !isMarked(coreMarkers, on: plaza.store.sql) {
            let hash = try await passwordHash()
            seeded = try await plaza.store.transaction { transaction in
                guard try await !isMarked(coreMarkers, on: transaction.sql) else { return false }
                try await IdentityDemo.accounts(IdentityDemo.accounts, passwordHash: hash, in: transaction)
                try await transaction.audit(.system("demo"), action: coreMarker, resourceType: "plaza")
                return true
            }
        }
        for app in plaza.apps {
            let manifest = type(of: app).manifest
            let markers = [manifest.demoMarker] + manifest.earlierDemoMarkers
            if try await isMarked(markers, on: plaza.store.sql) { continue }
            let hash = try await passwordHash()
            let demo = try await plaza.store.transaction { transaction -> DemoSeed? in
                guard try await !isMarked(markers, on: transaction.sql) else { return nil }
                let accounts = try await IdentityDemo.accounts(roles(of: [manifest]), passwordHash: hash, in: transaction)
                let demo = DemoSeed(accounts: accounts, passwordHash: hash)
                try await app.seedDemo(demo, in: transaction)
                try await transaction.audit(.system("demo"), action: manifest.demoMarker, resourceType: "plaza")
                return demo
            }
            guard let demo else { continue }
            try await demo.runFollowUps()
            seeded = true
        }
        return seeded
    }

    /// The logins the demo data provides: the core's, then one per role of every app.
    public static func logins(_ plaza: Plaza) -> [DemoLogin] {
        roles(of: plaza.config.apps.types.map { $0.manifest }).map {
            DemoLogin(role: $0.role, email: IdentityDemo.email(for: $0.role), password: IdentityDemo.password)
        }
    }

    /// The core's demo roles and the apps' (each held in every app, as sign-up grants them).
    static func roles(of manifests: [AppManifest]) -> [(role: String, app: String)] {
        var roles = IdentityDemo.accounts
        for manifest in manifests {
            for role in manifest.roles where !roles.contains(where: { $0.role == role.name }) { roles.append((role.name, Roles.everyApp)) }
        }
        return roles
    }

    private static func isMarked(_ markers: [String], on sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from(AuditLogTable.name).where("action", .in, markers).first() != nil
    }
}
