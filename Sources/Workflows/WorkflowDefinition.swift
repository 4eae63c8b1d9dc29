import Foundation
import PlazaKit

/// A lifecycle: its states, where instances start, and the commands that move them.
public struct WorkflowDefinition: Sendable {
    /// A command: from which states, to which state, and who may send it.
    public struct Transition: Sendable, Equatable {
        public var command: String
        public var from: Set<String>
        public var to: String
        /// The policy action the sender must be allowed (against the instance's facts).
        public var guardAction: Action

        public init(_ command: String, from: Set<String>, to: String, guard guardAction: Action) {
            self.command = command
            self.from = from
            self.to = to
            self.guardAction = guardAction
        }
    }

    public var name: String
    public var initial: String
    public var states: [String]
    /// States an instance never leaves.
    public var final: Set<String>
    public var transitions: [Transition]

    public init(name: String, initial: String, states: [String], final: Set<String>, transitions: [Transition]) {
        precondition(states.contains(initial), "\(name): the initial state \(initial) is not a state")
        for transition in transitions {
            precondition(states.contains(transition.to), "\(name): \(transition.command) goes to an unknown state")
            precondition(transition.from.isSubset(of: Set(states)), "\(name): \(transition.command) leaves an unknown state")
            precondition(transition.from.isDisjoint(with: final), "\(name): \(transition.command) leaves a final state")
        }
        self.name = name
        self.initial = initial
        self.states = states
        self.final = final
        self.transitions = transitions
    }

    /// The commands that may be sent in `state`, in declaration order.
    public func commands(in state: String) -> [String] {
        transitions.filter { $0.from.contains(state) }.map(\.command)
    }

    func transition(_ command: String, from state: String) -> Transition? {
        transitions.first { $0.command == command && $0.from.contains(state) }
    }

    /// A Mermaid state diagram of the definition, for the docs and the admin page.
    public var mermaid: String {
        var lines = ["stateDiagram-v2", "    [*] --> \(initial)"]
        for transition in transitions {
            for from in transition.from.sorted() { lines.append("    \(from) --> \(transition.to): \(transition.command)") }
        }
        for state in final.sorted() { lines.append("    \(state) --> [*]") }
        return lines.joined(separator: "\n")
    }
}
