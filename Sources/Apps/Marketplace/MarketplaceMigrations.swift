import FluentKit
import Foundation
import Ledger
import PlazaKit
import SQLKit
import Storage

/// Creates the marketplace: categories, provider profiles and their offers, availability and time off,
/// customer profiles, service requests, reviews, live locations, and the providers' search index.
public struct CreateMarketplace: AsyncMigration {
    public init() {}
    public var name: String { "0017_create_marketplace" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("marketplace_categories")
            .field("id", .uuid, .identifier(auto: false))
            .field("parent_id", .uuid, .references("marketplace_categories", "id", onDelete: .restrict))
            .field("name", .string, .required)
            .field("slug", .string, .required)
            .field("description", .string)
            .field("image_file_id", .uuid)
            .field("position", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "slug")
            .create()
        try await database.schema("marketplace_providers")
            .field("id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required)
            .field("display_name", .string, .required)
            .field("bio", .string, .required)
            .field("photos", .string, .required)
            .field("video_file_id", .uuid)
            .field("lat", .double)
            .field("lng", .double)
            .field("radius_km", .double, .required)
            .field("time_zone", .string, .required)
            .field("price_from", .double)
            .field("category_ids", .string, .required)
            // False while the account is disabled or deleted: out of search, taking no requests.
            .field("listed", .bool, .required)
            .field("rating_avg", .double, .required)
            .field("rating_sum", .int, .required)
            .field("rating_count", .int, .required)
            .field("stars", .string, .required)
            .field("completed_jobs", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "user_id")
            .create()
        try await database.schema("marketplace_offers")
            .field("provider_id", .uuid, .required, .references("marketplace_providers", "id", onDelete: .cascade))
            .field("category_id", .uuid, .required, .references("marketplace_categories", "id", onDelete: .restrict))
            .field("price_min", .double, .required)
            .field("price_max", .double, .required)
            // The provider's centre, repeated here so a search by category and place reads one index.
            .field("lat", .double)
            .field("lng", .double)
            .compositeIdentifier(over: "provider_id", "category_id")
            .create()
        try await database.schema("marketplace_availability")
            .field("provider_id", .uuid, .required, .references("marketplace_providers", "id", onDelete: .cascade))
            .field("weekday", .int, .required)
            .field("start_minute", .int, .required)
            .field("end_minute", .int, .required)
            .create()
        try await database.schema("marketplace_time_off")
            .field("provider_id", .uuid, .required, .references("marketplace_providers", "id", onDelete: .cascade))
            .field("starts_at", .datetime, .required)
            .field("ends_at", .datetime, .required)
            .field("reason", .string)
            .create()
        try await database.schema("marketplace_customers")
            .field("user_id", .uuid, .identifier(auto: false))
            .field("display_name", .string, .required)
            .field("phone", .string)
            .field("address", .string)
            .field("lat", .double)
            .field("lng", .double)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema("marketplace_requests")
            .field("id", .uuid, .identifier(auto: false))
            .field("customer_id", .uuid, .required)
            .field("provider_id", .uuid, .references("marketplace_providers", "id", onDelete: .restrict))
            .field("provider_user_id", .uuid)
            .field("category_id", .uuid, .required, .references("marketplace_categories", "id", onDelete: .restrict))
            .field("description", .string, .required)
            .field("address", .string, .required)
            .field("lat", .double, .required)
            .field("lng", .double, .required)
            .field("window_start", .datetime)
            .field("window_end", .datetime)
            .field("photos", .string, .required)
            .field("workflow_id", .uuid, .required)
            .field("conversation_id", .uuid)
            .field("agreed_price", .double)
            .field("final_price", .double)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("accepted_at", .datetime)
            .field("completed_at", .datetime)
            .create()
        try await database.schema("marketplace_reviews")
            .field("id", .uuid, .identifier(auto: false))
            .field("request_id", .uuid, .required, .references("marketplace_requests", "id", onDelete: .cascade))
            .field("provider_id", .uuid, .required)
            .field("customer_id", .uuid, .required)
            .field("rating", .int, .required)
            .field("text", .string, .required)
            .field("answer", .string)
            .field("answered_at", .datetime)
            .field("hidden_at", .datetime)
            .field("hidden_by", .uuid)
            .field("hidden_reason", .string)
            .field("created_at", .datetime, .required)
            .unique(on: "request_id")
            .create()
        try await database.schema("marketplace_locations")
            .field("request_id", .uuid, .required, .references("marketplace_requests", "id", onDelete: .cascade))
            .field("seq", .int, .required)
            .field("lat", .double, .required)
            .field("lng", .double, .required)
            .field("at", .datetime, .required)
            .compositeIdentifier(over: "request_id", "seq")
            .create()
        try await database.execute(
            "CREATE INDEX marketplace_categories_parent ON marketplace_categories (parent_id, position)",
            "CREATE INDEX marketplace_providers_lat ON marketplace_providers (lat)",
            "CREATE INDEX marketplace_providers_rating ON marketplace_providers (rating_avg, id)",
            "CREATE INDEX marketplace_offers_place ON marketplace_offers (category_id, lat, lng, provider_id)",
            "CREATE INDEX marketplace_availability_provider ON marketplace_availability (provider_id, weekday)",
            "CREATE INDEX marketplace_time_off_provider ON marketplace_time_off (provider_id, ends_at)",
            "CREATE INDEX marketplace_requests_customer ON marketplace_requests (customer_id, id)",
            "CREATE INDEX marketplace_requests_provider ON marketplace_requests (provider_id, id)",
            "CREATE INDEX marketplace_requests_open ON marketplace_requests (category_id, provider_id, lat)",
            "CREATE UNIQUE INDEX marketplace_requests_workflow ON marketplace_requests (workflow_id)",
            "CREATE INDEX marketplace_reviews_provider ON marketplace_reviews (provider_id, id)")
        // Text search over a provider's name, categories and bio: FTS5 on SQLite; on PostgreSQL a tsvector
        // (prefix matches) beside trigrams of the name (misspellings).
        switch database.dialect {
        case .sqlite:
            try await database.execute(
                """
                CREATE VIRTUAL TABLE marketplace_provider_search USING fts5(
                    provider_id UNINDEXED, name, categories, description, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')
                """)
        case .postgres:
            try await database.execute(
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                """
                CREATE TABLE marketplace_provider_search (
                    provider_id uuid PRIMARY KEY REFERENCES marketplace_providers (id) ON DELETE CASCADE,
                    name text NOT NULL, document tsvector NOT NULL)
                """,
                "CREATE INDEX marketplace_provider_search_document ON marketplace_provider_search USING gin (document)",
                "CREATE INDEX marketplace_provider_search_name ON marketplace_provider_search USING gin (lower(name) gin_trgm_ops)")
        }
    }

    public func revert(on database: any Database) async throws {
        try await database.execute("DROP TABLE marketplace_provider_search")
        for table in [
            "marketplace_locations", "marketplace_reviews", "marketplace_requests", "marketplace_customers", "marketplace_time_off",
            "marketplace_availability", "marketplace_offers", "marketplace_providers", "marketplace_categories",
        ] {
            try await database.schema(table).delete()
        }
    }
}

/// `rating_sum` was written with every recount and read by nothing (the average and the star counts are kept):
/// gone, so nothing has to keep it right.
public struct DropRatingSum: AsyncMigration {
    public init() {}
    public var name: String { "marketplace.0002_drop_rating_sum" }

