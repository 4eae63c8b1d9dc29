import Synchronization

/// A name two parts of Plaza both declared: a topic kind, a job, an action, a subscription. Start-up stops
/// with this one line rather than letting the second silently replace (or join) the first.
public struct DuplicateName: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of name it is (`topic kind`, `job`, `action`).
    public let kind: String
    public let name: String
    /// Who declared it first and who declared it again (a module or an app id).
    public let first: String
    public let second: String

    public init(kind: String, name: String, first: String, second: String) {
        self.kind = kind
        self.name = name
        self.first = first
        self.second = second
    }

    public var description: String { "\(kind) \"\(name)\" is declared twice: by \(first) and by \(second)" }
}

/// Who declares a name: an app's id, or the module a registration's source file belongs to.
public enum Owner {
    /// The module of a `#fileID` (`Files/FileService.swift` → `Files`); anything else is taken as it is.
    public static func named(_ owner: String) -> String {
        guard owner.hasSuffix(".swift"), let slash = owner.firstIndex(of: "/") else { return owner }
        return String(owner[..<slash])
    }
}

/// Names and what they stand for, filled at start-up by the modules and apps that own them. A name is
/// declared once: a second declaration throws ``DuplicateName`` naming both owners.
public final class Registry<Value: Sendable>: Sendable {
    public let kind: String
    /// Values in declaration order beside an index by name: readers on hot paths (the event bus, once per event)
    /// take the array as it is, without rebuilding it.
    private struct Entries {
        var index: [String: Int] = [:]
        var names: [String] = []
        var owners: [String] = []
        var values: [Value] = []
    }
    private let entries = Mutex(Entries())

    public init(_ kind: String) {
        self.kind = kind
    }

    /// Declares `name` for `owner` (an app id, or a `#fileID` whose module is the owner).
    public func add(_ name: String, _ value: Value, owner: String) throws {
        let owner = Owner.named(owner)
        try entries.withLock { entries in
            if let existing = entries.index[name] {
                throw DuplicateName(kind: kind, name: name, first: entries.owners[existing], second: owner)
            }
            entries.index[name] = entries.values.count
            entries.names.append(name)
            entries.owners.append(owner)
            entries.values.append(value)
        }
    }

    public subscript(name: String) -> Value? { entries.withLock { entries in entries.index[name].map { entries.values[$0] } } }

    public func owner(of name: String) -> String? { entries.withLock { entries in entries.index[name].map { entries.owners[$0] } } }

    /// Every name, in the order they were declared.
    public var names: [String] { entries.withLock { $0.names } }

    /// Every value, in the order their names were declared.
    public var values: [Value] { entries.withLock { $0.values } }
}

/// Names claimed by owners, where only the claim matters (routes, migrations, setting keys): a second claim of
/// a name throws ``DuplicateName`` naming both owners.
public typealias NameClaims = Registry<Void>

extension Registry where Value == Void {
    /// Claims `name` for `owner` (an app id, or a `#fileID` whose module is the owner).
    public func claim(_ name: String, owner: String) throws {
        try add(name, (), owner: owner)
    }
}
