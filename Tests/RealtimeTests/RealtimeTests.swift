import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Identity
import Logging
import NIOCore
import ServiceLifecycle
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Realtime

/// A frame the server sent, as a dictionary.
typealias Frame = [String: JSONValue]

/// Reads server frames one at a time, failing a test that waits too long.
struct FrameReader {
    var iterator: WebSocketInboundMessageStream.AsyncIterator

    mutating func next(within limit: Duration = .seconds(5)) async throws -> Frame {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            guard let message = try await iterator.next() else { throw Closed() }
            if case .text(let text) = message,
                case .object(let object) = try PlazaJSON.decoder().decode(JSONValue.self, from: Data(text.utf8))
            {
                return object
            }
        }
        throw TimedOut()
    }

    struct Closed: Error {}
    struct TimedOut: Error {}
}

extension Frame {
    var type: String? { if case .string(let type)? = self["type"] { return type } else { return nil } }
    var topic: String? { if case .string(let topic)? = self["topic"] { return topic } else { return nil } }
    var code: String? { if case .string(let code)? = self["code"] { return code } else { return nil } }
    var message: String? { if case .string(let message)? = self["message"] { return message } else { return nil } }
    var id: Int64? { if case .number(let id)? = self["id"] { return Int64(id) } else { return nil } }
}

func subscribe(_ topic: String, after lastEventId: Int64? = nil) -> String {
    lastEventId.map { #"{"type":"subscribe","topic":"\#(topic)","lastEventId":\#($0)}"# } ?? #"{"type":"subscribe","topic":"\#(topic)"}"#
}

/// Signs a demo-less user up and returns its id and access token.
func account(_ plaza: Plaza, email: String) async throws -> (id: UUID, token: String) {
    _ = try await plaza.identity.register(
        Registration(email: email, password: "correct horse", firstName: "Rea", lastName: "Time"), caller: .system("test"))
    let tokens = try await plaza.identity.login(Credentials(email: email, password: "correct horse"), caller: .system("test"))
    let principal = try await plaza.identity.authenticate(bearer: tokens.accessToken)
    return (principal.id, tokens.accessToken)
}

func publish(_ plaza: Plaza, _ data: [String: String], to topic: String) async throws {
    try await plaza.store.transaction { transaction in try await plaza.publisher.publish(data, to: topic, in: transaction) }
}

/// Runs `body` with a live Plaza (its outbox dispatcher running, so events flow) and its port.
func withLivePlaza(_ configure: @escaping (inout PlazaConfig) -> Void = { _ in }, _ body: @escaping @Sendable (Plaza, Int) async throws -> Void)
    async throws
{
    try await withTestPlaza(configure: {
        $0.jobs.pollInterval = .milliseconds(50)
        configure(&$0)
    }) { plaza in
        try await plaza.testApplication().test(.live) { client in
            let port = try #require(client.port)
            // Broadcasting starts now, not whenever the dispatcher's task first runs: otherwise the body's first
            // events could be taken for history on a busy machine, and never reach the sockets.
            try await plaza.dispatcher.broadcastFromNow()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await plaza.dispatcher.run() }
                try await body(plaza, port)
                group.cancelAll()
            }
        }
    }
}

let testLogger = Logger(label: "realtime-test")

/// The ids of a topic's events once the running dispatcher has numbered `count` of them (or after 5 s).
func eventIDs(_ plaza: Plaza, topic: String, count: Int) async throws -> [Int64] {
    var numbered: [Int64] = []
    let deadline = ContinuousClock.now + .seconds(5)
    while numbered.count < count, ContinuousClock.now < deadline {
        try await plaza.dispatcher.sequence()
        numbered = try await plaza.outbox.events(after: 0, topics: [RealtimePublisher.outboxTopic], key: topic).compactMap(\.seq)
        if numbered.count < count { try await Task.sleep(for: .milliseconds(20)) }
    }
    return numbered
}

