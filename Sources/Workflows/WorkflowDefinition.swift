import Foundation
import PlazaKit

/// A lifecycle: its states, where instances start, and the commands that move them.
public struct WorkflowDefinition: Sendable {
    /// A command: from which states, to which state, who may send it, and what taking it starts —
    /// activities (side effects, run as jobs), timers (commands sent later if nothing moved) and signals
    /// (commands sent to related instances).
    public struct Transition: Sendable, Equatable {
        public var command: String
        public var from: Set<String>
        /// `nil`: the instance stays where it is (a comment, a note) and the step is still in its history.
        public var to: String?
        /// The policy action the sender must be allowed (against the instance's facts).
        public var guardAction: Action
        public var activities: [ActivitySpec]
        public var timers: [TimerSpec]
        public var signals: [SignalSpec]

        public init(
            _ command: String, from: Set<String>, to: String?, guard guardAction: Action, activities: [ActivitySpec] = [],
            timers: [TimerSpec] = [], signals: [SignalSpec] = []
        ) {
            self.command = command
            self.from = from
            self.to = to
            self.guardAction = guardAction
            self.activities = activities
            self.timers = timers
            self.signals = signals
        }

        /// Where an instance in `state` goes.
        func target(from state: String) -> String { to ?? state }
    }

    public var name: String
    public var initial: String
    public var states: [String]
    /// States an instance never leaves.
    public var final: Set<String>
    public var transitions: [Transition]
    /// What starting an instance starts (in its initial state).
    public var startActivities: [ActivitySpec]
    public var startTimers: [TimerSpec]

    public init(
        name: String, initial: String, states: [String], final: Set<String>, transitions: [Transition],
        startActivities: [ActivitySpec] = [], startTimers: [TimerSpec] = []
    ) {
        precondition(states.contains(initial), "\(name): the initial state \(initial) is not a state")
        for transition in transitions {
            precondition(transition.to.map(states.contains) ?? true, "\(name): \(transition.command) goes to an unknown state")
            precondition(transition.from.isSubset(of: Set(states)), "\(name): \(transition.command) leaves an unknown state")
            precondition(transition.from.isDisjoint(with: final), "\(name): \(transition.command) leaves a final state")
        }
        self.name = name
        self.initial = initial
        self.states = states
        self.final = final
        self.transitions = transitions
        self.startActivities = startActivities
        self.startTimers = startTimers
        let commands = Set(transitions.map(\.command))
        for timer in startTimers + transitions.flatMap(\.timers) {
            precondition(commands.contains(timer.command), "\(name): timer \(timer.name) sends an unknown command \(timer.command)")
        }
    }

    /// The commands that may be sent in `state`, in declaration order.
    public func commands(in state: String) -> [String] {
        transitions.filter { $0.from.contains(state) }.map(\.command)
    }

    func activity(named name: String) -> ActivitySpec? {
        (startActivities + transitions.flatMap(\.activities)).first { $0.name == name }
    }

    func transition(_ command: String, from state: String) -> Transition? {
        transitions.first { $0.command == command && $0.from.contains(state) }
    }

    /// A Mermaid state diagram of the definition, for the docs and the admin page.
    public var mermaid: String {
        var lines = ["stateDiagram-v2", "    [*] --> \(initial)"]
        for transition in transitions {
            for from in transition.from.sorted() { lines.append("    \(from) --> \(transition.target(from: from)): \(transition.command)") }
        }
        for state in final.sorted() { lines.append("    \(state) --> [*]") }
        return lines.joined(separator: "\n")
    }
}

/// A side effect of entering a state, run as a job with its own retry policy. Activities must be
/// idempotent: a crash can run one again; ``ActivityContext/idempotencyKey`` is the same every time.
public struct ActivitySpec: Sendable, Equatable {
    public var name: String
    public var retry: RetryPolicy

    public init(_ name: String, retry: RetryPolicy = RetryPolicy()) {
        self.name = name
        self.retry = retry
    }
}

/// How an activity is retried: exponential backoff from `initialBackoff`, doubling up to `maxBackoff`,
/// at most `maxAttempts` attempts each cut off after `timeout`. Errors thrown as
/// ``ActivityFailure/permanent(_:)`` are not retried.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var timeout: Duration

    public init(maxAttempts: Int = 5, initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(300), timeout: Duration = .seconds(60))
    {
        precondition(maxAttempts >= 1, "an activity needs at least one attempt")
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.timeout = timeout
    }

    /// The wait before attempt `attempt + 1` after `attempt` failed.
    func backoff(after attempt: Int) -> TimeInterval {
        let base = Double(initialBackoff.components.seconds) + Double(initialBackoff.components.attoseconds) / 1e18
        let cap = Double(maxBackoff.components.seconds) + Double(maxBackoff.components.attoseconds) / 1e18
        return min(cap, base * pow(2, Double(max(0, attempt - 1))))
    }
}

/// A command sent to related instances when a transition is taken — a campaign that closes tells its
/// applications, an application that is accepted tells its campaign. Signals travel as jobs after the
/// transition commits; a related instance whose state does not take the command ignores it (its history
/// says nothing), one that is busy gets it again after the conflict.
public struct SignalSpec: Sendable, Equatable {
    public enum Target: String, Sendable, Equatable {
        /// The instance this one was started under (``WorkflowEngine/start(_:subject:owner:participants:parent:payload:caller:in:)``).
        case parent
        /// Every instance started under this one and not cancelled.
        case children
    }

    public var target: Target
    public var command: String

    public init(_ command: String, to target: Target) {
        self.command = command
        self.target = target
    }
}

/// A command the engine sends by itself `after` an instance entered a state, unless it left it first.
public struct TimerSpec: Sendable, Equatable {
    public var name: String
    public var after: Duration
    public var command: String

    public init(_ name: String, after: Duration, command: String) {
        self.name = name
        self.after = after
        self.command = command
    }
}
