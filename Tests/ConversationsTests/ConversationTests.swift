import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Identity
import Logging
import Notifications
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Conversations

struct ConversationPage: Decodable { var items: [Conversation]; var nextCursor: String? }
struct ReportPage: Decodable { var items: [MessageReport]; var nextCursor: String? }

@Suite("Conversations")
struct ConversationTests {
    @Test("a thread: messages stored and listed, unread counts and receipts, outsiders see nothing")
    func thread() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let eve = try await person(plaza, "eve@example.com")
            try await plaza.testApplication().test(.router) { client in
                let thread = try await client.execute(
                    uri: "/api/v1/conversations", method: .post, headers: ada.headers,
                    body: json(NewConversation(participantIds: [bob.id], subject: "The engine"))
                ) { response in
                    #expect(response.status == .created)
                    return try decode(Conversation.self, response)
                }
                #expect(Set(thread.participantIds) == [ada.id, bob.id])
                for text in ["First", "Second", "Third"] {
                    try await client.execute(
                        uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: ada.headers, body: json(MessageDraft(body: text))
                    ) { #expect($0.status == .created) }
                }
                let bobsList = try await client.execute(uri: "/api/v1/conversations", method: .get, headers: bob.headers) {
                    try decode(ConversationPage.self, $0)
                }
                #expect(bobsList.items.map(\.unread) == [3])
                #expect(
                    try await client.execute(uri: "/api/v1/conversations/\(thread.id)", method: .get, headers: ada.headers) {
                        try decode(Conversation.self, $0).unread
                    } == 0, "your own messages are read")

                let history = try await client.execute(uri: "/api/v1/conversations/\(thread.id)/messages?limit=2", method: .get, headers: bob.headers)
                {
                    try decode(MessageList.self, $0)
                }
                #expect(history.items.map(\.body) == ["Third", "Second"])
                let older = try await client.execute(uri: try #require(history.next), method: .get, headers: bob.headers) {
                    try decode(MessageList.self, $0)
                }
                #expect(older.items.map(\.body) == ["First"])

                let afterRead = try await client.execute(
                    uri: "/api/v1/conversations/\(thread.id)/read", method: .post, headers: bob.headers, body: json(ReadReceipt(seq: 2))
                ) { try decode(Conversation.self, $0) }
                #expect(afterRead.unread == 1)

                // Outsiders: the thread does not exist for them.
                for (method, path) in [(HTTPRequest.Method.get, ""), (.get, "/messages"), (.post, "/typing")] {
                    try await client.execute(uri: "/api/v1/conversations/\(thread.id)\(path)", method: method, headers: eve.headers) {
                        #expect($0.status == .notFound, "\(method) \(path)")
                    }
                }
                try await client.execute(
                    uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: eve.headers, body: json(MessageDraft(body: "hi"))
                ) { #expect($0.status == .notFound) }
                #expect(
                    try await client.execute(uri: "/api/v1/conversations", method: .get, headers: eve.headers) {
                        try decode(ConversationPage.self, $0).items
                    }.isEmpty)
            }
        }
    }

    @Test("bad input: an empty message, a stranger's id, a context nobody rules, talking to yourself")
    func badInput() async throws {
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                for input in [
                    NewConversation(participantIds: []), NewConversation(participantIds: [ada.id]), NewConversation(participantIds: [UUID()]),
                    NewConversation(participantIds: [bob.id], context: ConversationContext(type: "spaceship", id: "1")),
                ] {
                    try await client.execute(uri: "/api/v1/conversations", method: .post, headers: ada.headers, body: json(input)) {
                        #expect($0.status == .unprocessableContent, "\(String(buffer: $0.body))")
                    }
                }
                let thread = try await plaza.conversations.create(
                    NewConversation(participantIds: [bob.id]), caller: Caller(principal: Principal(id: ada.id)))
                for body in ["", "   ", String(repeating: "x", count: 4001)] {
                    try await client.execute(
                        uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: ada.headers, body: json(MessageDraft(body: body))
                    ) { #expect($0.status == .unprocessableContent) }
                }
                try await client.execute(uri: "/api/v1/conversations/\(thread.id)/messages?before=zero", method: .get, headers: ada.headers) {
                    #expect($0.status == .unprocessableContent)
                }
            }
        }
    }

    @Test("a context's owner decides who may talk about it")
    func contexts() async throws {
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let eve = try await person(plaza, "eve@example.com")
            // As the marketplace will: only the customer and the assigned provider of a request.
            try plaza.conversations.contexts.register("service-request") { _, id, participants in
                id == "r1" && participants == [ada.id, bob.id]
            }
            let caller = Caller(principal: Principal(id: ada.id))
            let ok = try await plaza.conversations.create(
                NewConversation(participantIds: [bob.id], context: ConversationContext(type: "service-request", id: "r1")), caller: caller)
            #expect(ok.context == ConversationContext(type: "service-request", id: "r1"))
            await #expect(throws: PlazaError.self) {
                _ = try await plaza.conversations.create(
                    NewConversation(participantIds: [eve.id], context: ConversationContext(type: "service-request", id: "r1")), caller: caller)
            }
        }
    }

    @Test("authors edit and delete within 15 minutes; others may not; reports reach moderators, who remove")
    func editsReportsModeration() async throws {
        let clock = ManualClock()
        try await withTestPlaza(clock: clock, configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                let thread = try await plaza.conversations.create(
                    NewConversation(participantIds: [bob.id]), caller: Caller(principal: Principal(id: ada.id)))
                func send(_ text: String) async throws -> Message {
                    try await client.execute(
                        uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: ada.headers, body: json(MessageDraft(body: text))
                    ) { try decode(Message.self, $0) }
                }
                let first = try await send("Hello wrold")
                let path = "/api/v1/conversations/\(thread.id)/messages/\(first.id)"
                try await client.execute(uri: path, method: .patch, headers: bob.headers, body: json(MessageDraft(body: "mine now"))) {
                    #expect($0.status == .forbidden)
                }
                let edited = try await client.execute(uri: path, method: .patch, headers: ada.headers, body: json(MessageDraft(body: "Hello world")))
                {
                    try decode(Message.self, $0)
                }
                #expect(edited.body == "Hello world")
                #expect(edited.editedAt != nil)
                let second = try await send("Something rude")
                clock.advance(by: 16 * 60)
                let adaLater = try await signIn(plaza, "ada@example.com")
                let bobLater = try await signIn(plaza, "bob@example.com")
                try await client.execute(
                    uri: "/api/v1/conversations/\(thread.id)/messages/\(second.id)", method: .delete, headers: adaLater.headers
                ) { #expect($0.status == .conflict, "too late to delete") }

                try await client.execute(
                    uri: "/api/v1/conversations/\(thread.id)/messages/\(second.id)/report", method: .post, headers: bobLater.headers,
                    body: json(ReportInput(reason: "Rude"))
                ) { #expect($0.status == .accepted) }
                try await client.execute(uri: "/api/v1/moderation/reports", method: .get, headers: bobLater.headers) {
                    #expect($0.status == .forbidden)
                }
                let moderator: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: ["employee"]), .contentType: "application/json"]
                let reports = try await client.execute(uri: "/api/v1/moderation/reports", method: .get, headers: moderator) {
                    try decode(ReportPage.self, $0)
                }
                #expect(reports.items.map(\.messageBody) == ["Something rude"])
                let removed = try await client.execute(
                    uri: "/api/v1/moderation/messages/\(second.id)/remove", method: .post, headers: moderator,
                    body: json(ReportInput(reason: "Abuse"))
                ) { try decode(Message.self, $0) }
                #expect(removed.body == nil)
                #expect(removed.removedReason == "Abuse")
                #expect(
                    try await client.execute(uri: "/api/v1/moderation/reports", method: .get, headers: moderator) {
                        try decode(ReportPage.self, $0).items
                    }.isEmpty)
                #expect(
                    try await client.execute(uri: "/api/v1/moderation/reports?state=resolved", method: .get, headers: moderator) {
                        try decode(ReportPage.self, $0).items.count
                    } == 1)
                let history = try await client.execute(uri: "/api/v1/conversations/\(thread.id)/messages", method: .get, headers: bobLater.headers) {
                    try decode(MessageList.self, $0)
                }
                #expect(history.items.map(\.body) == [nil, "Hello world"], "a removed message keeps its place without its text")
            }
        }
    }
}