@Suite("Realtime gateway", .timeLimit(.minutes(5)))
struct RealtimeTests {
    @Test("a subscriber receives its own events; other people's topics and unknown topics are refused; bad frames get error frames")
    func subscribeAndReceive() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let other = try await account(plaza, email: "other@example.com")
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime", configuration: .init(additionalHeaders: [.authorization: "Bearer \(me.token)"]),
                logger: testLogger
            ) { inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(subscribe("user:\(me.id)")))
                #expect(try await frames.next() == ["type": .string("subscribed"), "topic": .string("user:\(me.id)")])

                try await outbound.write(.text(subscribe("user:\(other.id)")))
                let refused = try await frames.next()
                #expect(refused.type == "error" && refused.code == "forbidden" && refused.topic == "user:\(other.id)")
                try await outbound.write(.text(subscribe("nonsense")))
                #expect(try await frames.next().code == "unknown-topic")

                try await outbound.write(.text("not json"))
                #expect(try await frames.next().code == "bad-frame")
                try await outbound.write(.text(#"{"type":"dance"}"#))
                #expect(try await frames.next().code == "unknown-type")
                // Text is kept exactly as sent or refused: a NUL in a frame is named, not cut off.
                try await outbound.write(.text(#"{"type":"subscribe","topic":"user:\u0000x"}"#))
                let nul = try await frames.next()
                #expect(nul.code == "bad-frame" && nul.message?.contains("topic must not contain the NUL character") == true, "\(nul)")
                let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
                try await outbound.write(.text(#"{"type":"ping","x":"# + deep + "}"))
                #expect(try await frames.next().code == "bad-frame", "a frame nested past the JSON bound is refused before decoding")
                try await outbound.write(.text(#"{"type":"ping"}"#))
                #expect(try await frames.next().type == "pong")

                try await publish(plaza, ["hello": "world"], to: "user:\(other.id)") // not for me
                try await publish(plaza, ["hello": "me"], to: "user:\(me.id)")
                let event = try await frames.next()
                #expect(event.type == "event")
                #expect(event.topic == "user:\(me.id)")
                #expect(event["data"] == .object(["hello": .string("me")]))
                #expect((event.id ?? 0) > 0)
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(close?.closeCode == .normalClosure)
        }
    }

    @Test("operators publish on broadcast topics over HTTP; anyone signed in follows them; others may not publish")
    func broadcast() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(me.token)", logger: testLogger
            ) { inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(subscribe("broadcast:status")))
                #expect(try await frames.next().type == "subscribed")
                try await outbound.write(.text(subscribe("broadcast:Not_A_Name")))
                #expect(try await frames.next().type == "error")
                try await plaza.testApplication().test(.router) { client in
                    let operatorHeaders: HTTPFields = [
                        .testPrincipal: TestAuthentication.header(roles: ["operator"]), .contentType: "application/json",
                    ]
                    let sent = try await client.execute(
                        uri: "/api/v1/realtime/broadcast/status", method: .post, headers: operatorHeaders,
                        body: ByteBuffer(string: #"{"level":"maintenance","text":"Back at 10:00"}"#))
                    #expect(sent.status == .accepted)
                    let customer = try await client.execute(
                        uri: "/api/v1/realtime/broadcast/status", method: .post,
                        headers: [.authorization: "Bearer \(me.token)", .contentType: "application/json"], body: ByteBuffer(string: "{}"))
                    #expect(customer.status == .forbidden)
                    let badName = try await client.execute(
                        uri: "/api/v1/realtime/broadcast/Bad_Name", method: .post, headers: operatorHeaders, body: ByteBuffer(string: "{}"))
                    #expect(badName.status == .unprocessableContent)
                    let notObject = try await client.execute(
                        uri: "/api/v1/realtime/broadcast/status", method: .post, headers: operatorHeaders, body: ByteBuffer(string: "[1,2]"))
                    #expect(notObject.status == .unprocessableContent)
                }
                let event = try await frames.next()
                #expect(event.topic == "broadcast:status")
                #expect(event["data"] == .object(["level": .string("maintenance"), "text": .string("Back at 10:00")]))
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(close?.closeCode == .normalClosure)
        }
    }

    @Test("a client that reconnects with its last id gets exactly what it missed, then live events, no duplicates")
    func replay() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"
            for n in 1...4 { try await publish(plaza, ["n": "\(n)"], to: topic) }
            let ids = try await eventIDs(plaza, topic: topic, count: 4)
            try #require(ids.count == 4)
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(me.token)", logger: testLogger
            ) { inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(subscribe(topic, after: ids[1])))
                #expect(try await frames.next().type == "subscribed")
                var received: [String] = []
                for _ in 1...2 {
                    let event = try await frames.next()
                    if case .object(let data)? = event["data"], case .string(let n)? = data["n"] { received.append(n) }
                }
                #expect(received == ["3", "4"])
                try await publish(plaza, ["n": "5"], to: topic)
                let live = try await frames.next()
                #expect(live["data"] == .object(["n": .string("5")]))
                #expect((live.id ?? 0) > ids[3])
                try await outbound.write(.text(#"{"type":"ping"}"#))
                #expect(try await frames.next().type == "pong", "nothing else (no duplicate) came before the pong")
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }

    @Test("without a token the handshake is refused; a plain GET is told to upgrade")
    func handshake() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(uri: "/api/v1/realtime", method: .get) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/api/v1/realtime", method: .get, headers: [.testPrincipal: TestAuthentication.header(roles: [])]) {
                    #expect($0.status == .upgradeRequired)
                }
            }
        }
    }

    @Test("frames parse as the protocol says")
    func frames() throws {
        #expect(try ClientFrame.parse(#"{"type":"subscribe","topic":"user:1","lastEventId":42}"#) == .subscribe(topic: "user:1", lastEventId: 42))
        #expect(try ClientFrame.parse(#"{"type":"subscribe","topic":"user:1","lastEventId":"42"}"#) == .subscribe(topic: "user:1", lastEventId: 42))
        #expect(try ClientFrame.parse(#"{"type":"unsubscribe","topic":"user:1"}"#) == .unsubscribe(topic: "user:1"))
        #expect(throws: ClientFrame.ParseError.missing("topic")) { try ClientFrame.parse(#"{"type":"subscribe"}"#) }
        #expect(throws: ClientFrame.ParseError.notJSON) { try ClientFrame.parse("[1,2]") }
        #expect(ServerFrame.event(topic: "a\"b", id: 7, data: #"{"x":1}"#) == #"{"type":"event","topic":"a\"b","id":7,"data":{"x":1}}"#)
    }

    @Test("a frame encoded once for every socket has RFC 6455's header for each length form")
    func encodedFrames() {
        for (length, header) in [
            (5, [0x81, 5]), (125, [0x81, 125]), (126, [0x81, 126, 0, 126]), (70_000, [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]),
        ] {
            let frame = EncodedFrame(String(repeating: "x", count: length)).webSocket
            #expect(Array(frame.readableBytesView.prefix(header.count)) == header.map(UInt8.init), "length \(length)")
            #expect(frame.readableBytes == header.count + length)
        }
    }
}

