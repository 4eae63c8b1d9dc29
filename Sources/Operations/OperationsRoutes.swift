import Foundation
import HTTPTypes
import Hummingbird
import Jobs
import NIOCore
import PlazaKit
import Storage

/// The actions Operations guards, and who may take them.
public enum OperationsPolicy {
    public static let readAudit: Action = "operations.audit.read"
    public static let readJobs: Action = "operations.jobs.read"
    public static let manageJobs: Action = "operations.jobs.manage"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(readAudit, .systemRole(SystemRole.operator))
        policy.allow(readJobs, .systemRole(SystemRole.operator))
        policy.allow(manageJobs, .systemRole(SystemRole.operator))
        return policy
    }
}

/// `/health`, `/ready`, `/metrics` and the operators' API under `/api/v1/operations`.
public struct OperationsRoutes<Context: PlazaRequestContext>: Sendable {
    let readiness: Readiness
    let metrics: MetricsExporter
    let metricsAccess: MetricsAccess
    let queue: JobQueue
    let auditLog: AuditLogReader

    public init(readiness: Readiness, metrics: MetricsExporter, metricsAccess: MetricsAccess, queue: JobQueue, auditLog: AuditLogReader) {
        self.readiness = readiness
        self.metrics = metrics
        self.metricsAccess = metricsAccess
        self.queue = queue
        self.auditLog = auditLog
    }

    static var healthBody: ByteBuffer { ByteBuffer(string: "{\"status\":\"ok\"}") }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let (readiness, metrics, queue, auditLog, access) = (self.readiness, self.metrics, self.queue, self.auditLog, self.metricsAccess)
        let tag = "Operations"

        routes.add(
            Endpoint(
                .get, "/health", operationID: "health", summary: "The process is alive.", tag: tag, access: .public,
                responses: [EndpointResponse(200, "Alive.", body: .json(HealthStatus.self))]
            ) { _, _ in
                // Load balancers call this constantly: answer from bytes made once.
                Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.healthBody))
            })

        routes.add(
            Endpoint(
                .get, "/ready", operationID: "ready", summary: "The database answers and its schema is current.", tag: tag,
                access: .public,
                responses: [
                    EndpointResponse(200, "Ready to serve.", body: .json(ReadinessReport.self)),
                    EndpointResponse(503, "Not ready.", body: .json(ReadinessReport.self)),
                ]
            ) { _, _ in
                let report = await readiness.check()
                return try .json(report, status: report.isReady ? .ok : .serviceUnavailable)
            })

        routes.add(
            Endpoint(
                .get, "/metrics", operationID: "metrics", summary: "Metrics in the Prometheus text format.", tag: tag,
                access: .public,
                responses: [EndpointResponse(200, "Prometheus text exposition format 0.0.4.", body: .text("text/plain; version=0.0.4"))]
            ) { request, context in
                guard access.allows(authorization: request.headers[.authorization], ip: context.client.ip) else {
                    throw PlazaError(
                        .unauthorized, code: "metrics-refused", title: "Unauthorized",
                        detail: "/metrics answers its configured bearer token (PLAZA_METRICS_TOKEN) or networks (PLAZA_METRICS_NETWORKS).",
                        headers: ["WWW-Authenticate": "Bearer realm=\"metrics\""])
                }
                let text = await metrics.render()
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: text)))
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/operations/audit-log", operationID: "listAuditLog",
                summary: "Who did what to which resource, newest first.", tag: tag, access: .action(OperationsPolicy.readAudit),
                parameters: [
                    .init("actorId", in: .query, schema: .uuid), .init("action", in: .query),
                    .init("resourceType", in: .query), .init("resourceId", in: .query),
                    .init("organisationId", in: .query, schema: .uuid),
                    .init("since", in: .query, schema: .dateTime), .init("until", in: .query, schema: .dateTime),
                    .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of audit entries.", body: .page(of: AuditEntry.self))]
            ) { request, _ in
                let query = request.queryItems
                return try .json(try await auditLog.list(try AuditFilter(query: query), page: try PageRequest(query: query)))
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/operations/jobs", operationID: "listJobs", summary: "Jobs, newest first.", tag: tag,
                access: .action(OperationsPolicy.readJobs),
                parameters: [
                    .init("state", in: .query, schema: .string(enumValues: JobState.allCases.map(\.rawValue))),
                    .init("queue", in: .query), .init("name", in: .query), .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of jobs.", body: .page(of: JobRecord.self))]
            ) { request, _ in
                let query = request.queryItems
                var filter = JobFilter(queue: query["queue"], name: query["name"])
                if let raw = query["state"] {
                    guard let state = JobState(rawValue: raw) else {
                        throw PlazaError.validation(
                            field: "state", "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    filter.state = state
                }
                return try .json(try await queue.list(filter, page: try PageRequest(query: query)))
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/operations/jobs/stats", operationID: "jobStats",
                summary: "How many jobs each queue holds in each state.", tag: tag, access: .action(OperationsPolicy.readJobs),
                responses: [EndpointResponse(200, "Counts per queue and state.", body: .json(JobStatsList.self))]
            ) { _, _ in try .json(JobStatsList(items: try await queue.stats())) })

        routes.add(
            Endpoint(
                .get, "/api/v1/operations/jobs/{id}", operationID: "getJob", summary: "One job, with its last error.", tag: tag,
                access: .action(OperationsPolicy.readJobs), parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(200, "The job.", body: .json(JobRecord.self))]
            ) { _, context in
                let id = try context.uuidParameter("id")
                guard let job = try await queue.find(id) else { throw PlazaError.notFound("No job has the id \(id).") }
                return try .json(job)
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/operations/jobs/{id}/retry", operationID: "retryJob",
                summary: "Put a dead, cancelled or waiting job back in line with fresh attempts.", tag: tag,
                access: .action(OperationsPolicy.manageJobs), parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(200, "The job, pending again.", body: .json(JobRecord.self))]
            ) { _, context in
                try .json(try await queue.retry(try context.uuidParameter("id"), caller: context.caller))
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/operations/jobs/{id}/cancel", operationID: "cancelJob", summary: "Cancel a job that has not started.",
                tag: tag, access: .action(OperationsPolicy.manageJobs), parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(200, "The job, cancelled.", body: .json(JobRecord.self))]
            ) { _, context in
                try .json(try await queue.cancel(try context.uuidParameter("id"), caller: context.caller))
            })
        return routes
    }
}

