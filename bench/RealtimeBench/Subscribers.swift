import Foundation
import Synchronization

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the server under test listens (an IPv4 address: the bench runs on loopback).
struct Endpoint: Sendable {
    var host: String
    var port: Int

    init(url: String) throws {
        guard url.hasPrefix("http://") else { throw BenchError("--url must be http://host:port") }
        let rest = url.dropFirst("http://".count).split(separator: "/").first.map(String.init) ?? ""
        let parts = rest.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw BenchError("--url must be http://host:port") }
        host = String(parts[0])
        self.port = port
    }

    var hostHeader: String { "\(host):\(port)" }
}

/// One subscriber socket and what it speaks: Plaza's WebSocket frame protocol (ready at `subscribed`,
/// answers pings), or an event stream (ready when the response starts, or — PocketBase — when its
/// `PB_CONNECT` event names the connection). Reports each event's `sentAt`.
final class SubscriberConnection: @unchecked Sendable {
    // @unchecked: after `Poller.add` only the poller's thread touches the decoding state; `readiness` is
    // the one thing another thread (the opener's cancellation) reaches, and it is behind a lock.
    enum Kind {
        case webSocket(topic: String)
        case eventStream(waitsForClientId: Bool)
    }

    let fd: Int32
    private let kind: Kind
    private var head = ResponseHead()
    private var chunks: ChunkDecoder?
    private var frames = FrameDecoder()
    private var sentAtField = FieldScanner(key: "sentAt")
    private var typeField = FieldScanner(key: "type", quoted: true)
    private var clientIdField = FieldScanner(key: "clientId", quoted: true)
    private var control: [UInt8] = []
    private var isReady = false
    private let readiness = Mutex<CheckedContinuation<String, any Error>?>(nil)
    /// Set when the server closed the conversation (a WebSocket close frame): the poller forgets the socket.
    private(set) var closeReason: String?
    private(set) var isClosed = false

    init(fd: Int32, kind: Kind) {
        self.fd = fd
        self.kind = kind
    }

    /// Waits until the subscription is live; gives PocketBase's client id (or "").
    func ready(on poller: Poller) async throws -> String {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                readiness.withLock { $0 = continuation }
                // Cancelled before the continuation was stored: the handler below found nothing to resume.
                if Task.isCancelled { return fail(CancellationError()) }
                do { try poller.add(self) } catch { fail(error) }
            }
        } onCancel: {
            fail(CancellationError())
        }
    }

    func fail(_ error: any Error) {
        readiness.withLock { $0.take() }?.resume(throwing: error)
    }

    private func becomeReady(_ id: String) {
        isReady = true
        readiness.withLock { $0.take() }?.resume(returning: id)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Decodes what one read brought, appending each event's `sentAt`.
    func consume(_ bytes: UnsafeRawBufferPointer, sentAt: inout [UInt64]) throws {
        var rest = bytes
        if !head.isComplete {
            let taken = try head.feed(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
            guard head.isComplete else { return }
            try headArrived()
        }
        guard !rest.isEmpty else { return }
        switch kind {
        case .webSocket:
            try frames.feed(rest) { opcode, payload, isLast in frame(opcode, payload, isLast, &sentAt) }
        case .eventStream:
            if chunks != nil {
                try chunks!.feed(rest) { data in eventStream(data, &sentAt) }
            } else {
                eventStream(rest, &sentAt)
            }
        }
    }

    private func headArrived() throws {
        switch kind {
        case .webSocket(let topic):
            guard head.status == 101 else { throw BenchError("the WebSocket upgrade was refused with \(head.status)") }
            send(FrameDecoder.clientFrame(opcode: 1, payload: Array(#"{"type":"subscribe","topic":"\#(topic)"}"#.utf8)))
        case .eventStream(let waitsForClientId):
            guard head.status == 200 else { throw BenchError("event stream answered \(head.status)") }
            if head.isChunked { chunks = ChunkDecoder() }
            if !waitsForClientId { becomeReady("") }
        }
    }

    private func eventStream(_ data: UnsafeRawBufferPointer, _ sentAt: inout [UInt64]) {
        if !isReady {
            var id: String?
            clientIdField.scan(data) { id = String(decoding: $0, as: UTF8.self) }
            if let id { becomeReady(id) }
        }
        sentAtField.scan(data) { sentAt.append($0.decimal) }
    }

    private func frame(_ opcode: UInt8, _ payload: UnsafeRawBufferPointer, _ isLast: Bool, _ sentAt: inout [UInt64]) {
        switch opcode {
        case 1:
            if !isReady {
                var types: [String] = []
                typeField.scan(payload) { types.append(String(decoding: $0, as: UTF8.self)) }
                if types.contains("subscribed") {
                    becomeReady("")
                } else if types.contains("error") {
                    fail(BenchError("the subscription was refused"))
                }
            }
            sentAtField.scan(payload) { sentAt.append($0.decimal) }
        case 8, 9:
            control += payload
            guard isLast else { return }
            defer { control.removeAll(keepingCapacity: true) }
            if opcode == 9 {
                send(FrameDecoder.clientFrame(opcode: 10, payload: control))
            } else {
                let code = control.count >= 2 ? Int(control[0]) << 8 | Int(control[1]) : 0
                send(FrameDecoder.clientFrame(opcode: 8, payload: Array(control.prefix(2))))
                closeReason = "close \(code)"
            }
        default:
            break
        }
    }

    /// Writes a few bytes on the non-blocking socket; a full send buffer here means the bench is broken.
    private func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 { offset += written } else if errno != EINTR { return }
            }
        }
    }
}

/// Opens subscriber sockets, spread over the pollers' threads.
final class Subscribers: Sendable {
    let pollers: [Poller]
    let endpoint: Endpoint
    private let turn = Atomic<Int>(0)

    init(threads: Int, endpoint: Endpoint, sink: Sink) throws {
        pollers = try (0..<max(1, threads)).map { _ in try Poller(sink: sink) }
        self.endpoint = endpoint
    }

    /// An event stream at `path`; gives PocketBase's client id when `waitsForClientId`.
    func eventStream(_ path: String, waitsForClientId: Bool) async throws -> String {
        try await open(
            "GET \(path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\nAccept: text/event-stream\r\n\r\n",
            kind: .eventStream(waitsForClientId: waitsForClientId))
    }

    /// A WebSocket at `path`, subscribed to `topic`.
    func webSocket(_ path: String, topic: String) async throws {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        _ = try await open(
            "GET \(path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n",
            kind: .webSocket(topic: topic))
    }

    func stop() {
        for poller in pollers { poller.stop() }
    }

    /// Connects (loopback: at once), sends the request, then leaves the socket to a poller until the
    /// subscription is live — or ten seconds pass.
    private func open(_ request: String, kind: SubscriberConnection.Kind) async throws -> String {
        let fd = try connect()
        let connection = SubscriberConnection(fd: fd, kind: kind)
        var bytes = Array(request.utf8)
        guard bytes.withUnsafeMutableBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            connection.close()
            throw BenchError("could not send the request: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let poller = pollers[turn.wrappingAdd(1, ordering: .relaxed).oldValue % pollers.count]
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await connection.ready(on: poller) }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let id = first else {
                throw BenchError("no subscription within 10 s")
            }
            return id
        }
    }

    private func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(endpoint.port).bigEndian)
        guard inet_pton(AF_INET, endpoint.host, &address.sin_addr) == 1 else {
            Glibc.close(fd)
            throw BenchError("\(endpoint.host) is not an IPv4 address")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw BenchError("connect to \(endpoint.hostHeader): \(reason)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
