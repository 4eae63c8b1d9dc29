import FluentKit
import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// A bulk import of accounts from CSV (seed 002's bulk updates): its progress and the rows it refused.
public struct UserImport: Codable, Sendable, Equatable, APISchema {
    public enum Status: String, Codable, Sendable { case queued, running, done }

    public var id: UUID
    public var fileName: String
    public var status: Status
    public var total: Int
    public var done: Int
    public var created: Int
    public var updated: Int
    public var unchanged: Int
    public var failed: Int
    /// The first thousand refused rows: the row's number in the file (the header is row 1) and why.
    public var errors: [RowError]
    public var createdAt: Date
    public var finishedAt: Date?

    public struct RowError: Codable, Sendable, Equatable, Error {
        public var row: Int
        public var email: String?
        public var message: String
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "fileName": .text, "status": .string(enumValues: ["queued", "running", "done"]), "total": .integer(format: "int32"),
                "done": .integer(format: "int32"), "created": .integer(format: "int32"), "updated": .integer(format: "int32"),
                "unchanged": .integer(format: "int32"), "failed": .integer(format: "int32"),
                "errors": .array(
                    .object(
                        properties: ["row": .integer(format: "int32"), "email": .nullable(.text), "message": .text],
                        required: ["row", "message"])),
                "createdAt": .dateTime, "finishedAt": .nullable(.dateTime),
            ],
            required: ["id", "fileName", "status", "total", "done", "created", "updated", "unchanged", "failed", "errors", "createdAt"])
    }
}

public struct UserImportList: Codable, Sendable, APISchema {
    public var items: [UserImport]
    public static var schema: JSONSchema { .object(properties: ["items": .array(.ref(UserImport.schemaName))], required: ["items"]) }
}

/// One row of the file, checked.
struct ImportRow: Sendable, Equatable {
    var line: Int
    var email: String
    var firstName: String?
    var lastName: String?
    var locale: String?
    var timeZone: String?
    var mobile: String?
    var roles: [String]?
}

extension IdentityService {
    public static let importJob = "identity.users.import"
    /// The columns a file may have; `email` is required and is the key.
    public static let importColumns = ["email", "first_name", "last_name", "locale", "time_zone", "mobile", "roles"]
    static let importBatch = 500
    /// The largest file taken (20 MB: some 200,000 rows).
    public static let importLimit = 20 * 1024 * 1024
    static let importErrorLimit = 1000

    /// Takes a CSV file for import: the header is checked now (a file Plaza cannot read is refused whole);
    /// the rows are read by a job (`enqueue`), or by whoever calls ``runImport(_:progress:)`` — the CLI.
    public func startImport(csv: String, fileName: String, queue: JobQueue?, caller: Caller) async throws -> UserImport {
        try policy.authorize(caller, IdentityPolicy.manageUsers)
        guard csv.utf8.count <= Self.importLimit else { throw PlazaError.payloadTooLarge(limit: Self.importLimit) }
        // The file is kept whole for the job that reads it: a NUL would cut it short in storage.
        try InputText.check(csv, field: "file")
        let rows = try CSV.parse(csv)
        guard let header = rows.first else { throw PlazaError.validation(field: "file", "is empty") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if let unknown = columns.first(where: { !Self.importColumns.contains($0) }) {
            throw PlazaError.validation(field: "file", "has a column \(unknown); the columns are \(Self.importColumns.joined(separator: ", "))")
        }
        guard columns.contains("email") else { throw PlazaError.validation(field: "file", "needs an email column") }
        guard Set(columns).count == columns.count else { throw PlazaError.validation(field: "file", "names a column twice") }
        let total = rows.dropFirst().filter { !$0.allSatisfy(\.isEmpty) }.count
        let id = PlazaID.make(at: store.clock.now())
        let name = String(fileName.prefix(200))
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            try await transaction.sql.raw(
                """
                INSERT INTO identity_imports (id, file_name, csv, status, total, done, created, updated, unchanged, failed, \
                errors, created_by, created_at)
                VALUES (\(bind: id), \(bind: name), \(bind: csv), 'queued', \(bind: total), 0, 0, 0, 0, 0, '[]',\
                 \(bind: caller.principal?.id), \(bind: now))
                """
            ).run()
            if let queue {
                _ = try await queue.enqueue(
                    JobRequest(Self.importJob, payload: ["importId": id.uuidString], uniqueKey: "import:\(id)"), in: transaction)
            }
            try await transaction.audit(
                caller, action: "identity.users.import", resourceType: "import", resourceID: id.uuidString,
                details: ["fileName": .string(name), "rows": .number(Double(total))])
        }
        return try await userImport(id, caller: caller)
    }

