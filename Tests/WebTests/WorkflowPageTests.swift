import Foundation
import Hummingbird
import HummingbirdTesting
import Identity
import PlazaKit
import PlazaServer
import PlazaTesting
import Synchronization
import Testing
import Workflows

@Suite("Workflow admin pages")
struct WorkflowPageTests {
    @Test("operators find instances, read one with its diagram and history, retry and reset a failed activity and cancel; customers are refused")
    func workflowPages() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            try await seedDemo(plaza)
            try plaza.workflows.register(
                WorkflowDefinition(
                    name: "page.sample", initial: "waiting", states: ["waiting", "sent", "done"], final: ["done"],
                    transitions: [
                        .init(
                            "send", from: ["waiting"], to: "sent", guard: WorkflowPolicy.operate,
                            activities: [ActivitySpec("page.call", retry: RetryPolicy(maxAttempts: 1))]),
                        .init("finish", from: ["sent"], to: "done", guard: WorkflowPolicy.operate),
                    ]))
            let works = Mutex(false)
            try plaza.workflows.registerActivity("page.call") { _ in
                if !works.withLock({ $0 }) { throw ActivityFailure.permanent("the <partner> said 503") }
            }
            let system = Caller(principal: TestAuthentication.principal(header: TestAuthentication.header(roles: ["operator"])))
            let (failing, quiet) = try await plaza.store.transaction { transaction in
                (
                    try await plaza.workflows.start("page.sample", subject: "order:7", owner: nil, caller: system, in: transaction),
                    try await plaza.workflows.start("page.sample", subject: "order:8", owner: nil, caller: system, in: transaction)
                )
            }
            try await plaza.workflows.send("send", to: failing.id, comment: "sent by hand", caller: system)
            try await plaza.runPendingWork()

            try await plaza.testApplication().test(.router) { client in
                let browser = Browser(client)
                _ = try await signIn(browser, email: IdentityDemo.email(for: "operator"), password: IdentityDemo.password)
                let list = try await browser.get("/admin/workflows?definition=page.sample&failed=true")
                #expect(list.status == .ok)
                #expect(list.text.contains("/admin/workflows/\(failing.id.uuidString.lowercased())"))
                #expect(!list.text.contains(quiet.id.uuidString.lowercased()), "only the failed one")
                #expect(list.text.contains("the &lt;partner&gt; said 503"), "escaped")
                #expect(list.text.contains(#"href="/admin/workflows">Workflows</a>"#), "in the operators' navigation")
                let bad = try await browser.get("/admin/workflows?idleMinutes=soon")
                #expect(bad.status == .unprocessableContent)
                #expect(bad.text.contains("idleMinutes"))

                var page = try await browser.get("/admin/workflows/\(failing.id.uuidString.lowercased())")
                #expect(page.status == .ok)
                #expect(page.text.contains("<svg") && page.text.contains(#"class="state current""#))
                #expect(page.text.contains("sent by hand"))
                #expect(page.text.contains("page.call") && page.text.contains("Failed"))
                let activity = try #require(try await plaza.workflows.activities(of: failing.id).first)

                let retried = try await browser.post("/admin/workflows/activities/\(activity.id.uuidString.lowercased())/retry", [])
                #expect(retried.location == "/admin/workflows/\(failing.id)?notice=activity-retried")
                try await plaza.runPendingWork()
                #expect(try await plaza.workflows.activities(of: failing.id).first?.attempts == 2, "one more attempt, failed again")

                works.withLock { $0 = true }
                page = try await browser.get("/admin/workflows/\(failing.id.uuidString.lowercased())")
                let reset = try await browser.post("/admin/workflows/activities/\(activity.id.uuidString.lowercased())/reset", [])
                #expect(reset.location == "/admin/workflows/\(failing.id)?notice=activity-reset")
                try await plaza.runPendingWork()
                page = try await browser.get(reset.location ?? "")
                #expect(page.text.contains("fresh set of attempts"))
                #expect(page.text.contains("Succeeded"))

                let noReason = try await browser.post("/admin/workflows/\(quiet.id.uuidString.lowercased())/cancel", [("reason", "")])
                #expect(noReason.status == .unprocessableContent)
                #expect(noReason.text.contains("reason"))
                let cancelled = try await browser.post("/admin/workflows/\(quiet.id.uuidString.lowercased())/cancel", [("reason", "ordered twice")])
                #expect(cancelled.location == "/admin/workflows/\(quiet.id)?notice=workflow-cancelled")
                page = try await browser.get(cancelled.location ?? "")
                #expect(page.text.contains("ordered twice") && page.text.contains("operator.cancel"))
                let twice = try await browser.post("/admin/workflows/\(quiet.id.uuidString.lowercased())/cancel", [("reason", "again")])
                #expect(twice.status == .conflict)
                #expect(try await browser.get("/admin/workflows/\(UUID())").status == .notFound)

                let customer = Browser(client)
                _ = try await signIn(customer, email: IdentityDemo.email(for: "customer"), password: IdentityDemo.password)
                #expect(try await customer.get("/admin/workflows").status == .forbidden)
                #expect(!(try await customer.get("/account").text.contains("/admin/workflows")))
            }
        }
    }
}
