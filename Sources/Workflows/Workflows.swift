/// # Workflows — durable lifecycles with history
///
/// The seeds' long-running processes — a service request that is accepted, started and completed, a
/// booking held and paid, a campaign application reviewed — as instances of a ``WorkflowDefinition``:
/// named states, commands that move between them, and the policy action that guards each command.
///
/// - An instance's state changes only through ``WorkflowEngine/send(_:to:expectedVersion:payload:comment:caller:)``,
///   in one transaction with the history entry it appends (who, when, from, to, command, payload, comment);
///   modules pass their own transaction so the domain change and the transition commit together.
/// - Concurrent commands on one instance: exactly one wins (a version check in the UPDATE); the loser gets
///   409 with the current state. A command the state does not allow is a 409 naming the allowed ones; one
///   the guard refuses is a 403.
/// - A definition is data: ``WorkflowDefinition/mermaid`` draws it.
public enum WorkflowsModule {}
