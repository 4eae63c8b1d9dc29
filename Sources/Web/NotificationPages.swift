import Foundation
import Hummingbird
import Identity
import Notifications
import PlazaKit

/// `/notifications` (the inbox), `/account/notifications` (preferences), `/admin/announcements` (staff send
/// a message to an audience) and `/admin/deliveries` (operators watch and retry deliveries). The same
/// services and policy actions as the notification API.
struct NotificationPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        addInbox(to: &routes)
        addPreferences(to: &routes)
        addAnnouncements(to: &routes)
        addDeliveries(to: &routes)
        return routes.table
    }

    // MARK: Inbox

    private func addInbox(to routes: inout PageRoutes<Context>) {
        let service = pages.notifications
        routes.add(.get, "/notifications", "inboxPage", "Your notifications.", access: .authenticated) { request, context, scope in
            let page = try await service.inbox(caller: context.caller, page: try PageRequest(query: request.queryItems))
            let items = page.items.map { item -> [String: Any] in
                [
                    "id": item.id.uuidString, "title": item.title, "body": item.body, "link": item.link ?? "", "hasLink": item.link != nil,
                    "unread": item.readAt == nil, "when": Formats.dateTime(item.createdAt, scope.language),
                ]
            }
            return scope.render(
                "notifications",
                [
                    "items": items, "next": page.nextCursor.map { "/notifications?cursor=\($0)" } as Any,
                    "anyUnread": page.items.contains { $0.readAt == nil } || (scope.unread ?? 0) > 0,
                ])
        }
        routes.add(.post, "/notifications/read-all", "inboxReadAllForm", "Mark every notification read.", access: .authenticated) {
            request, context, scope in
            _ = try await scope.form(request, context)
            _ = try await service.markAllRead(caller: context.caller)
            return scope.redirect("/notifications?notice=notifications-read")
        }
        routes.add(.post, "/notifications/{id}/read", "inboxReadForm", "Mark one read (and open its link).", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            let item = try await service.markRead(try context.uuidParameter("id"), caller: context.caller)
            return scope.redirect(form["open"] == "1" ? PageScope.safeNext(item.link, fallback: "/notifications") : "/notifications")
        }
        routes.add(.post, "/notifications/{id}/delete", "inboxDeleteForm", "Remove one notification.", access: .authenticated) {
            request, context, scope in
            _ = try await scope.form(request, context)
            try await service.deleteInboxItem(try context.uuidParameter("id"), caller: context.caller)
            return scope.redirect("/notifications?notice=notification-removed")
        }
    }

    // MARK: Preferences

    private func addPreferences(to routes: inout PageRoutes<Context>) {
        let service = pages.notifications
        routes.add(.get, "/account/notifications", "notificationPreferencesPage", "Choose how you are told.", access: .authenticated) {
            _, context, scope in
            scope.render("notification-preferences", Self.preferences(try await service.preferences(caller: context.caller), scope))
        }
        routes.add(.post, "/account/notifications", "notificationPreferencesForm", "Save notification preferences.", access: .authenticated) {
            request, context, scope in
            let form = try await scope.form(request, context)
            let current = try await service.preferences(caller: context.caller)
            // Unchecked boxes are not posted: every box the page drew is read, on or off.
            var channels: [String: [String: Bool]] = [:]
            let checked = Set(form.all("on"))
            for category in current.categories {
                for channel in category.channels.keys {
                    let on = checked.contains("\(category.category).\(channel)")
                    if category.mandatory, category.channels[channel] == true, !on { continue }
                    channels[category.category, default: [:]][channel] = on
                }
            }
            let from = form.text("quiet_from"), to = form.text("quiet_to")
            let quiet: QuietHours?? = (from == nil && to == nil) ? .some(nil) : .some(QuietHours(from: from ?? "", to: to ?? ""))
            do {
                _ = try await service.updatePreferences(PreferencesUpdate(channels: channels, quietHours: quiet), caller: context.caller)
                return scope.redirect("/account/notifications?notice=preferences-saved")
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = Self.preferences(current, scope)
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("notification-preferences", data, status: error.status)
            }
        }
    }

    static func preferences(_ preferences: NotificationPreferences, _ scope: PageScope) -> [String: Any] {
        let channels = ["in-app", "email", "sms", "push"].filter { name in preferences.categories.contains { $0.channels[name] != nil } }
        return [
            "channels": channels.map { ["label": scope.t("channel_\($0)")] },
            "categories": preferences.categories.map { category -> [String: Any] in
                [
                    "name": category.name, "mandatory": category.mandatory,
                    "boxes": channels.map { channel -> [String: Any] in
                        let on = category.channels[channel] ?? false
                        return [
                            "value": "\(category.category).\(channel)", "on": on, "locked": category.mandatory && on,
                            "label": "\(category.name): \(scope.t("channel_\(channel)"))",
                        ]
                    },
                ]
            },
            "quietFrom": preferences.quietHours?.from ?? "", "quietTo": preferences.quietHours?.to ?? "", "timeZone": preferences.timeZone,
        ]
    }

    // MARK: Announcements

    private func addAnnouncements(to routes: inout PageRoutes<Context>) {
        let service = pages.notifications
        let announce = Access.action(NotificationPolicy.announce)
        routes.add(.get, "/admin/announcements", "announcePage", "Send an announcement.", access: announce) { _, _, scope in
            scope.render("form-page", Self.announcementPage(scope, values: FormData(pairs: [])).data)
        }
        routes.add(.post, "/admin/announcements", "announceForm", "Send an announcement.", access: announce) { request, context, scope in
            let form = try await scope.form(request, context)
            let page = Self.announcementPage(scope, values: form)
            do {
                let audience: Audience
                switch form["audience"] ?? "" {
                case "everyone": audience = .all
                case "role":
                    audience = .role(form.text("role") ?? "", in: try form.text("organisation").map(Self.uuid))
                case "organisation":
                    audience = .organisation(try Self.uuid(form.text("organisation") ?? ""))
                default:
                    throw PlazaError.validation(field: "audience", "must be everyone, a role or an organisation")
                }
                let receipt = try await service.announce(
                    Announcement(audience: audience, title: form["title"] ?? "", body: form["body"] ?? "", link: form.text("link")),
                    caller: context.caller)
                return scope.redirect("/admin/deliveries?notificationId=\(receipt.id)&notice=announcement-sent")
            } catch {
                return try scope.rerender(page, after: error)
            }
        }
    }

    static func uuid(_ text: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw PlazaError.validation(field: "organisation", "must be an organisation's id") }
        return id
    }

    static func announcementPage(_ scope: PageScope, values: FormData) -> FormPage {
        FormPage(
            heading: scope.t("announce_heading"), intro: scope.t("announce_intro"),
            form: PageForm(
                action: "/admin/announcements", submit: scope.t("announce_send"),
                fields: [
                    FormField(
                        "audience", label: scope.t("audience"), kind: .select, value: values["audience"] ?? "everyone", required: true,
                        options: [
                            ("everyone", scope.t("audience_everyone")), ("role", scope.t("audience_role")),
                            ("organisation", scope.t("audience_organisation")),
                        ]),
                    FormField("role", label: scope.t("field_role"), value: values["role"], hint: scope.t("hint_audience_role")),
                    FormField(
                        "organisation", label: scope.t("audience_organisation_id"), value: values["organisation"],
                        hint: scope.t("hint_audience_organisation")),
                    FormField("title", label: scope.t("field_title"), value: values["title"], required: true),
                    FormField("body", label: scope.t("field_body"), kind: .textarea, value: values["body"], required: true),
                    FormField("link", label: scope.t("field_link"), value: values["link"], hint: scope.t("hint_link")),
                ]))
    }

    // MARK: Deliveries

    private func addDeliveries(to routes: inout PageRoutes<Context>) {
        let service = pages.notifications
        let read = Access.action(NotificationPolicy.readDeliveries)
        routes.add(.get, "/admin/deliveries", "deliveriesPage", "Notification deliveries and their states.", access: read) {
            request, context, scope in
            let query = request.queryItems
            var data: [String: Any]
            var status = HTTPResponse.Status.ok
            do {
                let filter = try DeliveryQuery(query: query)
                let page = try await service.deliveries(filter, page: try PageRequest(query: query), caller: context.caller)
                data = Self.deliveries(page.items, scope)
                if let next = PageScope.nextPage("/admin/deliveries", query: query, cursor: page.nextCursor) { data["next"] = next }
            } catch let error as PlazaError where error.status == .unprocessableContent {
                data = Self.deliveries([], scope)
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                status = error.status
            }
            data["states"] =
                [["value": "", "label": scope.t("any")]]
                + DeliveryState.allCases.map {
                    ["value": $0.rawValue, "label": scope.t("delivery_\($0.rawValue)"), "selected": query["state"] == $0.rawValue]
                }
            data["channelOptions"] =
                [["value": "", "label": scope.t("any")]]
                + ["email", "sms", "push"].map { (channel: String) -> [String: Any] in
                    ["value": channel, "label": scope.t("channel_" + channel), "selected": query["channel"] == channel]
                }
            data["template"] = query["template"] ?? ""
            data["notificationId"] = query["notificationId"] ?? ""
            return scope.render("deliveries", data, status: status)
        }
        routes.add(.get, "/admin/deliveries/{id}", "deliveryPage", "One delivery and its attempts.", access: read) { _, context, scope in
            let delivery = try await service.delivery(try context.uuidParameter("id"), caller: context.caller)
            var data = Self.deliveries([delivery], scope)
            data["delivery"] = (data["items"] as? [[String: Any]])?.first ?? [:]
            data["attempts"] = (delivery.history ?? []).map { attempt -> [String: Any] in
                [
                    "attempt": attempt.attempt, "when": Formats.dateTime(attempt.at, scope.language),
                    "outcome": scope.t("attempt_\(attempt.outcome)"),
                    "error": attempt.error ?? "", "milliseconds": attempt.milliseconds,
                ]
            }
            return scope.render("delivery", data)
        }
        routes.add(
            .post, "/admin/deliveries/{id}/retry", "deliveryRetryForm", "Try a delivery again.", access: .action(NotificationPolicy.retryDeliveries)
        ) { request, context, scope in
            _ = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            _ = try await service.retry(id, caller: context.caller)
            return scope.redirect("/admin/deliveries/\(id)?notice=delivery-retried")
        }
    }

    static func deliveries(_ items: [NotificationDelivery], _ scope: PageScope) -> [String: Any] {
        [
            "items": items.map { delivery -> [String: Any] in
                [
                    "id": delivery.id.uuidString, "when": Formats.dateTime(delivery.createdAt, scope.language),
                    "channel": scope.t("channel_\(delivery.channel.rawValue)"), "address": delivery.address, "subject": delivery.subject,
                    "template": delivery.template, "state": scope.t("delivery_\(delivery.state.rawValue)"), "stateClass": delivery.state.rawValue,
                    "attempts": delivery.attempts, "next": delivery.nextAttemptAt.map { Formats.dateTime($0, scope.language) } ?? "",
                    "error": delivery.lastError ?? "", "providerStatus": delivery.providerStatus ?? "", "providerRef": delivery.providerRef ?? "",
                    "retryable": delivery.state == .retrying || delivery.state == .givenUp,
                ]
            }
        ]
    }
}

