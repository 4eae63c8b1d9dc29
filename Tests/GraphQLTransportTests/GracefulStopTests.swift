import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import GraphQL
import Hummingbird
import HummingbirdTesting
import PlazaKit
import Synchronization
import Testing

@testable import GraphQLTransport

/// The smallest context GraphQL's routes need, for a server of their own.
struct GraphQLTestContext: PlazaRequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID = ""
    var principal: Principal?
    var client = ClientInfo()
    var uploadLimit = 64 * 1024
    let peerAddress: String? = nil
    let authorizationTrace = AuthorizationTrace()
    init(source: ApplicationRequestContextSource) { coreContext = .init(source: source) }
    var maxUploadSize: Int { uploadLimit }
}

/// This suite's own stuck resolvers: the limits suite's deadline test, running beside it, has its own.
let stuckDuringStop = Mutex<[CheckedContinuation<Void, Never>]>([])

@Suite("GraphQL and a graceful stop")
struct GracefulStopTests {
    /// A schema of one field that never returns and ignores cancellation.
    static func hangingExecutor(timeout: Duration) throws -> GraphQLExecutor {
        let query = try GraphQLObjectType(
            name: "Query",
            fields: [
                "hang": GraphQLField(
                    type: GraphQLString,
                    resolve: { _, _, _, _ in
                        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                            stuckDuringStop.withLock { $0.append(continuation) }
                        }
                        return "never"
                    })
            ])
        var limits = GraphQLLimits()
        limits.timeout = timeout
        return GraphQLExecutor(schema: try GraphQLSchema(query: query), rootValue: (), costs: [:], limits: limits)
    }

    @Test(
        "a graceful stop (what SIGTERM starts) while a resolver hangs ends at the request's deadline, and the request is answered 503",
        .timeLimit(.minutes(1)))
    func stopsWhileAResolverHangs() async throws {
        let deadline = Duration.seconds(2)
        let router = Router(context: GraphQLTestContext.self)
        GraphQLRoutes<GraphQLTestContext>(executor: try Self.hangingExecutor(timeout: deadline), summary: "tests").table.endpoints.forEach {
            router.on(RouterPath($0.routerPath), method: $0.method, use: $0.handler)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let stuckBefore = stuckDuringStop.withLock { $0.count }
        let clock = ContinuousClock()
        // The hanging request goes through a client of its own: the test client is closed before the server stops.
        let (asked, stopAsked) = try await app.test(.live) { client -> (Task<Int, any Error>, ContinuousClock.Instant) in
            let port = try #require(client.port)
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/graphql")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"query":"{ hang }"}"#.utf8)
            let asked = Task {
                let (_, response) = try await URLSession.shared.data(for: request)
                return (response as? HTTPURLResponse)?.statusCode ?? 0
            }
            // The stop is asked for once the resolver is stuck, not after a guessed pause.
            while stuckDuringStop.withLock({ $0.count }) == stuckBefore { try await Task.sleep(for: .milliseconds(10)) }
            return (asked, clock.now)
        }
        let stopped = clock.now - stopAsked
        #expect(try await asked.value == 503, "the request in flight was answered at its deadline, not cut off")
        // Bounded, not timed: without the deadline the stop never ends. A full pass on two cores has delayed the
        // answer by seconds (the task pool busy elsewhere), so the bound is generous.
        #expect(stopped < deadline + .seconds(30), "the stop took \(stopped)")
    }
}
