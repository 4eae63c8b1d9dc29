import Files
import Foundation
import Identity
import Jobs
import Notifications
import PlazaKit
import Realtime
import SQLKit
import Storage
import Synchronization

/// Decides whether a set of people may talk in a thread about a context (`service-request:…`), for the
/// module that owns the context. Without a rule for its type, a context is refused.
public final class ConversationContexts: Sendable {
    public typealias Rule = @Sendable (_ caller: Principal, _ contextID: String, _ participants: Set<UUID>) async throws -> Bool
    private let rules = Registry<Rule>("conversation context")
    public init() {}
    /// Registers the rule for one context type; a type registered before throws ``DuplicateName``.
    public func register(_ type: String, owner: String = #fileID, _ rule: @escaping Rule) throws { try rules.add(type, rule, owner: owner) }
    func rule(for type: String) -> Rule? { rules[type] }
}

/// Threads, messages, receipts, reports: the only way anything touches conversation data.
public struct ConversationService: Sendable {
    /// How long an author may edit or delete a message.
    public static let editWindow: TimeInterval = 15 * 60
    public static let maxBody = 4000
    public static let maxParticipants = 50

    let store: Store
    let publisher: RealtimePublisher
    let hub: RealtimeHub
    let identity: IdentityService
    let notifications: NotificationService
    let files: FileService
    let policy: any Policy
    public let contexts: ConversationContexts

    public init(
        store: Store, publisher: RealtimePublisher, hub: RealtimeHub, identity: IdentityService, notifications: NotificationService,
        files: FileService, policy: any Policy
    ) throws {
        self.store = store
        self.notifications = notifications
        self.files = files
        try notifications.templates.register(Self.messageTemplate)
        self.publisher = publisher
        self.hub = hub
        self.identity = identity
        self.policy = policy
        self.contexts = ConversationContexts()
        let service = self
        // A message's attachments are read by the thread's participants.
        try files.registerEntity("message") { messageID in
            guard let id = UUID(uuidString: messageID),
                let row = try await store.sql.raw(
                    """
                    SELECT conversation_id FROM conversation_messages WHERE id = \(bind: id)
                    """
                ).first()
            else { return nil }
            let conversation = try row.decode(column: "conversation_id", as: UUID.self)
            let participants = try await store.sql.raw("SELECT user_id FROM conversation_participants WHERE conversation_id = \(bind: conversation)")
                .all().map { try $0.decode(column: "user_id", as: UUID.self) }
            return ResourceFacts(participantIDs: Set(participants))
        }
        // `conversation:<id>`: for its participants only.
        try hub.topics.register("conversation") { principal, id in
            guard let id = UUID(uuidString: id), let participants = try await service.participants(of: id) else { return false }
            return participants.contains(principal.id)
        }
    }

    static func topic(_ id: UUID) -> String { "conversation:\(id.uuidString.lowercased())" }

    // MARK: Threads

    public func create(_ input: NewConversation, caller: Caller) async throws -> Conversation {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        try policy.authorize(caller, ConversationPolicy.create)
        var participants = Set(input.participantIds)
        participants.insert(principal.id)
        var errors: [FieldError] = []
        if participants.count < 2 { errors.append(FieldError(field: "participantIds", message: "must name at least one other person")) }
        if participants.count > Self.maxParticipants {
            errors.append(FieldError(field: "participantIds", message: "must name at most \(Self.maxParticipants) people"))
        }
        NewConversation.subjectLimit.check(input.subject, field: "subject", into: &errors)
        let subject = input.subject?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let active = try await identity.activeUsers(among: Array(participants))
        if let missing = participants.subtracting(active).first {
            throw PlazaError.validation(field: "participantIds", "\(missing) is not an active account")
        }
        if let context = input.context {
            guard let rule = contexts.rule(for: context.type) else {
                throw PlazaError.validation(field: "context", "\(context.type) is not a kind of thing conversations can be about")
            }
            guard try await rule(principal, context.id, participants) else {
                throw PlazaError.forbidden("These people may not talk about this \(context.type).")
            }
        }
        let everyone = participants
        let id = try await store.transaction { transaction in
            try await insert(
                participants: everyone, subject: subject, context: input.context, createdBy: principal.id, caller: caller, in: transaction)
        }
        return try await conversation(id, caller: caller)
    }

