import Foundation
import Jobs
import PlazaKit
import Storage
import Synchronization

/// Something that can change what a provider search answers happened (a profile, its offers, its rating,
/// the category tree). Every instance hears it (a broadcast) and forgets its cached results; the one
/// that made the change forgets them at its commit.
public struct ProviderChanged: DomainEvent {
    public static let topic = "marketplace.provider.changed"
    /// Nil when the change is not about one provider (the category tree).
    public var providerId: UUID?
}

/// Recent provider searches and their answers (seed 001's Redis role), kept at most `lifetime` and dropped
/// whole when ``ProviderChanged`` says a result may differ. A search that began before such a change does
/// not store its (possibly stale) answer: the generation it started under has passed.
final class SearchCache: Sendable {
    static let capacity = 2_000

    struct Entry: Sendable {
        var at: Date
        var page: Page<ProviderSummary>
        /// The page as the REST API sends it, encoded once.
        var json: Data
    }

    let lifetime: TimeInterval
    private let state = Mutex<(generation: Int, entries: [String: Entry])>((0, [:]))

    init(lifetime: TimeInterval) {
        self.lifetime = lifetime
    }

    var enabled: Bool { lifetime > 0 }

    var generation: Int { state.withLock { $0.generation } }

    func get(_ key: String, now: Date) -> Entry? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard now.timeIntervalSince(entry.at) < lifetime, entry.at <= now else {
                state.entries[key] = nil
                return nil
            }
            return entry
        }
    }

    func put(_ key: String, _ entry: Entry, generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = entry
        }
    }

    func invalidate() {
        state.withLock { state in
            state.generation += 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}

extension ProviderQuery {
    /// Every field, in a fixed order: equal queries, equal keys.
    var cacheKey: String {
        [
            text ?? "", categoryId?.uuidString ?? "", lat.map { "\($0)" } ?? "", lng.map { "\($0)" } ?? "", radiusKm.map { "\($0)" } ?? "",
            minRating.map { "\($0)" } ?? "", availableAt.map { "\($0.timeIntervalSince1970)" } ?? "", sort.rawValue, "\(page.limit)",
            page.cursor ?? "",
        ].joined(separator: "|")
    }
}

extension MarketplaceService {
    /// A search, from the cache when it was asked lately and nothing has changed since.
    func cachedSearch(_ query: ProviderQuery) async throws -> SearchCache.Entry {
        let now = store.clock.now()
        let key = query.cacheKey
        if let hit = searchCache.get(key, now: now) { return hit }
        let generation = searchCache.generation
        let page = try await searchProviders(query)
        let entry = SearchCache.Entry(at: now, page: page, json: try PlazaJSON.responseBody(page))
        if searchCache.enabled { searchCache.put(key, entry, generation: generation) }
        return entry
    }

    /// Says in the transaction that search results may change; the cache here forgets them at commit, other
    /// instances when the event reaches them.
    func searchChanged(provider: UUID?, caller: Caller?, in transaction: Transaction) async throws {
        try await outbox.append(ProviderChanged(providerId: provider), key: provider?.uuidString, caller: caller, in: transaction)
        let (cache, categories) = (searchCache, categoryCache)
        // The tree first: a search between the two would expand with the old tree under the new generation.
        transaction.onCommit {
            categories.drop()
            cache.invalidate()
        }
    }
}
