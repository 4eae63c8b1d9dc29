import PlazaKit
import Workflows

/// The lifecycle of a service request, as a workflow definition:
///
/// ```
/// pending ─accept→ accepted ─start→ in_progress ─complete→ completed
/// pending ─decline→ declined · pending ─expire (24 h, a timer)→ expired
/// pending, accepted ─cancel→ cancelled
/// ```
///
/// The instance's owner is the customer; its participant, the assigned provider (an open request gets one
/// when a provider accepts it). The guards say the rest: the provider answers and moves the job, the
/// customer cancels; `expire` comes from the timer alone.
enum RequestLifecycle {
    static let name = "marketplace.request"
    static let conversationContext = "marketplace-request"
    static let expiredActivity = "marketplace.request.expired"
    /// The job that tells providers nearby of a new open request (only open requests have one).
    static let alertJob = "marketplace.request.alert"
    /// Sent by the timer only: no person holds it (admins aside, and no route sends it).
    static let expireAction: Action = "marketplace.requests.expire"

    /// The commands people send through `POST /api/v1/marketplace/requests/{id}/{command}`.
    static let providerCommands = ["accept", "decline", "start", "complete"]
    static let customerCommands = ["cancel"]

    /// The states and commands (the timer's length aside, which is all settings change).
    static let shape = definition(MarketplaceSettings())

    static func definition(_ settings: MarketplaceSettings) -> WorkflowDefinition {
        WorkflowDefinition(
            name: name, initial: "pending",
            states: ["pending", "accepted", "declined", "expired", "in_progress", "completed", "cancelled"],
            final: ["declined", "expired", "completed", "cancelled"],
            transitions: [
                .init("accept", from: ["pending"], to: "accepted", guard: MarketplacePolicy.respond),
                .init("decline", from: ["pending"], to: "declined", guard: MarketplacePolicy.respond),
                .init(
                    "expire", from: ["pending"], to: "expired", guard: expireAction,
                    activities: [ActivitySpec(expiredActivity, retry: RetryPolicy(maxAttempts: 8))]),
                .init("start", from: ["accepted"], to: "in_progress", guard: MarketplacePolicy.respond),
                .init("complete", from: ["in_progress"], to: "completed", guard: MarketplacePolicy.respond),
                .init("cancel", from: ["pending", "accepted"], to: "cancelled", guard: MarketplacePolicy.cancel),
            ],
            startTimers: [TimerSpec("expiry", after: settings.requestExpiry, command: "expire")])
    }
}
