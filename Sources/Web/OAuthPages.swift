import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/oauth/authorize`: where a person, signed in through the ordinary sign-in page, lets an application have
/// what it asks for. The checks are Identity's (``OAuthProvider``); this page only asks and answers. An
/// untrustworthy request (an unknown client, a redirect URI it did not register) ends on an error page here,
/// never in a redirect.
struct OAuthPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let provider = pages.identity.oauth
        routes.add(
            .get, OAuthPaths.authorize, "oauthAuthorizePage", "OAuth authorization: sign in, then allow or deny the application.", redirects: true,
            query: [
                EndpointParameter("client_id", in: .query, required: true), EndpointParameter("redirect_uri", in: .query, required: true),
                EndpointParameter("response_type", in: .query, required: true, schema: .string(enumValues: ["code"])),
                EndpointParameter(
                    "code_challenge", in: .query, required: true, schema: .string(pattern: "^[A-Za-z0-9_-]{43}$"),
                    description: "PKCE (RFC 7636) is required: the S256 challenge, base64url."),
                EndpointParameter("code_challenge_method", in: .query, required: true, schema: .string(enumValues: ["S256"])),
                EndpointParameter("scope", in: .query), EndpointParameter("state", in: .query), EndpointParameter("nonce", in: .query),
                EndpointParameter("prompt", in: .query, description: "none, or consent."),
            ]
        ) {
            request, context, scope in
            let pairs = FormEncoding.decode(request.uri.query ?? "")
            guard Set(pairs.map(\.0)).count == pairs.count else {
                return Self.errorPage(scope, OAuthError("invalid_request", "A parameter is sent more than once."))
            }
            let parameters = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
            return try await Self.authorize(AuthorizationRequest(parameters), decision: nil, provider: provider, scope: scope, caller: context.caller)
        }
        routes.add(.post, OAuthPaths.authorize, "oauthConsentForm", "Allow or deny an application what it asks for.") { request, context, scope in
            let form = try await scope.form(request, context)
            var parameters: [String: String] = [:]
            for name in ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"] {
                parameters[name] = form[name]
            }
            // The decision is the person's answer to the page: prompt no longer applies.
            return try await Self.authorize(
                AuthorizationRequest(parameters), decision: form["decision"] ?? "deny", provider: provider, scope: scope, caller: context.caller)
        }
        return routes.table
    }

    static func authorize(
        _ request: AuthorizationRequest, decision: String?, provider: OAuthProvider, scope: PageScope, caller: Caller
    ) async throws -> Response {
        let authorization: ValidatedAuthorization
        do {
            authorization = try await provider.validate(request)
        } catch AuthorizationRefusal.errorPage(let error) {
            return errorPage(scope, error)
        } catch AuthorizationRefusal.redirect(let location) {
            return scope.redirect(location)
        }
        let prompts = Set((authorization.prompt ?? "").split(separator: " ").map(String.init))
        guard let principal = scope.principal else {
            if prompts.contains("none") {
                return scope.redirect(provider.refuse(authorization, error: "login_required", description: "The person is not signed in."))
            }
            var again = request.parameters
            if let prompt = request.prompt { again.append(("prompt", prompt)) }
            let next = OAuthPaths.authorize + "?" + FormEncoding.encode(again)
            return scope.redirect("/sign-in?next=" + FormEncoding.escape(next))
        }
        switch decision {
        case "allow"?:
            return scope.redirect(try await provider.approve(authorization, principal: principal, caller: caller))
        case .some:
            return scope.redirect(provider.refuse(authorization, error: "access_denied", description: "The person did not allow it."))
        case nil:
            break
        }
        if !prompts.contains("consent"), try await provider.hasConsent(authorization, user: principal.id) {
            return scope.redirect(try await provider.approve(authorization, principal: principal, caller: caller))
        }
        if prompts.contains("none") {
            return scope.redirect(provider.refuse(authorization, error: "consent_required", description: "The person has not allowed this yet."))
        }
        var scope = scope
        scope.formActionOrigin = OAuthProvider.origin(of: authorization.redirectURI)
        return scope.render(
            "oauth-consent",
            [
                "client": authorization.client.name, "redirect": authorization.redirectURI,
                "scopes": authorization.scopes.map { scope.t("oauth_scope_\($0)") },
                "parameters": request.parameters.map { ["name": $0.0, "value": $0.1] },
            ])
    }

    static func errorPage(_ scope: PageScope, _ error: OAuthError) -> Response {
        scope.render("error", ["heading": scope.t("oauth_error_title"), "detail": "\(error.description) (\(error.error))"], status: .badRequest)
    }
}

extension Templates {
    static let oauth: [String: String] = [
        "admin-oauth": oauthAdmin,
        "oauth-consent": """
        {{<layout}}{{$title}}{{t.oauth_consent_title}}{{/title}}{{$content}}
        <section class="card">
        <h1>{{client}}</h1>
        <p>{{t.oauth_consent_lead}}</p>
        <ul id="scopes">{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul>
        <p><small>{{t.oauth_consent_redirect}} <code>{{redirect}}</code></small></p>
        <form method="post" action="/oauth/authorize" id="consent-form" class="inline-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#parameters}}<input type="hidden" name="{{name}}" value="{{value}}">{{/parameters}}
        <button type="submit" name="decision" value="allow">{{t.oauth_allow}}</button>
        <button type="submit" name="decision" value="deny" class="secondary">{{t.oauth_deny}}</button>
        </form>
        </section>
        {{/content}}{{/layout}}
        """,
    ]
}

extension Catalogue {
    static let oauthEn: [String: String] = [
        "oauth_error_title": "This sign-in link is not valid",
        "oauth_consent_title": "Allow access", "oauth_consent_lead": "This application asks to:",
        "oauth_consent_redirect": "After your answer you go back to", "oauth_allow": "Allow", "oauth_deny": "Deny",
        "oauth_scope_openid": "know who you are on Plaza", "oauth_scope_profile": "see your name, language and time zone",
        "oauth_scope_email": "see your email address", "oauth_scope_offline_access": "stay connected while you are away",
        "oauth_scope_plaza": "use Plaza on your behalf: your requests, messages and bookings",
        "nav_oauth": "Applications", "oauth_client_id": "Client id", "oauth_client_secret": "Client secret",
        "oauth_secret_once": "Copy the secret now: it is not shown again.", "oauth_type": "Type", "oauth_grants": "Grants", "oauth_scopes": "Scopes",
        "oauth_redirects": "Redirect URIs", "oauth_redirects_hint": "One per line; https, or http on 127.0.0.1 for development. Compared exactly.",
        "oauth_confidential": "Confidential (a server that keeps a secret)", "oauth_public": "Public (a browser or phone app; PKCE only)",
        "oauth_new_secret": "New secret", "oauth_delete": "Delete", "oauth_no_clients": "No applications are registered.",
        "oauth_register": "Register an application", "notice_oauth-client-deleted": "The application is deleted; its sessions have ended.",
    ]
    static let oauthUk: [String: String] = [
        "oauth_error_title": "Це посилання для входу недійсне",
        "oauth_consent_title": "Надати доступ", "oauth_consent_lead": "Цей застосунок просить:",
        "oauth_consent_redirect": "Після відповіді ви повернетеся до", "oauth_allow": "Дозволити", "oauth_deny": "Відмовити",
        "oauth_scope_openid": "знати, хто ви в Plaza", "oauth_scope_profile": "бачити ваше ім'я, мову та часовий пояс",
        "oauth_scope_email": "бачити вашу електронну адресу", "oauth_scope_offline_access": "залишатися на зв'язку, поки вас немає",
        "oauth_scope_plaza": "діяти в Plaza від вашого імені: ваші запити, повідомлення та бронювання",
        "nav_oauth": "Застосунки", "oauth_client_id": "Ідентифікатор клієнта", "oauth_client_secret": "Секрет клієнта",
        "oauth_secret_once": "Скопіюйте секрет зараз: його більше не буде показано.", "oauth_type": "Тип", "oauth_grants": "Дозволи (grants)",
        "oauth_scopes": "Області (scopes)", "oauth_redirects": "URI переспрямування",
        "oauth_redirects_hint": "По одному в рядку; https або http на 127.0.0.1 для розробки. Порівнюються точно.",
        "oauth_confidential": "Конфіденційний (сервер, що зберігає секрет)",
        "oauth_public": "Публічний (браузер чи застосунок на телефоні; лише PKCE)",
        "oauth_new_secret": "Новий секрет", "oauth_delete": "Видалити", "oauth_no_clients": "Жодного застосунку не зареєстровано.",
        "oauth_register": "Зареєструвати застосунок", "notice_oauth-client-deleted": "Застосунок видалено; його сеанси завершено.",
    ]
}
