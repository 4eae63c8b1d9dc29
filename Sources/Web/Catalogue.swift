import Foundation
import PlazaKit

/// Every word the pages say, in English and Ukrainian. Templates read them through `t` (`{{t.sign_in}}`); a test checks that
/// both languages have the same keys, so a page never shows a raw key or half a translation.
enum Catalogue {
    static func strings(_ language: Language) -> [String: String] {
        language == .uk ? uk : en
    }

    static func text(_ key: String, _ language: Language) -> String {
        strings(language)[key] ?? en[key] ?? key
    }

    /// A service's field message in the reader's language; messages the catalogue does not know (they name
    /// values, like a list of choices) are translated by their opening words and keep the rest.
    static func message(_ english: String, _ language: Language) -> String {
        guard language == .uk else { return enMessages[english] ?? english }
        if let exact = ukMessages[english] { return exact }
        for (prefix, translation) in ukMessagePrefixes where english.hasPrefix(prefix) {
            return translation + english.dropFirst(prefix.count)
        }
        return english
    }

    static let en = Core.en.merging(workflowsEn) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(oauthEn) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(mfaEn) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(importsEn) { _, _ in preconditionFailure("a key is in two catalogues") }
    static let uk = Core.uk.merging(workflowsUk) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(oauthUk) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(mfaUk) { _, _ in preconditionFailure("a key is in two catalogues") }
        .merging(importsUk) { _, _ in preconditionFailure("a key is in two catalogues") }

