import AppHost
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import NIOCore
import PlazaKit
import PlazaServer
import SQLKit
import Storage

/// What every app on Plaza must do, checked on the app's own demo data and fixtures, with the core alone beside
/// it. ``problems(of:)`` says what an app gets wrong, one line each; an app keeps the contract when it says
/// nothing. Checked:
/// - names: its actions, jobs, topics and the rest derive from its id;
/// - error envelopes: its routes under an envelope's prefix declare it;
/// - words: its title, roles, organisation types, notification categories and templates, and pages in English and
///   Ukrainian alike;
/// - tables: every table its migrations make is named for it and in its ``AppManifest/personalData``, and every
///   listed table exists; a table that holds people says what forgetting them does;
/// - demo data: seeding twice adds nothing the second time;
/// - merge: after an account with each of its roles is merged into a new one, no column that holds people
///   points at the merged account, the new one holds every row it held, and no table gains or loses a row
///   (and the fixtures reach every such column);
/// - forget: after such an account is erased, its rows are gone or blanked as the app declares and no other
///   row went (and the fixtures give every rule, and every blanked column, something to erase);
/// - routes: walked with real ids as anonymous, signed in, staff and each app role: a route the policy refuses
///   someone never answers them with a success or a redirect (random ids would answer 404 to everyone).
public enum AppContract {
    public static func problems(of app: any PlazaApp.Type) async throws -> [String] {
        let manifest = app.manifest
        var problems = words(of: manifest)
        problems += try await withTestPlaza(apps: [app], configure: { $0.edge.rateLimits = [] }) { plaza in
            var found = plaza.apps.flatMap { AppInstaller.misnamed($0).map(\.description) + notificationWords(of: $0.parts) }
            found += envelopes(of: manifest, routes: plaza.apps.flatMap { $0.routes(AppRequestContext.self).endpoints })
            found += try await tables(of: manifest, in: plaza)
            found += try await demoTwice(manifest, in: plaza)
            let fixtures = try await addFixtures(plaza)
            found += try await merges(manifest, in: plaza)
            found += try await walk(plaza, ids: fixtures)
            return found
        }
        problems += try await withTestPlaza(apps: [app], configure: { $0.edge.rateLimits = [] }) { plaza in
            try await Demo.seed(plaza)
            _ = try await addFixtures(plaza)
            return try await forgets(manifest, in: plaza)
        }
        return problems
    }

    // MARK: Words

    static func words(of manifest: AppManifest) -> [String] {
        var problems: [String] = []
        func both(_ labels: [String: String], _ what: String) {
            for language in ["en", "uk"] where (labels[language] ?? "").isEmpty { problems.append("\(what) has no \(language) words") }
        }
        both(manifest.title, "the title")
        for role in manifest.roles { both(role.labels, "role \(role.name)") }
        for type in manifest.organisationTypes { both(type.labels, "organisation type \(type.name)") }
        if let pages = manifest.pages {
            let english = Set(pages.strings[.en]?.keys ?? [:].keys)
            let ukrainian = Set(pages.strings[.uk]?.keys ?? [:].keys)
            for key in english.symmetricDifference(ukrainian).sorted() { problems.append("the word \(key) is in one language only") }
        }
        return problems
    }

    /// Routes under an error envelope's prefix say so, or `/openapi.json` would promise problem+json there.
    static func envelopes(of manifest: AppManifest, routes: [Endpoint<AppRequestContext>]) -> [String] {
        routes.compactMap { endpoint in
            guard let enveloped = manifest.errorEnvelopes.first(where: { endpoint.path.hasPrefix($0.prefix) }) else { return nil }
            return endpoint.errors == .envelope(enveloped.envelope)
                ? nil : "\(endpoint.method.rawValue) \(endpoint.path) is under \(enveloped.prefix) but does not declare its error envelope"
        }
    }

    /// Its notifications speak both languages: every category's name and every template's texts.
    static func notificationWords(of parts: AppParts) -> [String] {
        parts.notificationCategories.flatMap { category in
            ["en", "uk"].filter { (category.names[$0] ?? "").isEmpty }.map { "notification category \(category.id) has no \($0) name" }
        }
            + parts.notificationTemplates.flatMap { template in
                ["en", "uk"].filter { template.texts[$0] == nil }.map { "notification template \(template.id) has no \($0) words" }
            }
    }

    // MARK: Tables