    /// Opens a thread about a context in the owning module's transaction: the module has decided who takes
    /// part (a request's two sides), so no context rule is asked.
    public func open(
        about context: ConversationContext, participants: Set<UUID>, subject: String?, caller: Caller, in transaction: Transaction
    ) async throws -> UUID {
        guard participants.count >= 2 else { throw PlazaError.validation(field: "participantIds", "a thread needs two people") }
        return try await insert(
            participants: participants, subject: subject, context: context,
            createdBy: caller.principal?.id ?? participants.sorted { $0.uuidString < $1.uuidString }[0],
            caller: caller, in: transaction)
    }

    private func insert(
        participants: Set<UUID>, subject: String?, context: ConversationContext?, createdBy: UUID, caller: Caller, in transaction: Transaction
    ) async throws -> UUID {
        let now = transaction.clock.now()
        let id = PlazaID.make(at: now)
        try await transaction.sql.raw(
            """
            INSERT INTO conversations (id, subject, context_type, context_id, created_by, message_count, created_at)
            VALUES (\(bind: id), \(bind: subject?.isEmpty == true ? nil : subject), \(bind: context?.type), \(bind: context?.id),
                    \(bind: createdBy), 0, \(bind: now))
            """
        ).run()
        for user in participants {
            try await transaction.sql.raw(
                """
                INSERT INTO conversation_participants (conversation_id, user_id, last_read_seq, joined_at)
                VALUES (\(bind: id), \(bind: user), 0, \(bind: now))
                """
            ).run()
        }
        try await transaction.audit(caller, action: "conversations.conversation.create", resourceType: "conversation", resourceID: id.uuidString)
        for user in participants where user != createdBy {
            try await publisher.publish(
                ["kind": "conversation.created", "conversationId": id.uuidString], to: "user:\(user.uuidString.lowercased())", in: transaction)
        }
        return id
    }

    /// One thread, for its participants (404 for anyone else).
    public func conversation(_ id: UUID, caller: Caller) async throws -> Conversation {
        let participants = try await authorize(caller, ConversationPolicy.read, conversation: id)
        guard let row = try await store.sql.raw(Self.threads(of: caller.principal!.id) + " WHERE c.id = \(bind: id)").first()
        else { throw Self.notFound(id) }
        return try Self.conversation(row, participants: participants.sorted { $0.uuidString < $1.uuidString })
    }