struct HealthStatus: Codable, Sendable, APISchema {
    var status: String
    static var schema: JSONSchema { .object(properties: ["status": .string(enumValues: ["ok"])], required: ["status"]) }
}

struct JobStatsList: Codable, Sendable, APISchema {
    var items: [JobStats]
    static var schema: JSONSchema {
        .object(
            properties: [
                "items": .array(
                    .object(
                        properties: ["queue": .text, "state": .string(enumValues: JobState.allCases.map(\.rawValue)), "count": .integer()],
                        required: ["queue", "state", "count"]))
            ],
            required: ["items"])
    }
}

extension ReadinessReport: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "status": .string(enumValues: ["ready", "unavailable"]),
                "database": .string(enumValues: ["ok", "unreachable"]),
                "migrations": .string(enumValues: ["current", "pending", "unknown"]),
                "pendingMigrations": .array(.text),
            ],
            required: ["status", "database", "migrations", "pendingMigrations"])
    }
}

/// Who may read `/metrics`: a scraper with the configured bearer token, or one on a configured network
/// (Prometheus supports both: `authorization` in a scrape config, or a scraper on a private network).
public struct MetricsAccess: Sendable {
    let token: String?
    let fromNetwork: @Sendable (String) -> Bool

    /// `fromNetwork` says whether a client address is on a trusted network.
    public init(token: String?, fromNetwork: @escaping @Sendable (String) -> Bool) {
        self.token = token
        self.fromNetwork = fromNetwork
    }

    func allows(authorization: String?, ip: String) -> Bool {
        if fromNetwork(ip) { return true }
        guard let token, let authorization, authorization.hasPrefix("Bearer ") else { return false }
        // Compared in constant time, so the answer's timing says nothing about how much of a guess was right.
        let given = Array(authorization.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
