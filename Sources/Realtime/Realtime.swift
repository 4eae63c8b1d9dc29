/// # Realtime — topics pushed to browsers and apps
///
/// One WebSocket endpoint, `/api/v1/realtime`, speaking the JSON frame protocol of `docs/realtime.md`:
/// clients subscribe to topics (`user:<id>`, `conversation:<id>`, `request:<id>`, …), each subscription is
/// authorized by the rule the owning module registered for the topic's kind, and events arrive with an id
/// that increases per topic. The same events come as Server-Sent Events from `/api/v1/realtime/events`. A
/// WebSocket, and an event stream asked for as its connection's first request, is a NIO handler once the
/// router has said yes (``WebSocketSession``, ``EventStreamSession``): an idle one holds no task.
///
/// - Modules publish with ``RealtimePublisher`` inside their own transaction: an event is an outbox event
///   (`realtime.publish`, keyed by topic), so it exists only if the change it reports committed, and it is
///   numbered in the one event log every instance reads.
/// - Each instance's ``RealtimeHub`` is a `broadcast` subscriber of the outbox: it hands every event to the
///   connections subscribed to its topic here. With PostgreSQL, NOTIFY wakes every instance, so a publish on
///   one reaches subscribers on all.
/// - A client that reconnects with `lastEventId` is replayed what it missed from the log, then switched to
///   live delivery without a gap or a duplicate.
/// - Every connection has a bounded send queue; a client that cannot keep up is closed (code 4008) rather
///   than growing the server's memory.
public enum RealtimeModule {}
