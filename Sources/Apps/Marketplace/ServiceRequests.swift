import Conversations
import Files
import Foundation
import Identity
import Jobs
import Notifications
import PlazaKit
import SQLKit
import Storage
import Workflows

/// A request's row with its workflow's state, as the service reads it before deciding anything.
struct RequestRecord: Sendable {
    var request: ServiceRequest
    var categoryName: String

    /// Who the request's rules see: the customer owns it, the assigned provider takes part.
    var facts: ResourceFacts {
        ResourceFacts(ownerID: request.customerId, participantIDs: Set([request.providerUserId].compactMap { $0 }))
    }
    var isOpen: Bool { request.providerId == nil }
}

extension MarketplaceService {
    static let maxRequestPhotos = 10

    // MARK: Creating

    /// Creates a request for one provider or, without `providerId`, open to providers nearby; starts its
    /// lifecycle (with the expiry timer), and for a chosen provider opens the thread and tells them.
    public func createRequest(_ input: NewServiceRequest, caller: Caller) async throws -> ServiceRequest {
        try policy.authorize(caller, MarketplacePolicy.createRequest)
        let customer = caller.principal!.id
        var errors: [FieldError] = []
        NewServiceRequest.descriptionLimit.check(input.description, field: "description", into: &errors)
        NewServiceRequest.addressLimit.check(input.address, field: "address", into: &errors)
        let description = input.description.trimmingCharacters(in: .whitespacesAndNewlines)
        let address = input.address.trimmingCharacters(in: .whitespacesAndNewlines)
        NumberLimit.latitude.check(input.lat, field: "lat", into: &errors)
        NumberLimit.longitude.check(input.lng, field: "lng", into: &errors)
        if let start = input.windowStart, let end = input.windowEnd, end <= start {
            errors.append(FieldError(field: "windowEnd", message: "must be after windowStart"))
        }
        let photos = input.photos ?? []
        if photos.count > Self.maxRequestPhotos || Set(photos).count != photos.count {
            errors.append(FieldError(field: "photos", message: "at most \(Self.maxRequestPhotos) photos, each once"))
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let category = try await existingCategory(input.categoryId)
        var chosen: (id: UUID, user: UUID, name: String)?
        if let providerID = input.providerId {
            guard
                let row = try await store.sql.raw("SELECT id, user_id, display_name FROM marketplace_providers WHERE id = \(bind: providerID)")
                    .first()
            else { throw PlazaError.validation(field: "providerId", "is not a provider") }
            let user = try row.decode(column: "user_id", as: UUID.self)
            if user == customer { throw PlazaError.validation(field: "providerId", "is you: ask another provider") }
            if let problem = try await eligibility(of: providerID, categoryId: input.categoryId, lat: input.lat, lng: input.lng) {
                throw PlazaError.validation(field: "providerId", problem)
            }
            chosen = (providerID, user, try row.decode(column: "display_name", as: String.self))
        }
        let provider = chosen
        let customerName = try await displayName(ofCustomer: customer)
        let id = try await store.transaction { transaction in
            let now = transaction.clock.now()
            let id = PlazaID.make(at: now)
            let instance = try await workflows.start(
                RequestLifecycle.name, subject: "marketplace-request:\(id.uuidString.lowercased())", owner: customer,
                participants: provider.map { [$0.user] } ?? [], caller: caller, in: transaction)
            try await transaction.sql.raw(
                """
                INSERT INTO marketplace_requests (id, customer_id, provider_id, provider_user_id, category_id, description, address, lat, lng,
                                                  window_start, window_end, photos, workflow_id, created_at, updated_at)
                VALUES (\(bind: id), \(bind: customer), \(bind: provider?.id), \(bind: provider?.user), \(bind: input.categoryId),\
                 \(bind: description),
                        \(bind: address), \(bind: input.lat), \(bind: input.lng), \(bind: input.windowStart), \(bind: input.windowEnd),
                        \(bind: try Self.encode(photos)), \(bind: instance.id), \(bind: now), \(bind: now))
                """
            ).run()
            try await files.attach(
                photos, purpose: .servicePhoto, to: "marketplace-request", id.uuidString.lowercased(), field: "photos", caller: caller,
                in: transaction)
            if provider == nil {
                try await queue.enqueue(try JobRequest(RequestLifecycle.alertJob, payload: ["requestId": id], maxAttempts: 8), in: transaction)
            }
            if let provider {
                try await openConversation(
                    for: id, customer: customer, provider: provider.user, category: category.name, caller: caller, in: transaction)
                try await notifications.notify(
                    NotificationRequest(
                        audience: .users([provider.user]), template: MarketplaceNotices.template("new"),
                        data: [
                            "customer": .string(customerName), "category": .string(category.name),
                            "description": .string(String(description.prefix(140))),
                            "requestId": .string(id.uuidString.lowercased()),
                        ]),
                    dedupeKey: "marketplace-request:\(id):new", caller: caller, in: transaction)
            }
            try await transaction.audit(caller, action: "marketplace.request.create", resourceType: "service-request", resourceID: id.uuidString)
            return id
        }
        return try await request(id, caller: caller)
    }

    func existingCategory(_ id: UUID) async throws -> ServiceCategory {
        do { return try await category(id) } catch let error as PlazaError where error.status == .notFound {
            throw PlazaError.validation(field: "categoryId", "is not a category")
        }
    }

    /// Why a provider cannot take a request for `categoryId` at a point, or nil when it can: it must offer
    /// the category (or one above it) and the point must lie in its service area.
    func eligibility(of provider: UUID, categoryId: UUID, lat: Double, lng: Double, on sql: (any SQLDatabase)? = nil) async throws -> String? {
        let sql = sql ?? store.sql
        guard let row = try await sql.raw("SELECT lat, lng, radius_km, listed FROM marketplace_providers WHERE id = \(bind: provider)").first()
        else { return "is not a provider" }
        guard try row.decode(column: "listed", as: Bool.self) else { return "is not taking requests (the account is disabled)" }
        let offered = Set(
            try await sql.raw("SELECT category_id FROM marketplace_offers WHERE provider_id = \(bind: provider)").all()
                .map { try $0.decode(column: "category_id", as: UUID.self) })
        guard !offered.isDisjoint(with: try await ancestors(of: categoryId, on: sql)) else { return "does not offer this category" }
        guard let centreLat = try row.decode(column: "lat", as: Double?.self), let centreLng = try row.decode(column: "lng", as: Double?.self),
            GeoPoint(lat: centreLat, lng: centreLng).kilometres(to: GeoPoint(lat: lat, lng: lng))
                <= (try row.decode(column: "radius_km", as: Double.self))
        else { return "does not work at this address (outside the service area)" }
        return nil
    }

    /// The category and every one above it.
    func ancestors(of id: UUID, on sql: (any SQLDatabase)? = nil) async throws -> Set<UUID> {
        guard let sql else {
            // Outside a transaction the cached tree will do.
            let parents = Dictionary(uniqueKeysWithValues: try await categories().map { ($0.id, $0.parentId) })
            var found: Set<UUID> = []
            var cursor: UUID? = id
            while let node = cursor, found.insert(node).inserted { cursor = parents[node] ?? nil }
            return found
        }
        var found: Set<UUID> = []
        var cursor: UUID? = id
        while let node = cursor, found.insert(node).inserted {
            cursor = try await sql.raw("SELECT parent_id FROM marketplace_categories WHERE id = \(bind: node)").first()?
                .decode(column: "parent_id", as: UUID?.self)
        }
        return found
    }

    func displayName(ofCustomer id: UUID) async throws -> String {
        if let row = try await store.sql.raw("SELECT display_name FROM marketplace_customers WHERE user_id = \(bind: id)").first() {
            return try row.decode(column: "display_name", as: String.self)
        }
        return try await identity.contact(id)?.firstName ?? "A customer"
    }

    func openConversation(
        for request: UUID, customer: UUID, provider: UUID, category: String, caller: Caller, in transaction: Transaction
    ) async throws {
        let conversation = try await conversations.open(
            about: ConversationContext(type: RequestLifecycle.conversationContext, id: request.uuidString.lowercased()),
            participants: [customer, provider], subject: category, caller: caller, in: transaction)
        try await transaction.sql.raw("UPDATE marketplace_requests SET conversation_id = \(bind: conversation) WHERE id = \(bind: request)").run()
    }

    // MARK: Reading

    /// A request, for its customer, its provider and (while it is open) the providers it is offered to;
    /// everyone else gets 404.
    public func request(_ id: UUID, caller: Caller) async throws -> ServiceRequest {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        return shaped(record.request, for: caller)
    }

    /// A request's history, oldest step first.
    public func history(of id: UUID, caller: Caller) async throws -> [RequestStep] {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        return try await workflows.history(record.request.workflowId).map(RequestStep.init)
    }

    /// The caller's requests, newest first: as customer (`role=customer`, the default for customers) or as
    /// provider (`role=provider`); `status` narrows them.
    public func requests(role: String?, status: String?, page: PageRequest, caller: Caller) async throws -> Page<ServiceRequest> {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let role = role ?? (principal.hasAppRole("provider", in: MarketplacePolicy.app) ? "provider" : "customer")
        let column: SQLQueryString
        switch role {
        case "customer": column = "r.customer_id"
        case "provider": column = "r.provider_user_id"
        default: throw PlazaError.validation(field: "role", "must be customer or provider")
        }
        let states = RequestLifecycle.shape.states
        if let status, !states.contains(status) {
            throw PlazaError.validation(field: "status", "must be one of \(states.joined(separator: ", "))")
        }
        var sql: SQLQueryString = "\(Self.selectRequests) WHERE \(column) = \(bind: principal.id)"
        if let status { sql = sql + " AND w.state = \(bind: status)" }
        if let cursor = page.cursor { sql = sql + " AND r.id < \(bind: try Cursor.decodeID(cursor))" }
        sql = sql + " ORDER BY r.id DESC LIMIT \(literal: page.limit + 1)"
        let records = try await store.sql.raw(sql).all().map(Self.record(row:))
        return .byID(records.map { shaped($0.request, for: caller) }, limit: page.limit, id: \.id)
    }

    /// Pending open requests a provider could take: in a category it offers (or under one), inside its
    /// service area; nearest first.
    public func openRequests(page: PageRequest, caller: Caller) async throws -> Page<ServiceRequest> {
        try policy.authorize(caller, MarketplacePolicy.browseOpenRequests)
        guard
            let row = try await store.sql.raw(
                "SELECT id, lat, lng, radius_km FROM marketplace_providers WHERE user_id = \(bind: caller.principal!.id)"
            ).first(),
            let lat = try row.decode(column: "lat", as: Double?.self), let lng = try row.decode(column: "lng", as: Double?.self)
        else { return Page(items: [], nextCursor: nil) }
        let provider = try row.decode(column: "id", as: UUID.self)
        let radius = try row.decode(column: "radius_km", as: Double.self)
        var categories: [UUID] = []
        for offered in try await store.sql.raw("SELECT category_id FROM marketplace_offers WHERE provider_id = \(bind: provider)").all() {
            categories += try await descendants(of: try offered.decode(column: "category_id", as: UUID.self))
        }
        guard !categories.isEmpty else { return Page(items: [], nextCursor: nil) }
        let near = GeoQuery(near: GeoPoint(lat: lat, lng: lng), lat: "r.lat", lng: "r.lng").within(radiusKm: radius)
        var sql: SQLQueryString = """
            \(Self.selectRequests) WHERE r.provider_id IS NULL AND w.state = 'pending' AND r.category_id IN (\(binds: categories))
              AND r.customer_id <> \(bind: caller.principal!.id) AND \(near.joined(separator: " AND "))
            """
        if let cursor = page.cursor { sql = sql + " AND r.id < \(bind: try Cursor.decodeID(cursor))" }
        sql = sql + " ORDER BY r.id DESC LIMIT \(literal: page.limit + 1)"
        let records = try await store.sql.raw(sql).all().map(Self.record(row:))
        return .byID(records.map { shaped($0.request, for: caller) }, limit: page.limit, id: \.id)
    }

    /// Asks the policy whether the caller may read the request. An open request counts the providers it is
    /// offered to (those who could take it) among its participants while it waits.
    @discardableResult
    func authorizeRead(_ record: RequestRecord, caller: Caller) async throws -> ResourceFacts {
        var facts = record.facts
        if record.isOpen, record.request.status == "pending", let principal = caller.principal,
            policy.allowsQuietly(caller, MarketplacePolicy.browseOpenRequests, .none),
            try await mayTake(record.request, user: principal.id)
        {
            facts.participantIDs.insert(principal.id)
        }
        guard policy.allowsQuietly(caller, MarketplacePolicy.readRequest, facts) else { throw Self.requestNotFound(record.request.id) }
        try policy.authorize(caller, MarketplacePolicy.readRequest, facts)
        return facts
    }

    /// Whether `user`'s provider profile could take an open request.
    func mayTake(_ request: ServiceRequest, user: UUID) async throws -> Bool {
        guard user != request.customerId,
            let provider = try await store.sql.raw("SELECT id FROM marketplace_providers WHERE user_id = \(bind: user)").first()?
                .decode(column: "id", as: UUID.self)
        else { return false }
        return try await eligibility(of: provider, categoryId: request.categoryId, lat: request.lat, lng: request.lng) == nil
    }

    /// The request as the caller sees it: the commands listed are the caller's side's.
    func shaped(_ request: ServiceRequest, for caller: Caller) -> ServiceRequest {
        var request = request
        let id = caller.principal?.id
        let mine =
            id == request.customerId
            ? RequestLifecycle.customerCommands
            : (id == request.providerUserId || request.providerId == nil) ? RequestLifecycle.providerCommands : []
        request.allowedCommands = request.allowedCommands.filter(mine.contains)
        // Nobody declines an open request: it stays for the other providers.
        if request.providerId == nil { request.allowedCommands.removeAll { $0 == "decline" } }
        return request
    }

    static let selectRequests: SQLQueryString = """
        SELECT r.*, w.state, w.version, c.name AS category_name FROM marketplace_requests r
        JOIN workflow_instances w ON w.id = r.workflow_id JOIN marketplace_categories c ON c.id = r.category_id
        """

    func record(_ id: UUID, on sql: any SQLDatabase) async throws -> RequestRecord? {
        try await sql.raw("\(Self.selectRequests) WHERE r.id = \(bind: id)").first().map(Self.record(row:))
    }

    static func record(row: any SQLRow) throws -> RequestRecord {
        let state = try row.decode(column: "state", as: String.self)
        let priceCurrency = try row.decode(column: "price_currency", as: String?.self).flatMap(Currency.init(code:)) ?? .uah
        return RequestRecord(
            request: ServiceRequest(
                status: state, id: try row.decode(column: "id", as: UUID.self), customerId: try row.decode(column: "customer_id", as: UUID.self),
                providerId: try row.decode(column: "provider_id", as: UUID?.self),
                providerUserId: try row.decode(column: "provider_user_id", as: UUID?.self),
                categoryId: try row.decode(column: "category_id", as: UUID.self), description: try row.decode(column: "description", as: String.self),
                address: try row.decode(column: "address", as: String.self), lat: try row.decode(column: "lat", as: Double.self),
                lng: try row.decode(column: "lng", as: Double.self), windowStart: try row.decode(column: "window_start", as: Date?.self),
                windowEnd: try row.decode(column: "window_end", as: Date?.self),
                photos: try decode([UUID].self, try row.decode(column: "photos", as: String.self)),
                workflowId: try row.decode(column: "workflow_id", as: UUID.self), version: try row.decode(column: "version", as: Int.self),
                allowedCommands: RequestLifecycle.shape.commands(in: state),
                conversationId: try row.decode(column: "conversation_id", as: UUID?.self),
                agreedPrice: try MarketplacePrice.money(row, "agreed_price_amount", currency: priceCurrency),
                finalPrice: try MarketplacePrice.money(row, "final_price_amount", currency: priceCurrency),
                createdAt: try row.decode(column: "created_at", as: Date.self), updatedAt: try row.decode(column: "updated_at", as: Date.self),
                acceptedAt: try row.decode(column: "accepted_at", as: Date?.self), completedAt: try row.decode(column: "completed_at", as: Date?.self)
            ),
            categoryName: try row.decode(column: "category_name", as: String.self))
    }

    static func requestNotFound(_ id: UUID) -> PlazaError { PlazaError.notFound("There is no service request \(id).") }
}

extension MarketplaceService {
    /// The customer adds photos (files of purpose `service-photo` they uploaded) to their request before
    /// the job is done.
    public func addPhotos(_ ids: [UUID], to id: UUID, caller: Caller) async throws -> ServiceRequest {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        try policy.authorize(caller, MarketplacePolicy.editRequest, ResourceFacts(ownerID: record.request.customerId))
        guard ["pending", "accepted", "in_progress"].contains(record.request.status) else {
            throw PlazaError.conflict("Photos are added before the job is done; this request is \(record.request.status).")
        }
        try await store.transaction { transaction in
            guard let row = try await transaction.sql.raw("SELECT photos FROM marketplace_requests WHERE id = \(bind: id)").first() else {
                throw Self.requestNotFound(id)
            }
            let photos = try Self.decode([UUID].self, try row.decode(column: "photos", as: String.self))
            let added = ids.filter { !photos.contains($0) }
            guard photos.count + added.count <= Self.maxRequestPhotos else {
                throw PlazaError.validation(field: "photos", "at most \(Self.maxRequestPhotos) photos")
            }
            try await files.attach(
                added, purpose: .servicePhoto, to: "marketplace-request", id.uuidString.lowercased(), field: "photos", caller: caller, in: transaction
            )
            try await transaction.sql.raw(
                """
                UPDATE marketplace_requests SET photos = \(bind: try Self.encode(photos + added)), updated_at = \(bind: transaction.clock.now())
                WHERE id = \(bind: id)
                """
            ).run()
        }
        return try await request(id, caller: caller)
    }
}
