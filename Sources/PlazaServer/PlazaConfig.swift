import AppHost
import Foundation
import Realtime
import Gateway
import GraphQLTransport
import Identity
import Jobs
import Logging
import Files
import Notifications
import PlazaKit
import Storage

/// Everything Plaza can be configured with, typed and validated. Built once by the executable.
public struct PlazaConfig: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./plaza-data"
    /// `postgres://…` switches to PostgreSQL; empty means the SQLite file in the data directory.
    public var databaseURL: String?
    public var databasePoolSize = 4
    public var databasePreparedStatements = true
    public var sqliteSynchronous: DatabaseSettings.Synchronous = .normal
    public var publicURL: String?
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .json
    public var edge = EdgeSettings()
    public var jobs = JobSettings(queues: ["default", "events"])
    /// The realtime gateway's limits (send queue, subscriptions, replay, frame size).
    public var realtime = RealtimeSettings()
    /// Whether this process runs job workers (turn off on instances that should only serve HTTP).
    public var runWorkers = true
    /// How long numbered events stay in the log for clients to resume from.
    public var eventRetention: Duration = .seconds(7 * 86400)
    public var identityBcryptCost: UInt8 = 12
    public var requireVerifiedEmail = false
    /// System roles that act only after a second factor (`PLAZA_MFA_REQUIRED_ROLES`).
    public var mfaRequiredRoles: Set<String> = [SystemRole.admin, SystemRole.operator]
    public var accessTokenLifetime: Duration = .seconds(900)
    /// E-mail, SMS and push: servers, senders, retries.
    public var notifications = NotificationSettings()
    /// `/metrics` answers this bearer token (`PLAZA_METRICS_TOKEN`), or clients on ``metricsNetworks`` (CIDRs, checked
    /// when the configuration is loaded).
    public var metricsToken: String?
    public var metricsNetworks: [String] = ["127.0.0.0/8", "::1/128"]
    /// How long an `Idempotency-Key` whose request never finished (its instance died) is refused with 409 before
    /// a retry may take it over.
    public var idempotencyTakeoverSeconds = 60
    /// What one GraphQL request may ask for, and for how long it may run.
    public var graphQL = GraphQLLimits()
    /// The apps this installation hosts (the executable's list; tests choose theirs).
    public var apps = AppList()
    /// The apps' settings as given (`PLAZA_<APP>_<NAME>` → value), checked against what each app declares.
    public var appValues: [String: String] = [:]
    /// Where uploaded files live; `<data dir>/files` when unset.
    public var filesDirectory: String?
    /// The most pixels an uploaded image may have.
    public var filesMaxPixels = 50_000_000
    /// An S3-compatible bucket for files (`PLAZA_FILES_S3_URL`); the local directory otherwise.
    public var filesS3: S3BlobStore.Location?

    public enum LogFormat: String, Sendable, Equatable { case json, text }

    public init() {}

    public var database: DatabaseSettings {
        if let url = databaseURL, !url.isEmpty {
            return DatabaseSettings(location: .postgres(url: url), poolSize: databasePoolSize, preparedStatements: databasePreparedStatements)
        }
        let path = URL(fileURLWithPath: dataDirectory).appendingPathComponent("plaza.sqlite").path
        return DatabaseSettings(location: .sqlite(path: path), synchronous: sqliteSynchronous)
    }

    public var identitySettings: IdentitySettings {
        var settings = IdentitySettings(
            issuer: baseURL, audience: "plaza", accessTokenLifetime: accessTokenLifetime, bcryptCost: identityBcryptCost,
            requireVerifiedEmail: requireVerifiedEmail)
        settings.sendsSMS = notifications.sms != nil
        settings.mfaRequiredRoles = mfaRequiredRoles
        return settings
    }

    public var fileSettings: FileSettings {
        var settings = FileSettings(
            root: filesDirectory ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent("files").path, maxPixels: filesMaxPixels)
        settings.s3 = filesS3
        return settings
    }

    /// The address people use to reach this server (links in emails, the demo banner).
    public var baseURL: String { publicURL ?? "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)" }
}

