import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

@Suite("Bulk import of accounts from CSV (seed 002)")
struct ImportTests {
    static let bad: [Int: (row: String, problem: String)] = [
        17: ("not-an-email,Bad,Row,en,UTC,,", "email"),
        230: ("x230@example.com,Bad,Row,fr,UTC,,", "locale"),
        1_999: ("x1999@example.com,Bad,Row,en,Mars/Olympus,,", "time_zone"),
        5_000: ("x5000@example.com,Bad,Row,en,UTC,12345,", "mobile"),
        7_777: ("x7777@example.com,Bad,Row,en,UTC,,pilot", "roles"),
        9_000: ("person3@example.com,Twice,Over,en,UTC,,", "repeats"),
        9_998: ("x9998@example.com,Too,Many,en,UTC,,,extra", "more values"),
    ]

    /// 10,000 rows: one for an account that exists already (a new name), the bad ones above, the rest new.
    static func file() -> String {
        var lines = ["email,first_name,last_name,locale,time_zone,mobile,roles"]
        for index in 1...10_000 {
            if let bad = bad[index] { lines.append(bad.row); continue }
            switch index {
            case 1: lines.append("existing@example.com,Renamed,Person,uk,Europe/Kyiv,+380501234567,note-taker")
            case 2: lines.append("\"quoted@example.com\",\"Smith, Jr.\",\"O\"\"Neil\",en,UTC,,customer;note-taker")
            default: lines.append("person\(index)@example.com,Person,\(index),en,UTC,,")
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    func post(_ client: some TestClientProtocol, _ csv: String, token: String) async throws -> TestResponse {
        try await client.executeRequest(
            uri: "/api/v1/admin/users/imports?name=people.csv", method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "text/csv"], body: ByteBuffer(string: csv))
    }

    @Test("10,000 rows through the API as a job: bad rows reported by number, not fatal; the same file again changes nothing")
    func tenThousand() async throws {
        try await withTestPlaza(apps: [NotesApp.self], configure: { $0.edge.rateLimits = [] }) { plaza in
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            let admin = try await signIn(plaza, IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
            let existing = try await person(plaza, "existing@example.com")
            let before = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM identity_users").first()?.decode(column: "n", as: Int.self) ?? 0
            try await plaza.testApplication().test(.router) { client in
                let customer = try await signIn(plaza, IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(try await post(client, "x@example.com\n", token: customer.token).status == .forbidden)
                let accepted = try await post(client, Self.file(), token: admin.token)
                #expect(accepted.status == .accepted)
                let queued = try decode(UserImport.self, accepted)
                #expect(queued.status == .queued && queued.total == 10_000)
                try await plaza.runPendingWork()
                let location = try #require(accepted.headers[.location])
                let done = try decode(
                    UserImport.self, try await client.executeRequest(uri: location, method: .get, headers: admin.headers, body: nil))
                #expect(done.status == .done && done.done == 10_000 && done.failed == Self.bad.count)
                #expect(done.created == 10_000 - Self.bad.count - 1 && done.updated == 1 && done.unchanged == 0)
                // Row numbers as a spreadsheet shows them: the header is row 1, so the file's 17th person is row 18.
                for (index, bad) in Self.bad {
                    let error = done.errors.first { $0.row == index + 1 }
                    #expect(error?.message.contains(bad.problem) == true, "row \(index + 1): \(String(describing: error))")
                }
                let after = try await plaza.store.sql.raw("SELECT COUNT(*) AS n FROM identity_users").first()?.decode(column: "n", as: Int.self) ?? 0
                #expect(after == before + done.created)
                let renamed = try await plaza.identity.me(existing.id)
                #expect(
                    renamed.firstName == "Renamed" && renamed.locale == "uk" && renamed.timeZone == "Europe/Kyiv" && renamed.mobile == "+380501234567"
                )
                #expect(renamed.appRoles["*"]?.contains("note-taker") == true)
                let quoted = try #require(try await plaza.identity.contact(email: "quoted@example.com"))
                let me = try await plaza.identity.me(quoted.id)
                #expect(me.firstName == "Smith, Jr." && me.lastName == "O\"Neil" && me.appRoles["*"] == ["customer", "note-taker"])

                let again = try decode(UserImport.self, try await post(client, Self.file(), token: admin.token))
                try await plaza.runPendingWork()
                let second = try await plaza.identity.userImport(
                    again.id, caller: Caller(principal: Principal(id: admin.id, systemRoles: [SystemRole.admin])))
                #expect(second.created == 0 && second.updated == 0 && second.unchanged == 10_000 - Self.bad.count && second.failed == Self.bad.count)

                let list = try decode(
                    UserImportList.self,
                    try await client.executeRequest(uri: "/api/v1/admin/users/imports", method: .get, headers: admin.headers, body: nil))
                #expect(list.items.map(\.id) == [again.id, queued.id])
            }
        }
    }

    @Test("a file Plaza cannot read is refused whole, before any row: unknown or repeated columns, no email column, an open quote, nothing")
    func badFiles() async throws {
        try await withTestPlaza { plaza in
            let admin = Caller(principal: Principal(id: UUID(), systemRoles: [SystemRole.admin]))
            for (csv, words) in [
                ("email,shoe_size\na@example.com,44\n", "shoe_size"), ("first_name\nAda\n", "email column"), ("email,email\n", "twice"),
                ("email\n\"a@example.com\n", "quoted"), ("", "empty"),
            ] {
                await #expect(throws: PlazaError.self, "\(words)") {
                    _ = try await plaza.identity.startImport(csv: csv, fileName: "x.csv", queue: plaza.queue, caller: admin)
                }
                do {
                    _ = try await plaza.identity.startImport(csv: csv, fileName: "x.csv", queue: plaza.queue, caller: admin)
                } catch let error as PlazaError {
                    #expect("\(error.errors.map(\.message))".contains(words), "\(error)")
                }
            }
            #expect(try await plaza.identity.userImports(caller: admin).isEmpty)
        }
    }

    @Test("plaza users import FILE reads the file with a progress line per batch and a summary; the admin page shows imports")
    func cliAndPage() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/people.csv"
        let rows = (1...1_200).map { "cli\($0)@example.com,Cli,\($0),en,UTC,," } + ["broken,,,,,,"]
        try (["email,first_name,last_name,locale,time_zone,mobile,roles"] + rows).joined(separator: "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let run = try PlazaProcess.run(["users", "import", path, "--data-dir", directory + "/data"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("500/1201 rows") && run.stdout.contains("1201/1201 rows, 1 refused"), "\(run.stdout)")
        #expect(run.stdout.contains("created 1200, updated 0, unchanged 0, refused 1") && run.stdout.contains("row 1202"), "\(run.stdout)")
        let missing = try PlazaProcess.run(["users", "import", directory + "/nope.csv", "--data-dir", directory + "/data"])
        #expect(missing.status != 0 && missing.stderr.hasPrefix("plaza: cannot read"))

        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                try await browser.signIn(email: IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
                #expect(try await browser.get("/admin/users/imports").status == .ok && browser.lastPage.contains(#"id="import-form""#))
                let action = "/admin/users/imports?_csrf=\(try #require(browser.csrfToken))"
                let bad = try await browser.upload(
                    action, fields: [], file: (name: "x.csv", field: "file", type: "text/csv", data: Data("name\nAda\n".utf8)))
                #expect(bad.status == .unprocessableContent && browser.lastPage.contains("has a column name"))
                let csv = Data("email,first_name\nweb1@example.com,Web\nnope,Bad\n".utf8)
                let sent = try await browser.upload(action, fields: [], file: (name: "web.csv", field: "file", type: "text/csv", data: csv))
                #expect(sent.status == .seeOther)
                try await plaza.runPendingWork()
                try await browser.get("/admin/users/imports")
                #expect(browser.lastPage.contains("web.csv") && browser.lastPage.contains("is not an email address"))
            }
        }
    }
}
