import Foundation
import PlazaKit

/// What a thread is about, when it is about something: `{type: "service-request", id: "…"}`.
public struct ConversationContext: Codable, Sendable, Equatable {
    public var type: String
    public var id: String
    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }
    static var schema: JSONSchema { .object(properties: ["type": .text, "id": .text], required: ["type", "id"]) }
}

/// `POST /api/v1/conversations`.
public struct NewConversation: Codable, Sendable, APISchema {
    public var participantIds: [UUID]
    public var subject: String?
    public var context: ConversationContext?
    public init(participantIds: [UUID], subject: String? = nil, context: ConversationContext? = nil) {
        self.participantIds = participantIds
        self.subject = subject
        self.context = context
    }
    static let subjectLimit = TextLimit.atMost(200)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "participantIds": .list(.uuid, minItems: 1, maxItems: ConversationService.maxParticipants - 1), "subject": subjectLimit.schema,
                "context": ConversationContext.schema,
            ],
            required: ["participantIds"])
    }
}

/// A thread as a participant sees it.
public struct Conversation: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var subject: String?
    public var context: ConversationContext?
    public var participantIds: [UUID]
    public var createdAt: Date
    public var lastMessageAt: Date?
    /// Messages after the caller's last read one, not counting the caller's own.
    public var unread: Int

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "subject": .nullable(.text), "context": .nullable(ConversationContext.schema), "participantIds": .array(.uuid),
                "createdAt": .dateTime, "lastMessageAt": .nullable(.dateTime), "unread": .integer(format: "int32"),
            ],
            required: ["id", "participantIds", "createdAt", "unread"])
    }
}

/// `POST /api/v1/conversations/{id}/messages` and `PATCH …/messages/{messageId}`.
public struct MessageDraft: Codable, Sendable, APISchema {
    public var body: String
    /// Ids of files (uploaded through the files API) to attach.
    public var attachments: [UUID]?
    public init(body: String, attachments: [UUID]? = nil) {
        self.body = body
        self.attachments = attachments
    }
    static let bodyLimit = TextLimit(1...ConversationService.maxBody)

    public static var schema: JSONSchema {
        .object(properties: ["body": bodyLimit.schema, "attachments": .array(.uuid)], required: ["body"])
    }
}

/// A message. A deleted or removed one keeps its place in the thread without its text.
public struct Message: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var conversationId: UUID
    /// The message's position in its thread: 1, 2, 3, …
    public var seq: Int
    public var authorId: UUID
    public var body: String?
    public var attachments: [UUID]
    public var createdAt: Date
    public var editedAt: Date?
    public var deletedAt: Date?
    /// Set when a moderator removed it.
    public var removedReason: String?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "conversationId": .uuid, "seq": .integer(format: "int32"), "authorId": .uuid, "body": .nullable(.text),
                "attachments": .array(.uuid), "createdAt": .dateTime, "editedAt": .nullable(.dateTime), "deletedAt": .nullable(.dateTime),
                "removedReason": .nullable(.text),
            ],
            required: ["id", "conversationId", "seq", "authorId", "attachments", "createdAt"])
    }
}

/// `POST /api/v1/conversations/{id}/read`: the last message read.
public struct ReadReceipt: Codable, Sendable, APISchema {
    public var seq: Int
    public init(seq: Int) { self.seq = seq }
    public static var schema: JSONSchema { .object(properties: ["seq": .integer(minimum: 0)], required: ["seq"]) }
}

/// `POST …/messages/{messageId}/report` and moderator removals.
public struct ReportInput: Codable, Sendable, APISchema {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    static let reasonLimit = TextLimit(1...500)
    public static var schema: JSONSchema { .object(properties: ["reason": reasonLimit.schema], required: ["reason"]) }
}

/// A report as moderators see it.
public struct MessageReport: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var messageId: UUID
    public var conversationId: UUID
    public var reporterId: UUID
    public var reason: String
    public var createdAt: Date
    public var resolvedAt: Date?
    public var messageBody: String?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "messageId": .uuid, "conversationId": .uuid, "reporterId": .uuid, "reason": .text, "createdAt": .dateTime,
                "resolvedAt": .nullable(.dateTime), "messageBody": .nullable(.text),
            ],
            required: ["id", "messageId", "conversationId", "reporterId", "reason", "createdAt"])
    }
}

/// The actions Conversations guards.
public enum ConversationPolicy {
    public static let create: Action = "conversations.conversation.create"
    public static let read: Action = "conversations.conversation.read"
    public static let send: Action = "conversations.message.send"
    public static let moderate: Action = "conversations.message.moderate"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(create, .authenticated)
        policy.allow(read, .participant)
        policy.allow(send, .participant)
        policy.allow(moderate, .systemRole(SystemRole.employee))
        return policy
    }
}
