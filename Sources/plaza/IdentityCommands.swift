import ArgumentParser
import Foundation
import Identity
import PlazaKit
import PlazaServer

/// `plaza oauth clients …`: register, list and delete the applications that may ask Plaza for tokens —
/// the same calls as `/api/v1/oauth/clients` and `/admin/oauth`, acting as an admin at the console.
struct OAuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oauth", abstract: "Manage OAuth / OpenID Connect clients.", subcommands: [Clients.self])

    struct Clients: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clients", abstract: "Register, list, delete clients; give one a new secret.",
            subcommands: [List.self, Create.self, Delete.self, Secret.self])
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered clients.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await guarded {
                try await withPlaza(try common.load()) { plaza in
                    let clients = try await plaza.identity.oauthClients.list(caller: .console("oauth clients list", role: SystemRole.admin))
                    if clients.isEmpty { print("No OAuth clients are registered.") }
                    for client in clients {
                        print(
                            "\(client.id.uuidString.lowercased())  \(client.name)  \(client.confidential ? "confidential" : "public")"
                                + "  grants: \(client.grants.joined(separator: ","))  scopes: \(client.scopes.joined(separator: " "))"
                                + "  redirects: \(client.redirectUris.joined(separator: " "))")
                    }
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a client; prints its id and, for a confidential one, its secret (shown once).")
        @OptionGroup var common: CommonOptions
        @Option(help: "The name people see on the consent page.") var name: String
        @Option(name: .customLong("redirect-uri"), help: "A redirect URI (repeat for more).") var redirectURIs: [String] = []
        @Option(help: "Space-separated scopes (default: openid profile email).") var scope: String?
        @Option(help: "Comma-separated grants (default: authorization_code,refresh_token).") var grants: String?
        @Flag(help: "A public client (a browser or native app): no secret, PKCE only.") var `public` = false

        func run() async throws {
            try await guarded {
                let input = OAuthClientInput(
                    name: name, confidential: !`public`, redirectUris: redirectURIs, scopes: scope.map { $0.split(separator: " ").map(String.init) },
                    grants: grants.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
                try await withPlaza(try common.load()) { plaza in
                    let registered = try await plaza.identity.oauthClients.register(
                        input, caller: .console("oauth clients create", role: SystemRole.admin))
                    print("client_id=\(registered.client.id.uuidString.lowercased())")
                    if let secret = registered.clientSecret { print("client_secret=\(secret)") }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a client: its sessions end and its tokens are refused.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The client's id.") var id: String

        func run() async throws {
            try await guarded {
                let uuid = try parseID(id, "a client")
                try await withPlaza(try common.load()) { plaza in
                    try await plaza.identity.oauthClients.delete(uuid, caller: .console("oauth clients delete", role: SystemRole.admin))
                    print("Deleted.")
                }
            }
        }
    }

    struct Secret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a confidential client a new secret; the old one stops working.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The client's id.") var id: String

        func run() async throws {
            try await guarded {
                let uuid = try parseID(id, "a client")
                try await withPlaza(try common.load()) { plaza in
                    let registered = try await plaza.identity.oauthClients.rotateSecret(
                        uuid, caller: .console("oauth clients secret", role: SystemRole.admin))
                    print("client_secret=\(registered.clientSecret ?? "")")
                }
            }
        }
    }
}

/// `plaza federation …`: the external OpenID Connect providers people may sign in with.
struct FederationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation", abstract: "Manage external sign-in providers (OpenID Connect).", subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a provider: its issuer, and the client Plaza is registered as there.")
        @OptionGroup var common: CommonOptions
        @Option(help: "The button's name: \"Sign in with NAME\".") var name: String
        @Option(help: "The provider's issuer URL (its discovery document is ISSUER/.well-known/openid-configuration).") var issuer: String
        @Option(name: .customLong("client-id"), help: "Plaza's client id at the provider.") var clientID: String
        @Option(name: .customLong("client-secret"), help: "Plaza's client secret at the provider.") var clientSecret: String

        func run() async throws {
            try await guarded {
                try await withPlaza(try common.load()) { plaza in
                    let provider = try await plaza.identity.federation.add(
                        FederationProviderInput(name: name, issuer: issuer, clientId: clientID, clientSecret: clientSecret),
                        caller: .console("federation add", role: SystemRole.admin))
                    print("provider_id=\(provider.id.uuidString.lowercased())")
                    print("Register this redirect URI at the provider: \(plaza.config.baseURL)\(Federation.callbackPath)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the providers.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await guarded {
                try await withPlaza(try common.load()) { plaza in
                    let providers = try await plaza.identity.federation.providers()
                    if providers.isEmpty { print("No external sign-in providers.") }
                    for provider in providers {
                        print("\(provider.id.uuidString.lowercased())  \(provider.name)  \(provider.issuer)  client \(provider.clientId)")
                    }
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a provider and the links to it (the accounts stay).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The provider's id.") var id: String

        func run() async throws {
            try await guarded {
                let uuid = try parseID(id, "a provider")
                try await withPlaza(try common.load()) { plaza in
                    try await plaza.identity.federation.remove(uuid, caller: .console("federation remove", role: SystemRole.admin))
                    print("Removed.")
                }
            }
        }
    }
}

/// `plaza users import FILE`: accounts from CSV, read here with a progress bar (the same rules and
/// records as `/api/v1/admin/users/imports`).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "Manage accounts in bulk.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update accounts from a CSV file (email, first_name, last_name, locale, time_zone, mobile, roles).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The CSV file.") var file: String

        func run() async throws {
            try await guarded {
                guard let data = FileManager.default.contents(atPath: file) else { throw fail("cannot read \(file)") }
                try await withPlaza(try common.load()) { plaza in
                    try await plaza.migrate()
                    let started = try await plaza.identity.startImport(
                        csv: String(decoding: data, as: UTF8.self), fileName: URL(fileURLWithPath: file).lastPathComponent, queue: nil,
                        caller: .console("users import", role: SystemRole.admin))
                    let interactive = isatty(STDOUT_FILENO) == 1
                    try await plaza.identity.runImport(started.id) { progress in
                        let width = 30
                        let filled = progress.total == 0 ? width : width * progress.done / progress.total
                        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                        let line = "[\(bar)] \(progress.done)/\(progress.total) rows, \(progress.failed) refused"
                        // One line per batch when piped; one line redrawn in a terminal.
                        FileHandle.standardOutput.write(Data((interactive ? "\r" + line : line + "\n").utf8))
                    }
                    if interactive { print("") }
                    let done = try await plaza.identity.userImport(started.id, caller: .console("users import", role: SystemRole.admin))
                    print("created \(done.created), updated \(done.updated), unchanged \(done.unchanged), refused \(done.failed)")
                    for error in done.errors.prefix(20) { print("  row \(error.row)\(error.email.map { " (\($0))" } ?? ""): \(error.message)") }
                    if done.errors.count > 20 {
                        print("  … \(done.failed - 20) more: GET /api/v1/admin/users/imports/\(done.id.uuidString.lowercased())")
                    }
                }
            }
        }
    }
}
