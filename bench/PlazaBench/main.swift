// plaza-bench: measures the job queue end to end (enqueue, claim, run, complete), or durable workflows, on
// SQLite or PostgreSQL.
//
//   plaza-bench jobs [--jobs N] [--concurrency C] [--database-url postgres://…]
//   plaza-bench stock [--takers N] [--units U] [--concurrency C] [--database-url …]: takes/s under contention
//   plaza-bench workflows [--workflows N] [--concurrency C] [--database-url postgres://…] [--sqlite-full] [--unnamed-statements]
//   plaza-bench marketplace-seed --data-dir DIR [--providers N]   (demo data plus N providers, for bench/marketplace.sh)
//   plaza-bench graphql-checks [--providers N] [--requests N] [--rounds R]   (what GraphQL's limits cost, for bench/graphql.sh)
//
// Prints one line: `jobs <engine> enqueued=<n/s> completed=<n/s>` (bench/run.sh) or
// `plaza <engine> workflows=<n> seconds=<s> rate=<n/s>` (bench/workflows.sh).
import AppHost
import Foundation
import Jobs
import Marketplace
import PlazaApps
import Logging
import PostgresNIO
import SQLKit
import PlazaKit
import PlazaServer
import Storage

struct Empty: Codable, Sendable {}

/// One statement, awaited to completion. (In top-level code the compiler picks SQLKit's future-returning
/// overload and nothing waits; inside an async function it picks the async one.)
func roundTrip(_ sql: any SQLDatabase) async throws {
    try await sql.raw("SELECT 1").run()
}

func argument(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

let total = Int(argument("--jobs", "20000"))!
let concurrency = Int(argument("--concurrency", "16"))!
let url = argument("--database-url", "")
var config = PlazaConfig()
config.apps = AppList(PlazaApps.all)
config.logLevel = .error
config.jobs.concurrency = concurrency
if let pool = Int(argument("--pool", "")) { config.databasePoolSize = pool }
let directory = URL(
    fileURLWithPath: argument("--data-dir", FileManager.default.temporaryDirectory.appendingPathComponent("plaza-bench-\(getpid())").path))
config.dataDirectory = directory.path
if !url.isEmpty { config.databaseURL = url }

if CommandLine.arguments.contains("--sqlite-full") { config.sqliteSynchronous = .full }
// For side-by-side runs: PostgreSQL statements all unnamed, as before they were kept.
if CommandLine.arguments.contains("--unnamed-statements") { config.databasePreparedStatements = false }
let plaza = try await Plaza.open(config)
try await plaza.migrate()

if CommandLine.arguments.dropFirst().first == "marketplace-seed" {
    let count = Int(argument("--providers", "10000"))!
    let (category, provider) = try await MarketplaceBenchData.seed(plaza, providers: count)
    await plaza.shutdown()
    print("category=\(category) provider=\(provider)")
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "graphql-checks" {
    let (category, _) = try await MarketplaceBenchData.seed(plaza, providers: Int(argument("--providers", "2000"))!)
    print(
        try await GraphQLChecksBench.run(
            plaza, category: category, requests: Int(argument("--requests", "2000"))!, rounds: Int(argument("--rounds", "5"))!))
    await plaza.shutdown()
    try? FileManager.default.removeItem(at: directory)
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "stock" {
    let takers = Int(argument("--takers", "10000"))!
    let units = Int(argument("--units", "1000"))!
    let line = try await StockBench.run(plaza, takers: takers, units: units, concurrency: concurrency)
    await plaza.shutdown()
    try? FileManager.default.removeItem(at: directory)
    print("stock \(url.isEmpty ? "sqlite" : "postgres") takers=\(takers) units=\(units) \(line)")
    exit(0)
}

if CommandLine.arguments.dropFirst().first == "workflows" {
    let workflows = Int(argument("--workflows", "2000"))!
    let seconds = try await WorkflowBench.run(plaza: plaza, total: workflows, concurrency: concurrency)
    await plaza.shutdown()
    try? FileManager.default.removeItem(at: directory)
    let engine = url.isEmpty ? "sqlite" : "postgres"
    print("plaza \(engine) workflows=\(workflows) seconds=\(String(format: "%.2f", seconds)) rate=\(Int(Double(workflows) / seconds))")
    exit(0)
}

// Round-trip cost of one statement, outside and inside a transaction.
if CommandLine.arguments.contains("--ping") {
    let n = 2000
    var start = ContinuousClock.now
    for _ in 0..<n { try await roundTrip(plaza.store.sql) }
    let outside = (ContinuousClock.now - start).timeInterval / Double(n) * 1e6
    start = ContinuousClock.now
    try await plaza.store.transaction { transaction in
        for _ in 0..<n { try await transaction.sql.raw("SELECT 1").run() }
    }
    let inside = (ContinuousClock.now - start).timeInterval / Double(n) * 1e6
    var raw = 0.0
    if !url.isEmpty {
        // The same statements on one PostgresNIO connection, without Fluent or SQLKit in between.
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL.connectionConfiguration(url), id: 99, logger: Logger(label: "bench"))
        start = ContinuousClock.now
        for _ in 0..<n { _ = try await connection.query("SELECT 1", logger: Logger(label: "bench")).collect() }
        raw = (ContinuousClock.now - start).timeInterval / Double(n) * 1e6
        try await connection.closeGracefully()
    }
    print("ping outside=\(Int(outside))us inside=\(Int(inside))us raw=\(Int(raw))us")
}
try plaza.jobRegistry.register("bench.noop", payload: Empty.self) { _, _ in }

// Enqueue in transactions of 500, as a busy app would when a write fans out into jobs.
let enqueueStart = ContinuousClock.now
var enqueued = 0
while enqueued < total {
    let batch = min(500, total - enqueued)
    try await plaza.store.transaction { transaction in
        for _ in 0..<batch { try await plaza.queue.enqueue(try JobRequest("bench.noop", payload: Empty()), in: transaction) }
    }
    enqueued += batch
}
let enqueueSeconds = (ContinuousClock.now - enqueueStart).timeInterval

// Two workers, as two instances would run them; each claims up to `concurrency` jobs per round trip.
let runStart = ContinuousClock.now
let other = JobWorker(queue: plaza.queue, registry: plaza.jobRegistry, logger: plaza.logger)
async let first = plaza.worker.runDue(limit: total)
async let second = other.runDue(limit: total)
let ran = try await first + second
let runSeconds = (ContinuousClock.now - runStart).timeInterval
await plaza.shutdown()
try? FileManager.default.removeItem(at: directory)

guard ran == total else {
    FileHandle.standardError.write(Data("ran \(ran) of \(total) jobs\n".utf8))
    exit(1)
}
let engine = url.isEmpty ? "sqlite" : "postgres"
print("jobs \(engine) enqueued=\(Int(Double(total) / enqueueSeconds)) completed=\(Int(Double(total) / runSeconds))")

extension Plaza {
    /// The marketplace this binary hosts.
    var marketplace: MarketplaceService { app(MarketplaceApp.self).service }
}