@Suite("Realtime gateway with a real Python client", .timeLimit(.minutes(5)))
struct RealtimePeerTests {
    @Test("a client that never reads is closed with 4008 while another keeps receiving everything")
    func slowConsumer() async throws {
        #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install websockets into .venv")
        // The slow client reads only once the fast one has everything, and the loopback's buffers hold megabytes:
        // on a loaded machine that can take longer than the default close timeout (15 s) and ping interval (30 s),
        // after which a stalled client is dropped without the 4008 this test looks for. (The client keeps no
        // keepalive of its own either: see realtime_slow_consumer.py.)
        try await withLivePlaza({
            $0.realtime.sendQueueCapacity = 64
            $0.realtime.closeTimeout = .seconds(180)
            $0.realtime.pingInterval = .seconds(180)
        }) { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"
            let events = 3000
            let peer = try PythonPeer.start([
                PythonPeer.script("realtime_slow_consumer.py"), "ws://127.0.0.1:\(port)/api/v1/realtime", me.token, topic, "\(events)",
            ])
            #expect(try await peer.waitFor("ready"), "\(peer.output)")
            // 3000 events of 4 KiB, 20 to a transaction: far more than the socket buffers and the slow client's
            // queue can hold. The reading client says how far it got; the next batch waits until it is at most
            // 40 events behind, so however busy the machine, only the client that stopped reading falls behind.
            let filler = String(repeating: "x", count: 4096)
            for batch in stride(from: 1, through: events, by: 20) {
                if batch > 40 {
                    let caughtUp = try await peer.waitFor("fast at \(batch - 21)", within: .seconds(60))
                    #expect(caughtUp, "\(peer.output)")
                    if !caughtUp { break }
                }
                try await plaza.store.transaction { transaction in
                    for n in batch..<(batch + 20) { try await plaza.publisher.publish(["n": "\(n)", "filler": filler], to: topic, in: transaction) }
                }
            }
            let (status, output) = await peer.wait()
            #expect(status == 0, "\(output)")
            #expect(output.contains("fast received \(events)"), "\(output)")
            #expect(output.contains("slow closed 4008"), "\(output)")
            #expect(plaza.realtime.connectionCount == 0)
        }
    }
}

