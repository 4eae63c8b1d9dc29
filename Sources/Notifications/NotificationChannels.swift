import Foundation
import Logging
import Storage

extension NotificationService {
    /// Where SMS providers post delivery reports.
    public static let smsStatusPath = "/api/v1/notifications/sms/status"

    /// The outside channels this configuration makes: e-mail always (into the log without SMTP), SMS with a
    /// provider, Web Push always (the key pair is the installation's own).
    public static func transports(
        settings: NotificationSettings, baseURL: String, store: Store, vapid: VAPIDKeys, logger: Logger
    ) throws -> [Channel: any NotificationTransport] {
        var transports: [Channel: any NotificationTransport] = [:]
        let client = try settings.smtp.map { try SMTPClient(settings: $0, clientName: URL(string: baseURL)?.host ?? "plaza.localhost") }
        transports[.email] = EmailTransport(
            client: client, from: settings.mailFrom,
            footer: [
                "en": "You get this because of your account at \(baseURL). Choose what you are told at \(baseURL)/account/notifications.",
                "uk": "Ви отримали цей лист через обліковий запис на \(baseURL). Налаштування сповіщень: \(baseURL)/account/notifications.",
            ],
            logger: logger)
        if let sms = settings.sms {
            transports[.sms] = SMSTransport(settings: sms, statusCallback: baseURL + smsStatusPath)
        }
        let contact = settings.pushContact ?? "mailto:\(EmailMessage.address(settings.mailFrom))"
        transports[.push] = PushTransport(
            key: { try await vapid.key() }, subject: contact, allows: { settings.allowsPush(to: $0) },
            target: { try await pushTarget($0, store: store) }, gone: { try await forgetPushTarget($0, store: store) })
        return transports
    }
}
