// A load client for realtime servers: many subscribers on one topic, an open-loop publisher, and the
// latency from publish to receipt. It speaks Plaza's WebSocket and event-stream endpoints and
// PocketBase's realtime SSE, so bench/realtime.sh can compare them side by side with one client.
//
//   RealtimeBench rates --server plaza-ws|plaza-sse|pocketbase --url http://127.0.0.1:PORT
//       --token SUBSCRIBER_TOKEN --publish-token PUBLISHER_TOKEN --server-pid PID
//       [--subscribers 1000] [--rates 10000,20000,…] [--seconds 5] [--threads 1 (subscriber threads)] [--label TEXT]
//   RealtimeBench idle --server … --url … --token … --server-pid PID [--counts 1000,10000]
//
// Prints markdown table rows on stdout; progress goes to stderr.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A table row, written at once (the driver script interleaves them with its own lines).
func emit(_ row: String) {
    FileHandle.standardOutput.write(Data((row + "\n").utf8))
}

struct Options {
    var command: String
    var values: [String: String] = [:]

    init(_ arguments: [String]) throws {
        guard let first = arguments.first else { throw BenchError("say rates or idle") }
        command = first
        var rest = arguments.dropFirst()
        while let key = rest.popFirst() {
            guard key.hasPrefix("--"), let value = rest.popFirst() else { throw BenchError("expected --option value, got \(key)") }
            values[String(key.dropFirst(2))] = value
        }
    }

    func string(_ key: String) throws -> String {
        guard let value = values[key] else { throw BenchError("--\(key) is required") }
        return value
    }

    func int(_ key: String, _ fallback: Int) throws -> Int {
        guard let text = values[key] else { return fallback }
        guard let value = Int(text) else { throw BenchError("--\(key) must be a whole number") }
        return value
    }

    func ints(_ key: String, _ fallback: [Int]) throws -> [Int] {
        guard let text = values[key] else { return fallback }
        return try text.split(separator: ",").map {
            guard let value = Int($0) else { throw BenchError("--\(key) must be numbers separated by commas") }
            return value
        }
    }
}

/// The server under test and how to reach its subscribers and its publisher.
enum ServerKind: String {
    case plazaWebSocket = "plaza-ws"
    case plazaEventStream = "plaza-sse"
    case pocketBase = "pocketbase"

    var label: String {
        switch self {
        case .plazaWebSocket: "Plaza, WebSocket"
        case .plazaEventStream: "Plaza, SSE"
        case .pocketBase: "PocketBase 0.40, SSE"
        }
    }
}

/// CPU seconds (user + system) of this process.
func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds of another process, from /proc (clock ticks of 1/100 s).
func cpuSeconds(of pid: Int) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Resident memory of a process in KiB.
func residentKiB(of pid: Int) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

func percentile(_ sorted: [UInt32], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
    return Double(sorted[max(0, index)]) / 1_000
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    value.isNaN ? "—" : String(format: "%.\(digits)f", value)
}

struct Bench {
    let kind: ServerKind
    let url: String
    let token: String
    let serverPid: Int
    let subscribers: Subscribers
    let http: HTTPClient
    let sink: Sink
    var label: String

