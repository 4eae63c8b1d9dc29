import Files
import Foundation
import Hummingbird
import Identity
import NIOCore
import PlazaKit

/// `/account/*`: the signed-in person's profile, password, email, sessions, data and deletion.
struct AccountPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let identity = pages.identity
        let queue = pages.queue
        let pages = self.pages

        routes.add(.get, "/account", "accountPage", "Your profile.", access: .authenticated) { _, context, scope in
            let me = try await identity.me(try Self.userID(context))
            return scope.render("account", try await Self.account(me, scope, form: Self.profile(me, scope, genders: try await identity.genders())))
        }
        routes.add(.post, "/account/mobile/verification", "mobileCodeForm", "Send a code to your mobile number.", access: .authenticated) {
            request, context, scope in
            _ = try await scope.form(request, context)
            do {
                try await identity.requestMobileVerification(caller: context.caller)
                return scope.redirect("/account?notice=mobile-code-sent")
            } catch let error as PlazaError where error.status == .conflict || error.status == .tooManyRequests {
                return try await Self.accountAgain(identity, context, scope, problem: error)
            }
        }
        routes.add(.post, "/account/mobile/verify", "mobileVerifyForm", "Verify your mobile number.", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.verifyMobile(CodeConfirmation(code: form["code"] ?? ""), caller: context.caller)
                return scope.redirect("/account?notice=mobile-verified")
            } catch let error as PlazaError where error.status == .badRequest {
                return try await Self.accountAgain(identity, context, scope, problem: error)
            }
        }
        routes.add(
            .post, "/account/avatar", "avatarForm", "Upload a photo of yourself (multipart: purpose, then file).", access: .authenticated,
            uploads: true
        ) { request, context, scope in
            try await scope.checkUploadForm(request)
            do {
                _ = try await pages.files.upload(request, caller: context.caller, only: .avatar)
                return scope.redirect("/account?notice=avatar-saved")
            } catch let error as PlazaError where error.status.code >= 400 && error.status.code < 500 {
                return try await Self.accountAgain(identity, context, scope, problem: error)
            }
        }
        routes.add(.post, "/account/avatar/remove", "avatarRemoveForm", "Remove your photo.", access: .authenticated) { request, context, scope in
            _ = try await scope.form(request, context)
            if let avatar = try await identity.avatar(of: try Self.userID(context)) {
                try await pages.files.delete(avatar, caller: context.caller)
            }
            return scope.redirect("/account?notice=avatar-removed")
        }
        routes.add(.post, "/account", "accountForm", "Save your profile.", access: .authenticated) { request, context, scope in
            let form = try await scope.form(request, context)
            let update = ProfileUpdate(
                firstName: form["firstName"], lastName: form["lastName"], bio: form["bio"], birthDate: form["birthDate"],
                mobile: form["mobile"], gender: form["gender"], locale: form["locale"], timeZone: form["timeZone"])
            do {
                let me = try await identity.updateProfile(update, caller: context.caller)
                var scope = scope
                scope.setCookie(Language.cookieName, me.locale, maxAge: Pages.languageCookieLifetime)
                return scope.redirect("/account?notice=profile-saved")
            } catch {
                let me = try await identity.me(try Self.userID(context))
                var profile = Self.profile(me, scope, genders: try await identity.genders())
                for index in profile.fields.indices { profile.fields[index].value = form[profile.fields[index].name] ?? "" }
                let page = FormPage(heading: scope.t("account_heading"), form: profile)
                return try scope.rerender(page, after: error, template: "account", extra: try await Self.account(me, scope, form: profile))
            }
        }

        routes.add(.get, "/account/password", "passwordPage", "Change your password.", access: .authenticated) { _, _, scope in
            scope.render("form-page", Self.password(scope).data)
        }
        routes.add(.post, "/account/password", "passwordForm", "Change your password; other sessions end.", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.changePassword(
                    PasswordChange(currentPassword: form["currentPassword"] ?? "", newPassword: form["newPassword"] ?? ""), caller: context.caller)
                return scope.redirect("/account?notice=password-changed")
            } catch {
                return try scope.rerender(Self.password(scope), after: error)
            }
        }

        routes.add(.get, "/account/email", "emailPage", "Change your email address.", access: .authenticated) { _, _, scope in
            scope.render("form-page", Self.email(scope).data)
        }
        routes.add(.post, "/account/email", "emailForm", "Send a code to the new address.", access: .authenticated) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.requestEmailChange(
                    EmailChange(newEmail: form["newEmail"] ?? "", password: form["password"] ?? ""), caller: context.caller)
                return scope.redirect("/account/email/confirm?notice=code-sent")
            } catch {
                return try scope.rerender(Self.email(scope, form: form), after: error, messages: ["conflict": scope.t("error_email_taken")])
            }
        }
        routes.add(.get, "/account/email/confirm", "emailConfirmPage", "Enter the code sent to the new address.", access: .authenticated) {
            _, _, scope in
            scope.render("form-page", Self.emailConfirm(scope).data)
        }
        routes.add(.post, "/account/email/confirm", "emailConfirmForm", "Confirm the new address.", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.confirmEmailChange(CodeConfirmation(code: form["code"] ?? ""), caller: context.caller)
                return scope.redirect("/account?notice=email-changed")
            } catch {
                return try scope.rerender(Self.emailConfirm(scope), after: error)
            }
        }

        routes.add(.get, "/account/sessions", "sessionsPage", "Where you are signed in.", access: .authenticated) { _, context, scope in
            let me = try await identity.me(try Self.userID(context))
            let sessions = try await identity.sessions(caller: context.caller).map { session -> [String: Any] in
                [
                    "id": session.id.uuidString, "current": session.current,
                    "created": Formats.dateTime(session.createdAt, scope.language, timeZone: me.timeZone),
                    "lastUsed": Formats.dateTime(session.lastUsedAt, scope.language, timeZone: me.timeZone),
                    "ip": session.ip ?? "—", "userAgent": session.userAgent ?? "—",
                ]
            }
            return scope.render("sessions", ["sessions": sessions])
        }
        routes.add(.post, "/account/sessions/{id}/revoke", "revokeSessionForm", "End one of your sessions.", access: .authenticated) {
            request, context, scope in
            _ = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            try await identity.revokeSession(id, caller: context.caller)
            guard id != context.principal?.sessionID else {
                var scope = scope
                scope.setCookie(WebSessionCookie.name, "", maxAge: 0)
                return scope.redirect("/sign-in?notice=signed-out")
            }
            return scope.redirect("/account/sessions?notice=session-ended")
        }

        routes.add(
            .get, "/account/export", "exportPage", "Download everything Plaza holds about you (JSON).", access: .authenticated,
            answers: .json(DataExport.self)
        ) { _, context, _ in
            let export = try await identity.export(caller: context.caller)
            let encoder = PlazaJSON.encoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/json; charset=utf-8", .contentDisposition: "attachment; filename=\"plaza-data.json\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(NullWriting(export)))))
        }

        routes.add(.get, "/account/delete", "deletePage", "Delete your account.", access: .authenticated) { _, _, scope in
            scope.render("form-page", Self.delete(scope).data)
        }
        routes.add(.post, "/account/delete", "deleteForm", "Delete your account (after a grace period).", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.deleteAccount(AccountDeletion(password: form["password"] ?? ""), caller: context.caller, queue: queue)
                var scope = scope
                scope.setCookie(WebSessionCookie.name, "", maxAge: 0)
                return scope.redirect("/sign-in?notice=account-deleted")
            } catch {
                return try scope.rerender(Self.delete(scope), after: error)
            }
        }
        return routes.table
    }

    static func userID(_ context: Context) throws -> UUID {
        guard let principal = context.principal else { throw PlazaError.unauthorized() }
        return principal.id
    }

    // MARK: What the pages show

    static func account(_ me: Me, _ scope: PageScope, form: PageForm) async throws -> [String: Any] {
        [
            "fullName": "\(me.firstName) \(me.lastName)", "email": me.email, "emailVerified": me.emailVerified,
            "emailQuery": SignInPages<Context>.encode(me.email),
            "roleList": me.roles.map { scope.strings["role_\($0)"] ?? $0 }.joined(separator: ", "),
            "organisations": PageScope.memberships(me),
            "since": Formats.date(me.createdAt, scope.language, timeZone: me.timeZone),
            "form": form, "mobile": me.mobile ?? "", "hasMobile": me.mobile != nil, "mobileVerified": me.phoneVerified,
            "canVerifyMobile": me.mobile != nil && !me.phoneVerified && scope.pages.notifications.availableChannels.contains(.sms),
            "avatar": me.avatarFileId.map { "/files/\($0.uuidString.lowercased())/large" } ?? "",
            "hasAvatar": me.avatarFileId != nil,
        ]
    }

    /// The account page again, with what was refused on top.
    static func accountAgain(_ identity: IdentityService, _ context: Context, _ scope: PageScope, problem: PlazaError) async throws -> Response {
        let me = try await identity.me(try userID(context))
        var data = try await account(me, scope, form: profile(me, scope, genders: try await identity.genders()))
        data["problem"] = scope.strings["error_\(problem.code)"] ?? problem.detail ?? problem.title
        return scope.render("account", data, status: problem.status, headers: problem.headers)
    }

    static func profile(_ me: Me, _ scope: PageScope, genders: [Gender]) -> PageForm {
        PageForm(
            action: "/account", submit: scope.t("save"),
            fields: [
                FormField("firstName", label: scope.t("field_first_name"), value: me.firstName, autocomplete: "given-name", required: true),
                FormField("lastName", label: scope.t("field_last_name"), value: me.lastName, autocomplete: "family-name", required: true),
                FormField("bio", label: scope.t("field_bio"), kind: .textarea, value: me.bio),
                FormField("birthDate", label: scope.t("field_birth_date"), kind: .date, value: me.birthDate, autocomplete: "bday"),
                FormField("mobile", label: scope.t("field_mobile"), kind: .tel, value: me.mobile, autocomplete: "tel", hint: scope.t("hint_mobile")),
                FormField(
                    "gender", label: scope.t("field_gender"), kind: .select, value: me.gender ?? "",
                    options: [("", "—")] + genders.map { ($0.id, scope.strings["gender_\($0.id)"] ?? $0.label) }),
                FormField(
                    "locale", label: scope.t("field_language"), kind: .select, value: me.locale,
                    options: Language.allCases.map { ($0.rawValue, $0.endonym) }),
                FormField("timeZone", label: scope.t("field_time_zone"), value: me.timeZone, hint: scope.t("hint_time_zone")),
            ])
    }

    static func password(_ scope: PageScope) -> FormPage {
        FormPage(
            heading: scope.t("password_heading"), intro: scope.t("password_intro"),
            form: PageForm(
                action: "/account/password", submit: scope.t("password_submit"),
                fields: [
                    FormField(
                        "currentPassword", label: scope.t("field_current_password"), kind: .password, autocomplete: "current-password", required: true
                    ),
                    FormField(
                        "newPassword", label: scope.t("field_new_password"), kind: .password, autocomplete: "new-password",
                        required: true, hint: scope.t("hint_password")),
                ]),
            links: [.init(href: "/account", text: scope.t("back_account"))])
    }

    static func email(_ scope: PageScope, form: FormData? = nil) -> FormPage {
        FormPage(
            heading: scope.t("email_heading"), intro: scope.t("email_intro"),
            form: PageForm(
                action: "/account/email", submit: scope.t("email_submit"),
                fields: [
                    FormField(
                        "newEmail", label: scope.t("field_new_email"), kind: .email, value: form?["newEmail"], autocomplete: "email", required: true),
                    FormField(
                        "password", label: scope.t("field_current_password"), kind: .password, autocomplete: "current-password", required: true),
                ]),
            links: [.init(href: "/account", text: scope.t("back_account"))])
    }

    static func emailConfirm(_ scope: PageScope) -> FormPage {
        FormPage(
            heading: scope.t("email_heading"), intro: scope.t("email_confirm_intro"),
            form: PageForm(
                action: "/account/email/confirm", submit: scope.t("verify_submit"),
                fields: [
                    FormField("code", label: scope.t("field_code"), autocomplete: "one-time-code", required: true)
                ]),
            links: [.init(href: "/account/email", text: scope.t("link_new_code"))])
    }

    static func delete(_ scope: PageScope) -> FormPage {
        FormPage(
            heading: scope.t("delete_heading"), intro: scope.t("delete_intro"),
            form: PageForm(
                action: "/account/delete", submit: scope.t("delete_submit"),
                fields: [
                    FormField("password", label: scope.t("field_current_password"), kind: .password, autocomplete: "current-password", required: true)
                ], danger: true),
            links: [.init(href: "/account/export", text: scope.t("account_export")), .init(href: "/account", text: scope.t("back_account"))])
    }
}