    public func prepare(on database: any Database) async throws {
        try await database.sql.raw("ALTER TABLE marketplace_providers DROP COLUMN rating_sum").run()
    }

    public func revert(on database: any Database) async throws {
        try await database.sql.raw("ALTER TABLE marketplace_providers ADD COLUMN rating_sum BIGINT NOT NULL DEFAULT 0").run()
    }
}

/// Prices become whole minor units with their currency (`Money`), never a `Double`: offers, a provider's lowest
/// price and a request's agreed and final price. Amounts recorded before were hryvnias (the marketplace had no
/// currency setting): they become kopiykas in UAH (above ₴20,000,000.00, the largest price taken now, they become
/// that). Completed jobs with a price are posted to the books (the ledger), which the providers' earnings now read;
/// their keys are the ones a completion posts, so nothing posts twice.
public struct PricesInMinorUnits: AsyncMigration {
    public init() {}
    public var name: String { "marketplace.0003_prices_in_minor_units" }

    public func prepare(on database: any Database) async throws {
        // All or nothing: a failure halfway leaves the tables as they were, and the next start runs it again.
        try await database.transaction { database in try await convert(on: database) }
    }

    private func convert(on database: any Database) async throws {
        let sql = database.sql
        // Kopiykas, rounded half away from zero on both engines (PostgreSQL's ROUND of a double rounds half to
        // even; of a numeric, away from zero), and no more than the largest price the marketplace takes now
        // (earlier it took up to ₴999,999,999).
        let cap = sql.dialect.name == "postgresql" ? "LEAST" : "MIN"
        let minor = { (column: String) -> String in
            "CAST(\(cap)(ROUND(CAST(\(column) AS NUMERIC) * 100), \(MarketplacePrice.maxAmount)) AS BIGINT)"
        }
        for statement in [
            "ALTER TABLE marketplace_offers ADD COLUMN price_min_amount BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE marketplace_offers ADD COLUMN price_max_amount BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE marketplace_offers ADD COLUMN currency TEXT NOT NULL DEFAULT 'UAH'",
            "UPDATE marketplace_offers SET price_min_amount = \(minor("price_min")), price_max_amount = \(minor("price_max"))",
            "ALTER TABLE marketplace_offers DROP COLUMN price_min",
            "ALTER TABLE marketplace_offers DROP COLUMN price_max",
            "ALTER TABLE marketplace_providers ADD COLUMN price_from_amount BIGINT",
            "UPDATE marketplace_providers SET price_from_amount = \(minor("price_from")) WHERE price_from IS NOT NULL",
            "ALTER TABLE marketplace_providers DROP COLUMN price_from",
            "ALTER TABLE marketplace_requests ADD COLUMN agreed_price_amount BIGINT",
            "ALTER TABLE marketplace_requests ADD COLUMN final_price_amount BIGINT",
            "ALTER TABLE marketplace_requests ADD COLUMN price_currency TEXT",
            """
            UPDATE marketplace_requests SET agreed_price_amount = \(minor("agreed_price")), final_price_amount = \(minor("final_price")),
                price_currency = 'UAH' WHERE agreed_price IS NOT NULL OR final_price IS NOT NULL
            """,
            "ALTER TABLE marketplace_requests DROP COLUMN agreed_price",
            "ALTER TABLE marketplace_requests DROP COLUMN final_price",
        ] {
            try await sql.raw("\(unsafeRaw: statement)").run()
        }
        let paid = try await sql.raw(
            """
            SELECT id, provider_user_id, final_price_amount, completed_at FROM marketplace_requests
            WHERE completed_at IS NOT NULL AND final_price_amount > 0 AND provider_user_id IS NOT NULL
            """
        ).all()
        for row in paid {
            let completed = try row.decode(column: "completed_at", as: Date.self)
            try await Ledger.post(
                MarketplacePrice.jobPaid(
                    request: try row.decode(column: "id", as: UUID.self), providerUser: try row.decode(column: "provider_user_id", as: UUID.self),
                    price: Money(amount: try row.decode(column: "final_price_amount", as: Int64.self), currency: .uah), at: completed),
                on: sql, at: completed)
        }
    }

