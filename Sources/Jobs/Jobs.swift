/// # Jobs — the outbox, the event bus and the durable job queue
///
/// What Kafka and the message queues do in the seeds, kept in the database so that a write and the
/// work it causes commit together:
///
/// - ``Outbox``: services append domain events inside their transaction. A rolled-back transaction emits
///   nothing. The ``OutboxDispatcher`` numbers committed events (`seq`, assigned after commit under a lock,
///   so readers never skip a late commit), hands them to `work` subscribers as jobs (exactly once across
///   instances) and to `broadcast` subscribers on every instance, and keeps the log for a configurable
///   time so realtime clients can resume from a `seq`.
/// - ``JobQueue``: durable jobs with named queues, priorities, `runAt`, retries with exponential backoff and
///   jitter, a dead-letter state, leases that recover jobs whose worker died, unique keys, and recurring
///   (cron) schedules. On PostgreSQL several instances share the queue (`FOR UPDATE SKIP LOCKED`) and wake
///   each other with LISTEN/NOTIFY; on SQLite one process runs the workers.
/// - ``JobWorker``, ``OutboxDispatcher``, ``Scheduler`` and ``PostgresWakeups`` are service-lifecycle
///   services the composition root runs.
public enum JobsModule {}