    /// The caller's threads, most recently active first, with unread counts.
    public func conversations(caller: Caller, page: PageRequest) async throws -> Page<Conversation> {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        var sql = Self.threads(of: principal.id)
        if let cursor = page.cursor { sql += " WHERE c.id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY c.id DESC LIMIT \(literal: page.limit + 1)"
        let rows = try await store.sql.raw(sql).all()
        // Everyone in the page's threads in one query, not one per thread.
        var participants: [UUID: [UUID]] = [:]
        let ids = try rows.map { try $0.decode(column: "id", as: UUID.self) }
        if !ids.isEmpty {
            for row in try await store.sql.raw(
                """
                SELECT conversation_id, user_id FROM conversation_participants WHERE conversation_id IN (\(binds: ids))
                """
            ).all() {
                participants[try row.decode(column: "conversation_id", as: UUID.self), default: []].append(
                    try row.decode(column: "user_id", as: UUID.self))
            }
        }
        let items = try rows.map { row in
            let id = try row.decode(column: "id", as: UUID.self)
            return try Self.conversation(row, participants: (participants[id] ?? []).sorted { $0.uuidString < $1.uuidString })
        }
        return .byID(items, limit: page.limit, id: \.id)
    }

    // MARK: Messages

    /// Stores a message, then answers: the participants hear of it once it is committed.
    public func send(_ draft: MessageDraft, to id: UUID, caller: Caller) async throws -> Message {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        let participants = try await authorize(caller, ConversationPolicy.send, conversation: id)
        let body = try Self.checked(draft)
        let attachments = draft.attachments ?? []
        guard attachments.count <= 20, Set(attachments).count == attachments.count else {
            throw PlazaError.validation(field: "attachments", "at most 20 files, each once")
        }
        let files = self.files
        let (publisher, topic, notifications) = (self.publisher, Self.topic(id), self.notifications)
        let present = Set(try await hub.present(on: topic))
        let author = try await identity.contact(principal.id).map { "\($0.firstName) \($0.lastName)" } ?? "Someone"
        let message = try await store.transaction { transaction -> Message in
            let now = transaction.clock.now()
            guard
                let seq = try await transaction.sql.raw(
                    """
                    UPDATE conversations SET message_count = message_count + 1, last_message_at = \(bind: now)
                    WHERE id = \(bind: id) RETURNING message_count
                    """
                ).first()?.decode(column: "message_count", as: Int.self)
            else { throw Self.notFound(id) }
            let message = Message(
                id: PlazaID.make(at: now), conversationId: id, seq: seq, authorId: principal.id, body: body, attachments: attachments,
                createdAt: now)
            try await transaction.sql.raw(
                """
                INSERT INTO conversation_messages (id, conversation_id, seq, author_id, body, attachments, created_at)
                VALUES (\(bind: message.id), \(bind: id), \(bind: seq), \(bind: principal.id), \(bind: body),
                        \(bind: try Self.encode(attachments)), \(bind: now))
                """
            ).run()
            try await files.attach(
                attachments, purpose: .attachment, to: "message", message.id.uuidString.lowercased(), field: "attachments", caller: caller,
                in: transaction)
            // Your own message is read by you.
            try await transaction.sql.raw(
                """
                UPDATE conversation_participants SET last_read_seq = \(bind: seq) WHERE conversation_id = \(bind: id) AND user_id \
                = \(bind: principal.id)
                """
            ).run()
            try await publisher.publish(MessageEvent(kind: "message.created", message: message), to: topic, caller: caller, in: transaction)
            for user in participants where user != principal.id {
                try await publisher.publish(
                    ["kind": "conversation.message", "conversationId": id.uuidString, "seq": "\(seq)"], to: "user:\(user.uuidString.lowercased())",
                    in: transaction)
            }
            // People who are not looking at the thread right now are told (by push, unless they chose otherwise).
            let away = participants.subtracting([principal.id]).subtracting(present)
            if !away.isEmpty {
                try await notifications.notify(
                    NotificationRequest(
                        audience: .users(away.sorted { $0.uuidString < $1.uuidString }), template: Self.messageTemplate.id,
                        data: ["author": .string(author), "preview": .string(String(body.prefix(140))), "conversationId": .string(id.uuidString)]),
                    dedupeKey: "message:\(message.id)", caller: caller, in: transaction)
            }
            return message
        }
        return message
    }

    /// The notification of a new message, for participants who are away from the thread.
    static let messageTemplate = NotificationTemplate(
        id: "conversations.message", category: "messages",
        texts: [
            "en": TemplateTexts(title: "{{author}} wrote to you", body: "{{preview}}", short: "{{author}}: {{preview}}"),
            "uk": TemplateTexts(title: "{{author}} написав(-ла) вам", body: "{{preview}}", short: "{{author}}: {{preview}}"),
        ])

    /// History, newest first; `before` (a seq) pages backwards.
    public func messages(in id: UUID, before: Int?, limit: Int, caller: Caller) async throws -> [Message] {
        _ = try await authorize(caller, ConversationPolicy.read, conversation: id)
        var sql: SQLQueryString = "SELECT * FROM conversation_messages WHERE conversation_id = \(bind: id)"
        if let before { sql += " AND seq < \(bind: before)" }
        sql += " ORDER BY seq DESC LIMIT \(literal: limit)"
        return try await store.sql.raw(sql).all().map(Self.message)
    }

    /// Changes a message's text: its author, within the edit window.
    public func edit(_ messageID: UUID, in id: UUID, _ draft: MessageDraft, caller: Caller) async throws -> Message {
        let body = try Self.checked(draft)
        return try await change(messageID, in: id, caller: caller, kind: "message.edited") { transaction, now in
            try await transaction.sql.raw(
                """
                UPDATE conversation_messages SET body = \(bind: body), edited_at = \(bind: now) WHERE id = \(bind: messageID)
                """
            ).run()
        }
    }

    /// Deletes a message's text (its place stays): its author, within the edit window.
    public func delete(_ messageID: UUID, in id: UUID, caller: Caller) async throws -> Message {
        let message = try await change(messageID, in: id, caller: caller, kind: "message.deleted") { transaction, now in
            try await transaction.sql.raw(
                """
                UPDATE conversation_messages SET body = NULL, attachments = '[]', deleted_at = \(bind: now) WHERE id = \(bind: messageID)
                """
            ).run()
        }
        // Its attachments go with it.
        try await files.deleteFiles(of: "message", messageID.uuidString.lowercased(), caller: caller)
        return message
    }

    /// Marks messages up to `seq` read; the others see the receipt.
    public func markRead(_ receipt: ReadReceipt, in id: UUID, caller: Caller) async throws -> Conversation {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        _ = try await authorize(caller, ConversationPolicy.read, conversation: id)
        guard receipt.seq >= 0 else { throw PlazaError.validation(field: "seq", "must be a message's seq") }
        let (publisher, topic) = (self.publisher, Self.topic(id))
        try await store.transaction { transaction in
            let count =
                try await transaction.sql.raw("SELECT message_count FROM conversations WHERE id = \(bind: id)").first()?
                .decode(column: "message_count", as: Int.self) ?? 0
            let seq = min(receipt.seq, count)
            // Receipts only move forward.
            let moved = try await transaction.sql.raw(
                """
                UPDATE conversation_participants SET last_read_seq = \(bind: seq)
                WHERE conversation_id = \(bind: id) AND user_id = \(bind: principal.id) AND last_read_seq < \(bind: seq) RETURNING user_id
                """
            ).all()
            if !moved.isEmpty {
                try await publisher.publish(
                    ["kind": "read", "userId": principal.id.uuidString, "seq": "\(seq)"], to: topic, caller: caller, in: transaction)
            }
        }
        return try await conversation(id, caller: caller)
    }

    /// Tells the others the caller is typing: a passing signal, not stored.
    public func typing(in id: UUID, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        _ = try await authorize(caller, ConversationPolicy.send, conversation: id)
        try await hub.signal(["kind": "typing", "userId": principal.id.uuidString], to: Self.topic(id))
    }

    // MARK: Reports and moderation

    public func report(_ messageID: UUID, in id: UUID, _ input: ReportInput, caller: Caller) async throws {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        _ = try await authorize(caller, ConversationPolicy.read, conversation: id)
        try ReportInput.reasonLimit.require(input.reason, field: "reason")
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        try await store.transaction { transaction in
            guard
                try await transaction.sql.raw(
                    """
                    SELECT id FROM conversation_messages WHERE id = \(bind: messageID) AND conversation_id = \(bind: id)
                    """
                ).first() != nil
            else { throw PlazaError.notFound("No message has the id \(messageID).") }
            let reportID = PlazaID.make(at: transaction.clock.now())
            try await transaction.sql.raw(
                """
                INSERT INTO conversation_reports (id, message_id, reporter_id, reason, created_at)
                VALUES (\(bind: reportID), \(bind: messageID), \(bind: principal.id), \(bind: reason), \(bind: transaction.clock.now()))
                """
            ).run()
            try await transaction.audit(caller, action: "conversations.message.report", resourceType: "message", resourceID: messageID.uuidString)
        }
    }

    /// Reports, oldest open first (`open: false` lists resolved ones, newest first).
    public func reports(open: Bool, page: PageRequest, caller: Caller) async throws -> Page<MessageReport> {
        try policy.authorize(caller, ConversationPolicy.moderate)
        var sql: SQLQueryString = """
            SELECT r.*, m.conversation_id, m.body FROM conversation_reports r JOIN conversation_messages m ON m.id = r.message_id
            WHERE r.resolved_at IS \(unsafeRaw: open ? "NULL" : "NOT NULL")
            """
        if let cursor = page.cursor {
            let after = try Cursor.decodeID(cursor)
            sql += open ? " AND r.id > \(bind: after)" : " AND r.id < \(bind: after)"
        }
        sql += " ORDER BY r.id \(unsafeRaw: open ? "ASC" : "DESC") LIMIT \(literal: page.limit + 1)"
        let rows = try await store.sql.raw(sql).all().map { row in
            MessageReport(
                id: try row.decode(column: "id", as: UUID.self), messageId: try row.decode(column: "message_id", as: UUID.self),
                conversationId: try row.decode(column: "conversation_id", as: UUID.self),
                reporterId: try row.decode(column: "reporter_id", as: UUID.self),
                reason: try row.decode(column: "reason", as: String.self), createdAt: try row.decode(column: "created_at", as: Date.self),
                resolvedAt: try row.decode(column: "resolved_at", as: Date?.self), messageBody: try row.decode(column: "body", as: String?.self))
        }
        return .byID(rows, limit: page.limit, id: \.id)
    }

    /// Removes a message as a moderator: its text goes, the reason stays, its reports are resolved.
    public func remove(_ messageID: UUID, _ input: ReportInput, caller: Caller) async throws -> Message {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        try policy.authorize(caller, ConversationPolicy.moderate)
        try ReportInput.reasonLimit.require(input.reason, field: "reason")
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        let publisher = self.publisher
        let removed = try await store.transaction { transaction in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    UPDATE conversation_messages SET body = NULL, attachments = '[]', deleted_at = \(bind: now), removed_by = \(bind: principal.id),
                           removed_reason = \(bind: reason)
                    WHERE id = \(bind: messageID) RETURNING *
                    """
                ).first()
            else { throw PlazaError.notFound("No message has the id \(messageID).") }
            let message = try Self.message(row)
            try await transaction.sql.raw(
                """
                UPDATE conversation_reports SET resolved_at = \(bind: now), resolved_by = \(bind: principal.id)
                WHERE message_id = \(bind: messageID) AND resolved_at IS NULL
                """
            ).run()
            try await transaction.audit(
                caller, action: "conversations.message.remove", resourceType: "message", resourceID: messageID.uuidString,
                details: ["reason": .string(reason), "conversationId": .string(message.conversationId.uuidString)])
            try await publisher.publish(
                MessageEvent(kind: "message.removed", message: message), to: Self.topic(message.conversationId), in: transaction)
            return message
        }
        try await files.deleteFiles(of: "message", messageID.uuidString.lowercased(), caller: caller)
        return removed
    }

    // MARK: Shared steps

    /// The participants of a thread, or nil when there is no such thread.
    func participants(of id: UUID) async throws -> Set<UUID>? {
        let rows = try await store.sql.raw("SELECT user_id FROM conversation_participants WHERE conversation_id = \(bind: id)").all()
        if rows.isEmpty { return nil }
        return Set(try rows.map { try $0.decode(column: "user_id", as: UUID.self) })
    }

    /// Asks the policy with the thread's participants; people outside it get 404.
    func authorize(_ caller: Caller, _ action: Action, conversation id: UUID) async throws -> Set<UUID> {
        guard caller.principal != nil else { throw PlazaError.unauthorized() }
        guard let participants = try await participants(of: id) else { throw Self.notFound(id) }
        let facts = ResourceFacts(participantIDs: participants)
        guard policy.allowsQuietly(caller, action, facts) || policy.allowsQuietly(caller, ConversationPolicy.read, facts) else {
            throw Self.notFound(id)
        }
        try policy.authorize(caller, action, facts)
        return participants
    }

    private func change(
        _ messageID: UUID, in id: UUID, caller: Caller, kind: String,
        _ update: @escaping @Sendable (Transaction, Date) async throws -> Void
    ) async throws -> Message {
        guard let principal = caller.principal else { throw PlazaError.unauthorized() }
        _ = try await authorize(caller, ConversationPolicy.send, conversation: id)
        let publisher = self.publisher
        return try await store.transaction { transaction in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT * FROM conversation_messages WHERE id = \(bind: messageID) AND conversation_id = \(bind: id)
                    """
                ).first()
            else { throw PlazaError.notFound("No message has the id \(messageID).") }
            let before = try Self.message(row)
            guard before.authorId == principal.id else { throw PlazaError.forbidden("Only its author may change a message.") }
            guard before.deletedAt == nil else { throw PlazaError.conflict("The message was deleted.") }
            guard now.timeIntervalSince(before.createdAt) <= Self.editWindow else {
                throw PlazaError.conflict("Messages can be changed for \(Int(Self.editWindow / 60)) minutes after they are sent.")
            }
            try await update(transaction, now)
            let after = try Self.message(try await transaction.sql.raw("SELECT * FROM conversation_messages WHERE id = \(bind: messageID)").first()!)
            try await publisher.publish(MessageEvent(kind: kind, message: after), to: Self.topic(id), caller: caller, in: transaction)
            return after
        }
    }

