import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Jobs
import NIOCore
import Operations
import PlazaKit
import PlazaServer
import PlazaTesting
import Storage
import Testing

let operatorHeader: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: ["operator"])]
let customerHeader: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: [])]

struct PageOf<Item: Decodable>: Decodable {
    var items: [Item]
    var nextCursor: String?
}

/// Checks text against the Prometheus exposition format 0.0.4; returns the sample names seen.
func parsePrometheus(_ text: String) -> (samples: [String: Double], problems: [String]) {
    var samples: [String: Double] = [:]
    var problems: [String] = []
    let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
    let label = "[a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\""
    let sample = try! Regex("^(\(name))(\\{(\(label))(,\(label))*,?\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)( -?[0-9]+)?$")
    let type = try! Regex("^# TYPE \(name) (counter|gauge|histogram|summary|untyped)$")
    for line in text.split(separator: "\n") {
        if line.hasPrefix("# HELP ") { continue }
        if line.hasPrefix("#") {
            if line.wholeMatch(of: type) == nil { problems.append(String(line)) }
            continue
        }
        guard let match = line.wholeMatch(of: sample) else {
            problems.append(String(line))
            continue
        }
        let key = String(line[..<(line.lastIndex(of: " ") ?? line.endIndex)])
        samples[key] = Double(line[line.index(after: line.lastIndex(of: " ")!)...]) ?? .nan
        _ = match
    }
    return (samples, problems)
}