    /// The words of the pages every app shares; each group of pages adds its own (`workflowsEn`, …).
    enum Core {
        static let en: [String: String] = [
            "nav_label": "Main", "nav_account": "Account", "nav_organisations": "Organisations", "nav_users": "Users", "nav_roles": "Roles",
            "sign_in": "Sign in", "sign_out": "Sign out", "sign_up": "Create an account",
            "sign_up_intro": "One account works in every Plaza app. You can sign in right away; we also email you a code to verify your address.",
            "link_sign_up": "No account yet? Create one", "link_sign_in": "Already have an account? Sign in",
            "link_forgot": "Forgot your password?", "link_verify": "Verify your email address", "link_new_code": "Send a new code",
            "field_email": "Email", "field_password": "Password", "field_first_name": "First name", "field_last_name": "Last name",
            "field_name": "Name", "field_role": "Role", "field_language": "Language", "field_time_zone": "Time zone", "field_code": "Code",
            "field_new_password": "New password", "field_current_password": "Current password", "field_new_email": "New email",
            "field_bio": "About you", "field_birth_date": "Birth date", "field_mobile": "Mobile", "field_gender": "Gender",
            "field_organisation_name": "Name", "field_organisation_type": "Type", "field_slug": "Short name (slug)",
            "field_invitation_token": "Invitation code",
            "hint_password": "At least 8 characters.", "hint_time_zone": "For example Europe/Kyiv or America/New_York.",
            "hint_mobile": "In international form, e.g. +380501234567.",
            "hint_slug": "Lowercase letters, digits and hyphens; made from the name if empty.",
            "hint_app": "* for every app, or one app's name.",
            "verify_heading": "Verify your email", "verify_intro": "Enter the six-digit code we emailed you.", "verify_submit": "Verify",
            "resend_submit": "Email me a new code", "verify_now": "Verify now", "verified": "verified",
            "reset_heading": "Reset your password", "reset_intro": "We will email you a code if an account uses this address.",
            "reset_send": "Email me a code", "reset_confirm_intro": "Enter the code from the email and choose a new password.",
            "reset_submit": "Set the new password",
            "account_heading": "Your account", "profile_heading": "Profile", "save": "Save", "roles": "Roles", "member_since": "Member since",
            "account_export": "Download your data (JSON)", "back_account": "Back to your account",
            "password_heading": "Change your password", "password_intro": "Your other sessions end when the password changes.",
            "password_submit": "Change password",
            "email_heading": "Change your email", "email_intro": "We email a code to the new address; the change happens when you enter it.",
            "email_submit": "Send the code", "email_confirm_intro": "Enter the code we sent to your new address.",
            "sessions_heading": "Where you are signed in", "sessions_intro": "End any session you do not recognise.",
            "session_device": "Device", "session_ip": "IP address", "session_started": "Signed in", "session_last_used": "Last active",
            "session_current": "this browser", "session_end": "End",
            "delete_heading": "Delete your account",
            "delete_intro":
                "Your account closes now and is erased after 30 days; until then an admin can restore it. Download your data first if "
                + "you want a copy.",
            "delete_submit": "Delete my account",
            "users_heading": "Users", "search": "Search", "search_users_hint": "Name, email or phone", "status": "Status", "any": "Any",
            "created": "Created", "nothing_found": "Nothing found.", "next_page": "Next page",
            "user_disable": "Disable", "user_enable": "Enable", "user_end_sessions": "End all sessions", "grant": "Grant", "revoke": "Revoke",
            "app": "App", "role_scope": "Scope", "description": "Description", "permissions": "Permissions",
            "members": "Members", "remove": "Remove", "leave": "Leave", "invite_heading": "Invite someone", "invite_submit": "Send invitation",
            "organisation_create": "Create an organisation",
            "invitation_heading": "Join an organisation", "invitation_intro": "Enter the code from your invitation email.",
            "invitation_accept": "Join",
            "status_active": "Active", "status_disabled": "Disabled", "status_deleted": "Deleted",
            "role_admin": "Admin", "role_employee": "Employee", "role_operator": "Operator", "role_owner": "Owner", "role_manager": "Manager",
            "role_member": "Member",
            "gender_female": "Female", "gender_male": "Male", "gender_non-binary": "Non-binary", "gender_unspecified": "Prefer not to say",
            "notice_signed-up": "Welcome! Your account is ready. We emailed you a code to verify your address.",
            "notice_verify-first": "Verify your email address to sign in: we emailed you a code.",
            "notice_signed-out": "You are signed out.", "notice_email-verified": "Your email address is verified.",
            "notice_code-sent": "If that address has an account, a code is on its way.",
            "notice_password-reset": "Your password is changed. Sign in with it.",
            "notice_profile-saved": "Your profile is saved.", "notice_password-changed": "Your password is changed; your other sessions ended.",
            "notice_email-changed": "Your email address is changed.", "notice_session-ended": "The session ended.",
            "notice_account-deleted": "Your account is deleted.", "notice_user-enabled": "The user is enabled.",
            "notice_user-disabled": "The user is disabled and signed out everywhere.", "notice_sessions-ended": "Every session of the user ended.",
            "notice_role-granted": "The role is granted.", "notice_role-revoked": "The role is revoked.",
            "notice_organisation-created": "The organisation is created; you are its owner.", "notice_roles-saved": "The roles are saved.",
            "notice_left": "You left the organisation.", "notice_member-removed": "The member is removed.",
            "notice_invitation-sent": "The invitation is on its way.", "notice_joined": "You joined the organisation.",
            "error_validation": "Some fields need another look.", "error_wrong_credentials": "The email or password is wrong.",
            "error_email_taken": "An account with this email already exists.", "error_last_owner": "An organisation always keeps at least one owner.",
            "error_account-disabled": "This account is disabled.", "error_email-not-verified": "Verify your email address before signing in.",
            "error_sign-in-locked": "Too many failed attempts. Wait a few minutes and try again.",
            "error_code-invalid": "The code is wrong, expired or already used.",
            "error_code-rate-limited": "Too many codes were sent. Wait a while before asking for another.",
            "error_invitation-invalid": "This invitation is not valid any more.",
            "error_title_400": "Bad request", "error_title_401": "Sign in needed", "error_title_403": "Not allowed", "error_title_404": "Not found",
            "error_title_405": "Not allowed here", "error_title_409": "Conflict", "error_title_413": "Too large",
            "error_title_415": "Unsupported form",
            "error_title_422": "Check the input", "error_title_429": "Too many requests", "error_title_500": "Something went wrong",
            "error_detail_401": "Sign in to see this page.", "error_detail_403": "Your account may not do this.",
            "error_detail_404": "There is nothing here, or it is not yours to see.",
            "csrf_title": "This form has expired",
            "csrf_detail": "The form did not come from this page or is too old. Go back, reload the page and send it again.",
            "request_id": "Request id", "back_home": "Back to Plaza",
            "field_parent": "Part of", "children": "Includes", "organisation_settings": "Settings",
            "organisation_status_active": "Active", "organisation_status_archived": "Archived",
            "notice_organisation-saved": "The organisation is saved.",
            "roles_intro":
                "A role's permissions are actions (identity.user.read), prefixes (operations.*) or * for all; an organisation role's "
                + "permissions hold only inside its organisation. Admins hold every permission.",
            "role_create": "Create a role", "field_role_name": "Name", "hint_role_name": "2 to 40 lowercase letters, digits and hyphens.",
            "hint_permissions": "One per line, e.g. identity.user.read or operations.*.",
            "scope_system": "System", "scope_organisation": "Organisation", "scope_app": "App",
            "notice_role-created": "The role is created.", "notice_role-saved": "The role is saved.", "notice_role-deleted": "The role is deleted.",
            "home_intro": "One server for marketplaces, booking systems and community platforms.", "home_engine": "It runs on",
            "home_developers": "For developers", "home_openapi": "API description (OpenAPI 3.1)", "home_metrics": "Metrics (Prometheus text)",
            "nav_notifications": "Notifications", "unread_label": "unread", "nav_announce": "Announce", "nav_deliveries": "Deliveries",
            "notification_preferences": "Notification preferences", "mark_all_read": "Mark all read", "open": "Open", "mark_read": "Mark read",
            "no_notifications": "Nothing here yet.",
            "preferences_intro": "Choose where each kind of notification reaches you. Security notices always come in the app and by email.",
            "category": "Kind", "mandatory_notice": "Cannot be turned off", "quiet_hours": "Quiet hours",
            "quiet_hours_hint": "Email, SMS and push wait until these hours end; security notices do not. Leave both empty for none.",
            "quiet_from": "From", "quiet_to": "Until",
            "channel_in-app": "In the app", "channel_email": "Email", "channel_sms": "SMS", "channel_push": "Push",
            "announce_heading": "Send an announcement",
            "announce_intro": "It goes to the inbox of everyone in the audience, and by the channels they chose for announcements.",
            "announce_send": "Send", "audience": "Audience", "audience_everyone": "Everyone", "audience_role": "Everyone with a role",
            "audience_organisation": "An organisation's members", "audience_organisation_id": "Organisation id",
            "hint_audience_role": "A role's name, e.g. customer or employee; with an organisation id, a role there.",
            "hint_audience_organisation": "Needed for an organisation's members.",
            "field_title": "Title", "field_body": "Message", "field_link": "Link", "hint_link": "Optional: a path on this site, e.g. /account.",
            "delivery_queued": "Queued", "delivery_sent": "Sent", "delivery_retrying": "Retrying", "delivery_given-up": "Given up",
            "channel": "Channel", "template": "Template", "recipient": "Recipient", "subject": "Subject", "attempts": "Attempts",
            "next_attempt": "Next attempt", "last_error": "Last error", "retry": "Retry", "delivery": "Delivery",
            "provider_ref": "Provider's reference",
            "outcome": "Outcome", "attempt_sent": "sent", "attempt_failed": "failed",
            "notice_notifications-read": "Everything is marked read.", "notice_notification-removed": "The notification is removed.",
            "notice_preferences-saved": "Your preferences are saved.", "notice_announcement-sent": "The announcement is on its way.",
            "notice_delivery-retried": "The delivery is queued again.",
            "avatar_upload": "Your photo", "avatar_hint": "JPEG, PNG, WebP or GIF, up to 5 MB; it is cropped to a square.",
            "avatar_save": "Upload", "avatar_remove": "Remove photo", "avatar_alt": "Your photo",
            "notice_avatar-saved": "Your photo is saved.", "notice_avatar-removed": "Your photo is removed.",
            "mobile_send_code": "Send a code", "mobile_verify": "Verify", "notice_mobile-code-sent": "A code is on its way to your phone.",
            "notice_mobile-verified": "Your mobile number is verified.",
        ]