    struct MessageEvent: Encodable {
        var kind: String
        var message: Message
    }

    static func checked(_ draft: MessageDraft) throws -> String {
        try MessageDraft.bodyLimit.require(draft.body, field: "body")
        return draft.body.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The threads `user` takes part in, with the user's unread count (others' messages after the last read).
    static func threads(of user: UUID) -> SQLQueryString {
        """
        SELECT c.*, p.last_read_seq,
               (SELECT COUNT(*) FROM conversation_messages m WHERE m.conversation_id = c.id AND m.seq > p.last_read_seq
                  AND m.author_id <> p.user_id) AS unread
        FROM conversations c JOIN conversation_participants p ON p.conversation_id = c.id AND p.user_id = \(bind: user)
        """
    }

    static func notFound(_ id: UUID) -> PlazaError { PlazaError.notFound("No conversation has the id \(id).") }

    static func encode(_ ids: [UUID]) throws -> String { String(decoding: try JSONEncoder().encode(ids), as: UTF8.self) }

    static func message(_ row: any SQLRow) throws -> Message {
        Message(
            id: try row.decode(column: "id", as: UUID.self), conversationId: try row.decode(column: "conversation_id", as: UUID.self),
            seq: try row.decode(column: "seq", as: Int.self), authorId: try row.decode(column: "author_id", as: UUID.self),
            body: try row.decode(column: "body", as: String?.self),
            attachments: try JSONDecoder().decode([UUID].self, from: Data(try row.decode(column: "attachments", as: String.self).utf8)),
            createdAt: try row.decode(column: "created_at", as: Date.self), editedAt: try row.decode(column: "edited_at", as: Date?.self),
            deletedAt: try row.decode(column: "deleted_at", as: Date?.self), removedReason: try row.decode(column: "removed_reason", as: String?.self)
        )
    }

    static func conversation(_ row: any SQLRow, participants: [UUID]) throws -> Conversation {
        let type = try row.decode(column: "context_type", as: String?.self)
        let contextID = try row.decode(column: "context_id", as: String?.self)
        return Conversation(
            id: try row.decode(column: "id", as: UUID.self), subject: try row.decode(column: "subject", as: String?.self),
            context: type.flatMap { type in contextID.map { ConversationContext(type: type, id: $0) } }, participantIds: participants,
            createdAt: try row.decode(column: "created_at", as: Date.self), lastMessageAt: try row.decode(column: "last_message_at", as: Date?.self),
            unread: try row.decode(column: "unread", as: Int.self))
    }
}