@Suite("Operations")
struct OperationsTests {
    @Test("/health answers, /ready reports a current schema")
    func healthAndReady() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body) == "{\"status\":\"ok\"}")
                }
                try await client.execute(uri: "/ready", method: .get) { response in
                    #expect(response.status == .ok)
                    let report = try decode(ReadinessReport.self, response)
                    #expect(report.database == "ok")
                    #expect(report.migrations == "current")
                }
            }
        }
    }

    /// `/ready` against a database at `url` answers 503 "unreachable" (and `/health` still 200).
    func expectUnreachable(_ url: String) async throws {
        var config = PlazaConfig()
        config.databaseURL = url
        let plaza = try await Plaza.open(config)
        do {
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let decoded = try decode(ReadinessReport.self, response)
                    #expect(decoded.database == "unreachable")
                }
                try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
            }
        } catch {
            await plaza.shutdown()
            throw error
        }
        await plaza.shutdown()
    }

    @Test("/ready fails when the database is unreachable")
    func readyFailsWithoutDatabase() async throws {
        try await expectUnreachable("postgres://postgres@127.0.0.1:1/nowhere")
    }

    /// A database that accepts the connection and never speaks would hang a check without a
    /// timeout; the time limit is what fails this test if the timeout stops working.
    @Test("/ready answers 503 when the database accepts and never replies", .timeLimit(.minutes(1)))
    func readyGivesUpOnSilentDatabase() async throws {
        // Accepts connections into its backlog and never speaks.
        let silent = try ReservedPort(listening: true)
        do {
            try await expectUnreachable("postgres://postgres@127.0.0.1:\(silent.port)/nowhere")
        } catch {
            silent.release()
            throw error
        }
        silent.release()
    }

    @Test("/ready fails while migrations are pending")
    func readyFailsWithPendingMigrations() async throws {
        let settings = try await TestDatabase.makeEmpty()
        let plaza = try await Plaza.open(PlazaConfig(), database: settings)
        do {
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/ready", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    let decoded = try decode(ReadinessReport.self, response)
                    #expect(decoded.pendingMigrations == Plaza.migrations.names)
                }
            }
            try await plaza.migrate()
            try await plaza.testApplication().test(.router) { client in
                // Ready once migrated. Asked until it says so (for a while): its checks have two seconds each, and a
                // full test pass on two cores has kept the task pool busy longer than that (seen 2026-12-07).
                var status = HTTPResponse.Status.serviceUnavailable
                for _ in 0..<40 where status != .ok {
                    status = try await client.execute(uri: "/ready", method: .get) { $0.status }
                    if status != .ok { try await Task.sleep(for: .milliseconds(250)) }
                }
                #expect(status == .ok)
            }
        } catch {
            await plaza.shutdown()
            await TestDatabase.drop(settings)
            throw error
        }
        await plaza.shutdown()
        await TestDatabase.drop(settings)
    }

    @Test("/metrics is Prometheus text with requests, latencies and queue depth, for its token only when the client is elsewhere")
    func metricsParse() async throws {
        let token = "scrape-token-0123456789"
        try await withTestPlaza(configure: {
            $0.metricsToken = token; $0.metricsNetworks = []
        }) { plaza in
            try await plaza.queue.enqueue(try JobRequest("test.metric", payload: ["a": 1]))
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { _ in }
                for refused in [nil, "Bearer wrong", "Bearer \(token)x", "Basic \(token)"] as [String?] {
                    var headers = HTTPFields()
                    if let refused { headers[.authorization] = refused }
                    try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(refused ?? "no token")")
                        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                        #expect(!String(buffer: response.body).contains("plaza_http_requests_total"))
                    }
                }
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"]) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                    let (samples, problems) = parsePrometheus(String(buffer: response.body))
                    #expect(problems.isEmpty, "lines that are not Prometheus text: \(problems)")
                    #expect(samples.keys.contains { $0.hasPrefix("plaza_http_requests_total{") && $0.contains("route=\"/health\"") })
                    #expect(samples.keys.contains { $0.hasPrefix("plaza_http_request_duration_seconds_bucket{") })
                    #expect((samples["plaza_jobs{queue=\"default\",state=\"pending\"}"] ?? 0) >= 1)
                    #expect(samples["plaza_database_up"] == 1)
                }
            }
        }
    }

    @Test("/metrics answers a client on its networks without a token (by default the loopback), and refuses others")
    func metricsNetworks() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.live) { client in
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok, "127.0.0.1 is on the default networks")
                }
            }
        }
        try await withTestPlaza(configure: { $0.metricsNetworks = ["10.0.0.0/8"] }) { plaza in
            try await plaza.testApplication().test(.live) { client in
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .unauthorized, "the loopback is not 10.0.0.0/8, and no token is set")
                }
            }
        }
    }

    @Test("the audit log is for operators: 401 signed out, 403 for others, pages for operators")
    func auditLogAccess() async throws {
        try await withTestPlaza { plaza in
            let actor = UUID()
            try await plaza.store.transaction { transaction in
                for index in 0..<25 {
                    try await transaction.audit(
                        Caller(principal: Principal(id: actor), requestID: "r\(index)", ip: "192.0.2.1"),
                        action: index.isMultiple(of: 5) ? "thing.delete" : "thing.update", resourceType: "thing", resourceID: "\(index)")
                }
            }
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/api/v1/operations/audit-log", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/api/v1/operations/audit-log", method: .get, headers: customerHeader) { response in
                    #expect(response.status == .forbidden)
                }
                var cursor: String?
                try await client.execute(uri: "/api/v1/operations/audit-log", method: .get, headers: operatorHeader) { response in
                    #expect(response.status == .ok)
                    let page = try decode(PageOf<AuditEntry>.self, response)
                    #expect(page.items.count == 20)
                    #expect(page.items.first?.resourceID == "24", "newest first")
                    cursor = page.nextCursor
                }
                let next = try #require(cursor)
                try await client.execute(uri: "/api/v1/operations/audit-log?cursor=\(next)", method: .get, headers: operatorHeader) { response in
                    let page = try decode(PageOf<AuditEntry>.self, response)
                    #expect(page.items.count == 5)
                    #expect(page.nextCursor == nil)
                }
                try await client.execute(
                    uri: "/api/v1/operations/audit-log?action=thing.delete&actorId=\(actor)", method: .get, headers: operatorHeader
                ) { response in
                    let page = try decode(PageOf<AuditEntry>.self, response)
                    #expect(page.items.count == 5)
                    #expect(page.items.allSatisfy { $0.action == "thing.delete" && $0.ip == "192.0.2.1" } == true)
                }
                try await client.execute(uri: "/api/v1/operations/audit-log?since=yesterday&limit=500", method: .get, headers: operatorHeader) {
                    response in
                    #expect(response.status == .unprocessableContent)
                }
                try await client.execute(uri: "/api/v1/operations/audit-log?cursor=garbage!", method: .get, headers: operatorHeader) { response in
                    #expect(response.status == .unprocessableContent)
                }
            }
        }
    }

    @Test("operators list, inspect, retry and cancel jobs; each change is audited")
    func jobsAPI() async throws {
        try await withTestPlaza { plaza in
            try plaza.jobRegistry.register("test.doomed") { _, _ in throw CancellationError() }
            let dead = try #require(try await plaza.queue.enqueue(try JobRequest("test.doomed", payload: ["n": 1], maxAttempts: 1)))
            let later = try #require(
                try await plaza.queue.enqueue(try JobRequest("test.later", payload: ["n": 2], runAt: Date().addingTimeInterval(3600))))
            try await plaza.worker.runDue()
            let operatorID = UUID()
            let asOperator: HTTPFields = [.testPrincipal: TestAuthentication.header(id: operatorID, roles: ["operator"])]
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/api/v1/operations/jobs?state=dead", method: .get, headers: asOperator) { response in
                    #expect(response.status == .ok)
                    let decoded = try decode(PageOf<JobRecord>.self, response)
                    #expect(decoded.items.map(\.id) == [dead])
                }
                try await client.execute(uri: "/api/v1/operations/jobs?state=zombie", method: .get, headers: asOperator) { response in
                    #expect(response.status == .unprocessableContent)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(dead)", method: .get, headers: asOperator) { response in
                    let decoded = try decode(JobRecord.self, response)
                    #expect(decoded.lastError?.contains("CancellationError") == true)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(UUID())", method: .get, headers: asOperator) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/not-a-uuid", method: .get, headers: asOperator) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(dead)/retry", method: .post, headers: customerHeader) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(dead)/retry", method: .post, headers: asOperator) { response in
                    #expect(response.status == .ok)
                    let decoded = try decode(JobRecord.self, response)
                    #expect(decoded.state == .pending)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(later)/cancel", method: .post, headers: asOperator) { response in
                    let decoded = try decode(JobRecord.self, response)
                    #expect(decoded.state == .cancelled)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/\(later)/cancel", method: .post, headers: asOperator) { response in
                    #expect(response.status == .conflict)
                }
                try await client.execute(uri: "/api/v1/operations/jobs/stats", method: .get, headers: asOperator) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/api/v1/operations/audit-log?actorId=\(operatorID)", method: .get, headers: asOperator) { response in
                    let actions = (try decode(PageOf<AuditEntry>.self, response)).items.map(\.action)
                    #expect(actions == ["jobs.job.cancel", "jobs.job.retry"])
                }
            }
        }
    }
}
