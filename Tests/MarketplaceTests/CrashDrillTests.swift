import Foundation
import Identity
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What the drill's clients saw: the request id each key was answered with, and the keys that got no answer.
final class DrillLedger: Sendable {
    let answered = Mutex<[String: String]>([:])
    let unanswered = Mutex<Set<String>>([])
    /// Keys answered with anything but 201 (before the kill there should be none).
    let refused = Mutex<[String: Int]>([:])
}

/// The idempotency crash drill of P8: customers create marketplace requests with `Idempotency-Key`s against a real
/// `plaza serve`, which is killed with SIGKILL under that load and started again on the same database. Every key
/// that got no answer is retried once the takeover window has passed; every key must end with exactly one request,
/// and every acknowledged request must be there, with its first answer replayed.
@Suite(
    "Idempotency keys survive a killed server", .timeLimit(.minutes(5)),
    .enabled(if: FileManager.default.fileExists(atPath: ServerProcess.binary.path)))
struct CrashDrillTests {
    struct Reply {
        var status: Int
        var id: String?
    }

    static func post(_ url: String, token: String, key: String, body: Data) async -> Reply? {
        var request = URLRequest(url: URL(string: url + "/api/v1/marketplace/requests")!, timeoutInterval: 20)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue(key, forHTTPHeaderField: "Idempotency-Key")
        guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else { return nil }
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return Reply(status: http.statusCode, id: object?["id"] as? String)
    }

    static func signIn(_ url: String) async throws -> String {
        var request = URLRequest(url: URL(string: url + "/api/v1/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "email": IdentityDemo.email(for: "customer"), "password": IdentityDemo.password,
        ])
        let (data, _) = try await URLSession.shared.data(for: request)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
        return try #require(object["accessToken"] as? String)
    }

    @Test(
        "SIGKILL under 16 clients creating requests with keys: after the restart and the takeover window, exactly one request per key, every acknowledged one kept and replayed"
    )
    func killedUnderLoad() async throws {
        let shared = try await SharedDatabase.make(
            apps: marketplace,
            settings: [
                "PLAZA_IDEMPOTENCY_TAKEOVER_SECONDS": "2", "PLAZA_RATE_LIMITS": "/api/=1000000/min", "PLAZA_LOG_LEVEL": "error",
            ])
        let (plaza, settings) = (shared.plaza, shared.settings)
        do {
            _ = try await Demo.seed(plaza)
            let customer = try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "customer"))).id
            let providerUser = try #require(try await plaza.identity.contact(email: IdentityDemo.email(for: "provider"))).id
            let provider = try await plaza.marketplace.myProvider(caller: Caller(principal: Principal(id: providerUser)))
            let category = try #require(provider.offers.first?.categoryId)
            let body = try JSONSerialization.data(withJSONObject: [
                "categoryId": category.uuidString, "providerId": provider.id.uuidString, "description": "The tap drips.",
                "address": "Khreshchatyk 1", "lat": 50.45, "lng": 30.52,
            ])
            let requests = { @Sendable in
                try await plaza.store.sql.raw("SELECT id FROM marketplace_requests WHERE customer_id = \(bind: customer)").all()
                    .map { try $0.decode(column: "id", as: UUID.self).uuidString.lowercased() }
            }
            let before = Set(try await requests())

            let ledger = DrillLedger()
            let first = try await ServerProcess(settings: settings)
            let token = try await Self.signIn(first.url)
            let url = first.url
            // 16 clients, each creating requests one after another with a new key each, until the server dies.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        while true {
                            let key = UUID().uuidString
                            guard let reply = await Self.post(url, token: token, key: key, body: body) else {
                                ledger.unanswered.withLock { _ = $0.insert(key) }
                                return
                            }
                            guard reply.status == 201, let id = reply.id else {
                                ledger.refused.withLock { $0[key] = reply.status }
                                return
                            }
                            ledger.answered.withLock { $0[key] = id.lowercased() }
                        }
                    }
                }
                // Kill while all sixteen are in the middle of a request, once enough were answered.
                let deadline = ContinuousClock.now + .seconds(60)
                while ledger.answered.withLock({ $0.count }) < 150, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                first.kill()
                try await group.waitForAll()
            }
            let answered = ledger.answered.withLock { $0 }
            let unanswered = ledger.unanswered.withLock { $0 }
            #expect(answered.count >= 150, "the load ran: \(answered.count) answered")
            #expect(ledger.refused.withLock { $0 }.isEmpty, "no request was refused before the kill: \(ledger.refused.withLock { $0 })")
            #expect(unanswered.count == 16, "each client had a request in flight when the server died")

            let second = try await ServerProcess(settings: settings)
            defer { second.stop() }
            let secondToken = try await Self.signIn(second.url)
            // Every unanswered key, and a sample of answered ones, until it is no longer in progress (a key whose
            // request never finished answers 409 until the takeover window has passed).
            var finals: [String: String] = [:]
            let retried = Array(unanswered) + Array(answered.keys.prefix(20))
            for key in retried {
                var reply: Reply?
                let deadline = ContinuousClock.now + .seconds(30)
                repeat {
                    reply = await Self.post(second.url, token: secondToken, key: key, body: body)
                    if reply?.status == 409 { try await Task.sleep(for: .milliseconds(200)) }
                } while reply?.status == 409 && ContinuousClock.now < deadline
                #expect(reply?.status == 201, "\(key): \(String(describing: reply))")
                finals[key] = reply?.id?.lowercased()
            }
            for (key, id) in answered where finals[key] != nil {
                #expect(finals[key] == id, "an acknowledged key replays its first answer")
            }

            let after = Set(try await requests()).subtracting(before)
            let expected = Set(answered.values).union(unanswered.compactMap { finals[$0] })
            #expect(Set(answered.values).isSubset(of: after), "every acknowledged request survived the kill")
            #expect(
                after == expected,
                """
                exactly one request per key: \(after.count) created for \(answered.count + unanswered.count) keys; \
                extra: \(after.subtracting(expected).sorted()), missing: \(expected.subtracting(after).sorted())
                """
            )
            #expect(after.count == answered.count + unanswered.count)
        } catch {
            await shared.close()
            throw error
        }
        await shared.close()
    }
}
