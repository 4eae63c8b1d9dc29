import Foundation
import PlazaServer
import Storage

/// Takes per second under contention: `takers` concurrent takers (`concurrency` in flight at once, each its own
/// transaction) for a count stock and for a stock of named seats of `units` each; every take asks for one.
/// Checks that exactly `units` were taken of each and that every other taker was refused.
enum StockBench {
    static func run(_ plaza: Plaza, takers: Int, units: Int, concurrency: Int) async throws -> String {
        let stocks = Stocks(store: plaza.store)
        let run = UUID().uuidString.prefix(8)
        let count = "bench.count:\(run)"
        let seats = "bench.seats:\(run)"
        let names = (0..<units).map { "S\($0)" }
        try await plaza.store.transaction { transaction in
            try await stocks.create(count, quantity: units, in: transaction)
            try await stocks.create(seats, units: names, in: transaction)
        }
        func contend(_ take: @escaping @Sendable (Int, Transaction) async throws -> Void) async throws -> (seconds: Double, won: Int, refused: Int) {
            let start = ContinuousClock.now
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                var results: [Bool] = []
                for taker in 0..<takers {
                    if taker >= concurrency, let result = try await group.next() { results.append(result) }
                    group.addTask {
                        do {
                            try await plaza.store.transaction { try await take(taker, $0) }
                            return true
                        } catch is StockRefusal { return false }
                    }
                }
                for try await result in group { results.append(result) }
                return results
            }
            let seconds = (ContinuousClock.now - start).timeInterval
            return (seconds, outcomes.filter { $0 }.count, outcomes.filter { !$0 }.count)
        }
        let counted = try await contend { _, transaction in try await stocks.take(1, from: count, in: transaction) }
        let seated = try await contend { taker, transaction in try await stocks.take(units: [names[taker % units]], from: seats, in: transaction) }
        guard counted.won == units, seated.won == units, counted.refused == takers - units, seated.refused == takers - units else {
            throw BenchFailure("stock: \(counted.won) and \(seated.won) taken of \(units) each")
        }
        return "count=\(Int(Double(takers) / counted.seconds)) seats=\(Int(Double(takers) / seated.seconds))"
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
