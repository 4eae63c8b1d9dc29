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

@Suite("AWS Signature V4")
struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    @Test("AWS's S3 example: GET /test.txt with a Range header signs to the published signature")
    func s3Example() {
        let signer = SigV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: Self.secret, region: "us-east-1")
        let headers = signer.sign(
            method: "GET", path: "/test.txt", headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
            payloadSHA256: SigV4.emptyPayload, date: date("2013-05-24T00:00:00Z"))
        let authorization = headers.first { $0.0 == "Authorization" }?.1
        #expect(
            authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test("AWS's general example: IAM ListUsers signs to the published signature")
    func iamExample() {
        let signer = SigV4(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "iam")
        let headers = signer.sign(
            method: "GET", path: "/", query: [("Action", "ListUsers"), ("Version", "2010-05-08")],
            headers: [("host", "iam.amazonaws.com"), ("content-type", "application/x-www-form-urlencoded; charset=utf-8")],
            payloadSHA256: SigV4.emptyPayload, date: date("2015-08-30T12:36:00Z"))
        let authorization = headers.first { $0.0 == "Authorization" }?.1
        #expect(authorization?.hasSuffix("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7") == true)
    }

    @Test("bad S3 URLs are refused with a reason")
    func locations() throws {
        let good = try S3BlobStore.Location(url: "http://key:se%2Fcret@127.0.0.1:9000/plaza?region=eu-central-1")
        #expect(good.endpoint == "http://127.0.0.1:9000" && good.bucket == "plaza" && good.region == "eu-central-1")
        #expect(good.secretKey == "se/cret")
        #expect(throws: S3BlobStore.S3Error.self) { try S3BlobStore.Location(url: "ftp://k:s@host/bucket") }
        #expect(throws: S3BlobStore.S3Error.self) { try S3BlobStore.Location(url: "http://host/bucket") }
        #expect(throws: S3BlobStore.S3Error.self) { try S3BlobStore.Location(url: "http://k:s@host/") }
    }
}

@Suite("Files in an S3-compatible store (moto's server)", .enabled(if: PythonPeer.isInstalled))
struct S3StoreTests {
    @Test("upload, variants, ranges and deletion through the S3 backend")
    func roundTrip() async throws {
        let port = ServerProcess.freePort()
        let moto = try PythonPeer.start(["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)])
        defer { moto.stop() }
        for _ in 0..<100 where !ServerProcess.isListening(port) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(ServerProcess.isListening(port), "moto did not start: \(moto.output)")
        let location = try S3BlobStore.Location(url: "http://plaza:plaza-secret@127.0.0.1:\(port)/plaza-files?region=eu-central-1")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-s3-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await S3BlobStore(location: location, stagingDirectory: directory).createBucket()

        try await withTestPlaza(
            apps: [NotesApp.self],
            configure: {
                $0.filesDirectory = directory.path
                $0.filesS3 = location
                $0.edge.rateLimits = []
            }
        ) { plaza in
            #expect(plaza.files.blobs is S3BlobStore)
            let ada = try await person(plaza, "ada@example.com")
            try await plaza.testApplication().test(.router) { client in
                let bytes = try fixture("landscape.jpg")
                let file = try decode(StoredFile.self, try await upload(client, ada, purpose: "notes-photo", name: "a.jpg", data: bytes))
                try await plaza.runPendingWork()
                let sizes = Dictionary(uniqueKeysWithValues: try await plaza.files.variants(of: file.id).map { ($0.name, [$0.width, $0.height]) })
                #expect(sizes == ["thumb": [320, 240], "large": [1200, 800]])
                // Nothing stays on local disk but the (empty) staging directory.
                #expect(plaza.storedBlobs() == [])

                let whole = try await client.execute(uri: file.url, method: .get)
                #expect(Data(buffer: whole.body) == bytes)
                let part = try await client.execute(uri: file.url, method: .get, headers: [.range: "bytes=100-199"])
                #expect(part.status == .partialContent)
                #expect(Data(buffer: part.body) == bytes.dropFirst(100).prefix(100))
                let thumb = try await client.execute(uri: try #require(file.variants["thumb"]), method: .get)
                #expect(Array(Data(buffer: thumb.body).prefix(4)) == Array("RIFF".utf8))

                let key = FileService.originalKey(file.id)
                // The bucket lists what the records name; a young stray object is left for a day, in case its record is being written.
                #expect(try await plaza.files.blobs.list(prefix: "originals/").map(\.key) == [key])
                #expect(try await plaza.files.blobs.list(prefix: "variants/").count == 2)
                let stray = directory.appendingPathComponent("stray.bin")
                try Data("stray".utf8).write(to: stray)
                try await plaza.files.blobs.put("originals/zz/stray", from: stray, size: 5, sha256: "", contentType: "application/octet-stream")
                #expect(try await plaza.files.sweep().strayBlobs == 0)
                #expect(try await plaza.files.blobs.list(prefix: "originals/").count == 2)
                let deleted = try await client.execute(
                    uri: "/api/v1/files/\(file.id)", method: .delete, headers: [.authorization: "Bearer \(ada.token)"])
                #expect(deleted.status == .noContent)
                // The object is gone from the bucket, not only the record.
                await #expect(throws: S3BlobStore.S3Error.self) { _ = try await plaza.files.blobs.read(key, range: 0...9) }
            }
        }
    }
}
