import Foundation

/// Which SQL engine a ``Store`` talks to.
public enum Dialect: String, Sendable, Equatable {
    case sqlite
    case postgres
}

/// Where the database is and how many connections to keep.
public struct DatabaseSettings: Sendable, Equatable {
    public enum Location: Sendable, Equatable, CustomStringConvertible {
        /// An SQLite file.
        case sqlite(path: String)
        /// A PostgreSQL server, as a `postgres://user:password@host:port/database` URL.
        case postgres(url: String)

        public var description: String {
            switch self {
            case .sqlite(let path): return "sqlite:\(path)"
            case .postgres(let url):
                // Never print the password.
                guard var components = URLComponents(string: url) else { return "postgres" }
                if components.password != nil { components.password = "***" }
                return components.string ?? "postgres"
            }
        }
    }

    /// How hard SQLite pushes each commit to disk.
    public enum Synchronous: String, Sendable, Equatable {
        /// In WAL mode: a crash of Plaza loses nothing; a power cut may lose the last commits but never
        /// corrupts the file. Several times the commit rate of `full`.
        case normal
        /// Every commit is fsynced before it returns.
        case full
    }

    public var location: Location
    /// PostgreSQL connections per event loop (SQLite always uses one per loop: more never adds parallelism).
    public var poolSize: Int
    public var synchronous: Synchronous
    /// PostgreSQL: run statements that repeat as named prepared statements (``PostgresStatements``); off behind
    /// a pooler in transaction mode.
    public var preparedStatements: Bool

    public init(location: Location, poolSize: Int = 4, synchronous: Synchronous = .normal, preparedStatements: Bool = true) {
        self.location = location
        self.poolSize = poolSize
        self.synchronous = synchronous
        self.preparedStatements = preparedStatements
    }

    public var dialect: Dialect {
        if case .postgres = location { return .postgres }
        return .sqlite
    }
}
