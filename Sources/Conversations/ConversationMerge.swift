import Foundation
import PlazaKit
import SQLKit
import Storage

extension ConversationService {
    /// Conversations' part in merging two accounts: the merged account's threads become the other's (a
    /// thread both were in keeps the further read position), and its messages and reports are the other's.
    public static func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let sql = transaction.sql
        try await sql.raw(
            """
            UPDATE conversation_participants SET last_read_seq = (
                SELECT MAX(p.last_read_seq) FROM conversation_participants p
                WHERE p.conversation_id = conversation_participants.conversation_id AND p.user_id IN (\(bind: source), \(bind: target)))
            WHERE user_id = \(bind: target)
              AND conversation_id IN (SELECT conversation_id FROM conversation_participants WHERE user_id = \(bind: source))
            """
        ).run()
        let threads = try await sql.raw(
            """
            INSERT INTO conversation_participants (conversation_id, user_id, last_read_seq, joined_at)
            SELECT conversation_id, \(bind: target), last_read_seq, joined_at FROM conversation_participants WHERE user_id = \(bind: source)
            ON CONFLICT DO NOTHING RETURNING conversation_id
            """
        ).all().count
        try await sql.raw("DELETE FROM conversation_participants WHERE user_id = \(bind: source)").run()
        let messages = try await sql.raw(
            "UPDATE conversation_messages SET author_id = \(bind: target) WHERE author_id = \(bind: source) RETURNING id"
        ).all().count
        try await sql.raw("UPDATE conversations SET created_by = \(bind: target) WHERE created_by = \(bind: source)").run()
        try await sql.raw("UPDATE conversation_reports SET reporter_id = \(bind: target) WHERE reporter_id = \(bind: source)").run()
        return ["threads": threads, "messages": messages]
    }
}
