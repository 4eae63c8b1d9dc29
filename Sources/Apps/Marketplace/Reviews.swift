import Foundation
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    /// The customer's review of a completed request: once, 1 to 5 stars. The provider's average, count and
    /// star distribution change in the same transaction.
    public func review(_ id: UUID, _ input: ReviewInput, caller: Caller) async throws -> ProviderReview {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        try policy.authorize(caller, MarketplacePolicy.review, ResourceFacts(ownerID: record.request.customerId))
        var errors: [FieldError] = []
        ReviewInput.ratingLimit.check(input.rating, field: "rating", into: &errors)
        ReviewInput.textLimit.check(input.text, field: "text", into: &errors)
        let text = input.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        guard record.request.status == "completed", let provider = record.request.providerId else {
            throw PlazaError.conflict("Only a completed request can be reviewed; this one is \(record.request.status).")
        }
        let reviewID: UUID
        do {
            reviewID = try await store.transaction { transaction in
                if try await transaction.sql.raw("SELECT id FROM marketplace_reviews WHERE request_id = \(bind: id)").first() != nil {
                    throw PlazaError.conflict("This request has a review already.")
                }
                let now = transaction.clock.now()
                let reviewID = PlazaID.make(at: now)
                try await transaction.sql.raw(
                    """
                    INSERT INTO marketplace_reviews (id, request_id, provider_id, customer_id, rating, text, created_at)
                    VALUES (\(bind: reviewID), \(bind: id), \(bind: provider), \(bind: record.request.customerId),\
                     \(bind: input.rating), \(bind: text), \(bind: now))
                    """
                ).run()
                try await recountRatings(of: provider, in: transaction)
                try await transaction.audit(caller, action: "marketplace.review.create", resourceType: "review", resourceID: reviewID.uuidString)
                return reviewID
            }
        } catch let error where isUniqueViolation(error) {
            throw PlazaError.conflict("This request has a review already.")
        }
        return try await storedReview(reviewID)
    }

    /// The provider's one answer to a review.
    public func answer(review id: UUID, _ input: ReviewText, caller: Caller) async throws -> ProviderReview {
        let review = try await storedReview(id)
        let owner = try await store.sql.raw("SELECT user_id FROM marketplace_providers WHERE id = \(bind: review.providerId)").first()?
            .decode(column: "user_id", as: UUID.self)
        try policy.authorize(caller, MarketplacePolicy.answerReview, ResourceFacts(ownerID: owner))
        try ReviewText.textLimit.require(input.text, field: "text")
        let text = input.text.trimmingCharacters(in: .whitespacesAndNewlines)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            let updated = try await transaction.sql.raw(
                """
                UPDATE marketplace_reviews SET answer = \(bind: text), answered_at = \(bind: now) WHERE id = \(bind: id) AND \
                answer IS NULL RETURNING id
                """
            ).all()
            guard !updated.isEmpty else { throw PlazaError.conflict("The review has an answer already.") }
            try await transaction.audit(caller, action: "marketplace.review.answer", resourceType: "review", resourceID: id.uuidString)
        }
        return try await storedReview(id)
    }

    /// A moderator hides a review, with a reason: it stops counting in the provider's rating.
    public func hide(review id: UUID, _ input: ReviewText, caller: Caller) async throws -> ProviderReview {
        try policy.authorize(caller, MarketplacePolicy.moderate)
        try ReviewText.textLimit.require(input.text, field: "text")
        let reason = input.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let review = try await storedReview(id)
        guard review.hiddenAt == nil else { throw PlazaError.conflict("The review is hidden already.") }
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                """
                UPDATE marketplace_reviews SET hidden_at = \(bind: transaction.clock.now()), hidden_by = \(bind: caller.principal?.id),
                    hidden_reason = \(bind: reason) WHERE id = \(bind: id)
                """
            ).run()
            try await recountRatings(of: review.providerId, in: transaction)
            try await transaction.audit(
                caller, action: "marketplace.review.hide", resourceType: "review", resourceID: id.uuidString, details: ["reason": .string(reason)])
        }
        return try await storedReview(id)
    }

    /// A provider's visible reviews, newest first.
    public func reviews(ofProvider provider: UUID, page: PageRequest) async throws -> Page<ProviderReview> {
        _ = try await self.provider(provider)
        var sql: SQLQueryString = "SELECT * FROM marketplace_reviews WHERE provider_id = \(bind: provider) AND hidden_at IS NULL"
        if let cursor = page.cursor { sql = sql + " AND id < \(bind: try Cursor.decodeID(cursor))" }
        sql = sql + " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        return .byID(try await store.sql.raw(sql).all().map(Self.review(row:)), limit: page.limit, id: \.id)
    }

    /// The review of a request, if it has one (for the request's two sides).
    public func review(ofRequest id: UUID, caller: Caller) async throws -> ProviderReview? {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        return try await store.sql.raw("SELECT * FROM marketplace_reviews WHERE request_id = \(bind: id)").first().map(Self.review(row:))
    }

    /// Recounts from the visible reviews: the average, the count and each star's count move together.
    func recountRatings(of provider: UUID, in transaction: Transaction) async throws {
        try await searchChanged(provider: provider, caller: nil, in: transaction)
        var stars = [0, 0, 0, 0, 0]
        for row in try await transaction.sql.raw(
            """
            SELECT rating, COUNT(*) AS n FROM marketplace_reviews WHERE provider_id = \(bind: provider) AND hidden_at IS NULL GROUP BY rating
            """
        ).all() {
            stars[try row.decode(column: "rating", as: Int.self) - 1] = try row.decode(column: "n", as: Int.self)
        }
        let count = stars.reduce(0, +)
        let sum = stars.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        let average = count == 0 ? 0 : (Double(sum) / Double(count) * 100).rounded() / 100
        try await transaction.sql.raw(
            """
            UPDATE marketplace_providers SET rating_avg = \(bind: average), rating_count = \(bind: count),
                stars = \(bind: try Self.encode(stars)) WHERE id = \(bind: provider)
            """
        ).run()
    }

    func storedReview(_ id: UUID) async throws -> ProviderReview {
        guard let row = try await store.sql.raw("SELECT * FROM marketplace_reviews WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("There is no review \(id).")
        }
        return try Self.review(row: row)
    }

    static func review(row: any SQLRow) throws -> ProviderReview {
        ProviderReview(
            id: try row.decode(column: "id", as: UUID.self), requestId: try row.decode(column: "request_id", as: UUID.self),
            providerId: try row.decode(column: "provider_id", as: UUID.self), customerId: try row.decode(column: "customer_id", as: UUID.self),
            rating: try row.decode(column: "rating", as: Int.self), text: try row.decode(column: "text", as: String.self),
            answer: try row.decode(column: "answer", as: String?.self), answeredAt: try row.decode(column: "answered_at", as: Date?.self),
            hiddenAt: try row.decode(column: "hidden_at", as: Date?.self), createdAt: try row.decode(column: "created_at", as: Date.self))
    }
}

extension MarketplaceService {
    /// Reviews for moderators, newest first: the visible ones, or those hidden already.
    public func moderationQueue(hidden: Bool, page: PageRequest, caller: Caller) async throws -> Page<ProviderReview> {
        try policy.authorize(caller, MarketplacePolicy.moderate)
        var sql: SQLQueryString = "SELECT * FROM marketplace_reviews WHERE hidden_at IS \(unsafeRaw: hidden ? "NOT NULL" : "NULL")"
        if let cursor = page.cursor { sql = sql + " AND id < \(bind: try Cursor.decodeID(cursor))" }
        sql = sql + " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        return .byID(try await store.sql.raw(sql).all().map(Self.review(row:)), limit: page.limit, id: \.id)
    }
}
