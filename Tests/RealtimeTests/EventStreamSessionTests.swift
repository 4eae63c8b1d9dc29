import Foundation
import PlazaServer
import PlazaTesting
import Synchronization
import Testing

@testable import Realtime

/// A blocking HTTP/1.1 client on a raw socket: it sees the bytes as they come (framing, connection close),
/// can keep a connection alive for a second request, and can stop reading — what these tests are about. Its
/// reads block a thread of their own: the server under test runs in this process and needs the cooperative
/// pool's few threads.
final class RawConnection: @unchecked Sendable {
    // @unchecked: each test uses a connection from one task at a time.
    private let fd: Int32
    private(set) var received: [UInt8] = []

    init(port: Int) throws {
        fd = try RawHTTP.connect(port: port)
        // Reads give up after 200 ms, so `read(until:)` can watch its own deadline.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Closes the client's sending side, as a closed browser tab does.
    func closeSending() { shutdown(fd, Int32(SHUT_WR)) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    func get(_ path: String, token: String) {
        send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n")
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Where the last `read(until:)` stopped looking: each call searches only what came after (megabytes arrive).
    private var searched = 0

    /// Reads until what arrived since the last call's find contains `needle`, the server closes (false), or
    /// `limit` passes (false).
    func read(until needle: String, within limit: Duration = .seconds(20)) async -> Bool {
        await Self.onThread { self.readBlocking(until: needle, within: limit) }
    }

    /// Reads until the server closes the connection; false if it is still open after `limit`.
    func readToEnd(within limit: Duration = .seconds(20)) async -> Bool {
        await Self.onThread { self.readToEndBlocking(within: limit) }
    }

    private static func onThread(_ work: @escaping @Sendable () -> Bool) async -> Bool {
        await withCheckedContinuation { continuation in Thread { continuation.resume(returning: work()) }.start() }
    }

    private func readBlocking(until needle: String, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let from = max(0, min(searched, received.count - needle.utf8.count))
            if let found = String(decoding: received[from...], as: UTF8.self).range(of: needle) {
                searched = from + String(decoding: received[from...], as: UTF8.self)[..<found.upperBound].utf8.count
                return true
            }
            searched = received.count
            guard ContinuousClock.now < deadline else { return false }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return false }
            if count > 0 { received += buffer[0..<count] }
        }
    }

    private func readToEndBlocking(within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return true }
            if count > 0 { received += buffer[0..<count] }
            if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return true }
        }
        return false
    }
}

@Suite("Server-Sent Events as channel sessions", .timeLimit(.minutes(5)))
struct EventStreamSessionTests {
    /// Waits (up to 10 s) until `count` connections follow `topic`: a stream subscribes just after it opens.
    static func waitForFollowers(_ plaza: Plaza, _ topic: String, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while plaza.realtime.followers(of: topic) < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(plaza.realtime.followers(of: topic) >= count, "\(count) followers of \(topic)")
    }

    @Test(
        "a connection's first request for events becomes a stream with no framing, closed by the server (also when the client half-closes); a refused one gets the route's problem; a later one on a kept-alive connection streams as a response; a WebSocket handshake there is a 400"
    )
    func firstAndLaterRequests() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"

            let refused = try RawConnection(port: port)
            refused.get("/api/v1/realtime/events?topics=user:\(UUID())", token: me.token)
            #expect(await refused.readToEnd(), "a refusal closes the connection")
            #expect(refused.text.hasPrefix("HTTP/1.1 403"), "\(refused.text)")
            #expect(refused.text.contains("application/problem+json") && refused.text.contains("You may not follow"), "\(refused.text)")

            let stream = try RawConnection(port: port)
            stream.get("/api/v1/realtime/events?topics=\(topic)", token: me.token)
            #expect(await stream.read(until: "retry: 2000\n\n"), "\(stream.text)")
            let head = stream.text.components(separatedBy: "\r\n\r\n")[0].lowercased()
            #expect(head.hasPrefix("http/1.1 200"), "\(head)")
            #expect(head.contains("content-type: text/event-stream") && head.contains("connection: close"), "\(head)")
            #expect(!head.contains("transfer-encoding") && !head.contains("content-length"), "\(head)")

            let later = try RawConnection(port: port)
            later.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(await later.read(until: "\r\n\r\n"), "\(later.text)")
            later.get("/api/v1/realtime/events?topics=\(topic)", token: me.token)
            #expect(await later.read(until: "retry: 2000"), "\(later.text)")
            let secondHead = later.text.lowercased().components(separatedBy: "http/1.1 200").last ?? ""
            #expect(secondHead.contains("transfer-encoding: chunked"), "a response's stream is chunked: \(later.text)")

            try await Self.waitForFollowers(plaza, topic, 2)
            try await publish(plaza, ["n": "1"], to: topic)
            #expect(await stream.read(until: #""n":"1""#), "\(stream.text)")
            #expect(await later.read(until: #""n":"1""#), "\(later.text)")
            let event = stream.text.components(separatedBy: "\n\n").first { $0.contains(#""n":"1""#) } ?? ""
            #expect(event.hasPrefix("id: ") && event.contains("\ndata: {"), "one SSE message with its id: \(event)")

            // A client that closes its side is gone: the server closes the stream.
            let leaving = try RawConnection(port: port)
            leaving.get("/api/v1/realtime/events?topics=\(topic)", token: me.token)
            #expect(await leaving.read(until: "retry: 2000"), "\(leaving.text)")
            leaving.closeSending()
            #expect(await leaving.readToEnd(), "a half-closed stream is closed")

            // A WebSocket handshake sent to the event stream is refused, not streamed into the void.
            let confused = try RawConnection(port: port)
            confused.send(
                "GET /api/v1/realtime/events?topics=\(topic) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(me.token)\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            #expect(await confused.readToEnd(), "the refusal closes the connection")
            #expect(confused.text.hasPrefix("HTTP/1.1 400"), "\(confused.text)")

            // Signing out ends the session's streams: the server closes them.
            plaza.realtime.endConnections(of: me.id)
            #expect(await stream.readToEnd(), "the stream ends")
        }
    }

    @Test("a stream that is not read is closed once its queue is full, while a reading one gets every event")
    func slowStreamIsClosed() async throws {
        try await withLivePlaza({ $0.realtime.sendQueueCapacity = 64 }) { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"
            let fast = try RawConnection(port: port), slow = try RawConnection(port: port)
            fast.get("/api/v1/realtime/events?topics=\(topic)", token: me.token)
            slow.get("/api/v1/realtime/events?topics=\(topic)", token: me.token)
            #expect(await fast.read(until: "retry: 2000"))
            #expect(await slow.read(until: "retry: 2000"))
            try await Self.waitForFollowers(plaza, topic, 2)

            // 3000 events of 4 KiB: far more than the socket buffers hold. The reader keeps up before each batch.
            let events = 3000
            let filler = String(repeating: "x", count: 4096)
            for batch in stride(from: 1, through: events, by: 20) {
                try await plaza.store.transaction { transaction in
                    for n in batch..<(batch + 20) { try await plaza.publisher.publish(["n": "\(n)", "filler": filler], to: topic, in: transaction) }
                }
                #expect(await fast.read(until: #""n":"\#(batch + 19)""#), "the reader fell behind at \(batch)")
            }
            #expect(await slow.readToEnd(), "the stream nobody read was closed")
            #expect(!slow.text.contains(#""n":"\#(events)""#), "it did not get everything")
            #expect(fast.text.contains(#""n":"\#(events)""#))
        }
    }
}
