import Foundation
import PlazaKit
import SQLKit
import Storage

/// What a search for providers asks: `?q=&category=&lat=&lng=&radiusKm=&minRating=&availableAt=&sort=` plus a page.
public struct ProviderQuery: Sendable, Equatable {
    public enum Sort: String, Sendable, CaseIterable { case rating, distance, price }

    public var text: String?
    /// Providers offering this category, one under it or one above it.
    public var categoryId: UUID?
    public var lat: Double?
    public var lng: Double?
    /// Only providers whose centre is this close to the point.
    public var radiusKm: Double?
    public var minRating: Double?
    /// Only providers whose weekly hours include this instant and who are not on time off then.
    public var availableAt: Date?
    /// Distance when a point is given, rating otherwise.
    public var sort: Sort
    public var page: PageRequest

    public init(
        text: String? = nil, categoryId: UUID? = nil, lat: Double? = nil, lng: Double? = nil, radiusKm: Double? = nil, minRating: Double? = nil,
        availableAt: Date? = nil, sort: Sort? = nil, page: PageRequest = PageRequest()
    ) {
        self.text = text
        self.categoryId = categoryId
        self.lat = lat
        self.lng = lng
        self.radiusKm = radiusKm
        self.minRating = minRating
        self.availableAt = availableAt
        self.sort = sort ?? (lat != nil ? .distance : .rating)
        self.page = page
    }

    /// Reads the query string; every value that does not make sense is a field error, all reported at once.
    static let textLimit = TextLimit.atMost(200)
    static let radiusLimit = NumberLimit(0.1...1000)
    static let ratingLimit = NumberLimit(0...5)

