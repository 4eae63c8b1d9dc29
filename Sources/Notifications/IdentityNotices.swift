import Foundation
import Identity
import Jobs
import PlazaKit

/// Identity's events, turned into messages: codes, invitations and sign-ins from a new device.
///
/// They arrive as `work` subscriptions of the outbox (a job each, exactly once across instances); the
/// notification's dedupe key is the event's id, so a retried job does not notify twice.
extension NotificationService {
    public static let codeTemplates: [CodePurpose: String] = [
        .verifyEmail: "identity.code.verify-email", .resetPassword: "identity.code.reset-password", .changeEmail: "identity.code.change-email",
        .verifyMobile: "identity.code.verify-mobile", .confirmMerge: "identity.code.confirm-merge",
    ]

    /// The subscriptions that turn Identity's events into notifications.
    public func identitySubscriptions() -> [Subscription] {
        let service = self
        return [
            Subscription("notifications.identity.codes", topics: [CodeIssued.topic], delivery: .work) { event in
                let issued = try event.decode(CodeIssued.self)
                let minutes = max(1, Int((issued.expiresAt.timeIntervalSince(event.occurredAt) / 60).rounded()))
                let request = NotificationRequest(
                    audience: .users([issued.userId]), template: Self.codeTemplates[issued.purpose]!,
                    data: ["code": .string(issued.code), "email": .string(issued.email), "lifetime": .string(Self.lifetime(minutes, issued.locale))],
                    email: issued.mobile == nil ? issued.email : nil, phone: issued.mobile, locale: issued.locale)
                try await service.notify(request, dedupeKey: "event:\(event.id)", caller: .system("identity"))
            },
            Subscription("notifications.identity.invitations", topics: [InvitationCreated.topic], delivery: .work) { event in
                let invitation = try event.decode(InvitationCreated.self)
                let account = try await service.identity.contact(email: invitation.email)
                let request = NotificationRequest(
                    audience: .users(account.map { [$0.id] } ?? []), template: "identity.invitation",
                    data: [
                        "organisation": .string(invitation.organisationName), "token": .string(invitation.token),
                        "days": .number(Double(max(1, Int((invitation.expiresAt.timeIntervalSince(event.occurredAt) / 86400).rounded())))),
                    ],
                    email: invitation.email, locale: account?.locale)
                try await service.notify(request, dedupeKey: "event:\(event.id)", caller: .system("identity"))
            },
            Subscription("notifications.identity.sign-ins", topics: [SignedIn.topic], delivery: .work) { event in
                let signIn = try event.decode(SignedIn.self)
                guard signIn.newDevice else { return }
                let request = NotificationRequest(
                    audience: .users([signIn.userId]), template: "identity.sign-in.new-device",
                    data: [
                        "ip": .string(signIn.ip ?? "?"), "browser": .string(signIn.userAgent ?? "?"),
                        "time": .string(ISO8601DateFormatter().string(from: signIn.at)),
                    ])
                try await service.notify(request, dedupeKey: "event:\(event.id)", caller: .system("identity"))
            },
        ]
    }

    static func lifetime(_ minutes: Int, _ locale: String) -> String {
        let hours = minutes / 60
        if locale == "uk" { return minutes % 60 == 0 && hours > 0 ? "\(hours) год." : "\(minutes) хв." }
        if minutes % 60 == 0 && hours > 0 { return hours == 1 ? "1 hour" : "\(hours) hours" }
        return minutes == 1 ? "1 minute" : "\(minutes) minutes"
    }
}

