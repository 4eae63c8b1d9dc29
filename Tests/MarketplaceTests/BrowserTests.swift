import Foundation
import Identity
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace in a real browser", .timeLimit(.minutes(5)))
struct BrowserTests {
    @Test("two Chromium sessions, customer and provider: request, acceptance, chat and completion arrive live on the other side")
    func twoBrowsers() async throws {
        try #require(PythonPeer.isInstalled, "run scripts/deps.sh test to install selenium into .venv")
        try #require(FileManager.default.fileExists(atPath: "/usr/bin/chromedriver"), "run scripts/deps.sh test to install chromium-driver")
        try await withTestPlaza(
            apps: marketplace,
            configure: {
                $0.edge.rateLimits = []; $0.jobs.pollInterval = .milliseconds(50)
            }
        ) { plaza in
            #expect(try await Demo.seed(plaza))
            try await plaza.dispatcher.broadcastFromNow()
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                let shots = PythonPeer.repository.appendingPathComponent(".build/screenshots/marketplace").path
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await plaza.dispatcher.run() }
                    let run = try await PythonPeer.run([
                        PythonPeer.script("browser_marketplace.py"), "http://127.0.0.1:\(port)", IdentityDemo.email(for: "customer"),
                        IdentityDemo.email(for: "provider"), IdentityDemo.password, shots,
                    ])
                    #expect(run.status == 0 && run.output.contains("\nok"), "\(run.output)")
                    group.cancelAll()
                }
            }
        }
    }
}