extension Templates {
    static let notifications: [String: String] = [
        "notifications": """
        {{<layout}}{{$title}}{{t.nav_notifications}}{{/title}}{{$content}}
        <h1>{{t.nav_notifications}}</h1>
        <p><a href="/account/notifications">{{t.notification_preferences}}</a></p>
        {{#anyUnread}}<form method="post" action="/notifications/read-all" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button>{{t.mark_all_read}}</button></form>{{/anyUnread}}
        <table>
        <tbody>
        {{#items}}<tr class="{{#unread}}unread{{/unread}}" id="n-{{id}}">
        <td>{{title}}<br><small>{{when}}</small></td><td>{{body}}</td>
        <td>{{#hasLink}}<form method="post" action="/notifications/{{id}}/read" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><input type="hidden" name="open" value="1"><button class="small">{{t.open}}</button></form>{{/hasLink}}
        {{#unread}}<form method="post" action="/notifications/{{id}}/read" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small">{{t.mark_read}}</button></form>{{/unread}}
        <form method="post" action="/notifications/{{id}}/delete" class="inline"><input type="hidden" name="_csrf" \
        value="{{csrf}}"><button class="small danger">{{t.remove}}</button></form></td>
        </tr>{{/items}}
        {{^items}}<tr><td>{{t.no_notifications}}</td></tr>{{/items}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">{{t.next_page}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """,
        "notification-preferences": """
        {{<layout}}{{$title}}{{t.notification_preferences}}{{/title}}{{$content}}
        <h1>{{t.notification_preferences}}</h1>
        <p>{{t.preferences_intro}}</p>
        <form method="post" action="/account/notifications" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <table>
        <thead><tr><th>{{t.category}}</th>{{#channels}}<th>{{label}}</th>{{/channels}}</tr></thead>
        <tbody>
        {{#categories}}<tr><td>{{name}}{{#mandatory}}<br><small>{{t.mandatory_notice}}</small>{{/mandatory}}</td>
        {{#boxes}}<td><input type="checkbox" name="on" value="{{value}}" aria-label="{{label}}"{{#on}} checked{{/on}}{{#locked}} \
        disabled{{/locked}}></td>{{/boxes}}</tr>{{/categories}}
        </tbody>
        </table>
        <fieldset><legend>{{t.quiet_hours}}</legend>
        <p><small>{{t.quiet_hours_hint}} ({{timeZone}})</small></p>
        <label class="field"><span>{{t.quiet_from}}</span><input type="time" name="quiet_from" value="{{quietFrom}}"></label>
        <label class="field"><span>{{t.quiet_to}}</span><input type="time" name="quiet_to" value="{{quietTo}}"></label>
        </fieldset>
        <button>{{t.save}}</button>
        </form>
        {{/content}}{{/layout}}
        """,
        "deliveries": """
        {{<layout}}{{$title}}{{t.nav_deliveries}}{{/title}}{{$content}}
        <h1>{{t.nav_deliveries}}</h1>
        <form method="get" action="/admin/deliveries" class="filters">
        <label><span>{{t.status}}</span><select name="state">{{#states}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/states}}</select></label>
        <label><span>{{t.channel}}</span><select name="channel">{{#channelOptions}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/channelOptions}}</select></label>
        <label><span>{{t.template}}</span><input name="template" value="{{template}}"></label>
        <input type="hidden" name="notificationId" value="{{notificationId}}">
        <button type="submit">{{t.search}}</button>
        </form>
        <table>
        <thead><tr><th>{{t.created}}</th><th>{{t.channel}}</th><th>{{t.recipient}}</th><th>{{t.subject}}</th><th>{{t.status}}</th>\
        <th>{{t.attempts}}</th><th>{{t.next_attempt}}</th><th>{{t.last_error}}</th></tr></thead>
        <tbody>
        {{#items}}<tr class="state-{{stateClass}}"><td><a href="/admin/deliveries/{{id}}">{{when}}</a></td><td>{{channel}}</td>\
        <td>{{address}}</td><td>{{subject}}</td>
        <td>{{state}}{{#providerStatus}}<br><small>{{providerStatus}}</small>{{/providerStatus}}</td><td>{{attempts}}</td><td>{{next}}</td>
        <td>{{error}}{{#retryable}}<form method="post" action="/admin/deliveries/{{id}}/retry" class="inline"><input \
        type="hidden" name="_csrf" value="{{csrf}}"><button class="small">{{t.retry}}</button></form>{{/retryable}}</td></tr>{{/items}}
        {{^items}}<tr><td colspan="8">{{t.nothing_found}}</td></tr>{{/items}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">{{t.next_page}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """,
        "delivery": """
        {{<layout}}{{$title}}{{t.delivery}}{{/title}}{{$content}}
        <p><a href="/admin/deliveries">{{t.nav_deliveries}}</a></p>
        {{#delivery}}
        <h1>{{subject}}</h1>
        <dl>
        <dt>{{t.channel}}</dt><dd>{{channel}}</dd><dt>{{t.recipient}}</dt><dd>{{address}}</dd><dt>{{t.template}}</dt><dd><code>\
        {{template}}</code></dd>
        <dt>{{t.status}}</dt><dd>{{state}}{{#providerStatus}} ({{providerStatus}}){{/providerStatus}}</dd>
        <dt>{{t.provider_ref}}</dt><dd><code>{{providerRef}}</code></dd><dt>{{t.next_attempt}}</dt><dd>{{next}}</dd>
        </dl>
        {{#retryable}}<form method="post" action="/admin/deliveries/{{id}}/retry" class="inline"><input type="hidden" \
        name="_csrf" value="{{csrf}}"><button>{{t.retry}}</button></form>{{/retryable}}
        {{/delivery}}
        <h2>{{t.attempts}}</h2>
        <table><thead><tr><th>#</th><th>{{t.created}}</th><th>{{t.outcome}}</th><th>ms</th><th>{{t.last_error}}</th></tr></thead><tbody>
        {{#attempts}}<tr><td>{{attempt}}</td><td>{{when}}</td><td>{{outcome}}</td><td>{{milliseconds}}</td><td>{{error}}</td></tr>{{/attempts}}
        {{^attempts}}<tr><td colspan="5">—</td></tr>{{/attempts}}
        </tbody></table>
        {{/content}}{{/layout}}
        """,
    ]
}