    public func userImport(_ id: UUID, caller: Caller) async throws -> UserImport {
        try policy.authorize(caller, IdentityPolicy.manageUsers)
        return try await loadImport(id)
    }

    func loadImport(_ id: UUID) async throws -> UserImport {
        guard let row = try await store.sql.raw("SELECT * FROM identity_imports WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("No import has the id \(id).")
        }
        return try Self.userImport(row)
    }

    public func userImports(caller: Caller) async throws -> [UserImport] {
        try policy.authorize(caller, IdentityPolicy.manageUsers)
        return try await store.sql.raw("SELECT * FROM identity_imports ORDER BY created_at DESC LIMIT 50").all().map(Self.userImport)
    }

    /// Reads an import's rows in batches of 500, one transaction each, recording progress after each, and
    /// carrying on from the last recorded batch if it was interrupted. A refused row is counted and noted;
    /// it does not stop the rest. Rows that match the account already change nothing, so running the
    /// same file again creates and updates nothing.
    public func runImport(_ id: UUID, progress: (@Sendable (UserImport) -> Void)? = nil) async throws {
        guard let row = try await store.sql.raw("SELECT csv, done, status FROM identity_imports WHERE id = \(bind: id)").first() else { return }
        guard try row.decode(column: "status", as: String.self) != "done" else { return }
        let rows = try CSV.parse(try row.decode(column: "csv", as: String.self))
        let columns = rows[0].map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        // Row numbers as a spreadsheet shows them: the header is row 1.
        let lines = rows.enumerated().dropFirst().filter { !$0.element.allSatisfy(\.isEmpty) }.map { (line: $0.offset + 1, values: $0.element) }
        var start = try row.decode(column: "done", as: Int.self)
        try await store.transaction { transaction in
            try await transaction.sql.raw("UPDATE identity_imports SET status = 'running' WHERE id = \(bind: id)").run()
        }
        var seen = Set(lines.prefix(start).compactMap { Self.email(of: $0.values, columns: columns) })
        while start < lines.count {
            let batch = Array(lines[start..<min(start + Self.importBatch, lines.count)])
            var checked: [ImportRow] = []
            var errors: [UserImport.RowError] = []
            for line in batch {
                switch Self.check(line.values, line: line.line, columns: columns, appRoles: catalogue.appRoleNames) {
                case .success(let row):
                    if seen.contains(row.email) {
                        errors.append(.init(row: line.line, email: row.email, message: "repeats an email an earlier row has"))
                    } else {
                        seen.insert(row.email)
                        checked.append(row)
                    }
                case .failure(let error):
                    errors.append(error)
                }
            }
            let rowErrors = errors
            let valid = checked
            let finished = start + batch.count == lines.count
            try await store.transaction { transaction in
                let counts = try await Self.apply(valid, in: transaction)
                let now = transaction.clock.now()
                let previous =
                    try await transaction.sql.raw("SELECT errors FROM identity_imports WHERE id = \(bind: id)").first()?
                    .decode(column: "errors", as: String.self) ?? "[]"
                var all = (try? PlazaJSON.decoder().decode([UserImport.RowError].self, from: Data(previous.utf8))) ?? []
                all.append(contentsOf: rowErrors.prefix(max(0, Self.importErrorLimit - all.count)))
                try await transaction.sql.raw(
                    """
                    UPDATE identity_imports SET done = done + \(bind: batch.count), created = created + \(bind: counts.created),
                        updated = updated + \(bind: counts.updated), unchanged = unchanged + \(bind: counts.unchanged),
                        failed = failed + \(bind: rowErrors.count), errors \
                    = \(bind: String(decoding: try PlazaJSON.encoder().encode(all), as: UTF8.self)),
                        status = \(bind: finished ? "done" : "running"), finished_at = \(bind: finished ? Optional(now) : nil)
                    WHERE id = \(bind: id)
                    """
                ).run()
            }
            start += batch.count
            if let progress { progress(try await loadImport(id)) }
        }
        if lines.isEmpty {
            try await store.transaction { transaction in
                try await transaction.sql.raw(
                    """
                    UPDATE identity_imports SET status = 'done', finished_at = \(bind: transaction.clock.now()) WHERE id = \(bind: id)
                    """
                ).run()
            }
        }
    }

