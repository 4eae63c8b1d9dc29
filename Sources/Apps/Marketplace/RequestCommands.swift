import Foundation
import Identity
import Notifications
import PlazaKit
import SQLKit
import Storage
import Workflows

extension MarketplaceService {
    /// Sends one of a request's commands (`accept`, `decline`, `start`, `complete`, `cancel`): the
    /// transition, its domain change (the price, the provider taking an open request, the thread), the
    /// notification to the other side and the live event commit together.
    public func send(_ command: String, to id: UUID, _ body: RequestCommand, caller: Caller) async throws -> ServiceRequest {
        guard (RequestLifecycle.providerCommands + RequestLifecycle.customerCommands).contains(command) else {
            throw PlazaError.notFound("Requests take accept, decline, start, complete and cancel; not \(command).")
        }
        var errors: [FieldError] = []
        MarketplacePrice.check(body.price, field: "price", currency: settings.currency, into: &errors)
        WorkflowEngine.commentLimit.check(body.comment, field: "comment", into: &errors)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        guard let before = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        // The side's rule first (a customer accepting is refused whatever the state), then the lifecycle's.
        let facts = try await authorizeRead(before, caller: caller)
        try policy.authorize(caller, command == "cancel" ? MarketplacePolicy.cancel : MarketplacePolicy.respond, facts)
        let names = (
            customer: try await displayName(ofCustomer: before.request.customerId), provider: try await providerName(before.request.providerId)
        )
        let takerName = before.isOpen && command == "accept" ? try await providerName(userId: principal.id) : nil
        try await store.transaction { transaction in
            guard var record = try await record(id, on: transaction.sql) else { throw Self.requestNotFound(id) }
            let now = transaction.clock.now()
            let sql = transaction.sql
            if record.isOpen {
                guard command != "decline" else { throw PlazaError.conflict("Nobody declines an open request: leave it for the other providers.") }
                if command == "accept" {
                    guard principal.id != record.request.customerId else { throw PlazaError.forbidden("You cannot take your own request.") }
                    // The first provider to accept takes it; the version check below makes a second one lose.
                    guard
                        let provider = try await sql.raw("SELECT id FROM marketplace_providers WHERE user_id = \(bind: principal.id)").first()?
                            .decode(column: "id", as: UUID.self),
                        try await eligibility(
                            of: provider, categoryId: record.request.categoryId, lat: record.request.lat, lng: record.request.lng, on: sql) == nil
                    else { throw PlazaError.forbidden("Only a provider who offers this category here may take the request.") }
                    try await sql.raw(
                        """
                        UPDATE marketplace_requests SET provider_id = \(bind: provider), provider_user_id = \(bind: principal.id) \
                        WHERE id = \(bind: id)
                        """
                    ).run()
                    try await workflows.addParticipant(principal.id, to: record.request.workflowId, in: transaction)
                    record.request.providerId = provider
                    record.request.providerUserId = principal.id
                }
            }
            let payload: JSONValue? = body.price.map { .object(["price": MarketplacePrice.json($0)]) }
            let instance = try await workflows.send(
                command, to: record.request.workflowId, expectedVersion: body.expectedVersion, payload: payload, comment: body.comment,
                caller: caller, in: transaction)
            switch command {
            case "accept":
                try await sql.raw(
                    """
                    UPDATE marketplace_requests SET agreed_price_amount = \(bind: body.price?.amount), price_currency = \(bind: settings.currency.code),
                        accepted_at = \(bind: now), updated_at = \(bind: now)
                    WHERE id = \(bind: id)
                    """
                ).run()
                if record.request.conversationId == nil, let provider = record.request.providerUserId {
                    try await openConversation(
                        for: id, customer: record.request.customerId, provider: provider, category: record.categoryName,
                        caller: caller, in: transaction)
                }
            case "complete":
                let price = body.price ?? record.request.agreedPrice
                try await sql.raw(
                    """
                    UPDATE marketplace_requests SET final_price_amount = \(bind: price?.amount),
                        price_currency = \(bind: (price?.currency ?? settings.currency).code),
                        completed_at = \(bind: now), updated_at = \(bind: now) WHERE id = \(bind: id)
                    """
                ).run()
                // What the job brought goes into the books with it: the provider's earnings are read there.
                if let price, price.amount > 0, let provider = record.request.providerUserId {
                    try await ledger.post(MarketplacePrice.jobPaid(request: id, providerUser: provider, price: price), in: transaction)
                }
                try await sql.raw(
                    "UPDATE marketplace_providers SET completed_jobs = completed_jobs + 1 WHERE id = \(bind: record.request.providerId)"
                ).run()
                try await keepLastPoint(of: id, in: transaction)
            case "cancel":
                try await sql.raw("UPDATE marketplace_requests SET updated_at = \(bind: now) WHERE id = \(bind: id)").run()
                try await keepLastPoint(of: id, in: transaction)
            default:
                try await sql.raw("UPDATE marketplace_requests SET updated_at = \(bind: now) WHERE id = \(bind: id)").run()
            }
            let event = ["accept": "accepted", "decline": "declined", "start": "started", "complete": "completed", "cancel": "cancelled"][command]!
            // The other side hears of it: the customer of what the provider did, the provider of a cancellation.
            let recipient = command == "cancel" ? record.request.providerUserId : record.request.customerId
            if let recipient {
                try await notifications.notify(
                    NotificationRequest(
                        audience: .users([recipient]), template: MarketplaceNotices.template(event),
                        data: [
                            "customer": .string(names.customer), "provider": .string(takerName ?? names.provider ?? "The provider"),
                            "category": .string(record.categoryName), "description": .string(String(record.request.description.prefix(140))),
                            "requestId": .string(id.uuidString.lowercased()),
                        ]),
                    dedupeKey: "marketplace-request:\(id):\(instance.version)", caller: caller, in: transaction)
            }
            try await publishStatus(of: id, instance, in: transaction)
            try await transaction.audit(
                caller, action: "marketplace.request.\(command)", resourceType: "service-request", resourceID: id.uuidString,
                details: ["status": .string(instance.state)])
        }
        return try await request(id, caller: caller)
    }