    /// Every table of a database.
    static func allTables(in store: Store) async throws -> [String] {
        struct Row: Decodable { let name: String }
        if store.dialect == .postgres {
            return try await store.sql.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")
                .all(decoding: Row.self).map(\.name)
        }
        return try await store.sql.raw("SELECT name FROM sqlite_master WHERE type = 'table'").all(decoding: Row.self).map(\.name)
    }

    /// The tables named for the app (`<id>_…`), less SQLite's full-text shadow tables.
    static func ownedTables(_ manifest: AppManifest, in store: Store) async throws -> [String] {
        let prefix = manifest.id.replacingOccurrences(of: "-", with: "_") + "_"
        let names = try await allTables(in: store)
        let virtual = Set(names.filter { $0.hasPrefix(prefix) })
        let shadows = ["_config", "_content", "_data", "_docsize", "_idx"]
        return names.filter { name in
            name.hasPrefix(prefix) && !shadows.contains { name.hasSuffix($0) && virtual.contains(String(name.dropLast($0.count))) }
        }.sorted()
    }

    static func tables(of manifest: AppManifest, in plaza: Plaza) async throws -> [String] {
        let owned = Set(try await ownedTables(manifest, in: plaza.store))
        let declared = Set(manifest.personalData.map(\.table))
        // What the app's migrations made: this database's tables less a core-only one's.
        let core = try await TestDatabase.make()
        let coreStore = try await Store.open(core, logger: TestDatabase.logger)
        let coreTables = Set(try await allTables(in: coreStore))
        await coreStore.shutdown()
        await TestDatabase.drop(core)
        let made = Set(try await allTables(in: plaza.store)).subtracting(coreTables)
        return owned.subtracting(declared).sorted().map { "table \($0) is not in the app's personal data (say who is in it, or that nobody is)" }
            + declared.subtracting(owned).sorted().map { "personal data lists \($0), which the app's migrations do not make" }
            + made.subtracting(owned).subtracting(made.filter { name in owned.contains { name.hasPrefix($0 + "_") } }).sorted().map {
                "the app's migrations make \($0), which is not named for the app"
            }
    }

    // MARK: Demo data

    static func demoTwice(_ manifest: AppManifest, in plaza: Plaza) async throws -> [String] {
        guard try await Demo.seed(plaza) else { return ["the first demo seed added nothing"] }
        let before = try await counts(manifest, in: plaza.store)
        if try await Demo.seed(plaza) { return ["the second demo seed added something again"] }
        let after = try await counts(manifest, in: plaza.store)
        return before == after ? [] : ["the second demo seed changed row counts: \(before) → \(after)"]
    }