@Suite("The realtime socket's protocol, spoken by hand", .timeLimit(.minutes(5)))
struct RealtimeProtocolTests {
    @Test("a refused handshake gets the route's problem; fragments join; pings are answered; bad frames close with their codes")
    func protocolByHand() async throws {
        #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install the Python peers")
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            func run(_ scenario: String) async throws -> String {
                let (status, output) = try await PythonPeer.run([
                    PythonPeer.script("realtime_protocol.py"), "\(port)", me.token, "user:\(me.id)", scenario,
                ])
                #expect(status == 0, "\(scenario): \(output)")
                return output
            }
            let refused = try await run("refused")
            #expect(refused.contains("status 401") && refused.contains("type https://plaza.dev/problems/unauthorized"), "\(refused)")
            let frames = try await run("frames")
            #expect(frames == "pong between\nsubscribed user:\(me.id)\nerror bad-frame\nclose 1007\n", "\(frames)")
            #expect(try await run("unmasked") == "close 1002\n")
            #expect(try await run("too-big") == "close 1009\n")
        }
    }

    @Test("a socket that closes while its subscription is being made leaves no follower and no presence behind")
    func closedDuringSubscribe() async throws {
        try await withLivePlaza { plaza, _ in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"
            let hub = plaza.realtime
            let connection = hub.connect(try await plaza.identity.authenticate(bearer: me.token), sink: StreamSink(capacity: 8))
            // The socket's clean-up runs first; the subscription it raced with finishes after it.
            hub.socketClosed(connection)
            await hub.subscribe(connection, to: topic, after: nil)
            #expect(hub.followers(of: topic) == 0)
            #expect(try await hub.present(on: topic).isEmpty)
        }
    }

    @Test("the heartbeat pings every socket: one that answers stays, one that does not is dropped; a restart closes with 1001")
    func heartbeat() async throws {
        #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install the Python peers")
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let silent = try PythonPeer.start([PythonPeer.script("realtime_protocol.py"), "\(port)", me.token, "user:\(me.id)", "silent"])
            #expect(try await silent.waitFor("ready"), "\(silent.output)")
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(me.token)", logger: testLogger
            ) { inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(subscribe("user:\(me.id)")))
                #expect(try await frames.next().type == "subscribed")
                #expect(plaza.realtime.connectionCount == 2)
                plaza.realtime.heartbeat()
                #expect(try await silent.waitFor("ping"), "\(silent.output)")
                // The library answers the ping while it waits for frames; the event proves the socket still works,
                // and the answer to a ping frame sent after it proves the server has read the library's pong.
                try await publish(plaza, ["n": "1"], to: "user:\(me.id)")
                #expect(try await frames.next().type == "event")
                try await outbound.write(.text(#"{"type":"ping"}"#))
                #expect(try await frames.next().type == "pong")
                plaza.realtime.heartbeat()
                #expect(try await silent.waitFor("dropped"), "\(silent.output)")
                try await publish(plaza, ["n": "2"], to: "user:\(me.id)")
                #expect(try await frames.next().type == "event")
                plaza.realtime.endAll()
                await #expect(throws: FrameReader.Closed.self) { _ = try await frames.next(within: .seconds(10)) }
            }
            #expect(close?.closeCode == .goingAway)
            _ = await silent.wait()
            let deadline = ContinuousClock.now + .seconds(10)
            while plaza.realtime.connectionCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(plaza.realtime.connectionCount == 0)
        }
    }
}

