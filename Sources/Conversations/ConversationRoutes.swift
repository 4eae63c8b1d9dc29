import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/api/v1/conversations/*` and `/api/v1/moderation/*`.
public struct ConversationRoutes<Context: PlazaRequestContext>: Sendable {
    let service: ConversationService

    public init(service: ConversationService) {
        self.service = service
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let service = self.service
        let tag = "Conversations"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let message = EndpointParameter("messageId", in: .path, schema: .uuid)
        let read = Access.resourceAction(ConversationPolicy.read)
        let send = Access.resourceAction(ConversationPolicy.send)

        routes.add(
            Endpoint(
                .post, "/api/v1/conversations", operationID: "createConversation",
                summary: "Start a thread with one or more people (optionally about a context).", tag: tag,
                access: .action(ConversationPolicy.create), requestBody: .json(NewConversation.self),
                responses: [EndpointResponse(201, "The thread.", body: .json(Conversation.self))], idempotent: true
            ) { request, context in
                let conversation = try await service.create(
                    try await request.decodeJSON(NewConversation.self, context: context), caller: context.caller)
                return try .json(conversation, status: .created, headers: [.location: "/api/v1/conversations/\(conversation.id)"])
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/conversations", operationID: "listConversations", summary: "Your threads, newest first, with unread counts.",
                tag: tag, access: .authenticated, parameters: [.limit, .cursor],
                responses: [EndpointResponse(200, "A page of threads.", body: .page(of: Conversation.self))]
            ) { request, context in
                try .json(try await service.conversations(caller: context.caller, page: try PageRequest(query: request.queryItems)))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/conversations/{id}", operationID: "getConversation", summary: "A thread you take part in.", tag: tag,
                access: read, parameters: [id], responses: [EndpointResponse(200, "The thread.", body: .json(Conversation.self))]
            ) { _, context in try .json(try await service.conversation(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .post, "/api/v1/conversations/{id}/messages", operationID: "sendMessage",
                summary: "Send a message; it is stored before the answer, then pushed to the participants.", tag: tag,
                access: send, parameters: [id], requestBody: .json(MessageDraft.self),
                responses: [EndpointResponse(201, "The message.", body: .json(Message.self))], idempotent: true
            ) { request, context in
                let draft = try await request.decodeJSON(MessageDraft.self, context: context)
                return try .json(try await service.send(draft, to: try context.uuidParameter("id"), caller: context.caller), status: .created)
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/conversations/{id}/messages", operationID: "listMessages",
                summary: "History, newest first; ?before=<seq> pages back.", tag: tag, access: read,
                parameters: [
                    id, .limit, EndpointParameter("before", in: .query, schema: .integer(minimum: 1), description: "Messages before this seq."),
                ],
                responses: [EndpointResponse(200, "Messages.", body: .json(MessageList.self))]
            ) { request, context in
                let query = request.queryItems
                let page = try PageRequest(query: query.filter { $0.key == "limit" })
                var before: Int?
                if let raw = query["before"] {
                    guard let value = Int(raw), value > 0 else { throw PlazaError.validation(field: "before", "must be a message's seq") }
                    before = value
                }
                let conversation = try context.uuidParameter("id")
                let messages = try await service.messages(in: conversation, before: before, limit: page.limit, caller: context.caller)
                let next =
                    messages.count == page.limit
                    ? messages.last.map { "/api/v1/conversations/\(conversation)/messages?before=\($0.seq)&limit=\(page.limit)" } : nil
                return try .json(MessageList(items: messages, next: next))
            })
        routes.add(
            Endpoint(
                .patch, "/api/v1/conversations/{id}/messages/{messageId}", operationID: "editMessage",
                summary: "Change your message's text (within 15 minutes).", tag: tag, access: send, parameters: [id, message],
                requestBody: .json(MessageDraft.self), responses: [EndpointResponse(200, "The message.", body: .json(Message.self))]
            ) { request, context in
                let draft = try await request.decodeJSON(MessageDraft.self, context: context)
                return try .json(
                    try await service.edit(
                        try context.uuidParameter("messageId"), in: try context.uuidParameter("id"), draft, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/conversations/{id}/messages/{messageId}", operationID: "deleteMessage",
                summary: "Delete your message (within 15 minutes); its place in the thread stays.", tag: tag, access: send,
                parameters: [id, message], responses: [EndpointResponse(200, "The message, without its text.", body: .json(Message.self))]
            ) { _, context in
                try .json(
                    try await service.delete(try context.uuidParameter("messageId"), in: try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/conversations/{id}/read", operationID: "markConversationRead",
                summary: "Mark messages up to a seq read (a read receipt for the others).", tag: tag, access: read, parameters: [id],
                requestBody: .json(ReadReceipt.self), responses: [EndpointResponse(200, "The thread.", body: .json(Conversation.self))]
            ) { request, context in
                let receipt = try await request.decodeJSON(ReadReceipt.self, context: context)
                return try .json(try await service.markRead(receipt, in: try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/conversations/{id}/typing", operationID: "typing",
                summary: "Tell the others you are typing (a passing signal).", tag: tag, access: send, parameters: [id],
                responses: [EndpointResponse(204, "Signalled.")]
            ) { _, context in
                try await service.typing(in: try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/conversations/{id}/messages/{messageId}/report", operationID: "reportMessage",
                summary: "Report a message to the moderators.", tag: tag, access: read, parameters: [id, message],
                requestBody: .json(ReportInput.self), responses: [EndpointResponse(202, "Reported.")]
            ) { request, context in
                let input = try await request.decodeJSON(ReportInput.self, context: context)
                try await service.report(try context.uuidParameter("messageId"), in: try context.uuidParameter("id"), input, caller: context.caller)
                return .accepted
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/moderation/reports", operationID: "listReports",
                summary: "Reported messages: open ones oldest first, or ?state=resolved.", tag: "Moderation",
                access: .action(ConversationPolicy.moderate),
                parameters: [EndpointParameter("state", in: .query, schema: .string(enumValues: ["open", "resolved"])), .limit, .cursor],
                responses: [EndpointResponse(200, "A page of reports.", body: .page(of: MessageReport.self))]
            ) { request, context in
                let query = request.queryItems
                guard ["open", "resolved"].contains(query["state"] ?? "open") else {
                    throw PlazaError.validation(field: "state", "must be open or resolved")
                }
                return try .json(
                    try await service.reports(open: query["state"] ?? "open" == "open", page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/moderation/messages/{messageId}/remove", operationID: "removeMessage",
                summary: "Remove a message as a moderator, with a reason; its reports are resolved.", tag: "Moderation",
                access: .action(ConversationPolicy.moderate), parameters: [message], requestBody: .json(ReportInput.self),
                responses: [EndpointResponse(200, "The message.", body: .json(Message.self))]
            ) { request, context in
                let input = try await request.decodeJSON(ReportInput.self, context: context)
                return try .json(try await service.remove(try context.uuidParameter("messageId"), input, caller: context.caller))
            })
        return routes
    }
}

/// `GET /api/v1/conversations/{id}/messages`: newest first; `next` pages back.
public struct MessageList: Codable, Sendable, APISchema {
    public var items: [Message]
    public var next: String?
    public static var schema: JSONSchema {
        .object(properties: ["items": .array(Message.schema), "next": .nullable(.text)], required: ["items", "next"])
    }
}
