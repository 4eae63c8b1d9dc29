import Conversations
import Foundation
import Identity
import PlazaKit
import SQLKit
import Storage
import Workflows

/// Demo data for the marketplace (`plaza seed --demo`): a category tree, 50 providers around Kyiv with
/// weekly hours (the demo provider among them, near the demo customer), customers, past completed jobs with
/// reviews, and one accepted request whose thread has a conversation going.
public enum MarketplaceDemo {
    public static let city = (name: "Kyiv", lat: 50.4501, lng: 30.5234)

    /// A thread to fill after the seed commits (messages are sent through the conversations service).
    public struct Thread: Sendable {
        public var conversation: UUID
        public var customer: UUID
        public var provider: UUID
        public var messages: [(fromCustomer: Bool, text: String)]
    }

    static let tree: [(name: String, children: [String])] = [
        ("Plumbing", ["Leaks and pipes", "Boilers and heating"]), ("Electrics", ["Wiring", "Lighting"]),
        ("Mechanics", ["Car repair", "Bicycles"]), ("Cleaning", []), ("Carpentry", []), ("Painting", []),
    ]
    static let firstNames = ["Andriy", "Olena", "Taras", "Iryna", "Mykola", "Oksana", "Petro", "Sofia", "Yurii", "Daryna"]
    static let trades = ["Fix", "Pro", "Masters", "Service", "Works"]

