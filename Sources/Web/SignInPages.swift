import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/sign-in`, `/sign-up`, `/sign-out`, `/verify-email`, `/reset-password`: the pages of Identity's sign-in API.
struct SignInPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let identity = pages.identity
        let lifetime = pages.sessionLifetime

        routes.add(.get, "/sign-in", "signInPage", "The sign-in form, and a button per external sign-in provider.", redirects: true) { _, _, scope in
            if scope.principal != nil { return scope.redirect(PageScope.safeNext(scope.query["next"])) }
            var scope = scope
            scope.formActionOrigin = try await identity.oauth.clientOrigin(forNext: scope.query["next"])
            var page = Self.signIn(scope)
            let next = Self.encode(PageScope.safeNext(scope.query["next"]))
            for provider in try await identity.federation.providers() {
                page.links.insert(
                    .init(
                        href: "/sign-in/federated/\(provider.id.uuidString.lowercased())?next=\(next)",
                        text: scope.t("sign_in_with") + " " + provider.name), at: 0)
            }
            return scope.render("form-page", page.data)
        }
        routes.add(.get, "/sign-in/federated/{id}", "federatedSignInPage", "Sign in with an external provider: off to it.", redirects: true) {
            _, context, scope in
            let next = PageScope.safeNext(scope.query["next"])
            let (url, state) = try await identity.federation.begin(try context.uuidParameter("id"), next: next)
            var scope = scope
            scope.setCookie(Self.federationCookie, state, maxAge: 600)
            return scope.redirect(url)
        }
        routes.add(
            .get, Federation.callbackPath, "federatedCallbackPage", "Where an external provider sends the person back.", redirects: true,
            query: [
                EndpointParameter("state", in: .query, required: true), EndpointParameter("code", in: .query),
                EndpointParameter("error", in: .query, description: "The provider's refusal, instead of a code."),
            ]
        ) {
            request, context, scope in
            let query = scope.query
            var scope = scope
            do {
                scope.setCookie(Self.federationCookie, "", maxAge: 0)
                let (step, next) = try await identity.federation.complete(
                    code: query["code"], state: query["state"], browserState: request.cookies[Self.federationCookie]?.value, issuer: query["iss"],
                    error: query["error"], caller: context.caller, userAgent: request.headers[.userAgent])
                switch step {
                case .done(let session):
                    try await Self.startSession(session, in: &scope, identity: identity, lifetime: lifetime)
                    return scope.redirect(PageScope.safeNext(next))
                case .secondFactor(let challenge):
                    scope.setCookie(Self.challengeCookie, challenge.mfaToken, maxAge: challenge.expiresIn)
                    return scope.redirect("/sign-in/code?next=" + Self.encode(PageScope.safeNext(next)))
                }
            } catch let error as PlazaError where error.status.code != 500 {
                return scope.render("error", ["heading": scope.t("federation_failed"), "detail": error.detail ?? error.title], status: error.status)
            }
        }
        routes.add(.post, "/sign-in", "signInForm", "Sign in; sets the session cookie.") { request, context, scope in
            let form = try await scope.form(request, context)
            var scope = scope
            scope.formActionOrigin = try await identity.oauth.clientOrigin(forNext: form["next"])
            var page = Self.signIn(scope, form: form)
            do {
                let step = try await identity.beginSignIn(
                    Credentials(email: form["email"] ?? "", password: form["password"] ?? ""), caller: context.caller,
                    userAgent: request.headers[.userAgent])
                switch step {
                case .done(let session):
                    try await Self.startSession(session, in: &scope, identity: identity, lifetime: lifetime)
                    return scope.redirect(PageScope.safeNext(form["next"]))
                case .secondFactor(let challenge):
                    // The challenge rides in a short cookie, not the URL: it is half of a sign-in.
                    scope.setCookie(Self.challengeCookie, challenge.mfaToken, maxAge: challenge.expiresIn)
                    return scope.redirect("/sign-in/code?next=" + Self.encode(PageScope.safeNext(form["next"])))
                }
            } catch {
                page.form.fields[1].value = ""
                return try scope.rerender(page, after: error, messages: ["unauthorized": scope.t("error_wrong_credentials")])
            }
        }

        routes.add(.get, "/sign-in/code", "signInCodePage", "The second step of signing in: a code from the authenticator app.", redirects: true) {
            request, _, scope in
            guard request.cookies[Self.challengeCookie] != nil else { return scope.redirect("/sign-in?notice=sign-in-again") }
            var scope = scope
            scope.formActionOrigin = try await identity.oauth.clientOrigin(forNext: scope.query["next"])
            return scope.render("form-page", Self.code(scope).data)
        }
        routes.add(.post, "/sign-in/code", "signInCodeForm", "Finish signing in with a code (or a recovery code).") { request, context, scope in
            let form = try await scope.form(request, context)
            guard let token = request.cookies[Self.challengeCookie]?.value else { return scope.redirect("/sign-in?notice=sign-in-again") }
            var scope = scope
            scope.formActionOrigin = try await identity.oauth.clientOrigin(forNext: form["next"])
            do {
                let session = try await identity.completeSignIn(
                    MFAVerification(mfaToken: token, code: form["code"] ?? ""), caller: context.caller, userAgent: request.headers[.userAgent])
                scope.setCookie(Self.challengeCookie, "", maxAge: 0)
                try await Self.startSession(session, in: &scope, identity: identity, lifetime: lifetime)
                return scope.redirect(PageScope.safeNext(form["next"]))
            } catch let error as PlazaError where error.code == "mfa-challenge-invalid" {
                scope.setCookie(Self.challengeCookie, "", maxAge: 0)
                return scope.redirect("/sign-in?notice=sign-in-again")
            } catch {
                return try scope.rerender(Self.code(scope, form: form), after: error, messages: ["mfa-code-wrong": scope.t("error_wrong_code")])
            }
        }

        routes.add(.get, "/sign-up", "signUpPage", "The sign-up form.") { _, _, scope in
            scope.render("form-page", Self.signUp(scope).data)
        }
        routes.add(.post, "/sign-up", "signUpForm", "Create an account and sign in.") { request, context, scope in
            let form = try await scope.form(request, context)
            let email = form["email"] ?? ""
            let password = form["password"] ?? ""
            do {
                _ = try await identity.register(
                    Registration(
                        email: email, password: password, firstName: form["firstName"] ?? "", lastName: form["lastName"] ?? "",
                        role: form.text("role"), locale: form.text("locale") ?? scope.language.rawValue, timeZone: form.text("timeZone")),
                    caller: context.caller)
            } catch {
                var page = Self.signUp(scope, form: form)
                page.form.fields[1].value = ""
                return try scope.rerender(page, after: error, messages: ["conflict": scope.t("error_email_taken")])
            }
            do {
                let session = try await identity.signIn(
                    Credentials(email: email, password: password), caller: context.caller, userAgent: request.headers[.userAgent])
                var scope = scope
                try await Self.startSession(session, in: &scope, identity: identity, lifetime: lifetime)
                return scope.redirect("/account?notice=signed-up")
            } catch let error as PlazaError where error.code == "email-not-verified" {
                return scope.redirect("/verify-email?notice=verify-first&email=\(Self.encode(email))")
            }
        }

        routes.add(.post, "/sign-out", "signOutForm", "End this browser's session.") { request, context, scope in
            _ = try await scope.form(request, context)
            if context.principal?.sessionID != nil { try await identity.logout(caller: context.caller) }
            var scope = scope
            scope.setCookie(WebSessionCookie.name, "", maxAge: 0)
            return scope.redirect("/sign-in?notice=signed-out")
        }

        routes.add(.get, "/verify-email", "verifyEmailPage", "Enter the code from the verification email.") { _, _, scope in
            scope.render("form-page", Self.verify(scope).data)
        }
        routes.add(.post, "/verify-email", "verifyEmailForm", "Verify an email address with its code.") { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.verifyEmail(EmailVerification(email: form["email"] ?? "", code: form["code"] ?? ""), caller: context.caller)
                return scope.redirect(scope.principal == nil ? "/sign-in?notice=email-verified" : "/account?notice=email-verified")
            } catch {
                return try scope.rerender(Self.verify(scope, form: form), after: error)
            }
        }
        routes.add(.post, "/verify-email/resend", "resendVerificationForm", "Send a new verification code.") { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.requestEmailVerification(CodeRequest(email: form["email"] ?? ""), caller: context.caller)
                return scope.redirect("/verify-email?notice=code-sent&email=\(Self.encode(form["email"] ?? ""))")
            } catch {
                return try scope.rerender(Self.verify(scope, form: form), after: error)
            }
        }

        routes.add(.get, "/reset-password", "resetPasswordPage", "Ask for a password reset code.") { _, _, scope in
            scope.render("form-page", Self.resetRequest(scope).data)
        }
        routes.add(.post, "/reset-password", "resetPasswordRequestForm", "Send a password reset code.") { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.requestPasswordReset(CodeRequest(email: form["email"] ?? ""), caller: context.caller)
                return scope.redirect("/reset-password/confirm?notice=code-sent&email=\(Self.encode(form["email"] ?? ""))")
            } catch {
                return try scope.rerender(Self.resetRequest(scope, form: form), after: error)
            }
        }
        routes.add(.get, "/reset-password/confirm", "resetPasswordConfirmPage", "Choose a new password with the code.") { _, _, scope in
            scope.render("form-page", Self.resetConfirm(scope).data)
        }
        routes.add(.post, "/reset-password/confirm", "resetPasswordForm", "Set a new password with the code.") { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.resetPassword(
                    PasswordReset(email: form["email"] ?? "", code: form["code"] ?? "", newPassword: form["newPassword"] ?? ""),
                    caller: context.caller)
                return scope.redirect("/sign-in?notice=password-reset")
            } catch {
                return try scope.rerender(Self.resetConfirm(scope, form: form), after: error)
            }
        }
        return routes.table
    }

    /// Sets the session cookie, and the language cookie to the account's own language.
    static func startSession(_ session: WebSession, in scope: inout PageScope, identity: IdentityService, lifetime: Int) async throws {
        scope.setCookie(WebSessionCookie.name, session.token, maxAge: lifetime)
        let me = try await identity.me(session.userID)
        scope.setCookie(Language.cookieName, me.locale, maxAge: Pages.languageCookieLifetime)
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~@"))) ?? ""
    }

    // MARK: The forms

    static func signIn(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("sign_in"), intro: nil,
            form: PageForm(
                action: "/sign-in", submit: scope.t("sign_in"),
                fields: [
                    FormField(
                        "email", label: scope.t("field_email"), kind: .email, value: form?["email"] ?? scope.query["email"],
                        autocomplete: "username", required: true),
                    FormField("password", label: scope.t("field_password"), kind: .password, autocomplete: "current-password", required: true),
                    FormField("next", label: "", kind: .hidden, value: form?["next"] ?? scope.query["next"]),
                ]),
            links: [
                .init(href: "/sign-up", text: scope.t("link_sign_up")), .init(href: "/reset-password", text: scope.t("link_forgot")),
                .init(href: "/verify-email", text: scope.t("link_verify")),
            ])
    }

    /// The cookie that holds a sign-in's second-factor challenge for five minutes.
    static var challengeCookie: String { "plaza_mfa" }
    /// The cookie that ties an external sign-in's `state` to the browser that started it, for ten minutes.
    static var federationCookie: String { "plaza_federation" }

    static func code(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("mfa_code_heading"), intro: scope.t("mfa_code_intro"),
            form: PageForm(
                action: "/sign-in/code", submit: scope.t("sign_in"),
                fields: [
                    FormField("code", label: scope.t("field_code"), autocomplete: "one-time-code", required: true, hint: scope.t("mfa_code_hint")),
                    FormField("next", label: "", kind: .hidden, value: form?["next"] ?? scope.query["next"]),
                ]),
            links: [.init(href: "/sign-in", text: scope.t("link_sign_in"))])
    }

    static func signUp(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("sign_up"), intro: scope.t("sign_up_intro"),
            form: PageForm(
                action: "/sign-up", submit: scope.t("sign_up"),
                fields: [
                    FormField("email", label: scope.t("field_email"), kind: .email, value: form?["email"], autocomplete: "email", required: true),
                    FormField(
                        "password", label: scope.t("field_password"), kind: .password, autocomplete: "new-password", required: true,
                        hint: scope.t("hint_password")),
                    FormField("firstName", label: scope.t("field_first_name"), value: form?["firstName"], autocomplete: "given-name", required: true),
                    FormField("lastName", label: scope.t("field_last_name"), value: form?["lastName"], autocomplete: "family-name", required: true),
                    FormField(
                        "role", label: scope.t("field_role"), kind: .select, value: form?["role"] ?? "customer",
                        options: scope.pages.identity.catalogue.selfAssignable.map { ($0, scope.t("role_\($0)")) }),
                    FormField(
                        "locale", label: scope.t("field_language"), kind: .select, value: form?["locale"] ?? scope.language.rawValue,
                        options: Language.allCases.map { ($0.rawValue, $0.endonym) }),
                    FormField("timeZone", label: scope.t("field_time_zone"), value: form?["timeZone"] ?? "UTC", hint: scope.t("hint_time_zone")),
                ]),
            links: [.init(href: "/sign-in", text: scope.t("link_sign_in"))])
    }

    static func verify(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        let email = form?["email"] ?? scope.query["email"]
        return FormPage(
            heading: scope.t("verify_heading"), intro: scope.t("verify_intro"),
            form: PageForm(
                action: "/verify-email", submit: scope.t("verify_submit"),
                fields: [
                    FormField("email", label: scope.t("field_email"), kind: .email, value: email, autocomplete: "email", required: true),
                    FormField("code", label: scope.t("field_code"), value: form?["code"], autocomplete: "one-time-code", required: true),
                ]),
            secondary: PageForm(
                action: "/verify-email/resend", submit: scope.t("resend_submit"),
                fields: [
                    FormField("email", label: scope.t("field_email"), kind: .email, value: email, autocomplete: "email", required: true)
                ]))
    }

    static func resetRequest(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("reset_heading"), intro: scope.t("reset_intro"),
            form: PageForm(
                action: "/reset-password", submit: scope.t("reset_send"),
                fields: [
                    FormField("email", label: scope.t("field_email"), kind: .email, value: form?["email"], autocomplete: "email", required: true)
                ]),
            links: [.init(href: "/sign-in", text: scope.t("link_sign_in"))])
    }

    static func resetConfirm(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("reset_heading"), intro: scope.t("reset_confirm_intro"),
            form: PageForm(
                action: "/reset-password/confirm", submit: scope.t("reset_submit"),
                fields: [
                    FormField(
                        "email", label: scope.t("field_email"), kind: .email, value: form?["email"] ?? scope.query["email"],
                        autocomplete: "username", required: true),
                    FormField("code", label: scope.t("field_code"), value: form?["code"], autocomplete: "one-time-code", required: true),
                    FormField(
                        "newPassword", label: scope.t("field_new_password"), kind: .password, autocomplete: "new-password",
                        required: true, hint: scope.t("hint_password")),
                ]),
            links: [.init(href: "/reset-password", text: scope.t("link_new_code"))])
    }
}
