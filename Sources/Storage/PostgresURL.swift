import Foundation
import NIOSSL
import PostgresNIO

/// Reads `postgres://user:password@host:port/database?sslmode=…` into PostgresNIO's configurations.
///
/// `sslmode` is `disable` (the default), `prefer` or `require`; certificates are checked against the system
/// trust store when TLS is used.
public enum PostgresURL {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    struct Parts {
        var host: String
        var port: Int
        var username: String
        var password: String?
        var database: String?
        var sslmode: String
    }

    static func parse(_ url: String) throws -> Parts {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else { throw Invalid(description: "not a postgres://user:password@host:port/database URL") }
        let database = components.path.split(separator: "/").first.map(String.init)
        let sslmode = components.queryItems?.first { $0.name == "sslmode" || $0.name == "tlsmode" }?.value ?? "disable"
        guard ["disable", "prefer", "require", "allow", "verify-full", "verify-ca"].contains(sslmode) else {
            throw Invalid(description: "sslmode must be disable, prefer or require")
        }
        return Parts(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database, sslmode: sslmode)
    }

    /// The pooled client's configuration.
    public static func clientConfiguration(_ url: String) throws -> PostgresClient.Configuration {
        let parts = try parse(url)
        let tls: PostgresClient.Configuration.TLS
        switch parts.sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        default: tls = .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(
            host: parts.host, port: parts.port, username: parts.username, password: parts.password,
            database: parts.database, tls: tls)
    }

    /// A single connection's configuration (the LISTEN connection).
    public static func connectionConfiguration(_ url: String) throws -> PostgresConnection.Configuration {
        let parts = try parse(url)
        let tls: PostgresConnection.Configuration.TLS
        switch parts.sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(
            host: parts.host, port: parts.port, username: parts.username, password: parts.password,
            database: parts.database, tls: tls)
    }
}