@Suite("Realtime over Server-Sent Events", .timeLimit(.minutes(5)))
struct EventStreamTests {
    @Test("an SSE client resumes from Last-Event-ID, then receives live events")
    func resume() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let topic = "user:\(me.id)"
            try await publish(plaza, ["n": "1"], to: topic)
            try await publish(plaza, ["n": "2"], to: topic)
            let first = try #require(try await eventIDs(plaza, topic: topic, count: 2).first)
            let peer = try PythonPeer.start([
                PythonPeer.script("realtime_sse.py"), "127.0.0.1", "\(port)", me.token, topic, "\(first)", "2",
            ])
            #expect(try await peer.waitFor("ready"), "\(peer.output)")
            #expect(try await peer.waitFor(#"{"n": "2"}"#), "\(peer.output)")
            try await publish(plaza, ["n": "3"], to: topic)
            let (status, output) = await peer.wait(within: .seconds(20))
            #expect(status == 0, "\(output)")
            let lines = output.split(separator: "\n").filter { $0.hasPrefix("event ") }
            #expect(lines.count == 2, "\(output)")
            #expect(lines.first?.hasSuffix(#"{"n": "2"}"#) == true, "\(output)")
            #expect(lines.last?.hasSuffix(#"{"n": "3"}"#) == true, "\(output)")
        }
    }

    @Test("SSE refuses topics that are not yours, unknown topics and a missing list before streaming")
    func refusals() async throws {
        try await withTestPlaza { plaza in
            let me = try await account(plaza, email: "me@example.com")
            try await plaza.testApplication().test(.router) { client in
                let auth: HTTPFields = [.authorization: "Bearer \(me.token)"]
                try await client.execute(uri: "/api/v1/realtime/events?topics=user:\(UUID())", method: .get, headers: auth) {
                    #expect($0.status == .forbidden)
                }
                try await client.execute(uri: "/api/v1/realtime/events?topics=nothing", method: .get, headers: auth) {
                    #expect($0.status == .unprocessableContent)
                }
                try await client.execute(uri: "/api/v1/realtime/events", method: .get, headers: auth) {
                    #expect($0.status == .unprocessableContent)
                }
                try await client.execute(
                    uri: "/api/v1/realtime/events?topics=user:\(me.id)", method: .get,
                    headers: [HTTPField.Name("Last-Event-ID")!: "x", .authorization: "Bearer \(me.token)"]
                ) {
                    #expect($0.status == .unprocessableContent)
                }
                try await client.execute(uri: "/api/v1/realtime/events?topics=user:\(me.id)", method: .get) { #expect($0.status == .unauthorized) }
            }
        }
    }
}

@Suite("Realtime and sessions", .timeLimit(.minutes(5)))
struct RealtimeSessionTests {
    @Test("signing out closes the session's sockets with 4001")
    func signOutClosesSocket() async throws {
        try await withLivePlaza { plaza, port in
            let me = try await account(plaza, email: "me@example.com")
            let principal = try await plaza.identity.authenticate(bearer: me.token)
            let close = try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/api/v1/realtime", configuration: .init(additionalHeaders: [.authorization: "Bearer \(me.token)"]),
                logger: testLogger
            ) { inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(subscribe("user:\(me.id)")))
                #expect(try await frames.next().type == "subscribed")
                try await plaza.identity.logout(caller: Caller(principal: principal))
                await #expect(throws: FrameReader.Closed.self) { _ = try await frames.next(within: .seconds(10)) }
            }
            #expect(close?.closeCode == .unknown(RealtimeCloseCode.sessionEnded))
        }
    }
}

