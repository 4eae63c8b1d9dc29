/// # PlazaServer — the composition root
///
/// The only target that knows every module. It reads nothing from the environment itself: the executable
/// builds a ``PlazaConfig`` (from `PLAZA_*` variables, an optional file and flags) and hands it here.
///
/// - ``Plaza``: the assembled system — the store, the job queue, the outbox, the event bus, every module's
///   services, routes and policies, and the services the lifecycle runs.
/// - ``Plaza/migrations``: the one ordered migration list.
/// - ``buildApplication(_:)`` / ``Plaza/buildRouter()``: the Hummingbird application tests and `plaza serve` share.
/// - ``AppRequestContext``: the concrete request context.
public enum PlazaServerModule {}
