import Foundation
import Hummingbird
import Identity
import MultipartKit
import PlazaKit

/// `/admin/users/imports`: upload a CSV of accounts (read by a job), and follow each import's progress and
/// refused rows. The same service as `/api/v1/admin/users/imports`.
struct UserImportPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let (identity, queue) = (pages.identity, pages.queue)
        let manage = Access.action(IdentityPolicy.manageUsers)
        routes.add(.get, "/admin/users/imports", "adminImportsPage", "Bulk imports of accounts: the form and their progress.", access: manage) {
            _, context, scope in
            let imports = try await identity.userImports(caller: context.caller)
            return scope.render("admin-imports", Self.data(imports, scope), headers: imports.contains { $0.status != .done } ? ["Refresh": "2"] : [:])
        }
        routes.add(.post, "/admin/users/imports", "adminImportForm", "Upload a CSV of accounts (multipart: file).", access: manage, uploads: true) {
            request, context, scope in
            try await scope.checkUploadForm(request)
            do {
                let (name, text) = try await Self.file(request)
                _ = try await identity.startImport(csv: text, fileName: name, queue: queue, caller: context.caller)
                return scope.redirect("/admin/users/imports?notice=import-queued")
            } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                var data = Self.data(try await identity.userImports(caller: context.caller), scope)
                data["problem"] = error.errors.isEmpty ? (error.detail ?? error.title) : scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("admin-imports", data, status: error.status)
            }
        }
        return routes.table
    }

    /// The `file` part of a multipart body, as text.
    static func file(_ request: Request) async throws -> (name: String, text: String) {
        guard let type = request.headers[.contentType],
            let boundary = type.split(separator: ";").dropFirst()
                .map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.lowercased().hasPrefix("boundary=") })?
                .dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        else { throw PlazaError.validation(field: "file", "is missing") }
        let limit = IdentityService.importLimit + 64 * 1024
        guard let body = try? await request.body.collect(upTo: limit) else { throw PlazaError.payloadTooLarge(limit: limit) }
        let parser = MultipartParser(boundary: boundary)
        let collected = CollectedParts()
        parser.onHeader = { name, value in collected.headers[name.lowercased()] = value }
        parser.onBody = { buffer in collected.current.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            let disposition = collected.headers["content-disposition"] ?? ""
            if disposition.contains("name=\"file\""), collected.file == nil {
                let name = disposition.components(separatedBy: "filename=\"").dropFirst().first?.components(separatedBy: "\"").first ?? "import.csv"
                collected.file = (name.isEmpty ? "import.csv" : name, collected.current)
            }
            collected.headers = [:]
            collected.current = Data()
        }
        do { try parser.execute(body) } catch { throw PlazaError.badRequest("The multipart body is malformed.", code: "bad-multipart") }
        guard let (name, data) = collected.file, !data.isEmpty else { throw PlazaError.validation(field: "file", "is missing or empty") }
        return (name, String(decoding: data, as: UTF8.self))
    }

    static func data(_ imports: [UserImport], _ scope: PageScope) -> [String: Any] {
        [
            "imports": imports.map { item -> [String: Any] in
                [
                    "id": item.id.uuidString.lowercased(), "fileName": item.fileName, "status": scope.t("import_\(item.status.rawValue)"),
                    "done": item.done, "total": item.total, "created": item.created, "updated": item.updated, "unchanged": item.unchanged,
                    "failed": item.failed, "percent": item.total == 0 ? 100 : 100 * item.done / item.total,
                    "errors": item.errors.prefix(100).map { ["row": $0.row, "email": $0.email ?? "", "message": $0.message] as [String: Any] },
                    "hasErrors": !item.errors.isEmpty,
                ]
            },
            "columns": IdentityService.importColumns.joined(separator: ", "),
        ]
    }
}

/// The parts of a small multipart body as MultipartKit's push parser hands them over (one task uses it).
private final class CollectedParts: @unchecked Sendable {
    var headers: [String: String] = [:]
    var current = Data()
    var file: (String, Data)?
}

extension Templates {
    static let imports = """
        {{<layout}}{{$title}}{{t.imports_heading}}{{/title}}{{$content}}
        <p><a href="/admin/users">{{t.users_heading}}</a></p>
        <h1>{{t.imports_heading}}</h1>
        <section class="card">
        <p>{{t.imports_intro}} <code>{{columns}}</code></p>
        <form method="post" action="/admin/users/imports?_csrf={{csrf}}" enctype="multipart/form-data" class="stack" id="import-form">
        <label><span>{{t.imports_file}}</span><input type="file" name="file" accept=".csv,text/csv" required></label>
        <button type="submit">{{t.imports_start}}</button>
        </form>
        </section>
        {{#imports}}<section class="card" id="import-{{id}}">
        <h2>{{fileName}} <small>{{status}}</small></h2>
        <progress max="{{total}}" value="{{done}}" aria-label="{{t.imports_progress}}">{{percent}} %</progress>
        <p>{{done}} / {{total}} · {{t.imports_created}} {{created}} · {{t.imports_updated}} {{updated}} · {{t.imports_unchanged}} \
        {{unchanged}} · {{t.imports_failed}} {{failed}}</p>
        {{#hasErrors}}<table><thead><tr><th>{{t.imports_row}}</th><th>{{t.field_email}}</th><th>{{t.imports_problem}}</th></tr></thead>
        <tbody>{{#errors}}<tr><td>{{row}}</td><td>{{email}}</td><td>{{message}}</td></tr>{{/errors}}</tbody></table>{{/hasErrors}}
        </section>{{/imports}}
        {{/content}}{{/layout}}
        """
}

extension Catalogue {
    static let importsEn: [String: String] = [
        "imports_heading": "Import accounts", "imports_intro": "A CSV file with a header row; the columns Plaza reads are",
        "imports_file": "CSV file", "imports_start": "Import", "imports_progress": "Progress", "imports_created": "created",
        "imports_updated": "updated", "imports_unchanged": "unchanged", "imports_failed": "refused", "imports_row": "Row",
        "imports_problem": "Problem", "import_queued": "queued", "import_running": "running", "import_done": "done",
        "notice_import-queued": "The import is queued; this page follows it.",
    ]
    static let importsUk: [String: String] = [
        "imports_heading": "Імпорт облікових записів", "imports_intro": "Файл CSV із рядком заголовків; Plaza читає стовпці",
        "imports_file": "Файл CSV", "imports_start": "Імпортувати", "imports_progress": "Поступ", "imports_created": "створено",
        "imports_updated": "оновлено", "imports_unchanged": "без змін", "imports_failed": "відхилено", "imports_row": "Рядок",
        "imports_problem": "Проблема", "import_queued": "у черзі", "import_running": "виконується", "import_done": "готово",
        "notice_import-queued": "Імпорт у черзі; ця сторінка стежить за ним.",
    ]
}