    /// Tells both sides' open pages the request moved (`marketplace-request:<id>`).
    func publishStatus(of id: UUID, _ instance: WorkflowInstance, in transaction: Transaction) async throws {
        try await publisher.publish(
            ["kind": "status", "requestId": id.uuidString.lowercased(), "status": instance.state, "version": String(instance.version)],
            to: "marketplace-request:\(id.uuidString.lowercased())", in: transaction)
    }

    func providerName(_ provider: UUID?) async throws -> String? {
        guard let provider else { return nil }
        return try await store.sql.raw("SELECT display_name FROM marketplace_providers WHERE id = \(bind: provider)").first()?
            .decode(column: "display_name", as: String.self)
    }

    func providerName(userId: UUID) async throws -> String? {
        try await store.sql.raw("SELECT display_name FROM marketplace_providers WHERE user_id = \(bind: userId)").first()?
            .decode(column: "display_name", as: String.self)
    }

    // MARK: Activities

    /// The expiry timer moved a request on: the customer hears of it, and open pages see it.
    func announceExpiry(of instance: WorkflowInstance) async throws {
        guard let row = try await store.sql.raw("SELECT id FROM marketplace_requests WHERE workflow_id = \(bind: instance.id)").first() else {
            return
        }
        let id = try row.decode(column: "id", as: UUID.self)
        guard let record = try await record(id, on: store.sql) else { return }
        try await store.transaction { transaction in
            try await notifications.notify(
                NotificationRequest(
                    audience: .users([record.request.customerId]), template: MarketplaceNotices.template("expired"),
                    data: [
                        "category": .string(record.categoryName), "requestId": .string(id.uuidString.lowercased()),
                    ]),
                dedupeKey: "marketplace-request:\(id):\(instance.version)", caller: .system("marketplace"), in: transaction)
            try await publishStatus(of: id, instance, in: transaction)
        }
    }

    /// A new open request: the nearest providers who could take it hear of it (at most `alertLimit`; each
    /// notification's dedupe key makes a retried job tell nobody twice).
    func alertProviders(for id: UUID) async throws {
        guard let record = try await record(id, on: store.sql), record.isOpen else { return }
        let request = record.request
        let categories = Array(try await ancestors(of: request.categoryId))
        let point = GeoPoint(lat: request.lat, lng: request.lng)
        let geo = GeoQuery(near: point, lat: "p.lat", lng: "p.lng")
        let distance = geo.squaredDistance
        let nearby = try await store.sql.raw(
            """
            SELECT p.user_id, p.lat, p.lng FROM marketplace_providers p
            WHERE \(geo.box(radiusKm: Self.maxRadiusKm).joined(separator: " AND "))
              AND \(distance) <= p.radius_km * p.radius_km AND p.user_id <> \(bind: request.customerId)
              AND EXISTS (SELECT 1 FROM marketplace_offers o WHERE o.provider_id = p.id AND o.category_id IN (\(binds: categories)))
            ORDER BY \(distance) LIMIT \(literal: settings.alertLimit)
            """
        ).all()
        try await store.transaction { transaction in
            for provider in nearby {
                let user = try provider.decode(column: "user_id", as: UUID.self)
                let km = point.kilometres(
                    to: GeoPoint(lat: try provider.decode(column: "lat", as: Double.self), lng: try provider.decode(column: "lng", as: Double.self)))
                try await notifications.notify(
                    NotificationRequest(
                        audience: .users([user]), template: MarketplaceNotices.template("nearby"),
                        data: [
                            "category": .string(record.categoryName), "description": .string(String(request.description.prefix(140))),
                            "distance": .string(String(format: "%.1f", km)), "requestId": .string(request.id.uuidString.lowercased()),
                        ]),
                    dedupeKey: "marketplace-request:\(request.id):nearby:\(user)", caller: .system("marketplace"), in: transaction)
            }
        }
    }
}