@Suite("Realtime presence and instances", .timeLimit(.minutes(5)))
struct PresenceTests {
    @Test("presence lists who follows a topic, by frame and over HTTP, and forgets who left")
    func presence() async throws {
        try await withLivePlaza { plaza, port in
            try plaza.realtime.topics.register("room") { _, _ in true }
            let ada = try await account(plaza, email: "ada@example.com")
            let bob = try await account(plaza, email: "bob@example.com")
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(ada.token)", logger: testLogger) {
                inbound, outbound, _ in
                var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                try await outbound.write(.text(#"{"type":"presence","topic":"room:1"}"#))
                #expect(try await frames.next().code == "forbidden", "not subscribed yet")
                try await outbound.write(.text(subscribe("room:1")))
                #expect(try await frames.next().type == "subscribed")
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(bob.token)", logger: testLogger) {
                    inbound, outbound, _ in
                    var bobFrames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                    try await outbound.write(.text(subscribe("room:1")))
                    #expect(try await bobFrames.next().type == "subscribed")
                    try await outbound.close(.normalClosure, reason: nil)
                    _ = try? await bobFrames.next(within: .seconds(2))
                }
                // Bob's connection may still be closing on the server; it leaves within a moment.
                try await outbound.write(.text(#"{"type":"presence","topic":"room:1"}"#))
                let both = try await frames.next()
                #expect(both.type == "presence")
                var users: Set<String> = []
                if case .array(let list)? = both["users"] { users = Set(list.compactMap { if case .string(let s) = $0 { s } else { nil } }) }
                #expect(users.contains(ada.id.uuidString.lowercased()))
                let deadline = ContinuousClock.now + .seconds(5)
                var present = try await plaza.realtime.present(on: "room:1")
                while present.contains(bob.id), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    present = try await plaza.realtime.present(on: "room:1")
                }
                #expect(present == [ada.id])
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
    }

    @Test("GET /api/v1/realtime/presence is checked like a subscription")
    func presenceOverHTTP() async throws {
        try await withTestPlaza { plaza in
            let me = try await account(plaza, email: "me@example.com")
            try await plaza.testApplication().test(.router) { client in
                let auth: HTTPFields = [.authorization: "Bearer \(me.token)"]
                try await client.execute(uri: "/api/v1/realtime/presence?topic=user:\(me.id)", method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains(#""users":[]"#))
                }
                try await client.execute(uri: "/api/v1/realtime/presence?topic=user:\(UUID())", method: .get, headers: auth) {
                    #expect($0.status == .forbidden)
                }
                try await client.execute(uri: "/api/v1/realtime/presence", method: .get, headers: auth) {
                    #expect($0.status == .unprocessableContent)
                }
            }
        }
    }

    @Test(
        "an event published on one instance reaches a subscriber of another sharing PostgreSQL",
        .enabled(if: TestDatabase.isPostgres, "needs PLAZA_TEST_DATABASE_URL"))
    func acrossInstances() async throws {
        try await withLivePlaza({ $0.jobs.pollInterval = .seconds(30) }) { a, _ in
            let b = try await Plaza.open(a.config, database: a.store.settings, logger: a.logger)
            let me = try await account(a, email: "me@example.com")
            try await b.dispatcher.broadcastFromNow()
            try await b.testApplication().test(.live) { client in
                let port = try #require(client.port)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // b runs its own listener and broadcaster; polling is 30 s, so only NOTIFY is this fast.
                    let services = ServiceGroup(configuration: .init(services: b.backgroundServices, logger: b.logger))
                    group.addTask { try await services.run() }
                    try await Task.sleep(for: .milliseconds(500))
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(me.token)", logger: testLogger) {
                        inbound, outbound, _ in
                        var frames = FrameReader(iterator: inbound.messages(maxSize: 1 << 20).makeAsyncIterator())
                        try await outbound.write(.text(subscribe("user:\(me.id)")))
                        #expect(try await frames.next().type == "subscribed")
                        try await publish(a, ["from": "a"], to: "user:\(me.id)")
                        let event = try await frames.next(within: .seconds(5))
                        #expect(event["data"] == .object(["from": .string("a")]))
                        #expect(try await a.realtime.present(on: "user:\(me.id)") == [me.id], "a sees who is connected to b")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    await services.triggerGracefulShutdown()
                    try await group.waitForAll()
                }
            }
            await b.shutdown()
        }
    }
}

@Suite("Requests the parser cannot read")
struct UnreadableRequestTests {
    @Test("a first request the HTTP parser cannot read is answered with problem+json and the connection closes, never left hanging")
    func unreadableFirstRequests() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                let cases: [(String, [UInt8], String)] = [
                    ("a control character in a header", Array("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{01}b\r\n\r\n".utf8), "400"),
                    ("no request line", Array("NOT HTTP AT ALL\r\n\r\n".utf8), "400"),
                    (
                        "a request line of 100 KB",
                        Array(("GET /graphql?query=" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n").utf8), "431"
                    ),
                ]
                for (label, request, status) in cases {
                    let (answer, closed) = try RawHTTP.exchange(port: port, request)
                    #expect(answer.hasPrefix("HTTP/1.1 \(status)"), "\(label): \(answer.prefix(120))")
                    #expect(answer.contains("application/problem+json") && answer.contains(#""status":\#(status)"#), "\(label)")
                    #expect(closed, "\(label): the connection stays open")
                }
                // The server still serves.
                let (answer, _) = try RawHTTP.exchange(port: port, Array("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
                #expect(answer.hasPrefix("HTTP/1.1 200"))
            }
        }
    }
}