/// A configuration value that cannot be used; its description is the one line `plaza` prints before exiting.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let problem: String
    public var description: String { "configuration error: \(key) \(problem)" }
}

extension PlazaConfig {
    /// Every key Plaza reads, with its default and meaning; printed by `plaza config` and in docs/operations.md.
    public static let keys: [(key: String, defaultValue: String, meaning: String)] = [
        ("PLAZA_HOST", "127.0.0.1", "address to listen on"),
        ("PLAZA_PORT", "8080", "port to listen on (0 picks a free one)"),
        ("PLAZA_DATA_DIR", "./plaza-data", "where the SQLite database and local files live"),
        ("PLAZA_DATABASE_URL", "(empty: SQLite)", "postgres://user:pass@host:port/db switches to PostgreSQL"),
        ("PLAZA_DATABASE_POOL_SIZE", "4", "PostgreSQL connections per event loop"),
        (
            "PLAZA_DATABASE_PREPARED_STATEMENTS", "true",
            "PostgreSQL: run repeated statements as named prepared statements (false behind a transaction-mode pooler)"
        ),
        ("PLAZA_SQLITE_SYNCHRONOUS", "normal", "normal (WAL: crash-safe, a power cut may lose the last commits) or full (fsync every commit)"),
        ("PLAZA_PUBLIC_URL", "http://HOST:PORT", "the URL people reach Plaza at"),
        ("PLAZA_LOG_LEVEL", "info", "trace, debug, info, notice, warning, error or critical"),
        ("PLAZA_LOG_FORMAT", "json", "json (one object per line) or text"),
        ("PLAZA_MAX_BODY_SIZE", "2097152", "largest request body in bytes (suffixes k, m allowed)"),
        ("PLAZA_CORS_ORIGINS", "(none)", "comma-separated origins allowed to call the API from browsers, or *"),
        ("PLAZA_TRUSTED_PROXIES", "(none)", "comma-separated addresses/CIDRs whose X-Forwarded-* headers are believed"),
        (
            "PLAZA_RATE_LIMITS", "/api/=600/min,/graphql=600/min,/api/v1/auth/=20/min,/sign-=30/min,/verify-email=30/min,/reset-password=30/min",
            "comma-separated PREFIX=COUNT/PERIOD token buckets"
        ),
        ("PLAZA_JOBS_CONCURRENCY", "8", "jobs one process runs at once"),
        ("PLAZA_JOBS_LEASE_SECONDS", "60", "how long a claimed job is held before another worker may take it"),
        ("PLAZA_JOBS_MAX_ATTEMPTS", "5", "default attempts before a job is dead-lettered"),
        ("PLAZA_JOBS_QUEUES", "default,events", "queues this process works on"),
        ("PLAZA_JOBS_RETENTION_HOURS", "168", "finished jobs are deleted after this many hours"),
        ("PLAZA_RUN_WORKERS", "true", "whether this process runs job workers"),
        ("PLAZA_EVENT_RETENTION_HOURS", "168", "numbered events stay in the log this long"),
        ("PLAZA_BCRYPT_COST", "12", "bcrypt cost for passwords (10-16; each step doubles the time)"),
        ("PLAZA_REQUIRE_VERIFIED_EMAIL", "false", "whether an account must verify its email before signing in"),
        (
            "PLAZA_MFA_REQUIRED_ROLES", "admin,operator",
            "system roles that act only in a session that passed a second factor (comma-separated; empty: none)"
        ),
        ("PLAZA_ACCESS_TOKEN_MINUTES", "15", "lifetime of access tokens (1-60)"),
        ("PLAZA_SMTP_URL", "(none: e-mail is logged)", "smtp://[user:pass@]host:port[?tls=starttls|required|none&ca=FILE] or smtps://…"),
        ("PLAZA_MAIL_FROM", "Plaza <no-reply@plaza.localhost>", "the From of every e-mail"),
        ("PLAZA_SMS_URL", "(none: no SMS)", "a Twilio-style Messages API: https://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com"),
        ("PLAZA_SMS_FROM", "(none)", "the SMS sender: a number in E.164 form or a sender id"),
        ("PLAZA_PUSH_CONTACT", "mailto:(the From address)", "how push services reach the operator (VAPID sub: mailto: or https:)"),
        (
            "PLAZA_PUSH_HOSTS", "(the browsers' push services)",
            "comma-separated hosts (.suffix for a domain) whose Web Push endpoints browsers may register"
        ),
        ("PLAZA_NOTIFY_MAX_ATTEMPTS", "8", "attempts per e-mail, SMS or push before it is given up (1-50)"),
        ("PLAZA_FILES_DIR", "DATA_DIR/files", "where uploaded files and their variants are kept"),
        (
            "PLAZA_FILES_S3_URL", "(none: the files directory)",
            "an S3-compatible bucket for files: https://ACCESS_KEY:SECRET@host[:port]/bucket?region=…"
        ),
        ("PLAZA_FILES_MAX_PIXELS", "50000000", "the most pixels an uploaded image may have (refused from its header, before decoding)"),
        (
            "PLAZA_IDEMPOTENCY_TAKEOVER_SECONDS", "60",
            "how long a key whose request never finished (its server died) answers 409 before a retry runs it (1-3600)"
        ),
        ("PLAZA_METRICS_TOKEN", "(none)", "a bearer token that may read /metrics (at least 16 characters)"),
        ("PLAZA_METRICS_NETWORKS", "127.0.0.0/8,::1", "comma-separated addresses/CIDRs that may read /metrics without the token (empty: none)"),
        ("PLAZA_GRAPHQL_MAX_DOCUMENT_BYTES", "16384", "largest GraphQL document in bytes (1024-1048576)"),
        ("PLAZA_GRAPHQL_MAX_DEPTH", "12", "deepest GraphQL selection, fragments expanded (2-100)"),
        ("PLAZA_GRAPHQL_MAX_ALIASES", "20", "most aliased fields in one GraphQL request (0-1000)"),
        ("PLAZA_GRAPHQL_MAX_FIELDS", "300", "most fields one GraphQL request selects, fragments expanded (10-100000)"),
        ("PLAZA_GRAPHQL_MAX_LIST_NESTING", "4", "deepest list literal or list type in a GraphQL document (1-16)"),
        ("PLAZA_GRAPHQL_MAX_COST", "1000", "most a GraphQL request may cost: a field 1, a search 100 (10-1000000)"),
        ("PLAZA_GRAPHQL_TIMEOUT_SECONDS", "10", "how long a GraphQL request may run before it is answered 503 (1-300)"),
        ("PLAZA_GRAPHQL_INTROSPECTION", "false (true with --demo)", "whether GraphQL answers __schema and __type"),
        ("PLAZA_CONFIG_FILE", "(none)", "a file of KEY=VALUE lines read before the environment"),
    ]

