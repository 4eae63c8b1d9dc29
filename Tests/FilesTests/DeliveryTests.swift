import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Files

@Suite("Delivering files")
struct DeliveryTests {
    @Test("ranges answer 206 with the right bytes; a range outside the file is 416; ETag and Last-Modified give 304")
    func ranges() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let bytes = try fixture("landscape.jpg")
                let file = try decode(StoredFile.self, try await upload(client, ada, purpose: "notes-photo", name: "a.jpg", data: bytes))

                let whole = try await client.execute(uri: file.url, method: .get)
                #expect(whole.status == .ok)
                #expect(Data(buffer: whole.body) == bytes)
                #expect(whole.headers[.acceptRanges] == "bytes")
                #expect(whole.headers[.eTag] == "\"\(file.sha256)\"")
                #expect(whole.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
                let lastModified = try #require(whole.headers[.lastModified])

                let head = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=0-99"])
                #expect(head.status == .partialContent)
                #expect(Data(buffer: head.body) == bytes.prefix(100))
                #expect(head.headers[.contentRange] == "bytes 0-99/\(bytes.count)")
                let tail = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=-10"])
                #expect(tail.status == .partialContent)
                #expect(Data(buffer: tail.body) == bytes.suffix(10))
                let middle = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=1000-"])
                #expect(Data(buffer: middle.body) == bytes.dropFirst(1000))

                let outside = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=\(bytes.count)-\(bytes.count + 10)"])
                #expect(outside.status == .rangeNotSatisfiable)
                #expect(outside.headers[.contentRange] == "bytes */\(bytes.count)")
                #expect(outside.headers[.contentType] == "application/problem+json")
                // If-Range with another version's tag: the whole file, not a piece of the wrong one.
                let stale = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=0-9", .ifRange: "\"old\""])
                #expect(stale.status == .ok)

                let cached = try await client.execute(uri: file.url, method: .get, headers: [.ifNoneMatch: "\"\(file.sha256)\""])
                #expect(cached.status == .notModified)
                #expect(cached.body.readableBytes == 0)
                let since = try await client.execute(uri: file.url, method: .get, headers: [.ifModifiedSince: lastModified])
                #expect(since.status == .notModified)
            }
        }
    }

    @Test("a private file is refused to another person and served through a signed link until it expires")
    func privateFiles() async throws {
        let clock = ManualClock()
        try await withFilesPlaza(clock: clock) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                let bytes = try fixture("document.pdf")
                let file = try decode(StoredFile.self, try await upload(client, ada, purpose: "attachment", name: "contract.pdf", data: bytes))
                #expect(file.visibility == .private)
                let path = "/files/\(file.id.uuidString.lowercased())"
                #expect(file.url.hasPrefix(path + "?expires="))

                // The owner reads it with her token; it downloads rather than opening in place.
                let own = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(ada.token)"])
                #expect(own.status == .ok)
                #expect(Data(buffer: own.body) == bytes)
                #expect(own.headers[.contentDisposition] == "attachment; filename*=UTF-8''contract%2Epdf")
                #expect(own.headers[.cacheControl] == "private, max-age=300")

                // Someone else: as if it did not exist; nobody at all: sign in first.
                let other = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(bob.token)"])
                #expect(other.status == .notFound)
                let otherMeta = try await client.execute(
                    uri: "/api/v1/files/\(file.id)", method: .get, headers: [.authorization: "Bearer \(bob.token)"])
                #expect(otherMeta.status == .notFound)
                let anonymous = try await client.execute(uri: path, method: .get)
                #expect(anonymous.status == .unauthorized)

                // The signed link works for anyone who has it…
                let signed = try await client.execute(uri: file.url, method: .get)
                #expect(signed.status == .ok)
                #expect(Data(buffer: signed.body) == bytes)
                // …not with its signature changed, nor for a variant it was not made for…
                let tampered = try await client.execute(uri: file.url.replacingOccurrences(of: "signature=", with: "signature=x"), method: .get)
                #expect(tampered.status == .forbidden)
                let query = String(file.url.split(separator: "?")[1])
                let elsewhere = try await client.execute(uri: "\(path)/preview?\(query)", method: .get)
                #expect(elsewhere.status == .notFound)
                // …and not once it has expired (links last 15 minutes).
                clock.advance(by: 16 * 60)
                let expired = try await client.execute(uri: file.url, method: .get)
                #expect(expired.status == .forbidden)
                #expect(try decode(Problem.self, expired).detail?.contains("expired") == true)
            }
        }
    }

    @Test("deleting a file removes its variants and their bytes; only its owner may")
    func deletion() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            let bob = try await person(plaza, "bob@example.com")
            try await plaza.testApplication().test(.router) { client in
                let file = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "notes-photo", name: "a.jpg", data: try fixture("landscape.jpg")))
                try await plaza.runPendingWork()
                #expect(plaza.storedBlobs().count == 3)

                let notHis = try await client.execute(
                    uri: "/api/v1/files/\(file.id)", method: .delete, headers: [.authorization: "Bearer \(bob.token)"])
                #expect(notHis.status == .forbidden)
                let deleted = try await client.execute(
                    uri: "/api/v1/files/\(file.id)", method: .delete, headers: [.authorization: "Bearer \(ada.token)"])
                #expect(deleted.status == .noContent)
                #expect(try await plaza.fileCount() == 0)
                #expect(try await plaza.files.variants(of: file.id).isEmpty)
                #expect(plaza.storedBlobs() == [])
                let gone = try await client.execute(uri: file.url, method: .get)
                #expect(gone.status == .notFound)
            }
        }
    }
}

@Suite("The daily sweep")
struct SweepTests {
    @Test("abandoned uploads, old staging files and bytes no record names are removed; bound and young ones stay")
    func sweep() async throws {
        let clock = ManualClock()
        try await withFilesPlaza(clock: clock) { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let abandoned = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "attachment", name: "a.png", data: TestImages.png(width: 20, height: 20)))
                let avatar = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "avatar", name: "me.png", data: TestImages.png(width: 20, height: 20)))
                let root = URL(fileURLWithPath: plaza.config.fileSettings.root)
                let old = Date().addingTimeInterval(-2 * 86_400)
                func debris(_ path: String, age: Date) throws {
                    let url = root.appendingPathComponent(path)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data("debris".utf8).write(to: url)
                    try FileManager.default.setAttributes([.modificationDate: age], ofItemAtPath: url.path)
                }
                try debris(".staging/crashed.part", age: old)
                try debris("originals/zz/stray", age: old)
                try debris("originals/zz/just-written", age: Date())

                // Young: nothing is abandoned yet, but a crash's leftovers are.
                let early = try await plaza.files.sweep()
                #expect(early == SweepReport(unboundFiles: 0, staleStaging: 1, strayBlobs: 1))
                #expect(try await plaza.fileCount() == 2)

                clock.advance(by: 25 * 3600)
                let late = try await plaza.files.sweep()
                #expect(late.unboundFiles == 1)
                let fresh = try await signIn(plaza, ada.email)
                let path = "/files/\(abandoned.id.uuidString.lowercased())"
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(fresh.token)"]).status == .notFound)
                // The avatar is bound to its person: it stays, and so does a blob written a moment ago.
                #expect(try await client.execute(uri: avatar.url, method: .get).status == .ok)
                #expect(plaza.storedBlobs().contains("originals/zz/just-written"))
            }
        }
    }
}
