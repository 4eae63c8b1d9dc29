import ArgumentParser
import Foundation
import Jobs
import Logging
import AppHost
import PlazaApps
import PlazaKit
import PlazaServer
import ServiceLifecycle

/// `plaza`: run the server and look after its data.
@main
struct PlazaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plaza",
        abstract: "One server for marketplaces, booking systems and community platforms.",
        subcommands: [
            Serve.self, Migrate.self, Seed.self, OpenAPIDocument.self, AuthorizationDocument.self, JobsCommand.self, WorkflowsCommand.self,
            Backup.self, Restore.self, ShowConfig.self, Keys.self, OAuthCommand.self, FederationCommand.self, UsersCommand.self,
        ],
        defaultSubcommand: Serve.self)
}

/// Options every command shares: where the configuration and the data are.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "A file of KEY=VALUE settings (PLAZA_CONFIG_FILE).")
    var config: String?

    @Option(name: .long, help: "Where the SQLite database and files live (PLAZA_DATA_DIR).")
    var dataDir: String?

    func load(extra: [String: String] = [:]) throws -> PlazaConfig {
        var overrides = extra
        if let dataDir { overrides["PLAZA_DATA_DIR"] = dataDir }
        return try PlazaConfig.load(
            environment: ProcessInfo.processInfo.environment, file: config, overrides: overrides, apps: AppList(PlazaApps.all))
    }
}

/// Prints one line naming the problem and exits non-zero: how every command reports bad input.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("plaza: \(message)\n".utf8))
    return ExitCode(1)
}

/// Runs `body`, turning any error into the one-line failure.
func guarded(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ConfigError {
        throw fail(error.description)
    } catch {
        throw fail(String(describing: error))
    }
}

/// Opens Plaza for a one-off command, runs `body`, and closes the database whatever happens.
func withPlaza(_ config: PlazaConfig, _ body: (Plaza) async throws -> Void) async throws {
    PlazaLogging.bootstrap(level: .warning, format: .text)
    let plaza = try await Plaza.open(config)
    do {
        try await body(plaza)
    } catch {
        await plaza.shutdown()
        throw error
    }
    await plaza.shutdown()
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server, the job workers and the event dispatcher.")

    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: "Address to listen on (PLAZA_HOST, default 127.0.0.1).") var host: String?
    @Option(name: .long, help: "Port to listen on (PLAZA_PORT, default 8080).") var port: String?
    @Flag(name: .long, help: "Migrate and seed demo data first (only once: a second start reuses the data).") var demo = false

    func run() async throws {
        try await guarded {
            var extra: [String: String] = [:]
            if let host { extra["PLAZA_HOST"] = host }
            if let port { extra["PLAZA_PORT"] = port }
            // The demo's admin and operator sign in with the published password alone, unless asked otherwise.
            let relaxMFA = demo && ProcessInfo.processInfo.environment["PLAZA_MFA_REQUIRED_ROLES"] == nil
            if relaxMFA { extra["PLAZA_MFA_REQUIRED_ROLES"] = "" }
            // The demo is for exploring: GraphQL tools may read its schema.
            if demo, ProcessInfo.processInfo.environment["PLAZA_GRAPHQL_INTROSPECTION"] == nil { extra["PLAZA_GRAPHQL_INTROSPECTION"] = "true" }
            let config = try common.load(extra: extra)
            PlazaLogging.bootstrap(level: config.logLevel, format: config.logFormat)
            let plaza = try await Plaza.open(config)
            let applied = try await plaza.migrate()
            if !applied.isEmpty { plaza.logger.info("migrated", metadata: ["applied": "\(applied.count)"]) }
            let seeded = demo ? try await Demo.seed(plaza) : false
            let app = buildApplication(plaza) { port in
                var banner = "Plaza is running at \(config.publicURL ?? "http://\(config.host):\(port)")"
                banner += " (\(config.database.location))"
                if demo {
                    banner += seeded ? "\nDemo data seeded." : "\nDemo data already present; reusing it."
                    if relaxMFA { banner += "\nTwo-step sign-in is not required for admins and operators in the demo (PLAZA_MFA_REQUIRED_ROLES)." }
                    for login in Demo.logins(plaza) {
                        banner += "\n  \(login.role): \(login.email) / \(login.password)"
                    }
                }
                FileHandle.standardOutput.write(Data((banner + "\n").utf8))
            }
            try await app.runService()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await guarded {
            try await withPlaza(try common.load()) { plaza in
                let applied = try await plaza.migrate()
                print(applied.isEmpty ? "The database is up to date." : "Applied \(applied.count) migrations: \(applied.joined(separator: ", "))")
            }
        }
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load data into the database.")
    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Load the demo data (one user of every role, sample records).") var demo = false

    func run() async throws {
        try await guarded {
            guard demo else { throw fail("say what to seed: --demo") }
            try await withPlaza(try common.load()) { plaza in
                try await plaza.migrate()
                let seeded = try await Demo.seed(plaza)
                print(seeded ? "Demo data seeded." : "Demo data was already there.")
                for login in Demo.logins(plaza) { print("  \(login.role): \(login.email) / \(login.password)") }
            }
        }
    }
}

struct OpenAPIDocument: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "openapi", abstract: "Print the OpenAPI 3.1 document.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await guarded {
            try await withPlaza(try common.load()) { plaza in print(try plaza.openAPIDocument()) }
        }
    }
}

struct AuthorizationDocument: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authorization",
        abstract: "Print the authorization matrix (docs/authorization.md), with this installation's role permissions (migrates first).")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await guarded {
            try await withPlaza(try common.load()) { plaza in
                try await plaza.migrate()
                print(plaza.authorizationMarkdown, terminator: "")
            }
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the keys that sign access tokens.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire the current signing key and make a new one; tokens already issued stay valid until they expire.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await guarded {
                try await withPlaza(try common.load()) { plaza in
                    try await plaza.migrate()
                    let kid = try await plaza.identity.rotateSigningKeys(caller: .system("cli"))
                    print("New signing key \(kid); running servers switch to it when they hear the rotation.")
                }
            }
        }
    }
}

struct ShowConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "List every setting, its default and its current value.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await guarded {
            let config = try common.load() // validates
            let environment = ProcessInfo.processInfo.environment
            for key in config.allKeys {
                let current = environment[key.key].map { key.key.contains("DATABASE_URL") ? "(set)" : $0 } ?? "-"
                print("\(key.key.padding(toLength: 28, withPad: " ", startingAt: 0)) default \(key.defaultValue); now \(current) — \(key.meaning)")
            }
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a consistent copy of the database to FILE (online on SQLite).")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The file to write; it must not exist.") var file: String

    func run() async throws {
        try await guarded {
            try await withPlaza(try common.load()) { plaza in print(try await Maintenance.backup(plaza, to: file)) }
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replace the database with the backup in FILE. Stop the server first.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "A file written by `plaza backup`.") var file: String

    func run() async throws {
        try await guarded {
            PlazaLogging.bootstrap(level: .warning, format: .text)
            print(try await Maintenance.restore(try common.load(), from: file))
        }
    }
}
