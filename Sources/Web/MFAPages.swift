import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/account/mfa`: two-step sign-in — set up an authenticator app (its QR code and secret), confirm it with a
/// code and keep the recovery codes (shown once), make new recovery codes, turn it off. Identity decides;
/// these pages ask and show.
struct MFAPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let identity = pages.identity
        routes.add(.get, "/account/mfa", "mfaPage", "Two-step sign-in: its state and what you can do.", access: .authenticated) { _, context, scope in
            scope.render("account-mfa", try await Self.data(identity, caller: context.caller))
        }
        routes.add(.post, "/account/mfa/totp", "mfaStartForm", "Set up an authenticator app: a QR code to scan.", access: .authenticated) {
            request, context, scope in
            _ = try await scope.form(request, context)
            do {
                let enrolment = try await identity.startTOTP(caller: context.caller)
                var data = try await Self.data(identity, caller: context.caller)
                data["enrolment"] =
                    ["secret": Self.grouped(enrolment.secret), "qr": "data:image/png;base64," + enrolment.qrPng, "uri": enrolment.otpauthUri]
                    as [String: Any]
                return scope.render("account-mfa", data, headers: ["Cache-Control": "no-store"])
            } catch let error as PlazaError where error.status == .conflict {
                return try await Self.refused(error, identity, scope, caller: context.caller)
            }
        }
        // Both answer with recovery codes, shown this once.
        let codePages: [(String, String, String, @Sendable (MFACode, Caller) async throws -> RecoveryCodes)] = [
            (
                "/account/mfa/confirm", "mfaConfirmForm", "Turn two-step sign-in on with the app's code.",
                { try await identity.confirmTOTP($0, caller: $1) }
            ),
            (
                "/account/mfa/recovery-codes", "mfaRecoveryCodesForm", "New recovery codes; the old ones stop working.",
                { try await identity.regenerateRecoveryCodes($0, caller: $1) }
            ),
        ]
        for (path, operation, summary, action) in codePages {
            routes.add(.post, path, operation, summary, access: .authenticated) { request, context, scope in
                let form = try await scope.form(request, context)
                do {
                    let codes = try await action(MFACode(code: form["code"] ?? ""), context.caller)
                    var data = try await Self.data(identity, caller: context.caller)
                    data["recoveryCodes"] = codes.codes
                    data["hasRecoveryCodes"] = true
                    return scope.render("account-mfa", data, headers: ["Cache-Control": "no-store"])
                } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                    return try await Self.refused(error, identity, scope, caller: context.caller)
                }
            }
        }
        routes.add(.post, "/account/mfa/disable", "mfaDisableForm", "Turn two-step sign-in off (password and a code).", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            do {
                try await identity.disableMFA(MFADisable(password: form["password"] ?? "", code: form["code"] ?? ""), caller: context.caller)
                return scope.redirect("/account/mfa?notice=mfa-off")
            } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                return try await Self.refused(error, identity, scope, caller: context.caller)
            }
        }
        return routes.table
    }

    static func data(_ identity: IdentityService, caller: Caller) async throws -> [String: Any] {
        let status = try await identity.mfaStatus(caller: caller)
        return [
            "enabled": status.enabled, "left": status.recoveryCodesLeft, "required": status.required, "nudge": status.required && !status.enabled,
        ]
    }

    static func refused(_ error: PlazaError, _ identity: IdentityService, _ scope: PageScope, caller: Caller) async throws -> Response {
        var data = try await data(identity, caller: caller)
        data["problem"] = error.errors.isEmpty ? (error.detail ?? error.title) : scope.t("error_validation")
        data["problems"] = scope.problems(error)
        return scope.render("account-mfa", data, status: error.status)
    }

    /// The secret in groups of four, as people type it.
    static func grouped(_ secret: String) -> String {
        stride(from: 0, to: secret.count, by: 4).map { start in
            let from = secret.index(secret.startIndex, offsetBy: start)
            return String(secret[from..<(secret.index(from, offsetBy: 4, limitedBy: secret.endIndex) ?? secret.endIndex)])
        }.joined(separator: " ")
    }
}

extension Templates {
    static let mfa = """
        {{<layout}}{{$title}}{{t.mfa_heading}}{{/title}}{{$content}}
        <h1>{{t.mfa_heading}}</h1>
        {{#nudge}}<p class="problem" role="alert">{{t.mfa_required_nudge}}</p>{{/nudge}}
        {{#hasRecoveryCodes}}<section class="card" id="recovery-codes" role="status">
        <h2>{{t.mfa_recovery_heading}}</h2><p><strong>{{t.mfa_recovery_once}}</strong></p>
        <ul class="codes">{{#recoveryCodes}}<li><code>{{.}}</code></li>{{/recoveryCodes}}</ul>
        </section>{{/hasRecoveryCodes}}
        {{#enrolment}}<section class="card" id="enrolment">
        <h2>{{t.mfa_scan_heading}}</h2>
        <p>{{t.mfa_scan_intro}}</p>
        <img src="{{{qr}}}" alt="{{t.mfa_qr_alt}}" width="246" height="246" id="qr">
        <p>{{t.mfa_secret}}: <code id="secret">{{secret}}</code></p>
        <form method="post" action="/account/mfa/confirm" class="stack" id="mfa-confirm-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.field_code}}</span><input name="code" inputmode="numeric" autocomplete="one-time-code" required \
        pattern="[0-9 ]{6,7}"></label>
        <button type="submit">{{t.mfa_turn_on}}</button>
        </form></section>{{/enrolment}}
        <section class="card">
        {{#enabled}}<p>{{t.mfa_on}} {{t.mfa_codes_left}}: {{left}}.</p>
        <form method="post" action="/account/mfa/recovery-codes" class="stack" id="mfa-recovery-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.field_code}}</span><input name="code" inputmode="numeric" autocomplete="one-time-code" required></label>
        <button type="submit" class="secondary">{{t.mfa_new_codes}}</button>
        </form>
        <form method="post" action="/account/mfa/disable" class="stack" id="mfa-disable-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.field_password}}</span><input type="password" name="password" autocomplete="current-password" required></label>
        <label><span>{{t.mfa_code_or_recovery}}</span><input name="code" autocomplete="one-time-code" required></label>
        <button type="submit" class="danger">{{t.mfa_turn_off}}</button>
        </form>{{/enabled}}
        {{^enabled}}{{^enrolment}}<p>{{t.mfa_off}}</p>
        <form method="post" action="/account/mfa/totp" id="mfa-start-form"><input type="hidden" name="_csrf" value="{{csrf}}">
        <button type="submit">{{t.mfa_set_up}}</button></form>{{/enrolment}}{{/enabled}}
        </section>
        {{/content}}{{/layout}}
        """
}

extension Catalogue {
    static let mfaEn: [String: String] = [
        "mfa_heading": "Two-step sign-in", "mfa_code_heading": "Enter your code",
        "mfa_code_intro": "Open your authenticator app and type the six-digit code it shows for Plaza.",
        "mfa_code_hint": "Lost your phone? A recovery code works once instead.", "error_wrong_code": "That code is wrong or was used already.",
        "notice_sign-in-again": "That sign-in step expired; sign in again.",
        "mfa_required_nudge": "Your role needs two-step sign-in: until you set it up, you are signed in without that role's powers.",
        "mfa_recovery_heading": "Recovery codes",
        "mfa_recovery_once": "Keep these somewhere safe: each signs you in once if your phone is gone. They are not shown again.",
        "mfa_scan_heading": "Scan this code",
        "mfa_scan_intro": "Scan it with an authenticator app (or type the secret), then enter the code the app shows.",
        "mfa_qr_alt": "QR code to add Plaza to an authenticator app", "mfa_secret": "Secret", "mfa_turn_on": "Turn on",
        "mfa_on": "Two-step sign-in is on.", "mfa_codes_left": "Recovery codes left", "mfa_new_codes": "Make new recovery codes",
        "mfa_code_or_recovery": "Code or recovery code", "mfa_turn_off": "Turn off",
        "mfa_off": "Two-step sign-in is off: a password alone signs you in.",
        "mfa_set_up": "Set up an authenticator app", "notice_mfa-off": "Two-step sign-in is off.",
        "sign_in_with": "Sign in with", "federation_failed": "Signing in elsewhere did not work",
        "merge_heading": "Merge another account into this one",
        "merge_intro":
            "Its requests, messages, files, organisations and roles move here, and it stops signing in. Its owner gets a code by email "
            + "first; enter it below to merge.",
        "merge_source": "The other account's email", "merge_send_code": "Send its owner a code", "merge_confirm": "Merge",
        "notice_merge-code-sent": "The code is on its way to the other account's owner.", "notice_merged": "The accounts are merged.",
    ]
    static let mfaUk: [String: String] = [
        "mfa_heading": "Двоетапний вхід", "mfa_code_heading": "Введіть код",
        "mfa_code_intro": "Відкрийте застосунок-автентифікатор і введіть шестизначний код, який він показує для Plaza.",
        "mfa_code_hint": "Загубили телефон? Замість коду один раз спрацює код відновлення.",
        "error_wrong_code": "Код неправильний або вже використаний.",
        "notice_sign-in-again": "Час цього кроку входу минув; увійдіть знову.",
        "mfa_required_nudge": "Ваша роль потребує двоетапного входу: доки ви його не налаштуєте, ви входите без повноважень цієї ролі.",
        "mfa_recovery_heading": "Коди відновлення",
        "mfa_recovery_once": "Збережіть їх у надійному місці: кожен один раз впустить вас, якщо телефону немає. Більше їх не буде показано.",
        "mfa_scan_heading": "Зіскануйте цей код",
        "mfa_scan_intro": "Зіскануйте його застосунком-автентифікатором (або введіть секрет), потім введіть код, який покаже застосунок.",
        "mfa_qr_alt": "QR-код, щоб додати Plaza до застосунку-автентифікатора", "mfa_secret": "Секрет", "mfa_turn_on": "Увімкнути",
        "mfa_on": "Двоетапний вхід увімкнено.", "mfa_codes_left": "Залишилось кодів відновлення", "mfa_new_codes": "Створити нові коди відновлення",
        "mfa_code_or_recovery": "Код або код відновлення", "mfa_turn_off": "Вимкнути",
        "mfa_off": "Двоетапний вхід вимкнено: вас впускає лише пароль.",
        "mfa_set_up": "Налаштувати застосунок-автентифікатор", "notice_mfa-off": "Двоетапний вхід вимкнено.",
        "sign_in_with": "Увійти через", "federation_failed": "Вхід через інший сервіс не вдався",
        "merge_heading": "Приєднати інший обліковий запис до цього",
        "merge_intro":
            "Його запити, повідомлення, файли, організації та ролі перейдуть сюди, і ним більше не можна буде увійти. Спершу його "
            + "власник отримає код електронною поштою; введіть його нижче, щоб об'єднати.",
        "merge_source": "Пошта іншого облікового запису", "merge_send_code": "Надіслати власнику код", "merge_confirm": "Об'єднати",
        "notice_merge-code-sent": "Код надіслано власнику іншого облікового запису.", "notice_merged": "Облікові записи об'єднано.",
    ]
}