extension Templates {
    static let account: [String: String] = [
        "account": """
        {{<layout}}{{$title}}{{t.account_heading}}{{/title}}{{$content}}
        <h1>{{t.account_heading}}</h1>
        <div class="columns">
        <section class="card">
        <div class="person">
        {{#hasAvatar}}<img class="avatar" src="{{avatar}}" alt="{{t.avatar_alt}}" width="96" height="96">{{/hasAvatar}}
        <h2>{{fullName}}</h2>
        </div>
        <form method="post" action="/account/avatar?_csrf={{csrf}}" enctype="multipart/form-data" class="avatar-form">
        <input type="hidden" name="purpose" value="avatar">
        <label for="avatar-file">{{t.avatar_upload}}</label>
        <input id="avatar-file" type="file" name="file" accept="image/jpeg,image/png,image/webp,image/gif" required aria-describedby="avatar-hint">
        <small id="avatar-hint">{{t.avatar_hint}}</small>
        <button class="small">{{t.avatar_save}}</button>
        </form>
        {{#hasAvatar}}<form method="post" action="/account/avatar/remove" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small secondary">{{t.avatar_remove}}</button></form>{{/hasAvatar}}
        <dl>
        <dt>{{t.field_email}}</dt>
        <dd>{{email}} {{#emailVerified}}<span class="badge ok">{{t.verified}}</span>{{/emailVerified}}{{^emailVerified}}<a \
        href="/verify-email?email={{emailQuery}}">{{t.verify_now}}</a>{{/emailVerified}}</dd>
        {{#hasMobile}}<dt>{{t.field_mobile}}</dt>
        <dd>{{mobile}} {{#mobileVerified}}<span class="badge ok">{{t.verified}}</span>{{/mobileVerified}}
        {{#canVerifyMobile}}<form method="post" action="/account/mobile/verification" class="inline"><input type="hidden" \
        name="_csrf" value="{{csrf}}"><button class="small">{{t.mobile_send_code}}</button></form>
        <form method="post" action="/account/mobile/verify" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}">\
        <input name="code" inputmode="numeric" autocomplete="one-time-code" size="7" aria-label="{{t.field_code}}"> <button \
        class="small">{{t.mobile_verify}}</button></form>{{/canVerifyMobile}}</dd>{{/hasMobile}}
        <dt>{{t.roles}}</dt><dd>{{roleList}}</dd>
        <dt>{{t.nav_organisations}}</dt>
        <dd>{{#organisations}}<a href="/organisations/{{id}}">{{title}}</a> <small>({{orgRoles}})</small><br>\
        {{/organisations}}{{^organisations}}—{{/organisations}}</dd>
        <dt>{{t.member_since}}</dt><dd>{{since}}</dd>
        </dl>
        <ul class="links">
        <li><a href="/account/password">{{t.password_heading}}</a></li>
        <li><a href="/account/mfa">{{t.mfa_heading}}</a></li>
        <li><a href="/account/email">{{t.email_heading}}</a></li>
        <li><a href="/account/sessions">{{t.sessions_heading}}</a></li>
        <li><a href="/account/notifications">{{t.notification_preferences}}</a></li>
        <li><a href="/account/export">{{t.account_export}}</a></li>
        <li><a href="/account/delete" class="danger">{{t.delete_heading}}</a></li>
        </ul>
        </section>
        <section class="card">
        <h2>{{t.profile_heading}}</h2>
        {{#form}}{{> form}}{{/form}}
        </section>
        </div>
        {{/content}}{{/layout}}
        """,
        "sessions": """
        {{<layout}}{{$title}}{{t.sessions_heading}}{{/title}}{{$content}}
        <h1>{{t.sessions_heading}}</h1>
        <p>{{t.sessions_intro}}</p>
        <table>
        <thead><tr><th>{{t.session_device}}</th><th>{{t.session_ip}}</th><th>{{t.session_started}}</th><th>\
        {{t.session_last_used}}</th><th></th></tr></thead>
        <tbody>
        {{#sessions}}
        <tr><td>{{userAgent}}{{#current}} <span class="badge ok">{{t.session_current}}</span>{{/current}}</td><td>{{ip}}</td><td>\
        {{created}}</td><td>{{lastUsed}}</td>
        <td><form method="post" action="/account/sessions/{{id}}/revoke" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small">{{t.session_end}}</button></form></td></tr>
        {{/sessions}}
        </tbody>
        </table>
        <p><a href="/account">{{t.back_account}}</a></p>
        {{/content}}{{/layout}}
        """,
    ]
}
