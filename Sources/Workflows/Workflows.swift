/// # Workflows — durable lifecycles with history
///
/// The seeds' long-running processes — a service request that is accepted, started and completed, a
/// booking held and paid, a campaign and its applications — as instances of a ``WorkflowDefinition``:
/// named states, commands that move between them, and the policy action that guards each command.
///
/// - An instance's state changes only through ``WorkflowEngine/send(_:to:expectedVersion:payload:comment:caller:)``,
///   in one transaction with the history entry it appends (who, when, from, to, command, payload, comment);
///   modules pass their own transaction so the domain change and the transition commit together.
/// - Concurrent commands on one instance: exactly one wins (a version check in the UPDATE); the loser gets
///   409 with the current state. A command the state does not allow is a 409 naming the allowed ones; one
///   the guard refuses is a 403.
/// - Entering a state starts activities (side effects with retry policies, run as jobs — in process right
///   after the commit on a serving instance), timers (commands sent later, once) and signals (commands to
///   the parent or children). An activity's success may move its instance on in the same transaction.
/// - Operators list, read, retry, reset and cancel through the API, `plaza workflows` and `/admin/workflows`.
/// - A definition is data: ``WorkflowDefinition/mermaid`` and ``WorkflowDefinition/svg(highlighting:)`` draw it.
public enum WorkflowsModule {}