    /// Builds the configuration from a file of `KEY=VALUE` lines (if given), then the environment, then flags;
    /// later sources win. Unknown `PLAZA_` keys are errors, so a typo does not pass silently.
    public static func load(
        environment: [String: String], file: String? = nil, overrides: [String: String] = [:], apps: AppList = AppList()
    ) throws -> PlazaConfig {
        var values: [String: String] = [:]
        if let file = file ?? environment["PLAZA_CONFIG_FILE"], !file.isEmpty {
            values.merge(try readFile(file)) { $1 }
        }
        values.merge(environment.filter { $0.key.hasPrefix("PLAZA_") }) { $1 }
        values.merge(overrides) { $1 }
        return try PlazaConfig(values: values, apps: apps)
    }

    /// Every setting: the core's (``keys``), then each app's.
    public var allKeys: [(key: String, defaultValue: String, meaning: String)] {
        Self.keys
            + apps.types.flatMap { app in
                app.manifest.settings.map { (app.manifest.key(of: $0), $0.defaultValue, $0.meaning) }
            }
    }

    /// An app's settings as configured, by name.
    public func settings(of manifest: AppManifest) -> AppSettings {
        var values: [String: String] = [:]
        for setting in manifest.settings { values[setting.name] = appValues[manifest.key(of: setting)] }
        return AppSettings(manifest.settings, values: values)
    }

