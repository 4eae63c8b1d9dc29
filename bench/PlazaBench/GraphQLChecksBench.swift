import Foundation
import Graphiti
import GraphQL
import GraphQLTransport
import Marketplace
import PlazaKit
import PlazaServer

/// What GraphQLTransport's checks cost: the same provider search run through Graphiti's plain path (parse,
/// validate, execute — what `/graphql` did before the limits) and through ``GraphQLExecutor`` (bounds, parse,
/// measure, NUL walk, validate without introspection, execute under a deadline), interleaved in rounds, in one
/// process. The search answers from the marketplace's cache after the first call, so the checks are measured
/// against the cheapest execution there is — the worst case for their share.
enum GraphQLChecksBench {
    static func run(_ plaza: Plaza, category: UUID, requests: Int, rounds: Int) async throws -> String {
        let api = try MarketplaceGraphQL(service: plaza.marketplace)
        let executor = api.executor(limits: plaza.config.graphQL)
        let query = """
            { providers(category: "\(category)", lat: 50.45, lng: 30.52, radiusKm: 5, limit: 20) { items { id displayName \
            distanceKm rating ratingCount } nextCursor } }
            """
        let request = GraphQLRequest(query: query)
        let caller = Caller(principal: nil)
        // Both paths answer the same (and warm the cache).
        let plain = try await api.execute(request: request, context: GraphQLContext(caller: caller))
        let checked = try await executor.execute(request, caller: caller)
        guard plain.errors.isEmpty, checked.errors.isEmpty, plain.data == checked.data else {
            return "graphql-checks error: the two paths answer differently: \(plain.errors) \(checked.errors)"
        }
        var plainTimes: [Double] = []
        var checkedTimes: [Double] = []
        for _ in 0..<rounds {
            var start = ContinuousClock.now
            for _ in 0..<requests { _ = try await api.execute(request: request, context: GraphQLContext(caller: caller)) }
            plainTimes.append((ContinuousClock.now - start).timeInterval / Double(requests) * 1e6)
            start = ContinuousClock.now
            for _ in 0..<requests { _ = try await executor.execute(request, caller: caller) }
            checkedTimes.append((ContinuousClock.now - start).timeInterval / Double(requests) * 1e6)
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] }
        let (before, after) = (median(plainTimes), median(checkedTimes))
        let spread = { (values: [Double]) in String(format: "%.0f–%.0f", values.min()!, values.max()!) }
        return String(
            format: "graphql-checks plain=%.1fus checked=%.1fus overhead=%.1f%% rounds=%@ / %@", before, after, (after / before - 1) * 100,
            spread(plainTimes), spread(checkedTimes))
    }
}
