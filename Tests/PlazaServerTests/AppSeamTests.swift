import AppHost
import Foundation
import Identity
import Ledger
import PlazaKit
import PlazaServer
import PlazaTesting
import Realtime
import Storage
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("The app seam")
struct AppSeamTests {
    @Test("every app the binary hosts, and the seam's test app, keeps the app contract", arguments: everyApp.types + [NotesApp.self])
    func contract(_ app: any PlazaApp.Type) async throws {
        let problems = try await AppContract.problems(of: app)
        #expect(problems.isEmpty, "\(app.manifest.id):\n\(problems.joined(separator: "\n"))")
    }

    @Test("an app whose merge moves nothing fails the contract, naming the column left behind")
    func forgetfulMerge() async throws {
        let problems = try await AppContract.problems(of: ForgetfulNotesApp.self)
        #expect(problems.contains { $0.hasPrefix("merge leaves notes_notes.user_id pointing at the merged") }, "\(problems)")
        #expect(!problems.contains { $0.hasPrefix("forgetting") }, "its forget works: \(problems)")
    }

    @Test("two apps declaring the same topic kind fail the start with one line naming both")
    func duplicateTopic() async throws {
        await expectRefusal([EchoApp.self, ReplyApp.self], saying: #"topic kind "shared" is declared twice: by echo and by reply"#) {
            $0.topic = "shared"
        }
    }