    static func readFile(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(key: "PLAZA_CONFIG_FILE", problem: "names \(path), which cannot be read")
        }
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(key: "PLAZA_CONFIG_FILE", problem: "line \(number + 1) of \(path) is not KEY=VALUE")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.first == value.last, value.first == "\"" || value.first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }

    init(values: [String: String], apps: AppList = AppList()) throws {
        self.init()
        self.apps = apps
        // An app's key that is a core key or another app's (`a-b` + `C` and `a` + `B_C`) would set both.
        let keyOwners = NameClaims("setting")
        for key in Self.keys { try keyOwners.claim(key.key, owner: "the core") }
        for app in apps.types {
            for setting in app.manifest.settings { try keyOwners.claim(app.manifest.key(of: setting), owner: app.manifest.id) }
        }
        // Test-only switches may sit in a developer's environment; they are not settings, so they are allowed.
        let known = Set(allKeys.map(\.key) + ["PLAZA_TEST_DATABASE_URL", "PLAZA_UPDATE_DOCS"])
        if let unknown = values.keys.sorted().first(where: { $0.hasPrefix("PLAZA_") && !known.contains($0) }) {
            throw ConfigError(key: unknown, problem: "is not a setting Plaza knows (see `plaza config`)")
        }
        func string(_ key: String) -> String? {
            guard let value = values[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = string(key) else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw ConfigError(key: key, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(raw)\"")
            }
            return value
        }
        func bool(_ key: String) throws -> Bool? {
            guard let raw = string(key)?.lowercased() else { return nil }
            switch raw {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigError(key: key, problem: "must be true or false, not \"\(raw)\"")
            }
        }
        func list(_ key: String) -> [String]? {
            string(key).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }

        if let value = string("PLAZA_HOST") { host = value }
        if let value = try int("PLAZA_PORT", 0...65535) { port = value }
        if let value = string("PLAZA_DATA_DIR") { dataDirectory = value }
        if let value = string("PLAZA_DATABASE_URL") {
            guard let url = URLComponents(string: value), ["postgres", "postgresql"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
                throw ConfigError(key: "PLAZA_DATABASE_URL", problem: "must be a postgres://user:password@host:port/database URL")
            }
            databaseURL = value
        }
        if let value = try int("PLAZA_DATABASE_POOL_SIZE", 1...256) { databasePoolSize = value }
        if let value = try bool("PLAZA_DATABASE_PREPARED_STATEMENTS") { databasePreparedStatements = value }
        if let value = try int("PLAZA_IDEMPOTENCY_TAKEOVER_SECONDS", 1...3600) { idempotencyTakeoverSeconds = value }
        if let value = string("PLAZA_METRICS_TOKEN") {
            guard value.count >= 16, !value.contains(" ") else {
                throw ConfigError(key: "PLAZA_METRICS_TOKEN", problem: "must be at least 16 characters without spaces")
            }
            metricsToken = value
        }
        // Set but empty means no network: only the token reads /metrics.
        if let raw = values["PLAZA_METRICS_NETWORKS"] {
            metricsNetworks = try raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { text in
                do { return try IPAddressRange(text).description } catch {
                    throw ConfigError(key: "PLAZA_METRICS_NETWORKS", problem: "has \(error)")
                }
            }
        }
        if let value = try int("PLAZA_GRAPHQL_MAX_DOCUMENT_BYTES", 1024...1_048_576) { graphQL.maxDocumentBytes = value }
        if let value = try int("PLAZA_GRAPHQL_MAX_DEPTH", 2...100) { graphQL.maxDepth = value }
        if let value = try int("PLAZA_GRAPHQL_MAX_ALIASES", 0...1000) { graphQL.maxAliases = value }
        if let value = try int("PLAZA_GRAPHQL_MAX_FIELDS", 10...100_000) { graphQL.maxFields = value }
        if let value = try int("PLAZA_GRAPHQL_MAX_LIST_NESTING", 1...16) { graphQL.maxListNesting = value }
        if let value = try int("PLAZA_GRAPHQL_MAX_COST", 10...1_000_000) { graphQL.maxCost = value }
        if let value = try int("PLAZA_GRAPHQL_TIMEOUT_SECONDS", 1...300) { graphQL.timeout = .seconds(value) }
        if let value = try bool("PLAZA_GRAPHQL_INTROSPECTION") { graphQL.introspection = value }
        for app in apps.types {
            for setting in app.manifest.settings {
                let key = app.manifest.key(of: setting)
                guard let raw = string(key) else { continue }
                if let problem = setting.problem(with: raw) { throw ConfigError(key: key, problem: problem) }
                appValues[key] = raw
            }
        }
        if let raw = string("PLAZA_SQLITE_SYNCHRONOUS") {
            guard let value = DatabaseSettings.Synchronous(rawValue: raw.lowercased()) else {
                throw ConfigError(key: "PLAZA_SQLITE_SYNCHRONOUS", problem: "must be normal or full, not \"\(raw)\"")
            }
            sqliteSynchronous = value
        }
        if let value = string("PLAZA_PUBLIC_URL") {
            guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigError(key: "PLAZA_PUBLIC_URL", problem: "must be an http:// or https:// URL, not \"\(value)\"")
            }
            publicURL = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let raw = string("PLAZA_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                throw ConfigError(key: "PLAZA_LOG_LEVEL", problem: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = level
        }
        if let raw = string("PLAZA_LOG_FORMAT") {
            guard let format = LogFormat(rawValue: raw.lowercased()) else {
                throw ConfigError(key: "PLAZA_LOG_FORMAT", problem: "must be json or text")
            }
            logFormat = format
        }
        if let raw = string("PLAZA_MAX_BODY_SIZE") {
            edge.maxBodySize = try Self.byteSize(raw, key: "PLAZA_MAX_BODY_SIZE")
        }
        if let origins = list("PLAZA_CORS_ORIGINS") {
            for origin in origins where origin != "*" {
                guard let url = URL(string: origin), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.path.isEmpty else {
                    throw ConfigError(key: "PLAZA_CORS_ORIGINS", problem: "has \"\(origin)\", which is not an origin like https://app.example.com")
                }
            }
            edge.corsOrigins = origins
        }
        if let proxies = list("PLAZA_TRUSTED_PROXIES") {
            edge.trustedProxies = try proxies.map { text in
                do { return try IPAddressRange(text) } catch {
                    throw ConfigError(key: "PLAZA_TRUSTED_PROXIES", problem: "has \(error)")
                }
            }
        }
        if let rules = list("PLAZA_RATE_LIMITS") {
            edge.rateLimits = try rules.map { text in
                do { return try RateLimitRule(parsing: text) } catch {
                    throw ConfigError(key: "PLAZA_RATE_LIMITS", problem: "has \(error)")
                }
            }
        }
        if let value = try int("PLAZA_JOBS_CONCURRENCY", 1...1024) { jobs.concurrency = value }
        if let value = try int("PLAZA_JOBS_LEASE_SECONDS", 5...86400) { jobs.lease = .seconds(value) }
        if let value = try int("PLAZA_JOBS_MAX_ATTEMPTS", 1...100) { jobs.defaultMaxAttempts = value }
        if let queues = list("PLAZA_JOBS_QUEUES") {
            guard !queues.isEmpty else { throw ConfigError(key: "PLAZA_JOBS_QUEUES", problem: "must name at least one queue") }
            jobs.queues = queues
        }
        if let value = try int("PLAZA_JOBS_RETENTION_HOURS", 1...87600) { jobs.retention = .seconds(value * 3600) }
        if let value = try bool("PLAZA_RUN_WORKERS") { runWorkers = value }
        if let value = try int("PLAZA_EVENT_RETENTION_HOURS", 1...87600) { eventRetention = .seconds(value * 3600) }
        if let value = try int("PLAZA_BCRYPT_COST", 10...16) { identityBcryptCost = UInt8(value) }
        if let value = try bool("PLAZA_REQUIRE_VERIFIED_EMAIL") { requireVerifiedEmail = value }
        // Set but empty means no role: unlike the other keys, empty is a value here.
        if let value = values["PLAZA_MFA_REQUIRED_ROLES"] {
            let roles = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            if let unknown = roles.first(where: { !Roles.system.contains($0) }) {
                throw ConfigError(
                    key: "PLAZA_MFA_REQUIRED_ROLES", problem: "\(unknown) is not a system role (\(Roles.system.joined(separator: ", ")))")
            }
            mfaRequiredRoles = roles
        }
        if let value = try int("PLAZA_ACCESS_TOKEN_MINUTES", 1...60) { accessTokenLifetime = .seconds(value * 60) }
        if let value = string("PLAZA_FILES_DIR") { filesDirectory = value }
        if let value = try int("PLAZA_FILES_MAX_PIXELS", 1_000_000...1_000_000_000) { filesMaxPixels = value }
        if let value = string("PLAZA_FILES_S3_URL") {
            do { filesS3 = try S3BlobStore.Location(url: value) } catch {
                throw ConfigError(key: "PLAZA_FILES_S3_URL", problem: "\(error)")
            }
        }
        try loadNotifications(string: string, int: int)
    }

    private mutating func loadNotifications(string: (String) -> String?, int: (String, ClosedRange<Int>) throws -> Int?) throws {
        if let value = string("PLAZA_SMTP_URL") {
            do {
                notifications.smtp = try SMTPSettings(url: value)
            } catch let error as SMTPError {
                if case .configuration(let problem) = error { throw ConfigError(key: "PLAZA_SMTP_URL", problem: problem) }
                throw error
            }
        }
        if let value = string("PLAZA_MAIL_FROM") {
            let address = EmailMessage.address(value)
            guard address.contains("@"), !address.contains(" "), !value.contains("\r"), !value.contains("\n") else {
                throw ConfigError(key: "PLAZA_MAIL_FROM", problem: "must be an address, optionally with a name: Plaza <no-reply@example.com>")
            }
            notifications.mailFrom = value
        }
        let smsFrom = string("PLAZA_SMS_FROM")
        if let value = string("PLAZA_SMS_URL") {
            do {
                notifications.sms = try SMSSettings(url: value, from: smsFrom ?? "")
            } catch let error as TransportFailure {
                throw ConfigError(
                    key: error.message.hasPrefix("PLAZA_SMS_FROM") ? "PLAZA_SMS_FROM" : "PLAZA_SMS_URL",
                    problem: String(error.message.drop(while: { $0 != " " }).dropFirst()))
            }
        } else if smsFrom != nil {
            throw ConfigError(key: "PLAZA_SMS_FROM", problem: "is set but PLAZA_SMS_URL is not")
        }
        if let value = string("PLAZA_PUSH_CONTACT") {
            guard value.hasPrefix("mailto:") || value.hasPrefix("https://") else {
                throw ConfigError(key: "PLAZA_PUSH_CONTACT", problem: "must be a mailto: or https: URL")
            }
            notifications.pushContact = value
        }
        if let value = try int("PLAZA_NOTIFY_MAX_ATTEMPTS", 1...50) { notifications.maxAttempts = value }
        if let hosts = string("PLAZA_PUSH_HOSTS").map({ $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }) {
            guard !hosts.isEmpty, hosts.allSatisfy({ !$0.isEmpty && !$0.contains("/") && !$0.contains(":") }) else {
                throw ConfigError(key: "PLAZA_PUSH_HOSTS", problem: "must be host names such as fcm.googleapis.com or .notify.windows.com")
            }
            notifications.pushHosts = hosts
        }
    }

    static func byteSize(_ raw: String, key: String) throws -> Int {
        let lower = raw.lowercased()
        let multipliers: [(String, Int)] = [("kb", 1024), ("k", 1024), ("mb", 1 << 20), ("m", 1 << 20), ("gb", 1 << 30), ("g", 1 << 30)]
        var number = lower
        var multiplier = 1
        for (suffix, value) in multipliers where lower.hasSuffix(suffix) {
            number = String(lower.dropLast(suffix.count))
            multiplier = value
            break
        }
        guard let count = Int(number.trimmingCharacters(in: .whitespaces)), count > 0 else {
            throw ConfigError(key: key, problem: "must be a size in bytes such as 2097152 or 2m, not \"\(raw)\"")
        }
        return count * multiplier
    }
}