    /// Seeds in the caller's transaction; `provider` and `customer` are the demo accounts, `passwordHash`
    /// the demo password's (``IdentityDemo/passwordHash(_:)``), for the other people.
    public static func seed(
        _ service: MarketplaceService, provider demoProvider: UUID, customer demoCustomer: UUID, passwordHash hash: String,
        in transaction: Transaction
    ) async throws -> Thread {
        let sql = transaction.sql
        let now = transaction.clock.now()
        var random = Random(seed: 2026)
        // Categories.
        var leaves: [UUID] = []
        var roots: [String: UUID] = [:]
        for (position, entry) in tree.enumerated() {
            let root = try await category(entry.name, parent: nil, position: position, in: transaction)
            roots[entry.name] = root
            if entry.children.isEmpty { leaves.append(root) }
            for (index, child) in entry.children.enumerated() {
                leaves.append(try await category(child, parent: root, position: index, in: transaction))
            }
        }
        // People: 49 more providers and five customers.
        let providerPeople = (1...49).map { index in
            let first = firstNames[index % firstNames.count]
            return (
                email: String(format: "provider%02d@demo.plaza.test", index), firstName: first, lastName: "Demo", role: "provider",
                app: Roles.everyApp
            )
        }
        let providerUsers = [demoProvider] + (try await IdentityDemo.add(providerPeople, passwordHash: hash, in: transaction))
        let customerPeople = (1...5).map {
            (
                email: String(format: "customer%02d@demo.plaza.test", $0), firstName: firstNames[($0 + 3) % firstNames.count], lastName: "Demo",
                role: "customer", app: Roles.everyApp
            )
        }
        let customers = [demoCustomer] + (try await IdentityDemo.add(customerPeople, passwordHash: hash, in: transaction))
        for (index, customer) in customers.enumerated() {
            try await sql.raw(
                """
                INSERT INTO marketplace_customers (user_id, display_name, address, lat, lng, created_at, updated_at)
                VALUES (\(bind: customer), \(bind: index == 0 ? "Customer Demo" : "\(firstNames[(index + 3) % firstNames.count]) D."),
                        \(bind: "Khreshchatyk \(index + 1), Kyiv"), \(bind: city.lat + Double(index) * 0.004), \(bind: city.lng),\
                 \(bind: now), \(bind: now))
                """
            ).run()
        }
        // Providers: the demo one 2 km north of the centre offering plumbing and electrics; the others spread over 12 km.
        var profiles: [UUID] = []
        for (index, user) in providerUsers.enumerated() {
            let id = PlazaID.make(at: now)
            let name = index == 0 ? "Provider Demo — plumbing & electrics" : "\(firstNames[index % firstNames.count]) \(trades[index % trades.count])"
            let (lat, lng) =
                index == 0 ? (city.lat + 2 / 110.574, city.lng) : (city.lat + random.next(in: -0.11...0.11), city.lng + random.next(in: -0.17...0.17))
            try await sql.raw(
                """
                INSERT INTO marketplace_providers (id, user_id, display_name, bio, photos, lat, lng, radius_km, time_zone, category_ids, listed,
                                                   rating_avg, rating_count, stars, completed_jobs, created_at, updated_at)
                VALUES (\(bind: id), \(bind: user), \(bind: name),\
                 \(bind: "Licensed, insured, \(5 + index % 20) years of experience. Clean work, fair prices."),
                        '[]', \(bind: lat), \(bind: lng), \(bind: Double(8 + index % 5 * 3)), 'Europe/Kyiv', '[]', \(bind: true), \
                0, 0, '[0,0,0,0,0]', 0,
                        \(bind: now), \(bind: now))
                """
            ).run()
            let offered =
                index == 0
                ? [roots["Plumbing"]!, roots["Electrics"]!] : Array(Set([leaves[index % leaves.count], leaves[(index * 7) % leaves.count]]))
            for category in offered {
                // Whole hryvnias from ₴200, in kopiykas.
                let low = Int64(200 + (index * 130) % 600) * 100
                try await sql.raw(
                    """
                    INSERT INTO marketplace_offers (provider_id, category_id, price_min_amount, price_max_amount, currency, lat, lng)
                    VALUES (\(bind: id), \(bind: category), \(bind: low), \(bind: low * 5 / 2), \(bind: service.settings.currency.code), \(bind: lat),
                            \(bind: lng))
                    """
                ).run()
            }
            try await sql.raw(
                """
                UPDATE marketplace_providers
                SET price_from_amount = (SELECT MIN(price_min_amount) FROM marketplace_offers WHERE provider_id = \(bind: id)),
                    category_ids = \(bind: try MarketplaceService.encode(offered)) WHERE id = \(bind: id)
                """
            ).run()
            for weekday in 1...(index % 3 == 0 ? 7 : 6) {
                try await sql.raw(
                    """
                    INSERT INTO marketplace_availability (provider_id, weekday, start_minute, end_minute) VALUES (\(bind: id),\
                     \(bind: weekday), 480, 1200)
                    """
                ).run()
            }
            try await service.reindex(provider: id, in: transaction)
            profiles.append(id)
        }
        // Past jobs: the first 30 providers have one to three completed, reviewed jobs.
        let texts = ["Came on time and fixed it fast.", "Good work, a bit pricey.", "Friendly and careful.", "Had to come back twice.", "Excellent!"]
        for index in 0..<30 {
            for job in 0..<(1 + index % 3) {
                let customer = customers[(index + job) % customers.count]
                let offer = try await sql.raw(
                    "SELECT category_id, price_min_amount FROM marketplace_offers WHERE provider_id = \(bind: profiles[index]) LIMIT 1"
                ).first()!
                let completedAt = now.addingTimeInterval(-Double(86_400 * (3 + index + job * 11)))
                let request = try await pastRequest(
                    service, customer: customer, provider: (profiles[index], providerUsers[index]),
                    category: try offer.decode(column: "category_id", as: UUID.self),
                    price: Money(amount: try offer.decode(column: "price_min_amount", as: Int64.self) * 3 / 2, currency: service.settings.currency),
                    completedAt: completedAt, in: transaction)
                let rating = [5, 4, 5, 3, 5, 4][(index + job) % 6]
                try await sql.raw(
                    """
                    INSERT INTO marketplace_reviews (id, request_id, provider_id, customer_id, rating, text, created_at)
                    VALUES (\(bind: PlazaID.make(at: now)), \(bind: request), \(bind: profiles[index]), \(bind: customer), \(bind: rating),
                            \(bind: texts[(index + job) % texts.count]), \(bind: completedAt.addingTimeInterval(3600)))
                    """
                ).run()
            }
            try await service.recountRatings(of: profiles[index], in: transaction)
        }
        try await service.searchChanged(provider: nil, caller: nil, in: transaction)
        // One accepted request between the demo customer and the demo provider, with its thread.
        let open = try await request(
            service, customer: demoCustomer, provider: (profiles[0], demoProvider), category: leaves[0],
            description: "The kitchen tap drips all night. Could you replace the cartridge?", in: transaction)
        let agreed = Money(amount: 60_000, currency: service.settings.currency)
        _ = try await service.workflows.send(
            "accept", to: open.workflow, payload: .object(["price": MarketplacePrice.json(agreed)]),
            caller: Caller(principal: Principal(id: demoProvider)), in: transaction)
        try await sql.raw(
            """
            UPDATE marketplace_requests SET agreed_price_amount = \(bind: agreed.amount), price_currency = \(bind: agreed.currency.code),
                accepted_at = \(bind: now) WHERE id = \(bind: open.id)
            """
        ).run()
        try await service.openConversation(
            for: open.id, customer: demoCustomer, provider: demoProvider, category: "Leaks and pipes", caller: .system("demo"), in: transaction)
        let conversation = try await sql.raw("SELECT conversation_id FROM marketplace_requests WHERE id = \(bind: open.id)").first()!
            .decode(column: "conversation_id", as: UUID.self)
        return Thread(
            conversation: conversation, customer: demoCustomer, provider: demoProvider,
            messages: [
                (true, "Hello! Is tomorrow morning fine for you?"), (false, "Yes, I can come at 9:00. I will bring a new cartridge."),
                (true, "Great, see you then."),
            ])
    }

