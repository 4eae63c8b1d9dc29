import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/admin/users` and `/admin/roles`: finding people, disabling and enabling them, ending their sessions,
/// granting and revoking roles. The same services and policy actions as `/api/v1/admin/*`.
struct AdminPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let identity = pages.identity
        let read = Access.action(IdentityPolicy.readUsers)
        let manage = Access.action(IdentityPolicy.manageUsers)

        routes.add(.get, "/admin/users", "adminUsersPage", "Search users.", access: read) { request, _, scope in
            let query = request.queryItems
            do {
                let page = try await identity.searchUsers(try UserQuery(query: query), page: try PageRequest(query: query))
                return scope.render("admin-users", Self.users(page, query: query, scope))
            } catch let error as PlazaError where error.status == .unprocessableContent || error.status == .badRequest {
                var data = Self.users(Page(items: [], nextCursor: nil), query: query, scope)
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("admin-users", data, status: error.status)
            }
        }
        routes.add(.get, "/admin/users/{id}", "adminUserPage", "One user: status, roles, sessions.", access: read) { _, context, scope in
            let me = try await identity.me(try context.uuidParameter("id"))
            return scope.render("admin-user", Self.user(me, scope, grantable: try await identity.roles()))
        }
        routes.add(.post, "/admin/users/{id}/status", "adminUserStatusForm", "Disable or enable a user.", access: manage) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            _ = try await identity.setStatus(of: id, to: form["status"] ?? "", caller: context.caller)
            return scope.redirect("/admin/users/\(id)?notice=\(form["status"] == "active" ? "user-enabled" : "user-disabled")")
        }
        routes.add(.post, "/admin/users/{id}/sessions/revoke", "adminUserSessionsForm", "End all of a user's sessions.", access: manage) {
            request, context, scope in
            _ = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            _ = try await identity.revokeSessions(of: id, caller: context.caller)
            return scope.redirect("/admin/users/\(id)?notice=sessions-ended")
        }
        routes.add(.post, "/admin/users/{id}/roles", "adminGrantRoleForm", "Grant a role.", access: manage) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                _ = try await identity.grantRole(RoleGrant(role: form["role"] ?? "", app: form.text("app")), to: id, caller: context.caller)
                return scope.redirect("/admin/users/\(id)?notice=role-granted")
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = Self.user(try await identity.me(id), scope, grantable: try await identity.roles())
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("admin-user", data, status: error.status)
            }
        }
        routes.add(
            .post, "/admin/users/{id}/merge", "adminMergeRequestForm", "Start merging another account (by email) into this one.", access: manage
        ) {
            request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                guard let source = try await identity.contact(email: form["sourceEmail"] ?? "") else {
                    throw PlazaError.validation(field: "sourceEmail", "names no account")
                }
                try await identity.requestMerge(into: id, MergeRequest(sourceUserId: source.id), caller: context.caller)
                return scope.redirect("/admin/users/\(id)?notice=merge-code-sent#merge")
            } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                return try await Self.refused(error, user: id, identity: identity, scope)
            }
        }
        routes.add(
            .post, "/admin/users/{id}/merge/confirm", "adminMergeConfirmForm", "Merge, with the code the other account's owner received.",
            access: manage
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                guard let source = try await identity.contact(email: form["sourceEmail"] ?? "") else {
                    throw PlazaError.validation(field: "sourceEmail", "names no account")
                }
                _ = try await identity.confirmMerge(
                    into: id, MergeConfirmation(sourceUserId: source.id, code: form["code"] ?? ""), caller: context.caller)
                return scope.redirect("/admin/users/\(id)?notice=merged")
            } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                return try await Self.refused(error, user: id, identity: identity, scope)
            }
        }
        routes.add(.post, "/admin/users/{id}/roles/revoke", "adminRevokeRoleForm", "Revoke a role.", access: manage) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            _ = try await identity.revokeRole(RoleGrant(role: form["role"] ?? "", app: form.text("app")), from: id, caller: context.caller)
            return scope.redirect("/admin/users/\(id)?notice=role-revoked")
        }
        routes.add(.get, "/admin/roles", "adminRolesPage", "The roles and their permissions.", access: read) { _, _, scope in
            scope.render("admin-roles", try await Self.roles(identity: identity, scope, create: Self.newRole(scope)))
        }
        let manageRoles = Access.action(IdentityPolicy.manageRoles)
        routes.add(.post, "/admin/roles", "adminCreateRoleForm", "Create a role.", access: manageRoles) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                let role = try await identity.createRole(
                    NewRole(
                        name: form["name"] ?? "", scope: form["scope"] ?? "", description: form["description"] ?? "",
                        permissions: Self.permissions(form["permissions"])),
                    caller: context.caller)
                return scope.redirect("/admin/roles?notice=role-created#role-\(role.name)")
            } catch {
                var create = Self.newRole(scope)
                for index in create.fields.indices { create.fields[index].value = form[create.fields[index].name] ?? "" }
                return try scope.rerender(
                    FormPage(heading: scope.t("nav_roles"), form: create), after: error, template: "admin-roles",
                    extra: try await Self.roles(identity: identity, scope, create: create))
            }
        }
        routes.add(.post, "/admin/roles/{name}", "adminUpdateRoleForm", "Change a role's permissions.", access: manageRoles) {
            request, context, scope in
            let form = try await scope.form(request, context)
            let name = context.parameters.get("name") ?? ""
            do {
                _ = try await identity.updateRole(
                    name, RoleChange(description: form["description"] ?? "", permissions: Self.permissions(form["permissions"])),
                    caller: context.caller)
                return scope.redirect("/admin/roles?notice=role-saved#role-\(name)")
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = try await Self.roles(identity: identity, scope, create: Self.newRole(scope))
                data["problem"] = "\(name): " + scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("admin-roles", data, status: error.status)
            }
        }
        routes.add(.post, "/admin/roles/{name}/delete", "adminDeleteRoleForm", "Delete a role nobody holds.", access: manageRoles) {
            request, context, scope in
            _ = try await scope.form(request, context)
            let name = context.parameters.get("name") ?? ""
            do {
                try await identity.deleteRole(name, caller: context.caller)
                return scope.redirect("/admin/roles?notice=role-deleted")
            } catch let error as PlazaError where error.status == .conflict {
                var data = try await Self.roles(identity: identity, scope, create: Self.newRole(scope))
                data["problem"] = error.detail ?? error.title
                return scope.render("admin-roles", data, status: error.status)
            }
        }
        return routes.table
    }

    /// The user's page again, with what was refused on top.
    static func refused(_ error: PlazaError, user id: UUID, identity: IdentityService, _ scope: PageScope) async throws -> Response {
        var data = Self.user(try await identity.me(id), scope, grantable: try await identity.roles())
        data["problem"] = error.errors.isEmpty ? (error.detail ?? error.title) : scope.t("error_validation")
        data["problems"] = scope.problems(error)
        return scope.render("admin-user", data, status: error.status)
    }

    static func users(_ page: Page<UserSummary>, query: [String: String], _ scope: PageScope) -> [String: Any] {
        var next: String?
        if let cursor = page.nextCursor {
            var items = query
            items["cursor"] = cursor
            next =
                "/admin/users?" + items.sorted { $0.key < $1.key }.map { "\($0.key)=\(SignInPages<Context>.encode($0.value))" }.joined(separator: "&")
        }
        let statuses = ["", "active", "disabled", "deleted"].map { value in
            ["value": value, "label": value.isEmpty ? scope.t("any") : scope.t("status_\(value)"), "selected": query["status"] ?? "" == value]
                as [String: Any]
        }
        let roles = ([""] + Roles.system + scope.pages.identity.catalogue.appRoleNames).map { value in
            ["value": value, "label": value.isEmpty ? scope.t("any") : scope.t("role_\(value)"), "selected": query["role"] ?? "" == value]
                as [String: Any]
        }
        var data: [String: Any] = [
            "q": query["q"] ?? "", "organisationId": query["organisationId"] ?? "", "statuses": statuses, "roleOptions": roles,
            "users": page.items.map { user -> [String: Any] in
                [
                    "id": user.id.uuidString, "fullName": "\(user.firstName) \(user.lastName)", "email": user.email, "mobile": user.mobile ?? "",
                    "status": scope.t("status_\(user.status)"), "created": Formats.date(user.createdAt, scope.language),
                ]
            },
        ]
        if let next { data["next"] = next }
        return data
    }

    /// Permissions as typed in a textarea: one per line, or separated by commas or spaces.
    static func permissions(_ text: String?) -> [String] {
        (text ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }

    static func newRole(_ scope: PageScope) -> PageForm {
        PageForm(
            action: "/admin/roles", submit: scope.t("role_create"),
            fields: [
                FormField("name", label: scope.t("field_role_name"), required: true, hint: scope.t("hint_role_name")),
                FormField(
                    "scope", label: scope.t("role_scope"), kind: .select, value: "system",
                    options: RoleInfo.scopes.map { ($0, scope.t("scope_\($0)")) }),
                FormField("description", label: scope.t("description")),
                FormField("permissions", label: scope.t("permissions"), kind: .textarea, hint: scope.t("hint_permissions")),
            ])
    }

    static func roles(identity: IdentityService, _ scope: PageScope, create: PageForm) async throws -> [String: Any] {
        let roles = try await identity.roles().map { role -> [String: Any] in
            [
                "roleName": role.name, "scopeLabel": scope.t("scope_\(role.scope)"),
                "description": scope.strings["role_description_\(role.name)"] ?? role.description, "rawDescription": role.description,
                "permissionLines": role.permissions.joined(separator: "\n"), "deletable": !role.builtIn, "editable": role.name != SystemRole.admin,
                "permissionList": role.permissions.isEmpty ? "—" : role.permissions.joined(separator: ", "),
            ]
        }
        return ["roles": roles, "form": create]
    }

    static func user(_ me: Me, _ scope: PageScope, grantable: [RoleInfo]) -> [String: Any] {
        let systemRoles = Set(grantable.filter { $0.scope == "system" }.map(\.name))
        var grants: [[String: Any]] = me.roles.filter(systemRoles.contains).map { ["role": $0, "roleLabel": scope.strings["role_\($0)"] ?? $0] }
        for (app, roles) in me.appRoles.sorted(by: { $0.key < $1.key }) {
            grants += roles.map { ["role": $0, "roleLabel": scope.strings["role_\($0)"] ?? $0, "app": app] }
        }
        return [
            "id": me.id.uuidString, "fullName": "\(me.firstName) \(me.lastName)", "email": me.email, "mobile": me.mobile ?? "—",
            "status": scope.t("status_\(me.status)"), "isActive": me.status == "active", "emailVerified": me.emailVerified,
            "since": Formats.date(me.createdAt, scope.language), "grants": grants,
            "organisations": PageScope.memberships(me),
            "grantable": grantable.filter { $0.scope != "organisation" }.map {
                ["value": $0.name, "label": scope.strings["role_\($0.name)"] ?? $0.name]
            },
        ]
    }
}

extension Templates {
    static let admin: [String: String] = [
        "admin-users": """
        {{<layout}}{{$title}}{{t.users_heading}}{{/title}}{{$content}}
        <h1>{{t.users_heading}}</h1>
        <p><a href="/admin/users/imports">{{t.imports_heading}}</a></p>
        <form method="get" action="/admin/users" class="filters">
        <label><span>{{t.search}}</span><input type="search" name="q" value="{{q}}" placeholder="{{t.search_users_hint}}"></label>
        <label><span>{{t.roles}}</span><select name="role">{{#roleOptions}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/roleOptions}}</select></label>
        <label><span>{{t.status}}</span><select name="status">{{#statuses}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
        <input type="hidden" name="organisationId" value="{{organisationId}}">
        <button type="submit">{{t.search}}</button>
        </form>
        <table>
        <thead><tr><th>{{t.field_name}}</th><th>{{t.field_email}}</th><th>{{t.field_mobile}}</th><th>{{t.status}}</th><th>\
        {{t.created}}</th></tr></thead>
        <tbody>
        {{#users}}<tr><td><a href="/admin/users/{{id}}">{{fullName}}</a></td><td>{{email}}</td><td>{{mobile}}</td><td>\
        {{status}}</td><td>{{created}}</td></tr>{{/users}}
        {{^users}}<tr><td colspan="5">{{t.nothing_found}}</td></tr>{{/users}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">{{t.next_page}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """,
        "admin-user": """
        {{<layout}}{{$title}}{{fullName}}{{/title}}{{$content}}
        <p><a href="/admin/users">{{t.users_heading}}</a></p>
        <h1>{{fullName}}</h1>
        <div class="columns">
        <section class="card">
        <dl>
        <dt>{{t.field_email}}</dt><dd>{{email}} {{#emailVerified}}<span class="badge ok">{{t.verified}}</span>{{/emailVerified}}</dd>
        <dt>{{t.field_mobile}}</dt><dd>{{mobile}}</dd>
        <dt>{{t.status}}</dt><dd>{{status}}</dd>
        <dt>{{t.member_since}}</dt><dd>{{since}}</dd>
        <dt>{{t.nav_organisations}}</dt>
        <dd>{{#organisations}}<a href="/organisations/{{id}}">{{title}}</a> <small>({{orgRoles}})</small><br>\
        {{/organisations}}{{^organisations}}—{{/organisations}}</dd>
        </dl>
        <form method="post" action="/admin/users/{{id}}/status" class="inline{{#isActive}} danger{{/isActive}}">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#isActive}}<input type="hidden" name="status" value="disabled"><button>{{t.user_disable}}</button>{{/isActive}}
        {{^isActive}}<input type="hidden" name="status" value="active"><button>{{t.user_enable}}</button>{{/isActive}}
        </form>
        <form method="post" action="/admin/users/{{id}}/sessions/revoke" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><button>{{t.user_end_sessions}}</button>
        </form>
        </section>
        <section class="card">
        <h2>{{t.roles}}</h2>
        <table><tbody>
        {{#grants}}<tr><td>{{roleLabel}}</td><td>{{#app}}{{t.app}}: {{app}}{{/app}}</td>
        <td><form method="post" action="/admin/users/{{id}}/roles/revoke" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}">
        <input type="hidden" name="role" value="{{role}}"><input type="hidden" name="app" value="{{app}}"><button class="small">\
        {{t.revoke}}</button></form></td></tr>{{/grants}}
        {{^grants}}<tr><td>—</td></tr>{{/grants}}
        </tbody></table>
        <form method="post" action="/admin/users/{{id}}/roles" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label class="field"><span>{{t.field_role}}</span><select name="role">{{#grantable}}<option value="{{value}}">\
        {{label}}</option>{{/grantable}}</select></label>
        <label class="field"><span>{{t.app}}</span><input name="app" value="*"><small class="hint">{{t.hint_app}}</small></label>
        <button>{{t.grant}}</button>
        </form>
        </section>
        {{#isActive}}<section class="card" id="merge">
        <h2>{{t.merge_heading}}</h2>
        <p>{{t.merge_intro}}</p>
        <form method="post" action="/admin/users/{{id}}/merge" class="stack" id="merge-request-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label class="field"><span>{{t.merge_source}}</span><input type="email" name="sourceEmail" required></label>
        <button>{{t.merge_send_code}}</button>
        </form>
        <form method="post" action="/admin/users/{{id}}/merge/confirm" class="stack danger" id="merge-confirm-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label class="field"><span>{{t.merge_source}}</span><input type="email" name="sourceEmail" required></label>
        <label class="field"><span>{{t.field_code}}</span><input name="code" inputmode="numeric" autocomplete="one-time-code" required></label>
        <button>{{t.merge_confirm}}</button>
        </form>
        </section>{{/isActive}}
        </div>
        {{/content}}{{/layout}}
        """,
        "admin-roles": """
        {{<layout}}{{$title}}{{t.nav_roles}}{{/title}}{{$content}}
        <h1>{{t.nav_roles}}</h1>
        <p>{{t.roles_intro}}</p>
        <table>
        <thead><tr><th>{{t.field_role}}</th><th>{{t.role_scope}}</th><th>{{t.description}}</th><th>{{t.permissions}}</th></tr></thead>
        <tbody>
        {{#roles}}
        <tr id="role-{{roleName}}"><td><code>{{roleName}}</code></td><td>{{scopeLabel}}</td><td>{{description}}</td>
        <td>{{#editable}}<form method="post" action="/admin/roles/{{roleName}}" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <input name="description" value="{{rawDescription}}" aria-label="{{t.description}}">
        <textarea name="permissions" rows="2" aria-label="{{t.permissions}}">{{permissionLines}}</textarea>
        <button class="small">{{t.save}}</button></form>
        {{#deletable}}<form method="post" action="/admin/roles/{{roleName}}/delete" class="inline"><input type="hidden" \
        name="_csrf" value="{{csrf}}"><button class="small danger">{{t.remove}}</button></form>{{/deletable}}
        {{/editable}}{{^editable}}<code>{{permissionList}}</code>{{/editable}}</td></tr>
        {{/roles}}
        </tbody>
        </table>
        <section class="card">
        <h2>{{t.role_create}}</h2>
        {{#form}}{{> form}}{{/form}}
        </section>
        {{/content}}{{/layout}}
        """,
    ]
}