    static func counts(_ manifest: AppManifest, in store: Store) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in try await ownedTables(manifest, in: store) {
            counts[table] = try await store.sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self)
        }
        return counts
    }

    /// The demo people of the core's and the app's roles, by role.
    static func demoPeople(_ plaza: Plaza) async throws -> [String: UUID] {
        var people: [String: UUID] = [:]
        for login in Demo.logins(plaza) {
            if let contact = try await plaza.identity.contact(email: login.email) { people[login.role] = contact.id }
        }
        return people
    }

    static func addFixtures(_ plaza: Plaza) async throws -> [String: String] {
        let demo = DemoSeed(accounts: try await demoPeople(plaza), passwordHash: "")
        return try await plaza.store.transaction { transaction in
            var ids: [String: String] = [:]
            for app in plaza.apps { ids.merge(try await app.contractFixtures(demo, in: transaction)) { $1 } }
            return ids
        }
    }

    /// The people the checks follow: the demo customer and the demo holder of each role the app brings.
    static func followed(_ manifest: AppManifest, in plaza: Plaza) async throws -> [(role: String, id: UUID)] {
        let people = try await demoPeople(plaza)
        return (["customer"] + manifest.roles.map(\.name)).compactMap { role in people[role].map { (role, $0) } }
    }

    // MARK: Merge

    static func merges(_ manifest: AppManifest, in plaza: Plaza) async throws -> [String] {
        var problems: [String] = []
        let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]), requestID: "contract")
        var reached: Set<String> = []
        for (role, person) in try await followed(manifest, in: plaza) {
            var held: [String: Int] = [:]
            for table in manifest.personalData {
                for column in table.people {
                    let rows = try await count(table.table, "\(column) = :user", person, plaza.store)
                    held["\(table.table).\(column)"] = rows
                    if rows > 0 { reached.insert("\(table.table).\(column)") }
                }
            }
            let totals = try await counts(manifest, in: plaza.store)
            let target = try await plaza.identity.register(
                Registration(email: "merged-\(role)@contract.test", password: "correct horse", firstName: "Merged", lastName: role),
                caller: .system("contract"))
            try await plaza.identity.requestMerge(into: target.id, MergeRequest(sourceUserId: person), caller: admin)
            guard let code = try await plaza.issuedCodes().last(where: { $0.purpose == .confirmMerge && $0.userId == person })?.code else {
                problems.append("no merge code was sent to the \(role)")
                continue
            }
            _ = try await plaza.identity.confirmMerge(into: target.id, MergeConfirmation(sourceUserId: person, code: code), caller: admin)
            // The merged account's rows are the new one's now, every one of them (it had none), and nothing else changed
            // hands or went.
            for table in manifest.personalData {
                for column in table.people {
                    if try await count(table.table, "\(column) = :user", person, plaza.store) > 0 {
                        problems.append("merge leaves \(table.table).\(column) pointing at the merged \(role)")
                    }
                    let moved = try await count(table.table, "\(column) = :user", target.id, plaza.store)
                    if moved != held["\(table.table).\(column)"] ?? 0 {
                        problems.append(
                            "merge gives the \(role)'s successor \(moved) rows of \(table.table).\(column), not the \(held["\(table.table).\(column)"] ?? 0) they had"
                        )
                    }
                }
            }
            let after = try await counts(manifest, in: plaza.store)
            for (table, rows) in totals where after[table] != rows {
                problems.append("merging the \(role) changes how many rows \(table) has (\(rows) → \(after[table] ?? 0))")
            }
        }
        for table in manifest.personalData {
            for column in table.people where !reached.contains("\(table.table).\(column)") {
                problems.append("the fixtures leave \(table.table).\(column) without a demo person, so its merge is not checked")
            }
        }
        return problems
    }

    // MARK: Forget

    static let emptyValues: Set<String> = ["", "[]", "{}", "0", "0.0", "false", "f"]

    static func forgets(_ manifest: AppManifest, in plaza: Plaza) async throws -> [String] {
        var problems: [String] = []
        var reached: Set<String> = []
        for table in manifest.personalData where !table.people.isEmpty && table.forget.isEmpty {
            problems.append("\(table.table) holds people (\(table.people.joined(separator: ", "))) but says nothing of forgetting them")
        }
        for (role, person) in try await followed(manifest, in: plaza) {
            // What each blanking rule's columns hold before, to tell a blanked value from one left alone, and how
            // many rows each table should lose (the deleted ones, and no others).
            var before: [String: Set<String>] = [:]
            var expected = try await counts(manifest, in: plaza.store)
            for table in manifest.personalData {
                for rule in table.forget {
                    switch rule {
                    case .delete(let condition):
                        let rows = try await count(table.table, condition, person, plaza.store)
                        if rows > 0 { reached.insert("\(table.table): \(condition)") }
                        expected[table.table, default: 0] -= rows
                    case .blank(let columns, let condition):
                        if try await count(table.table, condition, person, plaza.store) > 0 { reached.insert("\(table.table): \(condition)") }
                        for column in columns {
                            let held = try await values(table.table, column, condition, person, plaza.store).compactMap { $0 }
                            before["\(table.table).\(column)", default: []].formUnion(held)
                            if held.contains(where: { !emptyValues.contains($0) }) { reached.insert("\(table.table).\(column)") }
                        }
                    case .keep:
                        break
                    }
                }
            }
            try await plaza.store.sql.raw("UPDATE identity_users SET status = 'deleted' WHERE id = \(bind: person)").run()
            try await plaza.identity.purge(user: person)
            let after = try await counts(manifest, in: plaza.store)
            for (table, rows) in expected where after[table] != rows {
                problems.append(
                    "forgetting the \(role) leaves \(table) with \(after[table] ?? 0) rows, not \(rows): others' rows went too, or its own stayed")
            }
            for table in manifest.personalData {
                for rule in table.forget {
                    switch rule {
                    case .delete(let condition):
                        if try await count(table.table, condition, person, plaza.store) > 0 {
                            problems.append("forgetting the \(role) leaves rows in \(table.table) where \(condition)")
                        }
                    case .blank(let columns, let condition):
                        for column in columns {
                            let kept = try await values(table.table, column, condition, person, plaza.store).compactMap { $0 }.filter {
                                !emptyValues.contains($0) && before["\(table.table).\(column)"]?.contains($0) == true
                            }
                            if !kept.isEmpty { problems.append("forgetting the \(role) leaves \(table.table).\(column) as it was") }
                        }
                    case .keep:
                        break
                    }
                }
            }
        }
        for table in manifest.personalData {
            for rule in table.forget {
                let condition: String
                switch rule {
                case .delete(let where_): condition = where_
                case .blank(let columns, let where_):
                    condition = where_
                    for column in columns where !reached.contains("\(table.table).\(column)") {
                        problems.append("the fixtures leave \(table.table).\(column) empty for every demo person, so its blanking is not checked")
                    }
                case .keep: continue
                }
                if !reached.contains("\(table.table): \(condition)") {
                    problems.append("the fixtures give \(table.table)'s forget rule (\(condition)) nothing to erase, so it is not checked")
                }
            }
        }
        return problems
    }

    /// `condition` with `:user` bound to `user`.
    static func query(_ head: String, _ condition: String, _ user: UUID) -> SQLQueryString {
        var query = SQLQueryString(head)
        var rest = Substring(condition)
        // `:user` alone, not the start of a longer name (`:user_id`).
        while let match = rest.firstMatch(of: /:user(?![A-Za-z0-9_])/) {
            query.appendInterpolation(unsafeRaw: String(rest[..<match.range.lowerBound]))
            query.appendInterpolation(bind: user)
            rest = rest[match.range.upperBound...]
        }
        query.appendInterpolation(unsafeRaw: String(rest))
        return query
    }

    static func count(_ table: String, _ condition: String, _ user: UUID, _ store: Store) async throws -> Int {
        try await store.sql.raw(query("SELECT COUNT(*) AS n FROM \(table) WHERE ", condition, user)).first()?.decode(column: "n", as: Int.self)
            ?? 0
    }

    static func values(_ table: String, _ column: String, _ condition: String, _ user: UUID, _ store: Store) async throws -> [String?] {
        try await store.sql.raw(query("SELECT CAST(\(column) AS TEXT) AS v FROM \(table) WHERE ", condition, user)).all().map {
            try $0.decode(column: "v", as: String?.self)
        }
    }

    // MARK: Routes

    static func walk(_ plaza: Plaza, ids: [String: String]) async throws -> [String] {
        var roles: [(name: String, header: String?)] = [
            ("anonymous", nil), ("signed in", TestAuthentication.header(roles: [])),
            ("employee", TestAuthentication.header(roles: ["employee"])), ("operator", TestAuthentication.header(roles: ["operator"])),
        ]
        for role in plaza.identity.catalogue.appRoleNames { roles.append((role, TestAuthentication.header(roles: [], apps: [role]))) }
        let endpoints = plaza.apps.flatMap { $0.routes(AppRequestContext.self).endpoints }
        let everyone = roles
        return try await plaza.testApplication().test(.router) { client in
            var problems: [String] = []
            for endpoint in endpoints {
                guard let path = fill(endpoint.path, ids) else {
                    problems.append("no fixture id for \(endpoint.method.rawValue) \(endpoint.path)")
                    continue
                }
                for role in everyone {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let header = role.header { headers[.testPrincipal] = header }
                    let principal = role.header.flatMap(TestAuthentication.principal(header:))
                    let status = try await client.execute(uri: path, method: endpoint.method, headers: headers, body: ByteBuffer(string: "{}")) {
                        $0.status
                    }
                    let label = "\(role.name): \(endpoint.method.rawValue) \(path) → \(status.code)"
                    if status.code >= 500 { problems.append(label) }
                    let allowed: Bool
                    switch endpoint.access {
                    case .public: allowed = true
                    case .authenticated: allowed = principal != nil
                    case .action(let action), .resourceAction(let action): allowed = plaza.policy.allows(principal, action)
                    }
                    // A refusal of the body (400, 415, 422) says nothing of the resource: the same answer comes for any id.
                    if !allowed, status.code < 400 { problems.append("\(label): the policy refuses them, the route did not") }
                    if endpoint.access == .public, status == .unauthorized || status == .forbidden {
                        problems.append("\(label): a public route refused them")
                    }
                    if !allowed, principal == nil, status != .unauthorized { problems.append("\(label): signed out is a 401") }
                }
            }
            return problems
        }
    }

    /// The path with each `{parameter}` replaced by the fixture id for `<segment before>/{parameter}`.
    static func fill(_ path: String, _ ids: [String: String]) -> String? {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for index in segments.indices where segments[index].hasPrefix("{") {
            guard index > 0, let id = ids["\(segments[index - 1])/\(segments[index])"] else { return nil }
            segments[index] = id
        }
        return segments.joined(separator: "/")
    }
}