    /// Creates the accounts that are new and updates the fields that differ; a row equal to its account is
    /// left alone. Roles are added, never taken away.
    static func apply(_ rows: [ImportRow], in transaction: Transaction) async throws -> (created: Int, updated: Int, unchanged: Int) {
        guard !rows.isEmpty else { return (0, 0, 0) }
        let now = transaction.clock.now()
        var existing: [String: any SQLRow] = [:]
        for row in try await transaction.sql.raw("SELECT * FROM identity_users WHERE email IN (\(binds: rows.map(\.email)))").all() {
            existing[try row.decode(column: "email", as: String.self)] = row
        }
        var grants: [String: Set<String>] = [:]
        let ids = try existing.values.map { try $0.decode(column: "id", as: UUID.self) }
        if !ids.isEmpty {
            for grant in try await transaction.sql.raw(
                """
                SELECT u.email, g.role FROM identity_role_grants g JOIN identity_users u ON u.id = g.user_id
                WHERE g.user_id IN (\(binds: ids)) AND g.app = '*'
                """
            ).all() {
                grants[try grant.decode(column: "email", as: String.self), default: []].insert(try grant.decode(column: "role", as: String.self))
            }
        }
        var counts = (created: 0, updated: 0, unchanged: 0)
        var new: [(UUID, ImportRow)] = []
        for row in rows {
            if let account = existing[row.email] {
                let user = try account.decode(column: "id", as: UUID.self)
                var changed = false
                for (column, value) in [
                    ("first_name", row.firstName), ("last_name", row.lastName), ("locale", row.locale),
                    ("time_zone", row.timeZone), ("mobile", row.mobile),
                ] {
                    guard let value, try account.decode(column: column, as: String?.self) != value else { continue }
                    try await transaction.sql.raw(
                        """
                        UPDATE identity_users SET \(unsafeRaw: column) = \(bind: value), updated_at = \(bind: now) WHERE id = \(bind: user)
                        """
                    ).run()
                    if column == "mobile" {
                        try await transaction.sql.raw("UPDATE identity_users SET phone_verified = \(bind: false) WHERE id = \(bind: user)").run()
                    }
                    changed = true
                }
                for role in row.roles ?? [] where !(grants[row.email]?.contains(role) ?? false) {
                    try await grant(role, app: Roles.everyApp, to: user, at: now, in: transaction)
                    changed = true
                }
                if changed { counts.updated += 1 } else { counts.unchanged += 1 }
            } else {
                new.append((PlazaID.make(at: now), row))
            }
        }
        // The batch's new accounts and their roles in two statements, not two per row.
        if !new.isEmpty {
            var users = transaction.sql.insert(into: "identity_users").columns(
                "id", "email", "password_hash", "first_name", "last_name", "locale", "time_zone", "mobile", "status", "email_verified",
                "phone_verified", "created_at", "updated_at")
            var grants = transaction.sql.insert(into: "identity_role_grants").columns("user_id", "role", "app", "granted_at")
            for (id, row) in new {
                users = users.values(
                    SQLBind(id), SQLBind(row.email), SQLLiteral.null, SQLBind(row.firstName ?? ""), SQLBind(row.lastName ?? ""),
                    SQLBind(row.locale ?? "en"), SQLBind(row.timeZone ?? "UTC"), SQLBind(row.mobile), SQLBind("active"), SQLBind(false),
                    SQLBind(false), SQLBind(now), SQLBind(now))
                for role in Set(row.roles ?? ["customer"]) {
                    grants = grants.values(SQLBind(id), SQLBind(role), SQLBind(Roles.everyApp), SQLBind(now))
                }
            }
            try await users.run()
            try await grants.run()
            counts.created += new.count
        }
        return counts
    }

