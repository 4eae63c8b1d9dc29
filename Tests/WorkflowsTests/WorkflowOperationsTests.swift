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

@testable import Workflows

struct InstancePage: Decodable { var items: [WorkflowInstance]; var nextCursor: String? }

@Suite("Workflow operations over HTTP")
struct WorkflowOperationsTests {
    @Test("operators list and filter instances, read one with its history, reset a failed activity and cancel an instance; others may not")
    func operations() async throws {
        try await withTestPlaza(configure: { $0.edge.rateLimits = [] }) { plaza in
            let definition = WorkflowDefinition(
                name: "ops.sample", initial: "a", states: ["a", "b", "c"], final: ["c"],
                transitions: [
                    .init(
                        "go", from: ["a"], to: "b", guard: WorkflowPolicy.operate,
                        activities: [ActivitySpec("ops.call", retry: RetryPolicy(maxAttempts: 1))]),
                    .init("finish", from: ["b"], to: "c", guard: WorkflowPolicy.operate),
                ])
            try plaza.workflows.register(definition)
            let works = Mutex(false)
            try plaza.workflows.registerActivity("ops.call") { _ in
                if !works.withLock({ $0 }) { throw ActivityFailure.permanent("the partner's API said 503") }
            }
            let operatorHeader = TestAuthentication.header(roles: ["operator"])
            let operatorCaller = Caller(principal: TestAuthentication.principal(header: operatorHeader))
            let (first, second) = try await plaza.store.transaction { transaction in
                (
                    try await plaza.workflows.start("ops.sample", owner: nil, caller: operatorCaller, in: transaction),
                    try await plaza.workflows.start("ops.sample", owner: nil, caller: operatorCaller, in: transaction)
                )
            }
            try await plaza.workflows.send("go", to: first.id, caller: operatorCaller)
            try await plaza.runPendingWork()

            try await plaza.testApplication().test(.router) { client in
                let headers: HTTPFields = [.testPrincipal: operatorHeader, .contentType: "application/json"]
                func list(_ query: String) async throws -> [UUID] {
                    let response = try await client.execute(uri: "/api/v1/workflows?\(query)", method: .get, headers: headers)
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    return try decode(InstancePage.self, response).items.map(\.id)
                }
                #expect(try await list("definition=ops.sample") == [second.id, first.id])
                #expect(try await list("failed=true") == [first.id])
                #expect(try await list("state=a") == [second.id])
                let paged = try decode(InstancePage.self, try await client.execute(uri: "/api/v1/workflows?limit=1", method: .get, headers: headers))
                #expect(paged.items.count == 1 && paged.nextCursor != nil)

                let detail = try decode(
                    WorkflowDetail.self, try await client.execute(uri: "/api/v1/workflows/\(first.id)", method: .get, headers: headers))
                #expect(detail.instance.failure == "ops.call: the partner's API said 503")
                #expect(detail.history.map(\.command) == ["start", "go"])
                #expect(detail.activities.map(\.status) == [.failed])
                #expect(detail.diagram?.contains("a --> b: go") == true)

                works.withLock { $0 = true }
                let reset = try await client.execute(
                    uri: "/api/v1/workflows/activities/\(detail.activities[0].id)/reset", method: .post, headers: headers)
                #expect(reset.status == .accepted)
                try await plaza.runPendingWork()
                let healed = try decode(
                    WorkflowDetail.self, try await client.execute(uri: "/api/v1/workflows/\(first.id)", method: .get, headers: headers))
                #expect(healed.activities.map(\.status) == [.succeeded] && healed.instance.failure == nil)
                #expect(try await list("failed=true") == [])

                let noReason = try await client.execute(
                    uri: "/api/v1/workflows/\(second.id)/cancel", method: .post, headers: headers, body: json(["reason": " "]))
                #expect(noReason.status == .unprocessableContent)
                let cancelled = try await client.execute(
                    uri: "/api/v1/workflows/\(second.id)/cancel", method: .post, headers: headers, body: json(["reason": "customer asked by phone"]))
                #expect(cancelled.status == .ok)
                #expect(try decode(WorkflowInstance.self, cancelled).cancelledAt != nil)
                let twice = try await client.execute(
                    uri: "/api/v1/workflows/\(second.id)/cancel", method: .post, headers: headers, body: json(["reason": "again"]))
                #expect(twice.status == .conflict)
                let late = await #expect(throws: PlazaError.self) { try await plaza.workflows.send("go", to: second.id, caller: operatorCaller) }
                #expect(late?.status == .conflict)
                let history = try await plaza.workflows.history(second.id)
                #expect(history.last?.command == "operator.cancel" && history.last?.comment == "customer asked by phone")

                #expect(try await client.execute(uri: "/api/v1/workflows/\(UUID())", method: .get, headers: headers).status == .notFound)
                #expect(
                    try await client.execute(uri: "/api/v1/workflows?failed=maybe", method: .get, headers: headers).status == .unprocessableContent)
                let customer: HTTPFields = [.testPrincipal: TestAuthentication.header(roles: [])]
                #expect(try await client.execute(uri: "/api/v1/workflows", method: .get, headers: customer).status == .forbidden)
                #expect(try await client.execute(uri: "/api/v1/workflows", method: .get).status == .unauthorized)
            }
        }
    }
}
