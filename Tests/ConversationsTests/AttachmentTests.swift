import Files
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Conversations

@Suite("Message attachments")
struct AttachmentTests {
    @Test("attachments are the sender's own private files; the thread's participants read them, others do not; deleting the message deletes them")
    func attachments() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-attachments-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await withTestPlaza(configure: {
            $0.edge.rateLimits = []; $0.filesDirectory = directory.path
        }) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            let eve = try await person(plaza, "eve@example.com")
            try await plaza.testApplication().test(.router) { client in
                func attach(_ who: Person) async throws -> StoredFile {
                    let response = try await client.execute(
                        uri: "/api/v1/files?purpose=attachment&name=plan.png", method: .post,
                        headers: [.authorization: "Bearer \(who.token)", .contentType: "image/png"],
                        body: ByteBuffer(data: TestImages.png(width: 40, height: 30)))
                    #expect(response.status == .created)
                    return try decode(StoredFile.self, response)
                }
                let thread = try decode(
                    Conversation.self,
                    try await client.execute(
                        uri: "/api/v1/conversations", method: .post, headers: ada.headers, body: json(NewConversation(participantIds: [bob.id]))))
                let plan = try await attach(ada)
                let bobsFile = try await attach(bob)

                func send(_ attachments: [UUID]) async throws -> TestResponse {
                    try await client.execute(
                        uri: "/api/v1/conversations/\(thread.id)/messages", method: .post, headers: ada.headers,
                        body: json(MessageDraft(body: "See the plan", attachments: attachments)))
                }
                #expect(try await send([UUID()]).status == .unprocessableContent)
                #expect(try await send([bobsFile.id]).status == .unprocessableContent, "someone else's file")
                let sent = try await send([plan.id])
                #expect(sent.status == .created)
                let message = try decode(Message.self, sent)
                #expect(message.attachments == [plan.id])
                #expect(try await send([plan.id]).status == .unprocessableContent, "a file belongs to one message")

                let path = "/files/\(plan.id.uuidString.lowercased())"
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(bob.token)"]).status == .ok)
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(eve.token)"]).status == .notFound)
                let bobsView = try decode(
                    StoredFile.self,
                    try await client.execute(uri: "/api/v1/files/\(plan.id)", method: .get, headers: [.authorization: "Bearer \(bob.token)"]))
                #expect(bobsView.entity == "message:\(message.id.uuidString.lowercased())")

                let deleted = try await client.execute(
                    uri: "/api/v1/conversations/\(thread.id)/messages/\(message.id)", method: .delete, headers: ada.headers)
                #expect(deleted.status == .ok)
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(ada.token)"]).status == .notFound)
            }
        }
    }
}