let liveLogger = Logger(label: "conversations-test")

@Suite("Conversations live", .timeLimit(.minutes(5)))
struct LiveConversationTests {
    @Test("a participant hears new messages and typing at once; a stranger cannot listen in")
    func live() async throws {
        try await withTestPlaza(configure: { $0.jobs.pollInterval = .milliseconds(50) }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let eve = try await person(plaza, "eve@example.com")
            let thread = try await plaza.conversations.create(
                NewConversation(participantIds: [bob.id]), caller: Caller(principal: Principal(id: ada.id)))
            let topic = "conversation:\(thread.id.uuidString.lowercased())"
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                try await plaza.dispatcher.broadcastFromNow()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await plaza.dispatcher.run() }
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(eve.token)", logger: liveLogger) {
                        inbound, outbound, _ in
                        var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        try await outbound.write(.text(#"{"type":"subscribe","topic":"\#(topic)"}"#))
                        guard case .text(let text)? = try await frames.next() else { Issue.record("no answer"); return }
                        #expect(text.contains(#""code":"forbidden""#))
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(bob.token)", logger: liveLogger) {
                        inbound, outbound, _ in
                        var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        try await outbound.write(.text(#"{"type":"subscribe","topic":"\#(topic)"}"#))
                        guard case .text(let subscribed)? = try await frames.next() else { Issue.record("no answer"); return }
                        #expect(subscribed.contains("subscribed"))
                        _ = try await client.execute(
                            uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: ada.headers,
                            body: json(MessageDraft(body: "Hi Bob")))
                        guard case .text(let event)? = try await frames.next() else { Issue.record("no event"); return }
                        #expect(event.contains(#""kind":"message.created""#) && event.contains("Hi Bob"), "\(event)")
                        _ = try await client.execute(uri: "/api/v1/conversations/\(thread.id)/typing", method: .post, headers: ada.headers)
                        guard case .text(let typing)? = try await frames.next() else { Issue.record("no signal"); return }
                        #expect(typing.contains(#""type":"signal""#) && typing.contains(#""kind":"typing""#), "\(typing)")
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    group.cancelAll()
                }
            }
        }
    }

    @Test(
        "two server processes on one PostgreSQL: a message sent through one reaches a subscriber of the other",
        .enabled(if: TestDatabase.isPostgres, "needs PLAZA_TEST_DATABASE_URL"))
    func twoProcesses() async throws {
        #expect(PythonPeer.isInstalled, "run scripts/deps.sh test to install websockets into .venv")
        try await withTestPlaza { plaza in
            let settings = [
                "PLAZA_DATABASE_URL": try #require(plaza.config.databaseURL), "PLAZA_BCRYPT_COST": "10",
                // Instances behind one balancer share a public URL: it is the `iss` of every token they sign.
                "PLAZA_PUBLIC_URL": "http://plaza.test",
            ]
            let a = try await ServerProcess(settings: settings)
            let b = try await ServerProcess(settings: settings)
            defer { a.stop(); b.stop() }
            let (status, output) = try await PythonPeer.run([PythonPeer.script("conversation_two_servers.py"), a.url, b.url])
            #expect(status == 0, "\(output)\nA:\n\(a.log)\nB:\n\(b.log)")
            #expect(output.contains("received on B"), "\(output)")
            #expect(output.contains("typing seen on B"), "\(output)")
        }
    }
}

@Suite("Conversations and notifications")
struct ConversationNotificationTests {
    @Test("a message tells the participants who are away, once, by the channels they chose for messages")
    func messageNotifies() async throws {
        try await withTestPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let cat = try await person(plaza, "cat@example.com")
            let bobCaller = Caller(principal: Principal(id: bob.id))
            // Messages come by push by default; Bob wants them in the inbox too, Cat keeps the default (and has no browser subscribed).
            _ = try await plaza.notifications.updatePreferences(PreferencesUpdate(channels: ["messages": ["in-app": true]]), caller: bobCaller)
            let adaCaller = Caller(principal: try await plaza.identity.authenticate(bearer: ada.token))
            let thread = try await plaza.conversations.create(NewConversation(participantIds: [bob.id, cat.id]), caller: adaCaller)
            _ = try await plaza.conversations.send(MessageDraft(body: "Are you free on Friday?"), to: thread.id, caller: adaCaller)
            try await plaza.runPendingWork()
            let inbox = try await plaza.notifications.inbox(caller: bobCaller, page: PageRequest()).items
            #expect(inbox.map(\.title) == ["Ada Test wrote to you"])
            #expect(inbox.first?.body == "Are you free on Friday?")
            #expect(try await plaza.notifications.inbox(caller: Caller(principal: Principal(id: cat.id)), page: PageRequest()).items.isEmpty)
            #expect(try await plaza.notifications.inbox(caller: adaCaller, page: PageRequest()).items.isEmpty, "not told of your own message")
        }
    }
}