    /// A row checked against the same rules as sign-up and the profile.
    static func check(_ values: [String], line: Int, columns: [String], appRoles: [String]) -> Result<ImportRow, UserImport.RowError> {
        var fields: [String: String] = [:]
        for (index, column) in columns.enumerated() where index < values.count {
            let value = values[index].trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { fields[column] = value }
        }
        let email = fields["email"].map { normalise(email: $0) }
        func refuse(_ message: String) -> Result<ImportRow, UserImport.RowError> { .failure(.init(row: line, email: email, message: message)) }
        guard values.count <= columns.count else { return refuse("has more values than the header has columns") }
        guard let email, isPlausible(email: email) else { return refuse("email: is not an email address") }
        for name in ["first_name", "last_name"] where (fields[name]?.count ?? 0) > 100 { return refuse("\(name): at most 100 characters") }
        if let locale = fields["locale"], !Identity.locales.contains(locale) {
            return refuse("locale: must be one of \(Identity.locales.joined(separator: ", "))")
        }
        if let zone = fields["time_zone"], TimeZone(identifier: zone) == nil { return refuse("time_zone: \(zone) is not a time zone") }
        var mobile: String?
        if let raw = fields["mobile"] {
            mobile = normalise(mobile: raw)
            guard isE164(mobile!) else { return refuse("mobile: must be a phone number in international form, e.g. +380501234567") }
        }
        var roles: [String]?
        if let raw = fields["roles"] {
            roles = raw.split(whereSeparator: { $0 == ";" || $0 == " " }).map(String.init)
            if let unknown = roles!.first(where: { !appRoles.contains($0) }) {
                return refuse("roles: \(unknown) is not an app role (\(appRoles.joined(separator: ", ")))")
            }
        }
        return .success(
            ImportRow(
                line: line, email: email, firstName: fields["first_name"], lastName: fields["last_name"], locale: fields["locale"],
                timeZone: fields["time_zone"], mobile: mobile, roles: roles))
    }

    static func email(of values: [String], columns: [String]) -> String? {
        guard let index = columns.firstIndex(of: "email"), index < values.count else { return nil }
        return normalise(email: values[index])
    }

    static func userImport(_ row: any SQLRow) throws -> UserImport {
        UserImport(
            id: try row.decode(column: "id", as: UUID.self), fileName: try row.decode(column: "file_name", as: String.self),
            status: UserImport.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .queued,
            total: try row.decode(column: "total", as: Int.self), done: try row.decode(column: "done", as: Int.self),
            created: try row.decode(column: "created", as: Int.self), updated: try row.decode(column: "updated", as: Int.self),
            unchanged: try row.decode(column: "unchanged", as: Int.self), failed: try row.decode(column: "failed", as: Int.self),
            errors: (try? PlazaJSON.decoder().decode([UserImport.RowError].self, from: Data(try row.decode(column: "errors", as: String.self).utf8)))
                ?? [],
            createdAt: try row.decode(column: "created_at", as: Date.self), finishedAt: try row.decode(column: "finished_at", as: Date?.self))
    }
}

/// RFC 4180 CSV: quoted fields (with doubled quotes, commas and line breaks inside), CRLF or LF, a BOM.
enum CSV {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var index = 0
        func endField() {
            row.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): quoted = true
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\n"):
                    endField()
                    rows.append(row)
                    row = []
                case UInt8(ascii: "\r"): break
                default: field.append(byte)
                }
            }
            index += 1
        }
        if quoted { throw PlazaError.validation(field: "file", "ends inside a quoted value") }
        if !field.isEmpty || !row.isEmpty {
            endField()
            rows.append(row)
        }
        return rows
    }
}

/// The imports and their files.
public struct CreateImports: AsyncMigration {
    public init() {}
    public var name: String { "0022_create_imports" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("identity_imports")
            .field("id", .uuid, .identifier(auto: false))
            .field("file_name", .string, .required)
            .field("csv", .string, .required)
            .field("status", .string, .required)
            .field("total", .int, .required)
            .field("done", .int, .required)
            .field("created", .int, .required)
            .field("updated", .int, .required)
            .field("unchanged", .int, .required)
            .field("failed", .int, .required)
            .field("errors", .string, .required)
            .field("created_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("identity_imports").delete()
    }
}
