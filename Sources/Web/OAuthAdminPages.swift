import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/admin/oauth`: the applications that may ask Plaza for tokens — register one (its secret is shown once),
/// give it a new secret, delete it. The same service and policy action as `/api/v1/oauth/clients`.
struct OAuthAdminPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let clients = pages.identity.oauthClients
        let manage = Access.action(IdentityPolicy.manageOAuthClients)
        routes.add(.get, "/admin/oauth", "adminOAuthPage", "The OAuth clients and the form that registers one.", access: manage) {
            _, context, scope in
            scope.render("admin-oauth", try await Self.data(clients, scope, caller: context.caller))
        }
        routes.add(.post, "/admin/oauth", "adminOAuthCreateForm", "Register an OAuth client.", access: manage) { request, context, scope in
            let form = try await scope.form(request, context)
            let input = OAuthClientInput(
                name: form["name"] ?? "", confidential: form["type"] != "public",
                redirectUris: (form["redirectUris"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                },
                scopes: form.all("scope"), grants: form.all("grant"))
            do {
                let registered = try await clients.register(input, caller: context.caller)
                var data = try await Self.data(clients, scope, caller: context.caller)
                data["created"] = Self.secretBox(registered)
                return scope.render("admin-oauth", data, status: .created)
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = try await Self.data(clients, scope, caller: context.caller, form: form)
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("admin-oauth", data, status: error.status)
            }
        }
        routes.add(.post, "/admin/oauth/{id}/secret", "adminOAuthSecretForm", "Give a confidential client a new secret.", access: manage) {
            request, context, scope in
            _ = try await scope.form(request, context)
            let registered = try await clients.rotateSecret(try context.uuidParameter("id"), caller: context.caller)
            var data = try await Self.data(clients, scope, caller: context.caller)
            data["created"] = Self.secretBox(registered)
            return scope.render("admin-oauth", data)
        }
        routes.add(.post, "/admin/oauth/{id}/delete", "adminOAuthDeleteForm", "Delete an OAuth client.", access: manage) { request, context, scope in
            _ = try await scope.form(request, context)
            try await clients.delete(try context.uuidParameter("id"), caller: context.caller)
            return scope.redirect("/admin/oauth?notice=oauth-client-deleted")
        }
        return routes.table
    }

    static func secretBox(_ registered: RegisteredOAuthClient) -> [String: Any] {
        ["name": registered.client.name, "clientId": registered.client.id.uuidString.lowercased(), "secret": registered.clientSecret ?? ""]
    }

    static func data(_ clients: OAuthClients, _ scope: PageScope, caller: Caller, form: FormData? = nil) async throws -> [String: Any] {
        let chosenScopes = form.map { $0.all("scope") } ?? [OAuthScope.openID, OAuthScope.profile, OAuthScope.email]
        let chosenGrants = form.map { $0.all("grant") } ?? [OAuthGrant.authorizationCode, OAuthGrant.refreshToken]
        return [
            "clients": try await clients.list(caller: caller).map { client -> [String: Any] in
                [
                    "id": client.id.uuidString.lowercased(), "name": client.name, "confidential": client.confidential,
                    "type": scope.t(client.confidential ? "oauth_confidential" : "oauth_public"), "grants": client.grants.joined(separator: ", "),
                    "scopes": client.scopes.joined(separator: " "), "redirects": client.redirectUris,
                ]
            },
            "scopeOptions": OAuthScope.all.map { ["value": $0, "checked": chosenScopes.contains($0)] as [String: Any] },
            "grantOptions": OAuthGrant.all.map { ["value": $0, "checked": chosenGrants.contains($0)] as [String: Any] },
            "form": ["name": form?["name"] ?? "", "redirectUris": form?["redirectUris"] ?? "", "public": form?["type"] == "public"] as [String: Any],
        ]
    }
}

extension Templates {
    static let oauthAdmin = """
        {{<layout}}{{$title}}{{t.nav_oauth}}{{/title}}{{$content}}
        <h1>{{t.nav_oauth}}</h1>
        {{#created}}<section class="card" role="status" id="client-secret">
        <h2>{{name}}</h2>
        <p>{{t.oauth_client_id}}: <code>{{clientId}}</code></p>
        {{#secret}}<p>{{t.oauth_client_secret}}: <code>{{secret}}</code></p><p><strong>{{t.oauth_secret_once}}</strong></p>{{/secret}}
        </section>{{/created}}
        <section class="card">
        <table><thead><tr><th>{{t.field_name}}</th><th>{{t.oauth_client_id}}</th><th>{{t.oauth_type}}</th><th>\
        {{t.oauth_grants}}</th><th>{{t.oauth_scopes}}</th><th>{{t.oauth_redirects}}</th><th></th></tr></thead>
        <tbody>{{#clients}}<tr id="client-{{id}}"><td>{{name}}</td><td><code>{{id}}</code></td><td>{{type}}</td><td>{{grants}}</td><td>{{scopes}}</td>
        <td>{{#redirects}}<code>{{.}}</code><br>{{/redirects}}</td>
        <td>{{#confidential}}<form method="post" action="/admin/oauth/{{id}}/secret" class="inline-form"><input type="hidden" \
        name="_csrf" value="{{csrf}}"><button type="submit" class="secondary">{{t.oauth_new_secret}}</button></form>{{/confidential}}
        <form method="post" action="/admin/oauth/{{id}}/delete" class="inline-form"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button type="submit" class="secondary">{{t.oauth_delete}}</button></form></td></tr>{{/clients}}
        {{^clients}}<tr><td colspan="7">{{t.oauth_no_clients}}</td></tr>{{/clients}}</tbody></table>
        </section>
        <section class="card">
        <h2>{{t.oauth_register}}</h2>
        <form method="post" action="/admin/oauth" class="stack" id="oauth-client-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.field_name}}</span><input name="name" value="{{form.name}}" required maxlength="100"></label>
        <fieldset><legend>{{t.oauth_type}}</legend>
        <label><input type="radio" name="type" value="confidential"{{^form.public}} checked{{/form.public}}> {{t.oauth_confidential}}</label>
        <label><input type="radio" name="type" value="public"{{#form.public}} checked{{/form.public}}> {{t.oauth_public}}</label></fieldset>
        <label><span>{{t.oauth_redirects}}</span><textarea name="redirectUris" rows="3" aria-describedby="redirects-hint">\
        {{form.redirectUris}}</textarea></label>
        <small id="redirects-hint">{{t.oauth_redirects_hint}}</small>
        <fieldset><legend>{{t.oauth_scopes}}</legend>{{#scopeOptions}}<label><input type="checkbox" name="scope" \
        value="{{value}}"{{#checked}} checked{{/checked}}> {{value}}</label> {{/scopeOptions}}</fieldset>
        <fieldset><legend>{{t.oauth_grants}}</legend>{{#grantOptions}}<label><input type="checkbox" name="grant" \
        value="{{value}}"{{#checked}} checked{{/checked}}> {{value}}</label> {{/grantOptions}}</fieldset>
        <button type="submit">{{t.oauth_register}}</button>
        </form>
        </section>
        {{/content}}{{/layout}}
        """
}