    /// Providers by the thousand, for benchmarks: spread within 15 km of the centre, each offering one of
    /// `categories` (in turn) and working 50 km around, without accounts of their own (a user id each, no login).
    /// Returns their ids.
    public static func addProviders(
        _ service: MarketplaceService, count: Int, categories: [UUID], in transaction: Transaction
    ) async throws -> [UUID] {
        precondition(!categories.isEmpty, "providers need a category")
        let now = transaction.clock.now()
        var random = Random(seed: 1001)
        var ids: [UUID] = []
        for index in 0..<count {
            let id = PlazaID.make(at: now)
            let lat = city.lat + random.next(in: -0.135...0.135)
            let lng = city.lng + random.next(in: -0.21...0.21)
            let rating = (random.next(in: 3...5) * 100).rounded() / 100
            try await transaction.sql.raw(
                """
                INSERT INTO marketplace_providers (id, user_id, display_name, bio, photos, lat, lng, radius_km, time_zone, price_from_amount, category_ids,
                                                   listed, rating_avg, rating_count, stars, completed_jobs, created_at, updated_at)
                VALUES (\(bind: id), \(bind: UUID()), \(bind: "\(firstNames[index % firstNames.count]) \(trades[index % trades.count]) \(index)"),
                        'Fast and tidy work.', '[]', \(bind: lat), \(bind: lng), 50, 'Europe/Kyiv', 30000,
                        \(bind: try MarketplaceService.encode([categories[index % categories.count]])), \(bind: true), \(bind: rating), 0,
                        '[0,0,0,0,0]', 0,
                        \(bind: now), \(bind: now))
                """
            ).run()
            try await transaction.sql.raw(
                """
                INSERT INTO marketplace_offers (provider_id, category_id, price_min_amount, price_max_amount, currency, lat, lng)
                VALUES (\(bind: id), \(bind: categories[index % categories.count]), 30000, 90000, \(bind: service.settings.currency.code), \(bind: lat),
                        \(bind: lng))
                """
            ).run()
            try await service.reindex(provider: id, in: transaction)
            ids.append(id)
        }
        try await service.searchChanged(provider: nil, caller: nil, in: transaction)
        return ids
    }

    private static func category(_ name: String, parent: UUID?, position: Int, in transaction: Transaction) async throws -> UUID {
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        try await transaction.sql.raw(
            """
            INSERT INTO marketplace_categories (id, parent_id, name, slug, position, created_at, updated_at)
            VALUES (\(bind: id), \(bind: parent), \(bind: name), \(bind: MarketplaceService.slug(name)), \(bind: position),\
             \(bind: now), \(bind: now))
            """
        ).run()
        return id
    }

    private static func request(
        _ service: MarketplaceService, customer: UUID, provider: (id: UUID, user: UUID), category: UUID, description: String,
        in transaction: Transaction
    ) async throws -> (id: UUID, workflow: UUID) {
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        let instance = try await service.workflows.start(
            RequestLifecycle.name, subject: "marketplace-request:\(id.uuidString.lowercased())", owner: customer, participants: [provider.user],
            caller: Caller(principal: Principal(id: customer)), in: transaction)
        try await transaction.sql.raw(
            """
            INSERT INTO marketplace_requests (id, customer_id, provider_id, provider_user_id, category_id, description, address, lat, lng, photos,
                                              workflow_id, created_at, updated_at)
            VALUES (\(bind: id), \(bind: customer), \(bind: provider.id), \(bind: provider.user), \(bind: category), \(bind: description),
                    'Khreshchatyk 1, Kyiv', \(bind: city.lat), \(bind: city.lng), '[]', \(bind: instance.id), \(bind: now), \(bind: now))
            """
        ).run()
        return (id, instance.id)
    }

    private static func pastRequest(
        _ service: MarketplaceService, customer: UUID, provider: (id: UUID, user: UUID), category: UUID, price: Money, completedAt: Date,
        in transaction: Transaction
    ) async throws -> UUID {
        let made = try await request(
            service, customer: customer, provider: provider, category: category, description: "A job done before.", in: transaction)
        let by = Caller(principal: Principal(id: provider.user))
        for command in ["accept", "start", "complete"] {
            _ = try await service.workflows.send(
                command, to: made.workflow, payload: .object(["price": MarketplacePrice.json(price)]), caller: by, in: transaction)
        }
        try await service.ledger.post(
            MarketplacePrice.jobPaid(request: made.id, providerUser: provider.user, price: price, at: completedAt), in: transaction)
        try await transaction.sql.raw(
            """
            UPDATE marketplace_requests SET agreed_price_amount = \(bind: price.amount), final_price_amount = \(bind: price.amount),
                price_currency = \(bind: price.currency.code), accepted_at = \(bind: completedAt.addingTimeInterval(-7200)),
                completed_at = \(bind: completedAt), created_at = \(bind: completedAt.addingTimeInterval(-86_400)) WHERE id = \(bind: made.id)
            """
        ).run()
        try await transaction.sql.raw("UPDATE marketplace_providers SET completed_jobs = completed_jobs + 1 WHERE id = \(bind: provider.id)").run()
        return made.id
    }

    /// A small deterministic generator, so every demo database looks the same.
    struct Random {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next(in range: ClosedRange<Double>) -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return range.lowerBound + Double(state >> 11) / Double(1 << 53) * (range.upperBound - range.lowerBound)
        }
    }
}