    public init(query: [String: String]) throws {
        var errors: [FieldError] = []
        func number(_ name: String, _ limit: NumberLimit) -> Double? {
            guard let raw = query[name], !raw.isEmpty else { return nil }
            guard let value = Double(raw), value.isFinite, limit.range.contains(value) else {
                errors.append(
                    FieldError(
                        field: name,
                        message: "must be a number from \(JSONText.number(limit.range.lowerBound)) to \(JSONText.number(limit.range.upperBound))"))
                return nil
            }
            return value
        }
        Self.textLimit.check(query["q"], field: "q", into: &errors)
        let text = query["q"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        var category: UUID?
        if let raw = query["category"], !raw.isEmpty {
            category = UUID(uuidString: raw)
            if category == nil { errors.append(FieldError(field: "category", message: "is not a category id")) }
        }
        let lat = number("lat", .latitude)
        let lng = number("lng", .longitude)
        if (query["lat"] ?? "").isEmpty != (query["lng"] ?? "").isEmpty {
            errors.append(FieldError(field: "lat", message: "lat and lng come together"))
        }
        let radius = number("radiusKm", Self.radiusLimit)
        if radius != nil, lat == nil { errors.append(FieldError(field: "radiusKm", message: "needs a point (lat and lng)")) }
        let minRating = number("minRating", Self.ratingLimit)
        var availableAt: Date?
        if let raw = query["availableAt"], !raw.isEmpty {
            availableAt = PlazaJSON.parseDate(raw)
            if availableAt == nil { errors.append(FieldError(field: "availableAt", message: "must be an RFC 3339 time")) }
        }
        var sort: Sort?
        if let raw = query["sort"], !raw.isEmpty {
            sort = Sort(rawValue: raw)
            if sort == nil { errors.append(FieldError(field: "sort", message: "must be rating, distance or price")) }
            if sort == .distance, lat == nil { errors.append(FieldError(field: "sort", message: "distance needs a point (lat and lng)")) }
        }
        let page = try PageRequest(query: query)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        self.init(
            text: text?.isEmpty == true ? nil : text, categoryId: category, lat: lat, lng: lng, radiusKm: radius, minRating: minRating,
            availableAt: availableAt, sort: sort, page: page)
    }
}

extension MarketplaceService {
    /// Providers matching a query, a keyset page at a time (`nextCursor` carries the sort key and the id).
    ///
    /// With a category, the candidates come from the offers (one index: category, lat, lng), each with its
    /// price and distance; the commonest search — a category near a point, by distance or price, nothing
    /// else — is answered from that index alone and reads only the page's providers. Anything else joins
    /// the candidates (or, without a category, all providers) to the provider rows before sorting.
    public func searchProviders(_ query: ProviderQuery) async throws -> Page<ProviderSummary> {
        let centre = query.lat.flatMap { lat in query.lng.map { GeoPoint(lat: lat, lng: $0) } }
        var after: (key: Double, id: UUID)?
        if let cursor = query.page.cursor {
            let parts = try Cursor.decode(cursor, parts: 2)
            guard let key = Double(parts[0]), let id = UUID(uuidString: parts[1]) else {
                throw PlazaError.validation(field: "cursor", "is not a cursor this list gave out")
            }
            after = (key, id)
        }
        func keyset(_ key: SQLQueryString, _ id: String) -> SQLQueryString? {
            after.map { "(\(key) > \(bind: $0.key) OR (\(key) = \(bind: $0.key) AND \(unsafeRaw: id) > \(bind: $0.id)))" }
        }
        let limit = query.page.limit + 1
        var filters: [SQLQueryString] = ["p.lat IS NOT NULL", "p.listed = \(bind: true)"]
        let source: SQLQueryString
        let price: SQLQueryString
        let distance: SQLQueryString
        if let category = query.categoryId {
            // Specialists under the category, and generalists above it (a plumber fixes leaks too).
            let categories = Array(Set(try await descendants(of: category)).union(try await ancestors(of: category)))
            let offerGeo = centre.map { GeoQuery(near: $0, lat: "o.lat", lng: "o.lng") }
            let offerDistance = offerGeo?.squaredDistance ?? "NULL"
            // Offers of providers without a place yet stay out (they would take a page's places and then be dropped).
            var offers: [SQLQueryString] = ["o.category_id IN (\(binds: categories))", "o.lat IS NOT NULL"]
            if let offerGeo, let radius = query.radiusKm { offers += offerGeo.within(radiusKm: radius) }
            var candidates: SQLQueryString = """
                SELECT o.provider_id, MIN(o.price_min_amount) AS price, MIN(\(offerDistance)) AS distance FROM marketplace_offers o
                WHERE \(offers.joined(separator: " AND ")) GROUP BY o.provider_id
                """
            let indexOnly = query.text == nil && query.minRating == nil && query.availableAt == nil && query.sort != .rating
            if indexOnly {
                let key: SQLQueryString = query.sort == .distance ? "MIN(\(offerDistance))" : Self.priceKey("MIN(o.price_min_amount)")
                if let keyset = keyset(key, "o.provider_id") { candidates = candidates + " HAVING \(keyset)" }
                candidates = candidates + " ORDER BY \(key), o.provider_id LIMIT \(literal: limit)"
            }
            source = "(\(candidates)) c JOIN marketplace_providers p ON p.id = c.provider_id"
            price = "c.price"
            distance = "c.distance"
        } else {
            source = "marketplace_providers p"
            price = "p.price_from_amount"
            let geo = centre.map { GeoQuery(near: $0, lat: "p.lat", lng: "p.lng") }
            distance = geo?.squaredDistance ?? "NULL"
            if let geo, let radius = query.radiusKm { filters += geo.within(radiusKm: radius) }
        }
        if let text = query.text, let match = Self.textFilter(text, dialect: store.dialect) { filters.append(match) }
        if let minRating = query.minRating { filters.append("p.rating_avg >= \(bind: minRating)") }
        if let instant = query.availableAt { filters.append(try await availabilityFilter(at: instant)) }
        // The sort key, ascending; rating sorts by its negative so every order is "key ascending, id ascending".
        let key: SQLQueryString =
            switch query.sort {
            case .rating: "(0 - p.rating_avg)"
            case .distance: distance
            case .price: Self.priceKey(price)
            }
        if let keyset = keyset(key, "p.id") { filters.append(keyset) }
        let rows = try await store.sql.raw(
            """
            SELECT p.id, p.user_id, p.display_name, p.bio, p.rating_avg, p.rating_count, p.photos, p.lat, p.lng, p.category_ids,
                   \(price) AS price, \(key) AS sort_key
            FROM \(source)
            WHERE \(filters.joined(separator: " AND "))
            ORDER BY sort_key, p.id LIMIT \(literal: limit)
            """
        ).all()
        let page = Array(rows.prefix(query.page.limit))
        let items = try page.map { row in
            let lat = try row.decode(column: "lat", as: Double.self)
            let lng = try row.decode(column: "lng", as: Double.self)
            return ProviderSummary(
                id: try row.decode(column: "id", as: UUID.self), userId: try row.decode(column: "user_id", as: UUID.self),
                displayName: try row.decode(column: "display_name", as: String.self),
                bio: String(try row.decode(column: "bio", as: String.self).prefix(280)),
                rating: try row.decode(column: "rating_avg", as: Double.self),
                ratingCount: try row.decode(column: "rating_count", as: Int.self),
                priceFrom: try MarketplacePrice.money(row, "price", currency: settings.currency),
                distanceKm: centre.map { ($0.kilometres(to: GeoPoint(lat: lat, lng: lng)) * 100).rounded() / 100 },
                photo: try Self.decode([UUID].self, try row.decode(column: "photos", as: String.self)).first,
                categoryIds: try Self.decode([UUID].self, try row.decode(column: "category_ids", as: String.self)))
        }
        var next: String?
        if rows.count > query.page.limit, let last = page.last {
            next = Cursor.encode([
                String(try last.decode(column: "sort_key", as: Double.self)), try last.decode(column: "id", as: UUID.self).uuidString,
            ])
        }
        return Page(items: items, nextCursor: next)
    }

