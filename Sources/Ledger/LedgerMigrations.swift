import FluentKit
import SQLKit

/// The ledger's tables: accounts with their running balance, postings (one per idempotency key) and their entries.
public struct CreateLedger: AsyncMigration {
    public init() {}
    public var name: String { "0025_create_ledger" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("ledger_accounts")
            .id()
            .field("owner", .string, .required)
            .field("name", .string, .required)
            .field("currency", .string, .required)
            .field("balance", .int64, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "owner", "name", "currency")
            .create()
        try await database.schema("ledger_postings")
            .id()
            .field("idempotency_key", .string, .required)
            .field("kind", .string, .required)
            .field("memo", .string)
            .field("reference", .string)
            .field("body", .string, .required)
            .field("occurred_at", .datetime, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "idempotency_key")
            .create()
        try await database.schema("ledger_entries")
            .id()
            .field("posting_id", .uuid, .required, .references("ledger_postings", "id"))
            .field("line", .int, .required)
            .field("account_id", .uuid, .required, .references("ledger_accounts", "id"))
            .field("amount", .int64, .required)
            .field("currency", .string, .required)
            .field("occurred_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("CREATE INDEX ledger_entries_account ON ledger_entries (account_id, occurred_at)").run()
        try await sql.raw("CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id)").run()
        try await sql.raw("CREATE INDEX ledger_postings_reference ON ledger_postings (reference)").run()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("ledger_entries").delete()
        try await database.schema("ledger_postings").delete()
        try await database.schema("ledger_accounts").delete()
    }
}
