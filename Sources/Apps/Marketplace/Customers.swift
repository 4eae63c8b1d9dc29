import Conversations
import Foundation
import Ledger
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    /// The caller's customer profile; one made from the account's name until they save their own.
    public func myCustomerProfile(caller: Caller) async throws -> CustomerProfile {
        try policy.authorize(caller, MarketplacePolicy.manageCustomerProfile)
        let user = caller.principal!.id
        if let row = try await store.sql.raw("SELECT * FROM marketplace_customers WHERE user_id = \(bind: user)").first() {
            return CustomerProfile(
                userId: user, displayName: try row.decode(column: "display_name", as: String.self),
                phone: try row.decode(column: "phone", as: String?.self),
                address: try row.decode(column: "address", as: String?.self), lat: try row.decode(column: "lat", as: Double?.self),
                lng: try row.decode(column: "lng", as: Double?.self))
        }
        return CustomerProfile(userId: user, displayName: try await identity.contact(user)?.firstName ?? "")
    }

    public func saveCustomerProfile(_ input: CustomerUpdate, caller: Caller) async throws -> CustomerProfile {
        try policy.authorize(caller, MarketplacePolicy.manageCustomerProfile)
        let user = caller.principal!.id
        var errors: [FieldError] = []
        CustomerUpdate.displayNameLimit.check(input.displayName, field: "displayName", into: &errors)
        let name = input.displayName.trimmingCharacters(in: .whitespacesAndNewlines)
        CustomerUpdate.phoneLimit.check(input.phone, field: "phone", into: &errors)
        CustomerUpdate.addressLimit.check(input.address, field: "address", into: &errors)
        if (input.lat == nil) != (input.lng == nil) { errors.append(FieldError(field: "lat", message: "lat and lng come together")) }
        NumberLimit.latitude.check(input.lat, field: "lat", into: &errors)
        NumberLimit.longitude.check(input.lng, field: "lng", into: &errors)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw(
                """
                INSERT INTO marketplace_customers (user_id, display_name, phone, address, lat, lng, created_at, updated_at)
                VALUES (\(bind: user), \(bind: name), \(bind: input.phone), \(bind: input.address), \(bind: input.lat),\
                 \(bind: input.lng), \(bind: now), \(bind: now))
                ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, phone = excluded.phone, address = excluded.address,
                    lat = excluded.lat, lng = excluded.lng, updated_at = excluded.updated_at
                """
            ).run()
        }
        return try await myCustomerProfile(caller: caller)
    }

    /// What the caller's paid jobs brought, by month (UTC), newest month first: read from the books, where each
    /// completed job with a price posted it.
    public func earnings(caller: Caller) async throws -> Earnings {
        guard let user = caller.principal?.id else { throw PlazaError.unauthorized() }
        _ = try await myProvider(caller: caller)
        let currency = settings.currency
        let periods = try await ledger.totals(
            MarketplacePrice.earnings(of: user, currency), per: .month, from: Date(timeIntervalSince1970: 0),
            to: store.clock.now().addingTimeInterval(86_400), timeZone: .gmt, kinds: [MarketplacePrice.jobPaidKind])
        let months = periods.reversed().map { Earnings.Month(month: $0.period, jobs: $0.count, total: $0.moneyIn) }
        var total = Money.zero(currency)
        for month in months { total = try total.adding(month.total) }
        return Earnings(jobs: months.reduce(0) { $0 + $1.jobs }, total: total, months: months)
    }

    /// The request's thread (customer and provider), newest messages first.
    public func conversation(ofRequest id: UUID, limit: Int, caller: Caller) async throws -> RequestConversation {
        let conversation = try await conversationID(ofRequest: id, caller: caller)
        return RequestConversation(
            id: conversation, messages: try await conversations.messages(in: conversation, before: nil, limit: limit, caller: caller))
    }

    /// The request's thread, for its two sides (404 before a provider is assigned).
    func conversationID(ofRequest id: UUID, caller: Caller) async throws -> UUID {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        guard let conversation = record.request.conversationId else {
            throw PlazaError.notFound("The request has no conversation yet: it starts when a provider is assigned.")
        }
        return conversation
    }
}

extension MarketplaceService {
    /// Erases what the marketplace keeps about an erased account: the customer profile, the customer's
    /// addresses and places on their requests, the provider profile's contents (the row stays, nameless and
    /// out of search, because requests refer to it) and the provider's trails. Histories and ratings stay.
    func forget(user: UUID, in transaction: Transaction) async throws {
        let sql = transaction.sql
        try await sql.raw("DELETE FROM marketplace_customers WHERE user_id = \(bind: user)").run()
        try await sql.raw(
            """
            UPDATE marketplace_requests SET description = '', address = '', lat = 0, lng = 0, photos = '[]' WHERE customer_id = \(bind: user)
            """
        ).run()
        try await sql.raw(
            """
            DELETE FROM marketplace_locations WHERE request_id IN (SELECT id FROM marketplace_requests WHERE provider_user_id = \(bind: user))
            """
        ).run()
        // The profile's row before its offers, as every other writer of both takes them (`setListed` runs at
        // the same time for the same account's deletion): the other order deadlocks on PostgreSQL.
        guard
            let provider = try await sql.raw(
                """
                UPDATE marketplace_providers SET display_name = 'Deleted account', bio = '', photos = '[]', video_file_id = NULL, lat = NULL,
                    lng = NULL, price_from_amount = NULL, category_ids = '[]', listed = \(bind: false) WHERE user_id = \(bind: user) RETURNING id
                """
            ).first()?.decode(column: "id", as: UUID.self)
        else { return }
        for table in ["marketplace_offers", "marketplace_availability", "marketplace_time_off", "marketplace_provider_search"] {
            try await sql.raw("DELETE FROM \(unsafeRaw: table) WHERE provider_id = \(bind: provider)").run()
        }
        try await searchChanged(provider: provider, caller: .system("retention"), in: transaction)
    }
}