    public func revert(on database: any Database) async throws {
        let sql = database.sql
        for statement in [
            "ALTER TABLE marketplace_offers ADD COLUMN price_min DOUBLE PRECISION NOT NULL DEFAULT 0",
            "ALTER TABLE marketplace_offers ADD COLUMN price_max DOUBLE PRECISION NOT NULL DEFAULT 0",
            "UPDATE marketplace_offers SET price_min = price_min_amount / 100.0, price_max = price_max_amount / 100.0",
            "ALTER TABLE marketplace_offers DROP COLUMN price_min_amount",
            "ALTER TABLE marketplace_offers DROP COLUMN price_max_amount",
            "ALTER TABLE marketplace_offers DROP COLUMN currency",
            "ALTER TABLE marketplace_providers ADD COLUMN price_from DOUBLE PRECISION",
            "UPDATE marketplace_providers SET price_from = price_from_amount / 100.0",
            "ALTER TABLE marketplace_providers DROP COLUMN price_from_amount",
            "ALTER TABLE marketplace_requests ADD COLUMN agreed_price DOUBLE PRECISION",
            "ALTER TABLE marketplace_requests ADD COLUMN final_price DOUBLE PRECISION",
            "UPDATE marketplace_requests SET agreed_price = agreed_price_amount / 100.0, final_price = final_price_amount / 100.0",
            "ALTER TABLE marketplace_requests DROP COLUMN agreed_price_amount",
            "ALTER TABLE marketplace_requests DROP COLUMN final_price_amount",
            "ALTER TABLE marketplace_requests DROP COLUMN price_currency",
        ] {
            try await sql.raw("\(unsafeRaw: statement)").run()
        }
    }
}
