import Notifications

/// The marketplace's notifications: one template per event, in English and Ukrainian, all in the
/// `marketplace` category (in-app, e-mail and push unless people choose otherwise).
enum MarketplaceNotices {
    static let category = NotificationCategory(
        id: "marketplace", names: ["en": "Service requests", "uk": "Запити на послуги"], defaults: [.inApp, .email, .push])

    /// The template id for a request's change: `marketplace.request.<event>`.
    static func template(_ event: String) -> String { "marketplace.request.\(event)" }

    static var templates: [NotificationTemplate] {
        let link = "/marketplace/requests/{{requestId}}"
        let texts: [(event: String, en: (String, String), uk: (String, String))] = [
            (
                "new", ("New request: {{category}}", "{{customer}} asks: {{description}}"),
                ("Новий запит: {{category}}", "{{customer}} просить: {{description}}")
            ),
            (
                "nearby", ("A {{category}} request near you", "{{distance}} km away: {{description}}"),
                ("Запит «{{category}}» поруч із вами", "За {{distance}} км: {{description}}")
            ),
            (
                "accepted", ("{{provider}} accepted your request", "{{category}}: {{provider}} will do the job."),
                ("{{provider}} прийняв(-ла) ваш запит", "{{category}}: {{provider}} виконає роботу.")
            ),
            (
                "declined", ("{{provider}} declined your request", "{{category}}: you can ask another provider."),
                ("{{provider}} відхилив(-ла) ваш запит", "{{category}}: ви можете звернутися до іншого виконавця.")
            ),
            (
                "expired", ("Your request expired", "{{category}}: nobody answered in time. You can send it again."),
                ("Термін вашого запиту минув", "{{category}}: ніхто не відповів вчасно. Ви можете надіслати його знову.")
            ),
            (
                "started", ("{{provider}} started the job", "{{category}}: the work is under way."),
                ("{{provider}} розпочав(-ла) роботу", "{{category}}: робота триває.")
            ),
            (
                "completed", ("{{provider}} completed the job", "{{category}}: tell others how it went."),
                ("{{provider}} завершив(-ла) роботу", "{{category}}: розкажіть іншим, як усе пройшло.")
            ),
            (
                "cancelled", ("{{customer}} cancelled a request", "{{category}}: {{description}}"),
                ("{{customer}} скасував(-ла) запит", "{{category}}: {{description}}")
            ),
        ]
        return texts.map { entry in
            NotificationTemplate(
                id: template(entry.event), category: category.id,
                texts: [
                    "en": TemplateTexts(title: entry.en.0, body: entry.en.1, action: "Open the request", link: link),
                    "uk": TemplateTexts(title: entry.uk.0, body: entry.uk.1, action: "Відкрити запит", link: link),
                ])
        }
    }
}
