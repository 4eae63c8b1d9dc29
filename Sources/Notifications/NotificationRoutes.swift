import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// The inbox and preferences under `/api/v1/me`, push subscriptions, announcements, the operators'
/// delivery list, and the SMS provider's status callback.
public struct NotificationRoutes<Context: PlazaRequestContext>: Sendable {
    let service: NotificationService
    let vapid: VAPIDKeys
    /// The public URL the SMS provider signs its callbacks with.
    let baseURL: String

    public init(service: NotificationService, vapid: VAPIDKeys, baseURL: String) {
        self.service = service
        self.vapid = vapid
        self.baseURL = baseURL
    }

    struct Changed: Codable, APISchema {
        var changed: Int
        static var schema: JSONSchema { .object(properties: ["changed": .integer()], required: ["changed"]) }
    }

    struct SubscriptionList: Codable, APISchema {
        var items: [PushSubscriptionInfo]
        static var schema: JSONSchema { .object(properties: ["items": .array(PushSubscriptionInfo.schema)], required: ["items"]) }
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        addInbox(to: &routes)
        addPreferences(to: &routes)
        addPush(to: &routes)
        addOperations(to: &routes)
        return routes
    }

    private func addInbox(to routes: inout RouteTable<Context>) {
        let service = self.service
        let tag = "Notifications"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        routes.add(
            Endpoint(
                .get, "/api/v1/me/notifications", operationID: "listNotifications", summary: "Your inbox, newest first.", tag: tag,
                access: .authenticated,
                parameters: [.limit, .cursor, EndpointParameter("unread", in: .query, schema: .boolean, description: "Only unread entries.")],
                responses: [EndpointResponse(200, "A page of entries.", body: .page(of: InboxItem.self))]
            ) { request, context in
                let query = request.queryItems
                guard query["unread"].map({ $0 == "true" || $0 == "false" }) ?? true else {
                    throw PlazaError.validation(field: "unread", "must be true or false")
                }
                return try .json(
                    try await service.inbox(
                        caller: context.caller, unreadOnly: query["unread"] == "true", page: try PageRequest(query: query)))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/me/notifications/unread-count", operationID: "countUnreadNotifications",
                summary: "How many inbox entries are unread (the badge).", tag: tag, access: .authenticated,
                responses: [EndpointResponse(200, "The count.", body: .json(UnreadCount.self))]
            ) { _, context in try .json(UnreadCount(unread: try await service.unreadCount(caller: context.caller))) })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/notifications/read-all", operationID: "markAllNotificationsRead", summary: "Mark every entry read.",
                tag: tag, access: .authenticated, responses: [EndpointResponse(200, "How many changed.", body: .json(Changed.self))]
            ) { _, context in try .json(Changed(changed: try await service.markAllRead(caller: context.caller))) })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/notifications/{id}/read", operationID: "markNotificationRead", summary: "Mark one entry read.", tag: tag,
                access: .authenticated, parameters: [id], responses: [EndpointResponse(200, "The entry.", body: .json(InboxItem.self))]
            ) { _, context in try .json(try await service.markRead(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .delete, "/api/v1/me/notifications/{id}", operationID: "deleteNotification", summary: "Remove one entry from your inbox.",
                tag: tag, access: .authenticated, parameters: [id], responses: [EndpointResponse(204, "Removed.")]
            ) { _, context in
                try await service.deleteInboxItem(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/notifications", operationID: "announce",
                summary: "Send an announcement to some accounts, a role, an organisation or everyone (admins and employees).", tag: tag,
                access: .action(NotificationPolicy.announce),
                requestBody: EndpointBody(
                    schemaName: Announcement.schemaName, schema: Announcement.schema(groupKinds: service.identity.audienceGroups.names.sorted())),
                responses: [EndpointResponse(202, "Stored; it is fanned out in the background.", body: .json(NotificationReceipt.self))],
                idempotent: true
            ) { request, context in
                let announcement = try await request.decodeJSON(Announcement.self, context: context)
                return try .json(try await service.announce(announcement, caller: context.caller), status: .accepted)
            })
    }

    private func addPreferences(to routes: inout RouteTable<Context>) {
        let service = self.service
        routes.add(
            Endpoint(
                .get, "/api/v1/me/notification-preferences", operationID: "getNotificationPreferences",
                summary: "Your channels per category, and quiet hours.", tag: "Notifications", access: .authenticated,
                responses: [EndpointResponse(200, "Preferences.", body: .json(NotificationPreferences.self))]
            ) { _, context in try .json(try await service.preferences(caller: context.caller)) })
        routes.add(
            Endpoint(
                .put, "/api/v1/me/notification-preferences", operationID: "updateNotificationPreferences",
                summary: "Turn channels on or off per category; set or clear quiet hours.", tag: "Notifications", access: .authenticated,
                requestBody: .json(PreferencesUpdate.self),
                responses: [EndpointResponse(200, "Preferences.", body: .json(NotificationPreferences.self))]
            ) { request, context in
                let update = try await request.decodeJSON(PreferencesUpdate.self, context: context)
                return try .json(try await service.updatePreferences(update, caller: context.caller))
            })
    }

    private func addPush(to routes: inout RouteTable<Context>) {
        let (service, vapid) = (self.service, self.vapid)
        let tag = "Notifications"
        routes.add(
            Endpoint(
                .get, "/api/v1/push/key", operationID: "getPushKey", summary: "The VAPID public key browsers subscribe with.", tag: tag,
                access: .public, responses: [EndpointResponse(200, "The key.", body: .json(VAPIDPublicKey.self))]
            ) { _, _ in try .json(VAPIDPublicKey(publicKey: try await vapid.key().publicKeyBase64URL)) })
        routes.add(
            Endpoint(
                .get, "/api/v1/me/push-subscriptions", operationID: "listPushSubscriptions", summary: "Your browsers' push subscriptions.",
                tag: tag, access: .authenticated, responses: [EndpointResponse(200, "Subscriptions.", body: .json(SubscriptionList.self))]
            ) { _, context in try .json(SubscriptionList(items: try await service.pushSubscriptions(caller: context.caller))) })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/push-subscriptions", operationID: "addPushSubscription",
                summary: "Save a browser's push subscription (PushSubscription.toJSON()).", tag: tag, access: .authenticated,
                requestBody: .json(PushSubscriptionInput.self),
                responses: [EndpointResponse(201, "Saved.", body: .json(PushSubscriptionInfo.self))]
            ) { request, context in
                let input = try await request.decodeJSON(PushSubscriptionInput.self, context: context)
                return try .json(
                    try await service.subscribe(input, userAgent: request.headers[.userAgent], caller: context.caller), status: .created)
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/me/push-subscriptions/{id}", operationID: "deletePushSubscription", summary: "Forget a push subscription.",
                tag: tag, access: .authenticated, parameters: [EndpointParameter("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(204, "Forgotten.")]
            ) { _, context in
                try await service.unsubscribe(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
    }

    private func addOperations(to routes: inout RouteTable<Context>) {
        let service = self.service
        let tag = "Operations"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        routes.add(
            Endpoint(
                .get, "/api/v1/operations/deliveries", operationID: "listDeliveries",
                summary: "Notification deliveries, newest first: filter by state, channel, account, notification, template, since.",
                tag: tag, access: .action(NotificationPolicy.readDeliveries),
                parameters: [
                    .limit, .cursor,
                    EndpointParameter("state", in: .query, schema: .string(enumValues: DeliveryState.allCases.map(\.rawValue))),
                    EndpointParameter("channel", in: .query, schema: .string(enumValues: ["email", "sms", "push"])),
                    EndpointParameter("userId", in: .query, schema: .emptyOr(.uuid)),
                    EndpointParameter("notificationId", in: .query, schema: .emptyOr(.uuid)),
                    EndpointParameter("template", in: .query), EndpointParameter("since", in: .query, schema: .emptyOr(.dateTime)),
                ],
                responses: [EndpointResponse(200, "A page of deliveries.", body: .page(of: NotificationDelivery.self))]
            ) { request, context in
                let query = request.queryItems
                return try .json(
                    try await service.deliveries(try DeliveryQuery(query: query), page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/operations/deliveries/{id}", operationID: "getDelivery", summary: "One delivery with every attempt.", tag: tag,
                access: .action(NotificationPolicy.readDeliveries), parameters: [id],
                responses: [EndpointResponse(200, "The delivery.", body: .json(NotificationDelivery.self))]
            ) { _, context in try .json(try await service.delivery(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .post, "/api/v1/operations/deliveries/{id}/retry", operationID: "retryDelivery",
                summary: "Try a retrying or given-up delivery again now.", tag: tag, access: .action(NotificationPolicy.retryDeliveries),
                parameters: [id], responses: [EndpointResponse(200, "The delivery, queued.", body: .json(NotificationDelivery.self))]
            ) { _, context in try .json(try await service.retry(try context.uuidParameter("id"), caller: context.caller)) })
        let (baseURL, settings) = (self.baseURL, service.settings)
        routes.add(
            Endpoint(
                .post, NotificationService.smsStatusPath, operationID: "smsStatusCallback",
                summary: "The SMS provider's delivery report (Twilio's form, signed with X-Twilio-Signature).", tag: tag, access: .public,
                requestBody: .text("application/x-www-form-urlencoded"), responses: [EndpointResponse(204, "Recorded.")]
            ) { request, context in
                guard let sms = settings.sms else { throw PlazaError.notFound("SMS is not configured on this installation.") }
                let body = try await request.body.collect(upTo: 64 * 1024)
                let fields = FormEncoding.decode(String(buffer: body))
                try InputText.check(fields)
                let signature = request.headers[HTTPField.Name("X-Twilio-Signature")!] ?? ""
                guard
                    TwilioSignature.isValid(
                        signature, url: baseURL + NotificationService.smsStatusPath, parameters: fields, authToken: sms.authToken)
                else { throw PlazaError.forbidden("The X-Twilio-Signature does not match this request.") }
                let value = { (name: String) in fields.last { $0.0 == name }?.1 }
                guard let sid = value("MessageSid"), let status = value("MessageStatus") else {
                    throw PlazaError.validation(field: "MessageSid", "and MessageStatus are required")
                }
                try await service.record(ProviderReport(reference: sid, status: status, errorCode: value("ErrorCode")))
                return .noContent
            })
    }
}
