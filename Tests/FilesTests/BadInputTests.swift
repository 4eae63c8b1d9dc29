import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Synchronization
import Testing

@testable import Files

@Suite("Bad uploads are refused and leave nothing behind")
struct BadInputTests {
    /// Each bad upload: the status, a problem document, and no record, blob or staging file left.
    func refused(_ plaza: Plaza, _ response: TestResponse, _ status: HTTPResponse.Status, mentioning words: String) async throws {
        #expect(response.status == status, "\(String(buffer: response.body))")
        #expect(response.headers[.contentType] == "application/problem+json")
        let problem = try decode(Problem.self, response)
        let text = "\(problem.detail ?? "") \(problem.errors?.map { "\($0.field) \($0.message)" }.joined(separator: " ") ?? "")"
        #expect(text.contains(words), "\(text)")
        #expect(!text.lowercased().contains("vips"), "the image library's own words stay in the log: \(text)")
        #expect(try await plaza.fileCount() == 0)
        #expect(plaza.storedBlobs() == [])
    }

    @Test("over the limit, a type the purpose refuses, a bad name, a damaged or lying image, a bomb, file before purpose")
    func refusals() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let bearer: HTTPFields = [.authorization: "Bearer \(ada.token)"]
                // A declared length past the avatar's 5 MB: refused before a byte is read.
                var headers = bearer
                headers[.contentType] = "image/jpeg"
                let big = try await client.execute(
                    uri: "/api/v1/files?purpose=avatar&name=big.jpg", method: .post, headers: headers,
                    body: ByteBuffer(repeating: 0xFF, count: 6 << 20))
                try await refused(plaza, big, .contentTooLarge, mentioning: "5242880")
                // The same inside a multipart body, where the limit is found while the file part streams.
                let form = try await upload(client, ada, purpose: "avatar", name: "big.jpg", data: Data(repeating: 0xFF, count: 6 << 20))
                try await refused(plaza, form, .contentTooLarge, mentioning: "5242880")

                let pdf = try await upload(client, ada, purpose: "avatar", name: "avatar.png", data: try fixture("document.pdf"), type: "image/png")
                try await refused(plaza, pdf, .unsupportedMediaType, mentioning: "application/pdf")
                let text = try await upload(
                    client, ada, purpose: "notes-video", name: "clip.mp4", data: Data("just words\n".utf8), type: "video/mp4")
                try await refused(plaza, text, .unsupportedMediaType, mentioning: "text/plain")

                let traversal = try await upload(client, ada, purpose: "avatar", name: "../../etc/passwd", data: try fixture("landscape.jpg"))
                try await refused(plaza, traversal, .unprocessableContent, mentioning: "not a path")
                let control = try await upload(client, ada, purpose: "avatar", name: "me\u{07}.jpg", data: try fixture("landscape.jpg"))
                try await refused(plaza, control, .unprocessableContent, mentioning: "control characters")
                let rawName = try await client.execute(
                    uri: "/api/v1/files?purpose=avatar&name=..%2Fx.jpg", method: .post, headers: headers,
                    body: ByteBuffer(data: try fixture("landscape.jpg")))
                try await refused(plaza, rawName, .unprocessableContent, mentioning: "not a path")

                let truncated = try await upload(client, ada, purpose: "notes-photo", name: "cut.jpg", data: try fixture("truncated.jpg"))
                try await refused(plaza, truncated, .unprocessableContent, mentioning: "damaged or truncated")
                let bomb = try await upload(client, ada, purpose: "notes-photo", name: "bomb.png", data: try fixture("bomb.png"))
                try await refused(plaza, bomb, .unprocessableContent, mentioning: "30000×30000")
                let polyglot = try await upload(client, ada, purpose: "notes-photo", name: "nice.jpg", data: try fixture("polyglot.jpg"))
                try await refused(plaza, polyglot, .unprocessableContent, mentioning: "not an image Plaza can read")

                let backwards = multipart([("file", "a.jpg", "image/jpeg", try fixture("landscape.jpg")), ("purpose", nil, nil, Data("avatar".utf8))])
                var formHeaders = bearer
                formHeaders[.contentType] = backwards.contentType
                let fileFirst = try await client.execute(uri: "/api/v1/files", method: .post, headers: formHeaders, body: backwards.body)
                try await refused(plaza, fileFirst, .unprocessableContent, mentioning: "before the file")
                let unknown = try await upload(client, ada, purpose: "wallpaper", name: "a.jpg", data: try fixture("landscape.jpg"))
                try await refused(plaza, unknown, .unprocessableContent, mentioning: "must be one of")

                // Category images belong to the catalogue: a customer may not add one.
                let catalogue = try await upload(client, ada, purpose: "notes-cover", name: "a.jpg", data: try fixture("landscape.jpg"))
                try await refused(plaza, catalogue, .forbidden, mentioning: "notes.covers.upload")
            }
        }
    }

    @Test("a body that never ends is cut off at the limit while it streams")
    func endlessBody() async throws {
        try await withFilesPlaza { plaza in
            let produced = Counter()
            let endless = Endless(produced: produced)
            await #expect(throws: PlazaError.self) {
                _ = try await UploadReceiver.receiveRaw(
                    RequestBody(asyncSequence: endless), purpose: .avatar, name: "x", declaredLength: nil, store: plaza.files.blobs)
            }
            // 5 MB is 80 chunks of 64 KB: the receiver took the one that passed the limit and no more.
            #expect(produced.value == 81)
            #expect(plaza.storedBlobs() == [])
        }
    }
}

/// A body that has always another 64 KB to give, counting how many were taken.
struct Endless: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let produced: Counter

    struct AsyncIterator: AsyncIteratorProtocol {
        let produced: Counter
        let chunk = ByteBuffer(repeating: 0xAB, count: 64 * 1024)
        mutating func next() async -> ByteBuffer? {
            produced.add()
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(produced: produced) }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