    /// Opens `count` subscribers, `wave` at a time; they stay open until the subscribers stop.
    func open(_ count: Int, wave: Int = 250) async throws {
        var remaining = count
        while remaining > 0 {
            let size = min(wave, remaining)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<size { group.addTask { try await openOne() } }
                try await group.waitForAll()
            }
            remaining -= size
        }
    }

    private func openOne() async throws {
        let escaped = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
        switch kind {
        case .plazaWebSocket:
            try await subscribers.webSocket("/api/v1/realtime?access_token=\(escaped)", topic: "broadcast:bench")
        case .plazaEventStream:
            _ = try await subscribers.eventStream(
                "/api/v1/realtime/events?topics=broadcast:bench&access_token=\(escaped)", waitsForClientId: false)
        case .pocketBase:
            let clientId = try await subscribers.eventStream("/api/realtime", waitsForClientId: true)
            var request = HTTPClientRequest(url: url + "/api/realtime")
            request.method = .POST
            request.headers.add(name: "Authorization", value: token)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"clientId":"\#(clientId)","subscriptions":["bench/*"]}"#))
            let response = try await http.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 204 else { throw BenchError("PocketBase refused the subscription: \(response.status.code)") }
        }
    }

    var publishTarget: PublishTarget {
        get throws {
            switch kind {
            case .plazaWebSocket, .plazaEventStream:
                PublishTarget(url: url + "/api/v1/realtime/broadcast/bench", authorization: "Bearer " + token)
            case .pocketBase:
                PublishTarget(url: url + "/api/collections/bench/records", authorization: token)
            }
        }
    }

    /// One step: `rate` deliveries per second to `connected` subscribers for `seconds` (the first
    /// second is warm-up), then up to five seconds for stragglers. Returns false once saturated.
    func step(rate: Int, connected: Int, seconds: Double, target: PublishTarget) async -> Bool {
        _ = sink.take()
        let perSecond = Double(rate) / Double(connected)
        let clientBefore = ownCPUSeconds(), serverBefore = cpuSeconds(of: serverPid)
        let wallBefore = nowMicros()
        let result = await publish(target, client: http, perSecond: perSecond, seconds: seconds)
        let windowStart = result.start + 1_000_000
        let windowEnd = result.start + UInt64(seconds * 1_000_000)
        let published = result.accepted.filter { $0 >= windowStart && $0 < windowEnd }.count
        let expected = published * connected
        var latencies: [UInt32] = []
        let giveUp = nowMicros() + 5_000_000
        while true {
            let samples = sink.take()
            for (sent, latency) in zip(samples.sentAt, samples.latency) where sent >= windowStart && sent < windowEnd {
                latencies.append(latency)
            }
            if latencies.count >= expected || nowMicros() > giveUp { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let wall = Double(nowMicros() - wallBefore) / 1e6
        let clientCPU = (ownCPUSeconds() - clientBefore) / wall * 100
        let serverCPU = (cpuSeconds(of: serverPid) - serverBefore) / wall * 100
        latencies.sort()
        let windowSeconds = seconds - 1
        let delivered = Double(latencies.count) / windowSeconds
        let received = expected == 0 ? 0 : Double(latencies.count) / Double(expected) * 100
        let p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99)
        let refused = result.refused > 0 ? " (\(result.refused) publishes refused)" : ""
        emit(
            "| \(label) | \(rate) | \(Int(delivered.rounded())) | \(format(received))%\(refused) | \(format(p50)) | \(format(p99)) | "
                + "\(format(serverCPU, 0))% | \(format(clientCPU, 0))% |"
        )
        note("\(label): \(rate)/s offered, \(Int(delivered))/s delivered, \(format(received))% received, p99 \(format(p99)) ms")
        return received >= 95 && p99 < 1_000 && result.refused == 0
    }
}

@main
enum RealtimeBench {
    static func main() async {
        do {
            try await run(Options(Array(CommandLine.arguments.dropFirst())))
        } catch {
            note("RealtimeBench: \(error)")
            exit(2)
        }
    }

    static func run(_ options: Options) async throws {
        guard let kind = ServerKind(rawValue: try options.string("server")) else {
            throw BenchError("--server must be plaza-ws, plaza-sse or pocketbase")
        }
        let url = try options.string("url")
        // The publisher's HTTP client has a thread of its own; the subscribers' sockets are read by
        // `--threads` pollers.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        let http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        let sink = Sink()
        let bench = Bench(
            kind: kind, url: url, token: try options.string("token"), serverPid: try options.int("server-pid", 0),
            subscribers: try Subscribers(threads: try options.int("threads", 1), endpoint: try Endpoint(url: url), sink: sink),
            http: http, sink: sink,
            label: options.values["label"] ?? kind.label)
        do {
            switch options.command {
            case "rates":
                let count = try options.int("subscribers", 1_000)
                note("\(bench.label): opening \(count) subscribers…")
                try await bench.open(count)
                try await Task.sleep(for: .seconds(1))
                var target = try bench.publishTarget
                if let publisher = options.values["publish-token"] {
                    target.authorization = kind == .pocketBase ? publisher : "Bearer " + publisher
                }
                let seconds = Double(try options.int("seconds", 5))
                for rate in try options.ints("rates", [10_000, 20_000, 40_000, 60_000, 80_000, 120_000, 160_000]) {
                    let keepGoing = await bench.step(rate: rate, connected: count, seconds: seconds, target: target)
                    if !keepGoing { break }
                    try await Task.sleep(for: .seconds(1))
                }
                if sink.closed.load(ordering: .relaxed) > 0 { note("\(bench.label): connections lost: \(sink.closeSummary)") }
            case "idle":
                let pid = try options.int("server-pid", 0)
                guard pid > 0 else { throw BenchError("--server-pid is required for idle") }
                let before = residentKiB(of: pid)
                var opened = 0
                for count in try options.ints("counts", [1_000, 10_000]) {
                    note("\(bench.label): \(count) idle connections…")
                    try await bench.open(count - opened)
                    opened = count
                    try await Task.sleep(for: .seconds(3))
                    let rss = residentKiB(of: pid)
                    let per = Double(rss - before) / Double(count)
                    emit("| \(bench.label) | \(count) | \(format(Double(before) / 1024)) → \(format(Double(rss) / 1024)) MB | \(format(per)) KB |")
                }
                if sink.closed.load(ordering: .relaxed) > 0 { note("\(bench.label): connections lost: \(sink.closeSummary)") }
            default:
                throw BenchError("unknown command \(options.command): say rates or idle")
            }
        } catch {
            await close(bench.subscribers, http: http, group: group)
            throw error
        }
        await close(bench.subscribers, http: http, group: group)
    }

    static func close(_ subscribers: Subscribers, http: HTTPClient, group: MultiThreadedEventLoopGroup) async {
        subscribers.stop()
        try? await http.shutdown()
        try? await group.shutdownGracefully()
    }
}
