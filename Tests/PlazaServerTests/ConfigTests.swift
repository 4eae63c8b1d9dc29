import Foundation
import Gateway
import PlazaServer
import Testing

@Suite("Configuration")
struct ConfigTests {
    @Test("defaults: SQLite in ./plaza-data on 127.0.0.1:8080")
    func defaults() throws {
        let config = try PlazaConfig.load(environment: [:])
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.database.dialect == .sqlite)
        #expect(config.database.location == .sqlite(path: URL(fileURLWithPath: "./plaza-data/plaza.sqlite").path))
    }

    @Test("the environment sets values, a postgres URL switches engines, flags win")
    func environmentAndOverrides() throws {
        let config = try PlazaConfig.load(
            environment: [
                "PLAZA_PORT": "9000", "PLAZA_DATABASE_URL": "postgres://u:p@db.internal:5432/plaza",
                "PLAZA_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "PLAZA_MAX_BODY_SIZE": "5m",
                "PLAZA_RATE_LIMITS": "/api/=100/min", "PLAZA_CORS_ORIGINS": "https://app.example.com", "HOME": "/root",
            ],
            overrides: ["PLAZA_PORT": "9001"])
        #expect(config.port == 9001)
        #expect(config.database.dialect == .postgres)
        #expect(config.edge.trustedProxies.count == 2)
        #expect(config.edge.maxBodySize == 5 * 1024 * 1024)
        #expect(config.edge.rateLimits == [RateLimitRule(prefix: "/api/", capacity: 100, period: .seconds(60))])
        #expect(config.edge.corsOrigins == ["https://app.example.com"])
        #expect(config.database.preparedStatements, "named prepared statements are on by default")
        let pooled = try PlazaConfig.load(environment: [
            "PLAZA_DATABASE_URL": "postgres://u:p@db.internal:5432/plaza", "PLAZA_DATABASE_PREPARED_STATEMENTS": "false",
        ])
        #expect(!pooled.database.preparedStatements)
    }

    @Test("PLAZA_MFA_REQUIRED_ROLES: unset keeps admins and operators; set empty requires no one; an unknown role is named")
    func mfaRoles() throws {
        #expect(try PlazaConfig.load(environment: [:]).mfaRequiredRoles == ["admin", "operator"])
        #expect(try PlazaConfig.load(environment: ["PLAZA_MFA_REQUIRED_ROLES": ""]).mfaRequiredRoles.isEmpty)
        #expect(try PlazaConfig.load(environment: ["PLAZA_MFA_REQUIRED_ROLES": " admin "]).mfaRequiredRoles == ["admin"])
        #expect(throws: (any Error).self) { try PlazaConfig.load(environment: ["PLAZA_MFA_REQUIRED_ROLES": "wizard"]) }
    }

    @Test("a config file is read first; the environment overrides it")
    func configFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-\(UUID()).env").path
        try "# Plaza settings\nPLAZA_PORT=7000\nPLAZA_HOST = \"0.0.0.0\"\nPLAZA_LOG_LEVEL=debug\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try PlazaConfig.load(environment: ["PLAZA_CONFIG_FILE": path, "PLAZA_LOG_LEVEL": "error"])
        #expect(config.port == 7000)
        #expect(config.host == "0.0.0.0")
        #expect(config.logLevel == .error)
    }

    @Test("each bad value names its key and what is wrong")
    func badValues() {
        let cases: [(String, String, String)] = [
            ("PLAZA_PORT", "eighty", "whole number"),
            ("PLAZA_PORT", "70000", "0 to 65535"),
            ("PLAZA_DATABASE_URL", "mysql://x", "postgres://"),
            ("PLAZA_TRUSTED_PROXIES", "10.0.0.0/99", "prefix length"),
            ("PLAZA_RATE_LIMITS", "/api/=lots", "COUNT/PERIOD"),
            ("PLAZA_LOG_LEVEL", "loud", "one of"),
            ("PLAZA_MAX_BODY_SIZE", "-3", "size in bytes"),
            ("PLAZA_RUN_WORKERS", "maybe", "true or false"),
            ("PLAZA_DATABASE_PREPARED_STATEMENTS", "sometimes", "true or false"),
            ("PLAZA_CORS_ORIGINS", "app.example.com", "not an origin"),
            ("PLAZA_PORTT", "8080", "not a setting"),
        ]
        for (key, value, words) in cases {
            do {
                _ = try PlazaConfig.load(environment: [key: value])
                Issue.record("\(key)=\(value) was accepted")
            } catch let error as ConfigError {
                #expect(error.key == key)
                #expect(error.description.contains(words), "\(error.description)")
                #expect(!error.description.contains("\n"))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
