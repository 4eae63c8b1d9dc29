import Foundation
import Identity
import PlazaKit
import Storage
import Synchronization

/// An app on Plaza: a module that plugs into the core through this one protocol and never edits the core to
/// exist. The composition root holds a list of app types; for each it migrates ``AppManifest/migrations``,
/// merges ``AppManifest/policy``, upserts ``AppManifest/roles``, reads ``AppManifest/settings``, then builds the
/// app on the core's services (``init(core:)``) and registers what it declares (``parts``) under its id —
/// refusing at start, in one line naming both owners, a name another module or app already declared.
///
/// Merging two accounts and erasing one are required: every table an app owns holds people, and a forgotten
/// hook would silently keep or lose a person's data (the contract test in `PlazaServerTests` checks both
/// against the app's own fixtures).
public protocol PlazaApp: Sendable {
    /// What the app is and brings, known before anything runs (`plaza migrate`, `plaza config`, the docs).
    static var manifest: AppManifest { get }

    /// Builds the app's services on the core's. Registration happens in ``parts``, not here.
    init(core: AppCore) throws

    /// What the host registers for the app: jobs, subscriptions, topics, contexts, file entities, workflows,
    /// activities, notification templates, cron entries.
    var parts: AppParts { get }

    /// Every route of the app: its API, its pages, its GraphQL endpoint.
    func routes<Context: PlazaRequestContext>(_ context: Context.Type) -> RouteTable<Context>

    /// Moves every reference to `source` in the app's tables to `target`, inside the merge's transaction, and
    /// says how many rows moved (`["requests": 3]`). Throwing refuses the whole merge.
    func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> MergeCounts

    /// Erases (or blanks, where others need the row's history) everything in the app's tables that identifies
    /// `user`, inside the transaction that erases the account.
    func forget(user: UUID, in transaction: Transaction) async throws

    /// Loads the app's demo data, once per installation (the host keeps a marker per app). `demo` has an
    /// account for every role; work that must go through services committing on their own goes in
    /// ``DemoSeed/afterCommit(_:)``.
    func seedDemo(_ demo: DemoSeed, in transaction: Transaction) async throws

    /// Rows the demo data lacks that the contract test needs (every table holding the demo people), added after
    /// the demo; returns the ids its resource routes are walked with, keyed by the path segment before the
    /// parameter and the parameter (`requests/{id}`).
    func contractFixtures(_ demo: DemoSeed, in transaction: Transaction) async throws -> [String: String]
}

extension PlazaApp {
    public var id: String { Self.manifest.id }
}

/// The demo accounts and the follow-ups an app's demo data leaves for after its transaction commits.
public final class DemoSeed: Sendable {
    /// One account id per role name (system roles and every app's roles).
    public let accounts: [String: UUID]
    /// The one bcrypt hash of the demo password (bcrypt is slow on purpose), for any extra demo people.
    public let passwordHash: String
    private let followUps = Mutex<[@Sendable () async throws -> Void]>([])

    public init(accounts: [String: UUID], passwordHash: String) {
        self.accounts = accounts
        self.passwordHash = passwordHash
    }

    /// The account of `role`; a role the app declared always has one.
    public func account(_ role: String) throws -> UUID {
        guard let id = accounts[role] else { throw PlazaError.notFound("No demo account has the role \(role).") }
        return id
    }

    /// Work to do once the demo transaction has committed (a message sent through the conversations service).
    public func afterCommit(_ work: @escaping @Sendable () async throws -> Void) {
        followUps.withLock { $0.append(work) }
    }

    /// Runs the follow-ups, in order (the host calls it after the commit).
    public func runFollowUps() async throws {
        for work in followUps.withLock({ $0 }) { try await work() }
    }
}

/// The apps an installation hosts, in the order they are installed (compared by id).
public struct AppList: Sendable, Equatable, ExpressibleByArrayLiteral {
    public let types: [any PlazaApp.Type]

    public init(_ types: [any PlazaApp.Type] = []) {
        self.types = types
    }

    public init(arrayLiteral elements: any PlazaApp.Type...) {
        self.types = elements
    }

    public var ids: [String] { types.map { $0.manifest.id } }

    public static func == (lhs: AppList, rhs: AppList) -> Bool { lhs.ids == rhs.ids }
}