        static let uk: [String: String] = [
            "nav_label": "Головне", "nav_account": "Обліковий запис", "nav_organisations": "Організації", "nav_users": "Користувачі",
            "nav_roles": "Ролі",
            "sign_in": "Увійти", "sign_out": "Вийти", "sign_up": "Створити обліковий запис",
            "sign_up_intro":
                "Один обліковий запис працює в усіх застосунках Plaza. Увійти можна одразу; ми також надішлемо код для підтвердження адреси.",
            "link_sign_up": "Ще немає облікового запису? Створіть його", "link_sign_in": "Уже маєте обліковий запис? Увійдіть",
            "link_forgot": "Забули пароль?", "link_verify": "Підтвердити адресу пошти", "link_new_code": "Надіслати новий код",
            "field_email": "Електронна пошта", "field_password": "Пароль", "field_first_name": "Ім'я", "field_last_name": "Прізвище",
            "field_name": "Ім'я", "field_role": "Роль", "field_language": "Мова", "field_time_zone": "Часовий пояс", "field_code": "Код",
            "field_new_password": "Новий пароль", "field_current_password": "Поточний пароль", "field_new_email": "Нова адреса пошти",
            "field_bio": "Про себе", "field_birth_date": "Дата народження", "field_mobile": "Мобільний", "field_gender": "Стать",
            "field_organisation_name": "Назва", "field_organisation_type": "Тип", "field_slug": "Коротка назва (slug)",
            "field_invitation_token": "Код запрошення",
            "hint_password": "Щонайменше 8 символів.", "hint_time_zone": "Наприклад, Europe/Kyiv або America/New_York.",
            "hint_mobile": "У міжнародному форматі, напр. +380501234567.",
            "hint_slug": "Малі латинські літери, цифри й дефіси; якщо порожньо, утвориться з назви.",
            "hint_app": "* для всіх застосунків або назва одного.",
            "verify_heading": "Підтвердьте пошту", "verify_intro": "Введіть шестизначний код, який ми надіслали вам листом.",
            "verify_submit": "Підтвердити",
            "resend_submit": "Надіслати новий код", "verify_now": "Підтвердити зараз", "verified": "підтверджено",
            "reset_heading": "Відновлення пароля", "reset_intro": "Якщо ця адреса належить обліковому запису, ми надішлемо на неї код.",
            "reset_send": "Надіслати код", "reset_confirm_intro": "Введіть код із листа й оберіть новий пароль.",
            "reset_submit": "Встановити новий пароль",
            "account_heading": "Ваш обліковий запис", "profile_heading": "Профіль", "save": "Зберегти", "roles": "Ролі", "member_since": "З нами від",
            "account_export": "Завантажити ваші дані (JSON)", "back_account": "Назад до облікового запису",
            "password_heading": "Змінити пароль", "password_intro": "Після зміни пароля інші ваші сеанси завершаться.",
            "password_submit": "Змінити пароль",
            "email_heading": "Змінити пошту", "email_intro": "Ми надішлемо код на нову адресу; зміна відбудеться, коли ви його введете.",
            "email_submit": "Надіслати код", "email_confirm_intro": "Введіть код, який ми надіслали на нову адресу.",
            "sessions_heading": "Де ви увійшли", "sessions_intro": "Завершіть будь-який сеанс, якого ви не впізнаєте.",
            "session_device": "Пристрій", "session_ip": "IP-адреса", "session_started": "Вхід", "session_last_used": "Остання активність",
            "session_current": "цей браузер", "session_end": "Завершити",
            "delete_heading": "Видалити обліковий запис",
            "delete_intro":
                "Обліковий запис закриється зараз і буде стертий через 30 днів; доти адміністратор може його відновити. Якщо потрібна "
                + "копія, спершу завантажте свої дані.",
            "delete_submit": "Видалити мій обліковий запис",
            "users_heading": "Користувачі", "search": "Пошук", "search_users_hint": "Ім'я, пошта або телефон", "status": "Стан", "any": "Будь-який",
            "created": "Створено", "nothing_found": "Нічого не знайдено.", "next_page": "Наступна сторінка",
            "user_disable": "Вимкнути", "user_enable": "Увімкнути", "user_end_sessions": "Завершити всі сеанси", "grant": "Надати",
            "revoke": "Відкликати",
            "app": "Застосунок", "role_scope": "Рівень", "description": "Опис", "permissions": "Дозволи",
            "members": "Учасники", "remove": "Вилучити", "leave": "Вийти з організації", "invite_heading": "Запросити",
            "invite_submit": "Надіслати запрошення",
            "organisation_create": "Створити організацію",
            "invitation_heading": "Приєднатися до організації", "invitation_intro": "Введіть код із листа-запрошення.",
            "invitation_accept": "Приєднатися",
            "status_active": "Активний", "status_disabled": "Вимкнений", "status_deleted": "Видалений",
            "role_admin": "Адміністратор", "role_employee": "Співробітник", "role_operator": "Оператор", "role_owner": "Власник",
            "role_manager": "Менеджер",
            "role_member": "Учасник",
            "gender_female": "Жіноча", "gender_male": "Чоловіча", "gender_non-binary": "Небінарна", "gender_unspecified": "Не вказувати",
            "notice_signed-up": "Вітаємо! Обліковий запис готовий. Ми надіслали код для підтвердження пошти.",
            "notice_verify-first": "Щоб увійти, підтвердьте адресу пошти: ми надіслали вам код.",
            "notice_signed-out": "Ви вийшли.", "notice_email-verified": "Адресу пошти підтверджено.",
            "notice_code-sent": "Якщо ця адреса має обліковий запис, код уже в дорозі.",
            "notice_password-reset": "Пароль змінено. Увійдіть із новим паролем.",
            "notice_profile-saved": "Профіль збережено.", "notice_password-changed": "Пароль змінено; інші ваші сеанси завершено.",
            "notice_email-changed": "Адресу пошти змінено.", "notice_session-ended": "Сеанс завершено.",
            "notice_account-deleted": "Обліковий запис видалено.", "notice_user-enabled": "Користувача увімкнено.",
            "notice_user-disabled": "Користувача вимкнено, усі його сеанси завершено.", "notice_sessions-ended": "Усі сеанси користувача завершено.",
            "notice_role-granted": "Роль надано.", "notice_role-revoked": "Роль відкликано.",
            "notice_organisation-created": "Організацію створено; ви її власник.", "notice_roles-saved": "Ролі збережено.",
            "notice_left": "Ви вийшли з організації.", "notice_member-removed": "Учасника вилучено.",
            "notice_invitation-sent": "Запрошення надіслано.", "notice_joined": "Ви приєдналися до організації.",
            "error_validation": "Деякі поля потребують уваги.", "error_wrong_credentials": "Неправильна пошта або пароль.",
            "error_email_taken": "Обліковий запис із цією поштою вже існує.",
            "error_last_owner": "В організації завжди має бути принаймні один власник.",
            "error_account-disabled": "Цей обліковий запис вимкнено.", "error_email-not-verified": "Підтвердьте адресу пошти, перш ніж увійти.",
            "error_sign-in-locked": "Забагато невдалих спроб. Зачекайте кілька хвилин і спробуйте знову.",
            "error_code-invalid": "Код неправильний, прострочений або вже використаний.",
            "error_code-rate-limited": "Надіслано забагато кодів. Зачекайте, перш ніж просити новий.",
            "error_invitation-invalid": "Це запрошення вже недійсне.",
            "error_title_400": "Неправильний запит", "error_title_401": "Потрібно увійти", "error_title_403": "Недозволено",
            "error_title_404": "Не знайдено",
            "error_title_405": "Тут так не можна", "error_title_409": "Конфлікт", "error_title_413": "Завелике",
            "error_title_415": "Непідтримувана форма",
            "error_title_422": "Перевірте введене", "error_title_429": "Забагато запитів", "error_title_500": "Щось пішло не так",
            "error_detail_401": "Увійдіть, щоб побачити цю сторінку.", "error_detail_403": "Вашому обліковому запису це недоступно.",
            "error_detail_404": "Тут нічого немає або це не для вас.",
            "csrf_title": "Форма застаріла",
            "csrf_detail": "Форма надійшла не з цієї сторінки або застаріла. Поверніться, оновіть сторінку й надішліть її знову.",
            "request_id": "Ідентифікатор запиту", "back_home": "Назад до Plaza",
            "field_parent": "Входить до", "children": "Містить", "organisation_settings": "Налаштування",
            "organisation_status_active": "Активна", "organisation_status_archived": "В архіві",
            "notice_organisation-saved": "Організацію збережено.",
            "roles_intro":
                "Дозволи ролі — це дії (identity.user.read), префікси (operations.*) або * для всього; дозволи ролі організації діють "
                + "лише в її організації. Адміністратори мають усі дозволи.",
            "role_create": "Створити роль", "field_role_name": "Назва", "hint_role_name": "Від 2 до 40 малих латинських літер, цифр і дефісів.",
            "hint_permissions": "По одному в рядку, напр. identity.user.read або operations.*.",
            "scope_system": "Система", "scope_organisation": "Організація", "scope_app": "Застосунок",
            "notice_role-created": "Роль створено.", "notice_role-saved": "Роль збережено.", "notice_role-deleted": "Роль видалено.",
            "home_intro": "Один сервер для маркетплейсів, систем бронювання та платформ спільнот.", "home_engine": "Працює на",
            "home_developers": "Для розробників", "home_openapi": "Опис API (OpenAPI 3.1)", "home_metrics": "Метрики (текст Prometheus)",
            "nav_notifications": "Сповіщення", "unread_label": "непрочитані", "nav_announce": "Оголошення", "nav_deliveries": "Доставки",
            "notification_preferences": "Налаштування сповіщень", "mark_all_read": "Позначити все прочитаним", "open": "Відкрити",
            "mark_read": "Прочитано", "no_notifications": "Поки що нічого немає.",
            "preferences_intro": "Оберіть, куди надходять сповіщення кожного виду. Сповіщення безпеки завжди надходять у застосунок і на пошту.",
            "category": "Вид", "mandatory_notice": "Не можна вимкнути", "quiet_hours": "Тихі години",
            "quiet_hours_hint": "Пошта, SMS і push чекають до кінця цих годин; сповіщення безпеки — ні. Залиште обидва поля порожніми, щоб вимкнути.",
            "quiet_from": "З", "quiet_to": "До",
            "channel_in-app": "У застосунку", "channel_email": "Пошта", "channel_sms": "SMS", "channel_push": "Push",
            "announce_heading": "Надіслати оголошення",
            "announce_intro": "Воно надійде до скриньки кожного з аудиторії та каналами, які вони обрали для оголошень.",
            "announce_send": "Надіслати", "audience": "Аудиторія", "audience_everyone": "Усі", "audience_role": "Усі з роллю",
            "audience_organisation": "Учасники організації", "audience_organisation_id": "Ідентифікатор організації",
            "hint_audience_role": "Назва ролі, напр. customer чи employee; з ідентифікатором організації — роль у ній.",
            "hint_audience_organisation": "Потрібен для учасників організації.",
            "field_title": "Заголовок", "field_body": "Повідомлення", "field_link": "Посилання",
            "hint_link": "Необов’язково: шлях на цьому сайті, напр. /account.",
            "delivery_queued": "У черзі", "delivery_sent": "Надіслано", "delivery_retrying": "Повторюється", "delivery_given-up": "Припинено",
            "channel": "Канал", "template": "Шаблон", "recipient": "Отримувач", "subject": "Тема", "attempts": "Спроби",
            "next_attempt": "Наступна спроба", "last_error": "Остання помилка", "retry": "Повторити", "delivery": "Доставка",
            "provider_ref": "Посилання провайдера", "outcome": "Результат", "attempt_sent": "надіслано", "attempt_failed": "помилка",
            "notice_notifications-read": "Усе позначено прочитаним.", "notice_notification-removed": "Сповіщення видалено.",
            "notice_preferences-saved": "Налаштування збережено.", "notice_announcement-sent": "Оголошення надсилається.",
            "notice_delivery-retried": "Доставку знову поставлено в чергу.",
            "avatar_upload": "Ваше фото", "avatar_hint": "JPEG, PNG, WebP або GIF, до 5 МБ; його буде обрізано до квадрата.",
            "avatar_save": "Завантажити", "avatar_remove": "Прибрати фото", "avatar_alt": "Ваше фото",
            "notice_avatar-saved": "Фото збережено.", "notice_avatar-removed": "Фото прибрано.",
            "mobile_send_code": "Надіслати код", "mobile_verify": "Підтвердити", "notice_mobile-code-sent": "Код надсилається на ваш телефон.",
            "notice_mobile-verified": "Ваш номер телефону підтверджено.",
        ]

    }

