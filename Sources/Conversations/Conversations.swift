/// # Conversations — threads and messages between people
///
/// The seeds' chat and messenger: threads of two or more participants, optionally bound to a context (a
/// service request, a campaign application, a booking) whose owner module decides who may take part.
///
/// - ``ConversationService`` stores every message before it answers, then publishes it to the
///   `conversation:<id>` topic (and a nudge to each participant's `user:<id>`), in the same transaction.
/// - Messages carry text and file references; their author may edit or delete them for 15 minutes; read
///   receipts keep each participant's last read message, from which unread counts follow; typing is a passing
///   realtime signal, never stored.
/// - Anyone in a thread may report a message; moderators (admins and employees) list reports and remove
///   messages, which keeps a trace of who removed what and why.
/// - People outside a thread get 404 for it, not 403: a thread you are not in does not exist for you.
public enum ConversationsModule {}