    /// A price as a sort key: a number (the keyset cursor carries it as one), no price last.
    static func priceKey(_ price: SQLQueryString) -> SQLQueryString {
        "CAST(COALESCE(\(price), 999999999999999) AS DOUBLE PRECISION)"
    }

    /// Words of the query as prefixes, all required: FTS5 on SQLite; on PostgreSQL the tsvector, or for a
    /// single word a name that contains something close to it by trigrams (a misspelt name still finds its provider).
    static func textFilter(_ text: String, dialect: Dialect) -> SQLQueryString? {
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.prefix(8).map { String($0.prefix(50)) }
        guard !words.isEmpty else { return nil }
        switch dialect {
        case .sqlite:
            let match = words.map { "\"\($0)\"*" }.joined(separator: " ")
            return "p.id IN (SELECT provider_id FROM marketplace_provider_search WHERE marketplace_provider_search MATCH \(bind: match))"
        case .postgres:
            let query = words.map { "\($0):*" }.joined(separator: " & ")
            // One word may also be a misspelt name (trigram word similarity); several words must all match.
            let fuzzy: SQLQueryString = words.count == 1 ? " OR \(bind: words[0]) <% lower(s.name)" : ""
            return """
                p.id IN (SELECT provider_id FROM marketplace_provider_search s
                         WHERE s.document @@ to_tsquery('simple', \(bind: query))\(fuzzy))
                """
        }
    }

    /// Weekly hours are kept in each provider's own time zone: the instant becomes a weekday and a minute in
    /// every zone providers use, and each provider is checked against its own.
    func availabilityFilter(at instant: Date) async throws -> SQLQueryString {
        let zones = try await store.sql.raw("SELECT DISTINCT time_zone FROM marketplace_providers").all()
            .compactMap { try $0.decode(column: "time_zone", as: String.self) }
        var cases: [SQLQueryString] = []
        for name in zones {
            guard let zone = TimeZone(identifier: name) else { continue }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.weekday, .hour, .minute], from: instant)
            // Calendar counts Sunday as 1; the profile counts Monday as 1.
            let weekday = ((parts.weekday ?? 1) + 5) % 7 + 1
            let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
            cases.append(
                "(p.time_zone = \(bind: name) AND a.weekday = \(bind: weekday) AND a.start_minute <= \(bind: minute) AND a.end_minute > "
                    + "\(bind: minute))"
            )
        }
        guard !cases.isEmpty else { return "1 = 0" }
        return """
            EXISTS (SELECT 1 FROM marketplace_availability a WHERE a.provider_id = p.id AND (\(cases.joined(separator: " OR "))))
            AND NOT EXISTS (SELECT 1 FROM marketplace_time_off t WHERE t.provider_id = p.id AND t.starts_at <= \(bind: instant) \
            AND t.ends_at > \(bind: instant))
            """
    }
}
