import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import SQLKit
import Testing

@testable import Files

@Suite("Uploads and image variants")
struct UploadTests {
    @Test("a service photo is stored with its size; its variants are made by the job with the right sizes, once")
    func variants() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                // The client calls it a PNG named .png; the bytes say JPEG, and JPEG it is.
                let response = try await upload(
                    client, ada, purpose: "notes-photo", name: "kitchen.png", data: try fixture("landscape.jpg"), type: "image/png")
                #expect(response.status == .created)
                let file = try decode(StoredFile.self, response)
                #expect(file.contentType == "image/jpeg")
                #expect(file.width == 1200 && file.height == 800)
                #expect(file.visibility == .public)
                #expect(file.name == "kitchen.png")
                #expect(Set(file.variants.keys) == ["thumb", "large"])
                #expect(file.url == "/files/\(file.id.uuidString.lowercased())")

                try await plaza.runPendingWork()
                let made = try await plaza.files.variants(of: file.id)
                #expect(made.map(\.name) == ["large", "thumb"])
                let sizes = Dictionary(uniqueKeysWithValues: made.map { ($0.name, [$0.width, $0.height]) })
                #expect(sizes["thumb"] == [320, 240])
                // Inside 1600×1200 without enlarging: the photo keeps its size.
                #expect(sizes["large"] == [1200, 800])

                let thumb = try await client.execute(uri: try #require(file.variants["thumb"]), method: .get)
                #expect(thumb.status == .ok)
                #expect(thumb.headers[.contentType] == "image/webp")
                #expect(thumb.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(Array(Data(buffer: thumb.body).prefix(4)) == Array("RIFF".utf8))

                // On demand, from the allow-list: made once, then served from storage.
                let wide = try await client.execute(uri: "\(file.url)?w=640", method: .get)
                #expect(wide.status == .ok)
                let again = try await client.execute(uri: "\(file.url)?w=640", method: .get)
                #expect(again.headers[.eTag] == wide.headers[.eTag])
                let onDemand = try await plaza.files.variants(of: file.id).first { $0.name == "w640-h0-inside-webp" }
                #expect(onDemand.map { [$0.width, $0.height] } == [640, 427])
                #expect(try await plaza.files.variants(of: file.id).count == 3)

                // Each image has room for 16 sizes made on demand; the 17th is refused, the made ones still served.
                for width in [48, 64, 96, 128, 160, 200, 256, 320, 400, 480, 800, 960, 1024, 1280, 1600] {
                    #expect(try await client.execute(uri: "\(file.url)?w=\(width)", method: .get).status == .ok)
                }
                let full = try await client.execute(uri: "\(file.url)?w=1920", method: .get)
                #expect(full.status == .unprocessableContent)
                #expect(try await client.execute(uri: "\(file.url)?w=640", method: .get).status == .ok)

                let odd = try await client.execute(uri: "\(file.url)?w=333", method: .get)
                #expect(odd.status == .unprocessableContent)
                #expect(odd.headers[.contentType] == "application/problem+json")
                let noVariant = try await client.execute(uri: "\(file.url)/poster", method: .get)
                #expect(noVariant.status == .notFound)
            }
        }
    }

    @Test("EXIF orientation is applied and metadata stripped; a PNG avatar is accepted and cropped square")
    func orientation() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let rotated = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "avatar", name: "me.jpg", data: try fixture("rotated.jpg")))
                // Stored 800×600 with orientation 6: upright it is 600×800.
                #expect(rotated.width == 600 && rotated.height == 800)
                let upright = try await client.execute(uri: "\(rotated.url)?w=480&format=jpeg", method: .get)
                #expect(upright.status == .ok)
                #expect(upright.headers[.contentType] == "image/jpeg")
                let jpeg = Data(buffer: upright.body)
                #expect(Array(jpeg.prefix(2)) == [0xFF, 0xD8])
                #expect(jpeg.range(of: Data("Exif".utf8)) == nil)
                let made = try await plaza.files.variants(of: rotated.id).first { $0.name.hasPrefix("w480") }
                #expect(made.map { [$0.width, $0.height] } == [480, 640])

                let png = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "avatar", name: "me.png", data: try fixture("small.png")))
                #expect(png.contentType == "image/png")
                try await plaza.runPendingWork()
                let sizes = try await plaza.files.variants(of: png.id).map { [$0.width, $0.height] }
                #expect(sizes == [[256, 256], [64, 64]])
            }
        }
    }

    @Test("raw uploads stream the body with ?purpose=&name=; the Location names the file")
    func raw() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let bytes = try fixture("small.png")
                let response = try await client.execute(
                    uri: "/api/v1/files?purpose=attachment&name=plan.png", method: .post,
                    headers: [.authorization: "Bearer \(ada.token)", .contentType: "image/png"], body: ByteBuffer(data: bytes))
                #expect(response.status == .created)
                let file = try decode(StoredFile.self, response)
                #expect(response.headers[.location] == "/api/v1/files/\(file.id.uuidString.lowercased())")
                #expect(file.size == Int64(bytes.count))
                #expect(file.visibility == .private)
                let signedOut = try await client.execute(uri: "/api/v1/files?purpose=attachment", method: .post, body: ByteBuffer(data: bytes))
                #expect(signedOut.status == .unauthorized)
            }
        }
    }
}

@Suite("Avatars")
struct AvatarTests {
    @Test(
        "an avatar upload becomes the person's avatar through Identity; a new one replaces and deletes the old; erasing the account erases its files")
    func avatars() async throws {
        try await withFilesPlaza { plaza in
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let first = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "avatar", name: "a.png", data: TestImages.png(width: 120, height: 90)))
                #expect(first.entity == "user:\(ada.id.uuidString.lowercased())")
                #expect(try await plaza.identity.me(ada.id).avatarFileId == first.id)
                let second = try decode(
                    StoredFile.self, try await upload(client, ada, purpose: "avatar", name: "b.png", data: TestImages.png(width: 90, height: 120)))
                #expect(try await plaza.identity.me(ada.id).avatarFileId == second.id)
                #expect(try await client.execute(uri: first.url, method: .get).status == .notFound)
                #expect(try await plaza.fileCount() == 1)

                let photo = try decode(
                    StoredFile.self,
                    try await upload(client, ada, purpose: "notes-photo", name: "c.png", data: TestImages.png(width: 64, height: 64)))
                let deleted = try await client.execute(
                    uri: "/api/v1/files/\(second.id)", method: .delete, headers: [.authorization: "Bearer \(ada.token)"])
                #expect(deleted.status == .noContent)
                #expect(try await plaza.identity.me(ada.id).avatarFileId == nil)

                // The account is deleted and, after its grace period, erased: its files go with it.
                try await plaza.store.sql.raw("UPDATE identity_users SET status = 'deleted' WHERE id = \(bind: ada.id)").run()
                try await plaza.identity.purge(user: ada.id)
                try await plaza.runPendingWork()
                #expect(try await plaza.fileCount() == 0)
                #expect(try await client.execute(uri: photo.url, method: .get).status == .notFound)
                #expect(plaza.storedBlobs() == [])
            }
        }
    }
}
