import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Jobs
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Notifications

let operatorHeader: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: ["operator"]), .contentType: "application/json"]
let adminHeader: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: ["admin"]), .contentType: "application/json"]

struct ItemPage<Item: Decodable>: Decodable { var items: [Item]; var nextCursor: String? }

func drain(_ plaza: Plaza) async throws { try await plaza.runPendingWork() }

/// Drains repeatedly (real time passes, for retries with backoff) until `condition` holds or `limit` passes.
func eventually(_ plaza: Plaza, within limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        try await drain(plaza)
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Every delivery the operators' API lists (all pages) for a filter.
func deliveries(_ plaza: Plaza, _ query: DeliveryQuery = .init()) async throws -> [NotificationDelivery] {
    var all: [NotificationDelivery] = []
    var page = PageRequest(limit: 100)
    let caller = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["operator"])))
    while true {
        let result = try await plaza.notifications.deliveries(query, page: page, caller: caller)
        all += result.items
        guard let next = result.nextCursor else { return all }
        page = PageRequest(limit: 100, cursor: next)
    }
}

/// A self-signed certificate for 127.0.0.1 (openssl), for the TLS mail server.
struct TestCertificate {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }

    static func make() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-tls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.appendingPathComponent("key.pem").path,
            "-out", directory.appendingPathComponent("cert.pem").path, "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CertificateFailed() }
        return TestCertificate(directory: directory)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
    struct CertificateFailed: Error {}
}

/// A started `smtp_server.py` and the mails it printed.
struct MailServer {
    let peer: PythonPeer.Running
    let port: Int

    static func start(port: Int = ServerProcess.freePort(), arguments: [String] = []) async throws -> MailServer {
        let peer = try PythonPeer.start([PythonPeer.script("smtp_server.py"), "--port", "\(port)"] + arguments)
        guard try await peer.waitFor("\"ready\"") else {
            let output = peer.output
            peer.stop()
            throw PeerFailed(output: output)
        }
        return MailServer(peer: peer, port: port)
    }

    var mails: [[String: Any]] { peer.jsonLines("mail") }
    func mails(to address: String) -> [[String: Any]] { mails.filter { ($0["to"] as? [String]) == [address] } }
    func stop() { peer.stop() }

    struct PeerFailed: Error, CustomStringConvertible {
        var output: String
        var description: String { "the peer did not start:\n\(output)" }
    }
}
