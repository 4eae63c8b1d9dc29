import Foundation
import Identity
import Marketplace
import Conversations
import PlazaKit
import SQLKit
import Storage

/// A demo login printed by `plaza serve --demo`.
public struct DemoLogin: Sendable, Equatable {
    public var role: String
    public var email: String
    public var password: String
}

/// Demo data: what `plaza seed --demo` and `plaza serve --demo` put in an empty database.
///
/// Seeding happens once: a marker in the audit log says it was done, so a second start reuses the data.
public enum Demo {
    static let marker = "plaza.demo.seeded"

    /// Seeds the demo data unless it is already there; returns whether it seeded now.
    @discardableResult
    public static func seed(_ plaza: Plaza) async throws -> Bool {
        let thread: MarketplaceDemo.Thread? = try await plaza.store.transaction { transaction in
            let existing = try await transaction.sql.select().column("id").from(AuditLogTable.name)
                .where("action", .equal, marker).first()
            guard existing == nil else { return nil }
            // bcrypt is slow on purpose: one hash for every demo person.
            let hash = try await IdentityDemo.passwordHash(plaza.identity)
            let accounts = try await IdentityDemo.seed(plaza.identity, passwordHash: hash, in: transaction)
            let thread = try await MarketplaceDemo.seed(
                plaza.marketplace, provider: accounts["provider"]!, customer: accounts["customer"]!, passwordHash: hash, in: transaction)
            try await transaction.audit(.system("demo"), action: marker, resourceType: "plaza")
            return thread
        }
        guard let thread else { return false }
        // Messages go through the conversations service (stored, numbered, announced) once the thread exists.
        for message in thread.messages {
            let author = message.fromCustomer ? thread.customer : thread.provider
            _ = try await plaza.conversations.send(
                MessageDraft(body: message.text), to: thread.conversation, caller: Caller(principal: Principal(id: author), requestID: "demo"))
        }
        return true
    }

    /// The logins the demo data provides.
    public static func logins(_ plaza: Plaza) -> [DemoLogin] {
        IdentityDemo.accounts.map { DemoLogin(role: $0.role, email: IdentityDemo.email(for: $0.role), password: IdentityDemo.password) }
    }
}