    /// The API's wording where a page says it more plainly for people.
    static let enMessages: [String: String] = [
        InputText.nulMessage: "contains an invisible control character (NUL) that cannot be saved"
    ]

    static let ukMessages: [String: String] = [
        InputText.nulMessage: "містить невидимий керівний символ (NUL), який не можна зберегти",
        "is not an email address": "не є адресою електронної пошти",
        "must be 1 to 100 characters": "має містити від 1 до 100 символів",
        "must be 1 to 200 characters": "має містити від 1 до 200 символів",
        "must be at least 8 characters": "має містити щонайменше 8 символів",
        "must be at most 72 bytes": "має бути не довшим за 72 байти",
        "must be at most 2000 characters": "має містити не більше 2000 символів",
        "is not an IANA time zone": "не є часовим поясом IANA",
        "must be en or uk": "має бути en або uk",
        "is not your current password": "не збігається з поточним паролем",
        "must be a date as YYYY-MM-DD": "має бути датою у форматі РРРР-ММ-ДД",
        "must be between 1900-01-01 and today": "має бути між 1900-01-01 і сьогоднішнім днем",
        "must be a phone number in international form, e.g. +380501234567": "має бути номером у міжнародному форматі, напр. +380501234567",
        "must be 1 to 100 lowercase letters, digits and hyphens": "має містити від 1 до 100 малих латинських літер, цифр і дефісів",
        "must be a UUID": "має бути UUID",
        "is not an organisation": "не є організацією",
        "must be 2 to 40 lowercase letters, digits and hyphens, starting with a letter":
            "має містити від 2 до 40 малих латинських літер, цифр і дефісів і починатися з літери",
        "must be system, organisation or app": "має бути system, organisation або app",
        "must be active or archived": "має бути active або archived",
        "would put the organisation under itself": "поставила б організацію під саму себе",
    ]

    static let ukMessagePrefixes: [(String, String)] = [
        ("must be one of ", "має бути одним із: "),
        ("must name one or more of ", "має містити одну чи кілька з: "),
    ]
}