extension NotificationTemplates {
    /// The templates every installation has: Identity's messages and the operators' announcement.
    static let builtIn: [NotificationTemplate] = [
        NotificationTemplate(
            id: "identity.code.verify-email", category: "security", channels: [.email],
            texts: [
                "en": TemplateTexts(
                    title: "Confirm your {{product}} address",
                    body: """
                        Hello {{firstName}},

                        Your code to confirm {{email}} is {{code}}. It works for {{lifetime}}.

                        If you did not sign up for {{product}}, ignore this message.
                        """,
                    action: "Confirm your address", link: "/verify-email"),
                "uk": TemplateTexts(
                    title: "Підтвердіть адресу в {{product}}",
                    body: """
                        Вітаємо, {{firstName}}!

                        Ваш код для підтвердження {{email}}: {{code}}. Він дійсний {{lifetime}}

                        Якщо ви не реєструвалися в {{product}}, просто проігноруйте цей лист.
                        """,
                    action: "Підтвердити адресу", link: "/verify-email"),
            ]),
        NotificationTemplate(
            id: "identity.code.reset-password", category: "security", channels: [.email],
            texts: [
                "en": TemplateTexts(
                    title: "Reset your {{product}} password",
                    body: """
                        Hello {{firstName}},

                        Someone asked to reset the password of your account. Your code is {{code}}; it works for {{lifetime}}.

                        If it was not you, ignore this message: your password stays as it is.
                        """,
                    action: "Choose a new password", link: "/reset-password/confirm"),
                "uk": TemplateTexts(
                    title: "Скидання пароля {{product}}",
                    body: """
                        Вітаємо, {{firstName}}!

                        Надійшов запит на скидання пароля вашого облікового запису. Ваш код: {{code}}; він дійсний {{lifetime}}

                        Якщо це були не ви, проігноруйте цей лист: пароль залишиться незмінним.
                        """,
                    action: "Обрати новий пароль", link: "/reset-password/confirm"),
            ]),
        NotificationTemplate(
            id: "identity.code.confirm-merge", category: "security", channels: [.email],
            texts: [
                "en": TemplateTexts(
                    title: "Merge your {{product}} account into another?",
                    body: """
                        Hello {{firstName}},

                        An administrator is about to merge this account ({{email}}) into another account of yours: its
                        memberships, requests, messages and files move there, and this one stops signing in. If you agree,
                        give them the code {{code}}. It works for {{lifetime}}.

                        If you did not ask for this, do not share the code and tell the administrator.
                        """),
                "uk": TemplateTexts(
                    title: "Об'єднати ваш обліковий запис {{product}} з іншим?",
                    body: """
                        Вітаємо, {{firstName}}!

                        Адміністратор збирається об'єднати цей обліковий запис ({{email}}) з іншим вашим: членства, запити,
                        повідомлення та файли перейдуть туди, а цим більше не можна буде увійти. Якщо ви згодні, передайте
                        йому код {{code}}. Він дійсний {{lifetime}}.

                        Якщо ви цього не просили, не передавайте код і повідомте адміністратора.
                        """),
            ]),
        NotificationTemplate(
            id: "identity.code.change-email", category: "security", channels: [.email],
            texts: [
                "en": TemplateTexts(
                    title: "Confirm your new {{product}} address",
                    body: """
                        Hello {{firstName}},

                        To make {{email}} your account's address, enter the code {{code}}. It works for {{lifetime}}.
                        """,
                    action: "Confirm the new address", link: "/account/email/confirm"),
                "uk": TemplateTexts(
                    title: "Підтвердіть нову адресу в {{product}}",
                    body: """
                        Вітаємо, {{firstName}}!

                        Щоб зробити {{email}} адресою вашого облікового запису, введіть код {{code}}. Він дійсний {{lifetime}}
                        """,
                    action: "Підтвердити нову адресу", link: "/account/email/confirm"),
            ]),
        NotificationTemplate(
            id: "identity.code.verify-mobile", category: "security", channels: [.sms],
            texts: [
                "en": TemplateTexts(
                    title: "Your {{product}} code", body: "{{code}} is your {{product}} code. It works for {{lifetime}}.",
                    short: "{{code}} is your {{product}} code. It works for {{lifetime}}."),
                "uk": TemplateTexts(
                    title: "Ваш код {{product}}", body: "{{code}} — ваш код {{product}}. Він дійсний {{lifetime}}",
                    short: "{{code}} — ваш код {{product}}. Він дійсний {{lifetime}}"),
            ]),
        NotificationTemplate(
            id: "identity.sign-in.new-device", category: "security", channels: [.inApp, .email, .push],
            texts: [
                "en": TemplateTexts(
                    title: "New sign-in to your {{product}} account",
                    body: """
                        Hello {{firstName}},

                        Your account was signed in to from {{ip}} ({{browser}}) at {{time}}.

                        If this was you, there is nothing to do. If not, change your password and end the sessions you do not recognise.
                        """,
                    short: "New sign-in from {{ip}}",
                    action: "Review your sessions", link: "/account/sessions"),
                "uk": TemplateTexts(
                    title: "Новий вхід до облікового запису {{product}}",
                    body: """
                        Вітаємо, {{firstName}}!

                        До вашого облікового запису увійшли з {{ip}} ({{browser}}) о {{time}}.

                        Якщо це були ви, нічого робити не треба. Якщо ні — змініть пароль і завершіть незнайомі сеанси.
                        """,
                    short: "Новий вхід з {{ip}}",
                    action: "Переглянути сеанси", link: "/account/sessions"),
            ]),
        NotificationTemplate(
            id: "identity.invitation", category: "organisation", channels: [.email],
            texts: [
                "en": TemplateTexts(
                    title: "You are invited to join {{organisation}} on {{product}}",
                    body: """
                        Hello,

                        You have been invited to join {{organisation}} on {{product}}. The invitation is open for {{days}} days.

                        Your invitation code: {{token}}
                        """,
                    action: "Accept the invitation", link: "/invitations/accept?token={{token}}"),
                "uk": TemplateTexts(
                    title: "Вас запрошено до {{organisation}} у {{product}}",
                    body: """
                        Вітаємо!

                        Вас запрошено приєднатися до {{organisation}} у {{product}}. Запрошення дійсне {{days}} дн.

                        Код запрошення: {{token}}
                        """,
                    action: "Прийняти запрошення", link: "/invitations/accept?token={{token}}"),
            ]),
        // Operators' and admins' messages by hand: the words are the data.
        NotificationTemplate(
            id: "announcement", category: "announcements",
            texts: [
                "en": TemplateTexts(title: "{{title}}", body: "{{body}}", action: "{{#link}}Open{{/link}}", link: "{{link}}"),
                "uk": TemplateTexts(title: "{{title}}", body: "{{body}}", action: "{{#link}}Відкрити{{/link}}", link: "{{link}}"),
            ]),
    ]
}