    @Test("two apps declaring the same action fail the start with one line naming both")
    func duplicateAction() async throws {
        await expectRefusal([NotesApp.self, ActionThiefApp.self], saying: #"action "notes.notes.read" is declared twice: by notes and by thief"#)
    }

    @Test("a part not named for its app breaks the contract")
    func misnamedPart() async throws {
        let problems = try await EchoSettings.$current.withValue(EchoSettings(topic: "shared")) {
            try await AppContract.problems(of: EchoApp.self)
        }
        #expect(problems.contains(#"app echo declares topic kind "shared", which does not start with echo-"#), "\(problems)")
    }

    @Test("two apps of one id refuse the start")
    func duplicateApp() async throws {
        await expectRefusal([NotesApp.self, ForgetfulNotesApp.self], saying: #"app "notes" is declared twice: by NotesApp and by ForgetfulNotesApp"#)
    }

    @Test("an installation migrated and seeded before apps had a seam starts without re-running anything")
    func databaseFromBeforeTheSeam() async throws {
        let fixture = try #require(Bundle.module.url(forResource: "Fixtures/before-app-seam.sqlite", withExtension: "gz"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-before-seam-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("plaza.sqlite")
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        unzip.arguments = ["-c", "gunzip -c '\(fixture.path)' > '\(database.path)'"]
        try unzip.run()
        unzip.waitUntilExit()
        #expect(unzip.terminationStatus == 0)

        var config = PlazaConfig()
        config.apps = everyApp
        config.logLevel = .warning
        config.dataDirectory = directory.path
        let plaza = try await Plaza.open(config)
        do {
            let before = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM marketplace_providers").first()?.decode(column: "n", as: Int.self)
            // Only what came after it runs: every migration it recorded, the marketplace's from the core's list included, stays done.
            // Prices as they were: hryvnias, as numbers with a fraction.
            func prices(_ columns: String) async throws -> [String: [Double]] {
                var prices: [String: [Double]] = [:]
                for row in try await plaza.store.sql.raw("SELECT provider_id, category_id, \(unsafeRaw: columns) FROM marketplace_offers").all() {
                    let key = "\(try row.decode(column: "provider_id", as: UUID.self))/\(try row.decode(column: "category_id", as: UUID.self))"
                    prices[key] = try columns.split(separator: ",").map {
                        try row.decode(column: $0.trimmingCharacters(in: .whitespaces), as: Double.self)
                    }
                }
                return prices
            }
            let hryvnias = try await prices("price_min, price_max")
            let recorded = Set(
                try await plaza.store.sql.raw("SELECT name FROM _fluent_migrations").all().map { try $0.decode(column: "name", as: String.self) })
            let applied = try await plaza.migrate()
            #expect(recorded.contains("0017_create_marketplace") && !recorded.contains("marketplace.0002_drop_rating_sum"))
            #expect(applied == (try Plaza.migrations(apps: everyApp)).names.filter { !recorded.contains($0) })
            #expect(applied.contains("marketplace.0002_drop_rating_sum") && applied.contains("marketplace.0003_prices_in_minor_units"))
            #expect(applied.contains("0024_create_stocks") && Set(applied).isDisjoint(with: recorded))
            // Its prices became kopiykas, and its paid jobs went into the books, once each.
            let offers = try await plaza.store.sql.raw("SELECT price_min_amount, price_max_amount, currency FROM marketplace_offers").all()
            #expect(!offers.isEmpty)
            for offer in offers { #expect(try offer.decode(column: "currency", as: String.self) == "UAH") }
            let kopiykas = try await prices("price_min_amount, price_max_amount")
            #expect(!hryvnias.isEmpty && kopiykas == hryvnias.mapValues { $0.map { ($0 * 100).rounded() } }, "each price, in kopiykas")
            let paid = try await plaza.store.sql.raw(
                "SELECT COUNT(*) AS n FROM marketplace_requests WHERE completed_at IS NOT NULL AND final_price_amount > 0"
            ).first()!.decode(column: "n", as: Int.self)
            let posted = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM ledger_postings WHERE kind = 'marketplace.job-paid'").first()!
                .decode(column: "n", as: Int.self)
            #expect(paid > 0 && posted == paid)
            #expect(try await Ledger(store: plaza.store).isBalanced())
            #expect(try await Demo.seed(plaza) == false, "the old demo marker stands for the core's and the marketplace's demo data")
            let after = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM marketplace_providers").first()?.decode(column: "n", as: Int.self)
            #expect(before == 50 && after == 50)
            // It still works as before: the demo customer signs in and finds the demo provider.
            let tokens = try await plaza.identity.login(
                Credentials(email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password), caller: .system("test"))
            #expect(!tokens.accessToken.isEmpty)
        } catch {
            await plaza.shutdown()
            throw error
        }
        await plaza.shutdown()
    }

    /// Opening Plaza with `apps` fails with exactly `line`.
    func expectRefusal(_ apps: AppList, saying line: String, configure: (inout EchoSettings) -> Void = { _ in }) async {
        var settings = EchoSettings()
        configure(&settings)
        await EchoSettings.$current.withValue(settings) {
            do {
                try await withTestPlaza(apps: apps) { _ in Issue.record("Plaza started with \(apps.ids)") }
            } catch {
                #expect("\(error)" == line)
            }
        }
    }
}

/// The topic kind the echo apps declare, set per test.
struct EchoSettings: Sendable {
    @TaskLocal static var current = EchoSettings()
    var topic = "echo-things"
}

/// Test apps that only declare things (a topic, an action): no routes, no data, nothing to merge or forget.
protocol DeclaringApp: PlazaApp {
    init()
}

extension DeclaringApp {
    init(core: AppCore) throws { self.init() }
    func routes<Context: PlazaRequestContext>(_ context: Context.Type) -> RouteTable<Context> { RouteTable() }
    func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> MergeCounts { [:] }
    func forget(user: UUID, in transaction: Transaction) async throws {}
    func seedDemo(_ demo: DemoSeed, in transaction: Transaction) async throws {}
    func contractFixtures(_ demo: DemoSeed, in transaction: Transaction) async throws -> [String: String] { [:] }
}

extension DeclaringApp where Self: TopicApp {
    var parts: AppParts {
        var parts = AppParts()
        parts.topic(EchoSettings.current.topic) { _, _ in true }
        return parts
    }
}

/// Declares the topic kind the test chose (``EchoSettings``).
protocol TopicApp {}

struct EchoApp: DeclaringApp, TopicApp {
    static let manifest = AppManifest(id: "echo", title: ["en": "Echo", "uk": "Луна"])
}

struct ReplyApp: DeclaringApp, TopicApp {
    static let manifest = AppManifest(id: "reply", title: ["en": "Reply", "uk": "Відповідь"])
}

/// A test app that declares an action the notes app owns.
struct ActionThiefApp: DeclaringApp {
    static let manifest = AppManifest(
        id: "thief", title: ["en": "Thief", "uk": "Злодій"],
        policy: {
            var policy = RulePolicy()
            policy.allow(NotesApp.read, .anyone)
            return policy
        }())
    var parts: AppParts { AppParts() }
}

@Suite("Per-route rate limits")
struct RouteRateLimitTests {
    @Test("a route's own limit refuses the fourth note in a minute with a 429 and Retry-After, per person; others still write")
    func perRoute() async throws {
        try await withTestPlaza(apps: [NotesApp.self]) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let ada = TestAuthentication.header(roles: [], apps: ["note-taker"])
                let bob = TestAuthentication.header(roles: [], apps: ["note-taker"])
                func post(_ who: String) async throws -> (HTTPResponse.Status, String?) {
                    try await client.execute(
                        uri: "/api/v1/notes", method: .post, headers: [.testPrincipal: who, .contentType: "application/json"],
                        body: ByteBuffer(string: #"{"body":"hello"}"#)
                    ) { ($0.status, $0.headers[.retryAfter]) }
                }
                for _ in 1...3 { #expect(try await post(ada).0 == .created) }
                let limited = try await post(ada)
                #expect(limited.0 == .tooManyRequests)
                #expect(Int(limited.1 ?? "") ?? 0 >= 1, "Retry-After says when")
                #expect(try await post(bob).0 == .created, "the limit is each person's")
                let document = try await client.execute(uri: "/openapi.json", method: .get) { String(buffer: $0.body) }
                #expect(document.contains(#""x-plaza-rate-limit":{"requests":3,"seconds":60}"#))
            }
            let stored = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM notes_notes").first()?.decode(column: "n", as: Int.self)
            #expect(stored == 4, "the refused note was not written")
        }
    }
}

@Suite("Error envelopes")
struct ErrorEnvelopeTests {
    @Test("under an app's envelope prefix every refusal takes its shape: the edge's 401, 404, 405, 413 and 429 too; elsewhere problem+json")
    func legacyShape() async throws {
        try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.maxBodySize = 1024 }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let taker: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: [], apps: ["note-taker"])]
                func call(_ method: HTTPRequest.Method, _ path: String, _ headers: HTTPFields = [:], body: String = "") async throws -> (
                    status: Int, type: String?, body: String, headers: HTTPFields
                ) {
                    try await client.execute(uri: path, method: method, headers: headers, body: ByteBuffer(string: body)) {
                        (Int($0.status.code), $0.headers[.contentType], String(buffer: $0.body), $0.headers)
                    }
                }
                func expectEnvelope(_ answer: (status: Int, type: String?, body: String, headers: HTTPFields), _ status: Int, _ code: String) {
                    #expect(answer.status == status)
                    #expect(answer.type == "application/json", "\(answer.body)")
                    #expect(answer.body.contains(#""ok":false"#) && answer.body.contains(#""status":\#(status)"#), "\(answer.body)")
                    #expect(answer.body.contains(#""code":"\#(code)""#), "\(answer.body)")
                }
                expectEnvelope(try await call(.get, "/api/notes-legacy/notes"), 401, "unauthorized")
                #expect(try await call(.get, "/api/notes-legacy/notes", taker).status == 200)
                expectEnvelope(try await call(.get, "/api/notes-legacy/nothing", taker), 404, "not-found")
                let wrongMethod = try await call(.delete, "/api/notes-legacy/notes", taker)
                expectEnvelope(wrongMethod, 405, "method-not-allowed")
                #expect(wrongMethod.headers[.allow] == "GET")
                var big = taker
                big[.contentType] = "application/json"
                expectEnvelope(
                    try await call(.get, "/api/notes-legacy/notes", big, body: String(repeating: "x", count: 2048)), 413, "payload-too-large")
                #expect(try await call(.get, "/api/notes-legacy/notes", taker).status == 200)
                let limited = try await call(.get, "/api/notes-legacy/notes", taker)
                expectEnvelope(limited, 429, "rate-limited")
                #expect(limited.headers[.retryAfter] != nil)
                // Outside the prefix, the same app's refusals are problem+json.
                #expect(try await call(.get, "/api/v1/notes").type == "application/problem+json")
                let document = try await call(.get, "/openapi.json").body
                #expect(document.contains(#""NotesLegacyError""#))
            }
        }
    }
}
