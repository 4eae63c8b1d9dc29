import Files
import Foundation
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    static let maxPhotos = 12
    static let maxOffers = 30
    static let maxSlots = 70
    static let maxTimeOff = 50
    static var maxRadiusKm: Double { ServiceArea.radiusLimit.range.upperBound }

    /// Opens the caller's provider profile (one per account).
    public func createProvider(_ input: ProviderUpdate, caller: Caller) async throws -> ProviderProfile {
        try policy.authorize(caller, MarketplacePolicy.createProfile)
        let user = caller.principal!.id
        guard input.displayName != nil else { throw PlazaError.validation(field: "displayName", "is required") }
        let opened: UUID
        do {
            opened = try await store.transaction { transaction in
                if try await transaction.sql.raw("SELECT id FROM marketplace_providers WHERE user_id = \(bind: user)").first() != nil {
                    throw PlazaError.conflict("You have a provider profile already; change it with PATCH.")
                }
                let now = transaction.clock.now()
                let id = PlazaID.make(at: now)
                try await transaction.sql.raw(
                    """
                    INSERT INTO marketplace_providers (id, user_id, display_name, bio, photos, radius_km, time_zone, category_ids, listed, rating_avg,
                                                       rating_count, stars, completed_jobs, created_at, updated_at)
                    VALUES (\(bind: id), \(bind: user), '', '', '[]', 10, 'UTC', '[]', \(bind: true), 0, 0, '[0,0,0,0,0]', 0, \(bind: now), \(bind: now))
                    """
                ).run()
                try await apply(input, to: id, currentVideo: nil, caller: caller, in: transaction)
                try await transaction.audit(caller, action: "marketplace.provider.create", resourceType: "provider", resourceID: id.uuidString)
                try await searchChanged(provider: id, caller: caller, in: transaction)
                return id
            }
        } catch let error where isUniqueViolation(error) {
            throw PlazaError.conflict("You have a provider profile already; change it with PATCH.")
        }
        return try await ownProfile(opened)
    }

    /// A provider's public profile: when they are off, not why (reasons are for the provider's own view).
    public func provider(_ id: UUID) async throws -> ProviderProfile {
        guard let row = try await store.sql.raw("SELECT * FROM marketplace_providers WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("There is no provider \(id).")
        }
        var profile = try await profile(row)
        profile.timeOff = profile.timeOff.map { TimeOff(startsAt: $0.startsAt, endsAt: $0.endsAt) }
        return profile
    }

    /// The whole profile, for its provider (after a change they made).
    func ownProfile(_ id: UUID) async throws -> ProviderProfile {
        guard let row = try await store.sql.raw("SELECT * FROM marketplace_providers WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("There is no provider \(id).")
        }
        return try await profile(row)
    }

    /// The caller's own provider profile.
    public func myProvider(caller: Caller) async throws -> ProviderProfile {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        guard let row = try await store.sql.raw("SELECT * FROM marketplace_providers WHERE user_id = \(bind: principal.id)").first() else {
            throw PlazaError.notFound("You have no provider profile yet; open one with POST /api/v1/marketplace/providers.")
        }
        let profile = try await profile(row)
        try policy.authorize(caller, MarketplacePolicy.manageProfile, ResourceFacts(ownerID: profile.userId))
        return profile
    }

    /// Changes a profile: only its provider may (admins too).
    public func updateProvider(_ id: UUID, _ input: ProviderUpdate, caller: Caller) async throws -> ProviderProfile {
        try await store.transaction { transaction in
            guard let row = try await transaction.sql.raw("SELECT * FROM marketplace_providers WHERE id = \(bind: id)").first() else {
                throw PlazaError.notFound("There is no provider \(id).")
            }
            let owner = try row.decode(column: "user_id", as: UUID.self)
            try policy.authorize(caller, MarketplacePolicy.manageProfile, ResourceFacts(ownerID: owner))
            let video = try row.decode(column: "video_file_id", as: UUID?.self)
            try await apply(input, to: id, currentVideo: video, caller: caller, in: transaction)
            try await transaction.audit(caller, action: "marketplace.provider.update", resourceType: "provider", resourceID: id.uuidString)
            try await searchChanged(provider: id, caller: caller, in: transaction)
        }
        return try await ownProfile(id)
    }

    /// Validates and writes the fields an update names, then refreshes what search reads.
    private func apply(
        _ input: ProviderUpdate, to id: UUID, currentVideo: UUID?, caller: Caller, in transaction: Transaction
    ) async throws {
        let errors = try await problems(with: input, in: transaction)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let sql = transaction.sql
        let now = transaction.clock.now()
        var sets: [SQLQueryString] = ["updated_at = \(bind: now)"]
        if let name = input.displayName { sets.append("display_name = \(bind: name.trimmingCharacters(in: .whitespacesAndNewlines))") }
        if let bio = input.bio { sets.append("bio = \(bind: bio.trimmingCharacters(in: .whitespacesAndNewlines))") }
        if let photos = input.photos {
            // Photos the profile had before (shown now or not) are bound to it already; only new ones are bound.
            let bound = try await files.attached(to: "marketplace-provider", id.uuidString.lowercased(), in: transaction)
            let new = photos.filter { !bound.contains($0) }
            try await files.attach(
                new, purpose: .servicePhoto, to: "marketplace-provider", id.uuidString.lowercased(), field: "photos", caller: caller, in: transaction)
            sets.append("photos = \(bind: try Self.encode(photos))")
        }
        if let video = input.videoFileId, video != currentVideo {
            if !(try await files.attached(to: "marketplace-provider", id.uuidString.lowercased(), in: transaction).contains(video)) {
                try await files.attach(
                    [video], purpose: .serviceVideo, to: "marketplace-provider", id.uuidString.lowercased(), field: "videoFileId", caller: caller,
                    in: transaction)
            }
            sets.append("video_file_id = \(bind: video)")
        } else if input.removeVideo == true {
            sets.append("video_file_id = NULL")
        }
        if let area = input.area { sets.append("lat = \(bind: area.lat), lng = \(bind: area.lng), radius_km = \(bind: area.radiusKm)") }
        if let timeZone = input.timeZone { sets.append("time_zone = \(bind: timeZone)") }
        try await sql.raw("UPDATE marketplace_providers SET \(sets.joined(separator: ", ")) WHERE id = \(bind: id)").run()
        if let offers = input.offers {
            try await sql.raw("DELETE FROM marketplace_offers WHERE provider_id = \(bind: id)").run()
            for offer in offers {
                try await sql.raw(
                    """
                    INSERT INTO marketplace_offers (provider_id, category_id, price_min_amount, price_max_amount, currency)
                    VALUES (\(bind: id), \(bind: offer.categoryId), \(bind: offer.priceMin.amount), \(bind: offer.priceMax.amount),
                            \(bind: offer.priceMin.currency.code))
                    """
                ).run()
            }
            try await sql.raw(
                """
                UPDATE marketplace_providers
                SET price_from_amount = (SELECT MIN(price_min_amount) FROM marketplace_offers WHERE provider_id = \(bind: id)),
                    category_ids = \(bind: try Self.encode(offers.map(\.categoryId)))
                WHERE id = \(bind: id)
                """
            ).run()
        }
        if input.offers != nil || input.area != nil { try await placeOffers(of: id, in: transaction) }
        if let slots = input.availability {
            try await sql.raw("DELETE FROM marketplace_availability WHERE provider_id = \(bind: id)").run()
            for slot in slots {
                try await sql.raw(
                    """
                    INSERT INTO marketplace_availability (provider_id, weekday, start_minute, end_minute)
                    VALUES (\(bind: id), \(bind: slot.weekday), \(bind: Self.minute(slot.start)!), \(bind: Self.minute(slot.end)!))
                    """
                ).run()
            }
        }
        if let timeOff = input.timeOff {
            try await sql.raw("DELETE FROM marketplace_time_off WHERE provider_id = \(bind: id)").run()
            for off in timeOff {
                try await sql.raw(
                    """
                    INSERT INTO marketplace_time_off (provider_id, starts_at, ends_at, reason)
                    VALUES (\(bind: id), \(bind: off.startsAt), \(bind: off.endsAt), \(bind: off.reason))
                    """
                ).run()
            }
        }
        if input.displayName != nil || input.bio != nil || input.offers != nil { try await reindex(provider: id, in: transaction) }
    }

    private func problems(with input: ProviderUpdate, in transaction: Transaction) async throws -> [FieldError] {
        var errors: [FieldError] = []
        func fail(_ field: String, _ message: String) { errors.append(FieldError(field: field, message: message)) }
        ProviderUpdate.displayNameLimit.check(input.displayName, field: "displayName", into: &errors)
        ProviderUpdate.bioLimit.check(input.bio, field: "bio", into: &errors)
        if let photos = input.photos, photos.count > Self.maxPhotos || Set(photos).count != photos.count {
            fail("photos", "at most \(Self.maxPhotos) photos, each once")
        }
        if let area = input.area {
            NumberLimit.latitude.check(area.lat, field: "area.lat", into: &errors)
            NumberLimit.longitude.check(area.lng, field: "area.lng", into: &errors)
            ServiceArea.radiusLimit.check(area.radiusKm, field: "area.radiusKm", into: &errors)
        }
        if let timeZone = input.timeZone, TimeZone(identifier: timeZone) == nil { fail("timeZone", "is not an IANA time zone") }
        if let offers = input.offers {
            if offers.count > Self.maxOffers || Set(offers.map(\.categoryId)).count != offers.count {
                fail("offers", "at most \(Self.maxOffers) categories, each once")
            }
            for (index, offer) in offers.enumerated() {
                let before = errors.count
                MarketplacePrice.check(offer.priceMin, field: "offers[\(index)].priceMin", currency: settings.currency, into: &errors)
                MarketplacePrice.check(offer.priceMax, field: "offers[\(index)].priceMax", currency: settings.currency, into: &errors)
                if errors.count == before, offer.priceMin.amount > offer.priceMax.amount {
                    fail("offers[\(index)]", "prices must satisfy 0 ≤ priceMin ≤ priceMax")
                }
                if try await transaction.sql.raw("SELECT id FROM marketplace_categories WHERE id = \(bind: offer.categoryId)").first() == nil {
                    fail("offers[\(index)].categoryId", "is not a category")
                }
            }
        }
        if let slots = input.availability {
            if slots.count > Self.maxSlots { fail("availability", "at most \(Self.maxSlots) slots") }
            for (index, slot) in slots.enumerated() {
                if !(1...7).contains(slot.weekday) { fail("availability[\(index)].weekday", "must be 1 (Monday) to 7 (Sunday)") }
                guard let start = Self.minute(slot.start), let end = Self.minute(slot.end) else {
                    fail("availability[\(index)]", "start and end must be HH:mm")
                    continue
                }
                if start >= end { fail("availability[\(index)]", "must end after it starts") }
            }
        }
        if let timeOff = input.timeOff {
            if timeOff.count > Self.maxTimeOff { fail("timeOff", "at most \(Self.maxTimeOff) periods") }
            for (index, off) in timeOff.enumerated() where off.endsAt <= off.startsAt {
                fail("timeOff[\(index)]", "must end after it starts")
            }
            if timeOff.contains(where: { ($0.reason?.count ?? 0) > 200 }) { fail("timeOff", "reasons must be at most 200 characters") }
        }
        return errors
    }

    /// `09:30` → 570; `24:00` is the end of the day.
    static func minute(_ text: String) -> Int? {
        guard text.wholly(matches: WeeklySlot.timePattern) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60
        else { return nil }
        return hours * 60 + minutes
    }

    static func clock(_ minute: Int) -> String { String(format: "%02d:%02d", minute / 60, minute % 60) }

    /// The profile behind a `marketplace_providers` row, with its offers, hours and time off.
    func profile(_ row: any SQLRow) async throws -> ProviderProfile {
        let id = try row.decode(column: "id", as: UUID.self)
        let sql = store.sql
        let offers = try await sql.raw("SELECT * FROM marketplace_offers WHERE provider_id = \(bind: id) ORDER BY price_min_amount").all().map {
            row in
            let currency = Currency(code: try row.decode(column: "currency", as: String.self)) ?? settings.currency
            return Offer(
                categoryId: try row.decode(column: "category_id", as: UUID.self),
                priceMin: Money(amount: try row.decode(column: "price_min_amount", as: Int64.self), currency: currency),
                priceMax: Money(amount: try row.decode(column: "price_max_amount", as: Int64.self), currency: currency))
        }
        let slots = try await sql.raw("SELECT * FROM marketplace_availability WHERE provider_id = \(bind: id) ORDER BY weekday, start_minute").all()
            .map { row in
                WeeklySlot(
                    weekday: try row.decode(column: "weekday", as: Int.self), start: Self.clock(try row.decode(column: "start_minute", as: Int.self)),
                    end: Self.clock(try row.decode(column: "end_minute", as: Int.self)))
            }
        let timeOff = try await sql.raw("SELECT * FROM marketplace_time_off WHERE provider_id = \(bind: id) ORDER BY starts_at").all().map { row in
            TimeOff(
                startsAt: try row.decode(column: "starts_at", as: Date.self), endsAt: try row.decode(column: "ends_at", as: Date.self),
                reason: try row.decode(column: "reason", as: String?.self))
        }
        let lat = try row.decode(column: "lat", as: Double?.self)
        let lng = try row.decode(column: "lng", as: Double?.self)
        return ProviderProfile(
            id: id, userId: try row.decode(column: "user_id", as: UUID.self), displayName: try row.decode(column: "display_name", as: String.self),
            bio: try row.decode(column: "bio", as: String.self),
            photos: try Self.decode([UUID].self, try row.decode(column: "photos", as: String.self)),
            videoFileId: try row.decode(column: "video_file_id", as: UUID?.self),
            area: lat.flatMap { lat in
                lng.map { ServiceArea(lat: lat, lng: $0, radiusKm: (try? row.decode(column: "radius_km", as: Double.self)) ?? 0) }
            },
            timeZone: try row.decode(column: "time_zone", as: String.self), offers: offers, availability: slots, timeOff: timeOff,
            rating: RatingSummary(
                average: try row.decode(column: "rating_avg", as: Double.self), count: try row.decode(column: "rating_count", as: Int.self),
                stars: try Self.decode([Int].self, try row.decode(column: "stars", as: String.self))),
            completedJobs: try row.decode(column: "completed_jobs", as: Int.self), createdAt: try row.decode(column: "created_at", as: Date.self),
            updatedAt: try row.decode(column: "updated_at", as: Date.self))
    }

    // MARK: Search index

    /// Rewrites a provider's search document: name, the names of the categories offered, bio.
    func reindex(provider id: UUID, in transaction: Transaction) async throws {
        let sql = transaction.sql
        guard let row = try await sql.raw("SELECT display_name, bio FROM marketplace_providers WHERE id = \(bind: id)").first() else { return }
        let name = try row.decode(column: "display_name", as: String.self)
        let bio = try row.decode(column: "bio", as: String.self)
        let categories = try await sql.raw(
            """
            SELECT c.name FROM marketplace_offers o JOIN marketplace_categories c ON c.id = o.category_id WHERE o.provider_id = \(bind: id)
            """
        ).all().map { try $0.decode(column: "name", as: String.self) }.joined(separator: " ")
        try await sql.raw("DELETE FROM marketplace_provider_search WHERE provider_id = \(bind: id)").run()
        switch transaction.dialect {
        case .sqlite:
            try await sql.raw(
                """
                INSERT INTO marketplace_provider_search (provider_id, name, categories, description)
                VALUES (\(bind: id), \(bind: name), \(bind: categories), \(bind: bio))
                """
            ).run()
        case .postgres:
            try await sql.raw(
                """
                INSERT INTO marketplace_provider_search (provider_id, name, document)
                VALUES (\(bind: id), \(bind: name),
                        setweight(to_tsvector('simple', \(bind: name)), 'A') || setweight(to_tsvector('simple', \(bind: categories)), 'B')
                        || setweight(to_tsvector('simple', \(bind: bio)), 'C'))
                """
            ).run()
        }
    }

    func reindexProviders(offering category: UUID, in transaction: Transaction) async throws {
        let ids = try await transaction.sql.raw("SELECT provider_id FROM marketplace_offers WHERE category_id = \(bind: category)").all()
            .map { try $0.decode(column: "provider_id", as: UUID.self) }
        for id in ids { try await reindex(provider: id, in: transaction) }
    }

    /// Offers repeat their provider's place while it is listed, and have none while it is not: a search
    /// reads offers alone, and an offer without a place is out of it.
    func placeOffers(of id: UUID, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            """
            UPDATE marketplace_offers
            SET lat = (SELECT CASE WHEN listed THEN lat END FROM marketplace_providers WHERE id = \(bind: id)),
                lng = (SELECT CASE WHEN listed THEN lng END FROM marketplace_providers WHERE id = \(bind: id))
            WHERE provider_id = \(bind: id)
            """
        ).run()
    }

    /// A disabled or deleted account's profile leaves search and takes no requests; an account made active
    /// again brings it back.
    func setListed(user: UUID, _ listed: Bool) async throws {
        try await store.transaction { transaction in
            guard
                let id = try await transaction.sql.raw("SELECT id FROM marketplace_providers WHERE user_id = \(bind: user)").first()?
                    .decode(column: "id", as: UUID.self)
            else { return }
            try await transaction.sql.raw("UPDATE marketplace_providers SET listed = \(bind: listed) WHERE id = \(bind: id)").run()
            try await placeOffers(of: id, in: transaction)
            try await searchChanged(provider: id, caller: .system("identity"), in: transaction)
        }
    }
}
