import Foundation
import PlazaKit
import PlazaTesting
import SQLKit
import Storage
import Testing

@Suite("Stocks")
struct StockTests {
    /// Runs `body` in a transaction and gives back its refusal, if it was refused.
    func refusal(_ store: Store, _ body: @escaping @Sendable (Transaction) async throws -> Void) async throws -> StockRefusal? {
        do {
            try await store.transaction(body)
            return nil
        } catch let refusal as StockRefusal {
            return refusal
        }
    }

    @Test("a count stock gives what remains and then refuses, saying how many are left")
    func countStock() async throws {
        try await TestDatabase.withStore { store in
            let stocks = Stocks(store: store)
            try await store.transaction { try await stocks.create("test.launch:1", quantity: 5, in: $0) }
            try await store.transaction { try await stocks.take(2, from: "test.launch:1", reference: "booking-1", in: $0) }
            #expect(
                try await refusal(store) { try await stocks.take(4, from: "test.launch:1", in: $0) }
                    == .notEnough(key: "test.launch:1", requested: 4, available: 3))
            try await store.transaction { try await stocks.take(3, from: "test.launch:1", in: $0) }
            #expect(
                try await refusal(store) { try await stocks.take(1, from: "test.launch:1", in: $0) }
                    == .notEnough(key: "test.launch:1", requested: 1, available: 0))
            #expect(
                try await stocks.level("test.launch:1") == StockLevel(key: "test.launch:1", kind: .count, total: 5, available: 0, held: 0, taken: 5))
            // A delivery adds; withdrawing more than is available is refused and changes nothing.
            try await store.transaction { try await stocks.adjust("test.launch:1", by: 2, in: $0) }
            #expect(
                try await refusal(store) { try await stocks.adjust("test.launch:1", by: -3, in: $0) }
                    == .notEnough(key: "test.launch:1", requested: 3, available: 2))
            #expect(try await stocks.level("test.launch:1").available == 2)
            // Bad input is a validation error, a second stock of the same key a conflict, an unknown key its own refusal.
            await #expect(throws: PlazaError.self) { try await store.transaction { try await stocks.take(0, from: "test.launch:1", in: $0) } }
            await #expect(throws: PlazaError.self) { try await store.transaction { try await stocks.create("test.launch:1", quantity: 1, in: $0) } }
            await #expect(throws: PlazaError.self) { try await store.transaction { try await stocks.create("has space", quantity: 1, in: $0) } }
            #expect(try await refusal(store) { try await stocks.take(1, from: "test.nothing", in: $0) } == .noSuchStock(key: "test.nothing"))
        }
    }

    @Test("a refused take leaves the caller's other writes and the stock as they were")
    func refusedTakeRollsBack() async throws {
        try await TestDatabase.withStore { store in
            let stocks = Stocks(store: store)
            try await store.transaction { try await stocks.create("test.units:1", units: ["1A", "1B", "1C"], in: $0) }
            try await store.transaction { try await stocks.take(units: ["1B"], from: "test.units:1", in: $0) }
            // All or none: 1A is free, 1B is not, so neither is taken.
            let refused = try await refusal(store) { transaction in
                try await transaction.audit(.system("test"), action: "test.booked", resourceType: "booking")
                try await stocks.take(units: ["1A", "1B"], from: "test.units:1", in: transaction)
            }
            #expect(refused == .unitsGone(key: "test.units:1", units: ["1B"]))
            #expect(refused?.error.status == .conflict)
            #expect(refused?.error.errors == [FieldError(field: "units", message: "1B is already taken")])
            #expect(try await stocks.units("test.units:1").map(\.state) == [.free, .taken, .free])
            let audited = try await store.sql.raw("SELECT COUNT(*) AS n FROM plaza_audit_log WHERE action = 'test.booked'").first()!
            #expect(try audited.decode(column: "n", as: Int.self) == 0)
            #expect(
                try await refusal(store) { try await stocks.take(units: ["9Z"], from: "test.units:1", in: $0) }
                    == .noSuchUnits(key: "test.units:1", units: ["9Z"]))
            await #expect(throws: PlazaError.self) {
                try await store.transaction { try await stocks.take(units: ["1A", "1A"], from: "test.units:1", in: $0) }
            }
            await #expect(throws: PlazaError.self) { try await store.transaction { try await stocks.take(1, from: "test.units:1", in: $0) } }
        }
    }

    @Test("a hold counts until its deadline: then a take reclaims it and confirming it is refused")
    func holdsExpire() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let stocks = Stocks(store: store)
            try await store.transaction { try await stocks.create("test.launch:2", quantity: 3, in: $0) }
            try await store.transaction { try await stocks.create("test.seats:2", units: ["1A", "1B"], in: $0) }
            let until = clock.now().addingTimeInterval(600)
            let held = try await store.transaction { try await stocks.take(2, from: "test.launch:2", until: until, reference: "b-1", in: $0) }
            let seat = try await store.transaction { try await stocks.take(units: ["1A"], from: "test.seats:2", until: until, in: $0) }
            #expect(held.state == .held)
            #expect(
                try await stocks.level("test.launch:2") == StockLevel(key: "test.launch:2", kind: .count, total: 3, available: 1, held: 2, taken: 0))
            #expect(
                try await refusal(store) { try await stocks.take(2, from: "test.launch:2", in: $0) }
                    == .notEnough(key: "test.launch:2", requested: 2, available: 1))
            #expect(
                try await refusal(store) { try await stocks.take(units: ["1A"], from: "test.seats:2", in: $0) }
                    == .unitsGone(key: "test.seats:2", units: ["1A"]))

            clock.advance(by: 601)
            #expect(try await stocks.level("test.launch:2").available == 3)
            #expect(try await stocks.units("test.seats:2").map(\.state) == [.free, .free])
            try await store.transaction { try await stocks.take(3, from: "test.launch:2", in: $0) }
            try await store.transaction { try await stocks.take(units: ["1A"], from: "test.seats:2", in: $0) }
            #expect(try await refusal(store) { try await stocks.confirm(held.id, in: $0) } == .holdEnded(id: held.id, state: .expired))
            #expect(try await refusal(store) { try await stocks.confirm(seat.id, in: $0) } == .holdEnded(id: seat.id, state: .expired))
            #expect(
                try await stocks.level("test.launch:2") == StockLevel(key: "test.launch:2", kind: .count, total: 3, available: 0, held: 0, taken: 3))
            #expect(try await stocks.units("test.seats:2").map(\.state) == [.taken, .free])
        }
    }

    @Test("a confirmed hold is a take; a release gives back once, however often it is asked")
    func confirmAndRelease() async throws {
        let clock = ManualClock()
        try await TestDatabase.withStore(clock: clock) { store in
            let stocks = Stocks(store: store)
            try await store.transaction { try await stocks.create("test.seats:3", units: ["1A", "1B", "1C"], in: $0) }
            let hold = try await store.transaction {
                try await stocks.take(units: ["1A", "1C"], from: "test.seats:3", until: clock.now().addingTimeInterval(60), in: $0)
            }
            let confirmed = try await store.transaction { try await stocks.confirm(hold.id, in: $0) }
            #expect(confirmed.state == .taken && confirmed.units == ["1A", "1C"] && confirmed.expiresAt == nil)
            clock.advance(by: 120)
            #expect(try await stocks.units("test.seats:3").map(\.state) == [.taken, .free, .taken])
            #expect(try await store.transaction { try await stocks.confirm(hold.id, in: $0) }.state == .taken)
            try await store.transaction { try await stocks.release(hold.id, in: $0) }
            try await store.transaction { try await stocks.release(hold.id, in: $0) }
            #expect(
                try await stocks.level("test.seats:3") == StockLevel(key: "test.seats:3", kind: .units, total: 3, available: 3, held: 0, taken: 0))
            #expect(try await stocks.hold(hold.id)?.state == .released)
            #expect(try await refusal(store) { try await stocks.confirm(hold.id, in: $0) } == .holdEnded(id: hold.id, state: .released))
            await #expect(throws: PlazaError.self) { try await store.transaction { try await stocks.release(UUID(), in: $0) } }
            await #expect(throws: PlazaError.self) {
                try await store.transaction { try await stocks.take(units: ["1B"], from: "test.seats:3", until: clock.now(), in: $0) }
            }
        }
    }

    @Test("1,000 concurrent takers on two instances share 100 units: exactly 100 taken, every loser told none are left")
    func countContention() async throws {
        try await TestDatabase.withStores(2) { stores in
            let key = "test.launch:contended"
            try await stores[0].transaction { try await Stocks(store: stores[0]).create(key, quantity: 100, in: $0) }
            let outcomes = try await withThrowingTaskGroup(of: StockRefusal?.self) { group in
                for taker in 0..<1000 {
                    let store = stores[taker % 2]
                    group.addTask {
                        do {
                            try await store.transaction { try await Stocks(store: store).take(1, from: key, reference: "taker-\(taker)", in: $0) }
                            return nil
                        } catch let refusal as StockRefusal { return refusal }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == nil }.count == 100)
            let losers = outcomes.compactMap { $0 }
            #expect(losers.count == 900)
            #expect(losers.allSatisfy { $0 == .notEnough(key: key, requested: 1, available: 0) })
            #expect(
                try await Stocks(store: stores[1]).level(key) == StockLevel(key: key, kind: .count, total: 100, available: 0, held: 0, taken: 100))
            let references = try await stores[0].sql.raw("SELECT COUNT(DISTINCT reference) AS n FROM stock_holds WHERE stock_key = \(bind: key)")
                .first()!
            #expect(try references.decode(column: "n", as: Int.self) == 100)
        }
    }

    @Test("1,000 concurrent takers on two instances for 100 named seats: each seat taken once, every loser told which is gone")
    func unitContention() async throws {
        try await TestDatabase.withStores(2) { stores in
            let key = "test.seats:contended"
            let seats = (0..<100).map { String(format: "S%03d", $0) }
            try await stores[0].transaction { try await Stocks(store: stores[0]).create(key, units: seats, in: $0) }
            let outcomes = try await withThrowingTaskGroup(of: (String, StockRefusal?).self) { group in
                for taker in 0..<1000 {
                    let store = stores[taker % 2]
                    let seat = seats[taker % 100]
                    group.addTask {
                        do {
                            try await store.transaction { try await Stocks(store: store).take(units: [seat], from: key, in: $0) }
                            return (seat, nil)
                        } catch let refusal as StockRefusal { return (seat, refusal) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            #expect(winners.count == 100)
            #expect(Set(winners) == Set(seats))
            #expect(outcomes.filter { $0.1 != nil }.allSatisfy { $0.1 == .unitsGone(key: key, units: [$0.0]) })
            #expect(try await Stocks(store: stores[0]).units(key).allSatisfy { $0.state == .taken })
            let perSeat = try await stores[1].sql.raw("SELECT units, COUNT(*) AS n FROM stock_holds WHERE stock_key = \(bind: key) GROUP BY units")
                .all()
            #expect(perSeat.count == 100)
            #expect(try perSeat.allSatisfy { try $0.decode(column: "n", as: Int.self) == 1 })
        }
    }

    @Test("takers of overlapping seats in opposite orders never deadlock, and no seat is taken twice")
    func overlappingTakes() async throws {
        try await TestDatabase.withStores(2) { stores in
            let key = "test.seats:pairs"
            let seats = (0..<40).map { "P\($0)" }
            try await stores[0].transaction { try await Stocks(store: stores[0]).create(key, units: seats, in: $0) }
            let outcomes = try await withThrowingTaskGroup(of: ([String], StockRefusal?).self) { group in
                for taker in 0..<200 {
                    let store = stores[taker % 2]
                    let pair = [seats[taker % 40], seats[(taker + 1) % 40]]
                    let wanted = taker % 3 == 0 ? pair.reversed() : pair
                    group.addTask {
                        do {
                            try await store.transaction { try await Stocks(store: store).take(units: wanted, from: key, in: $0) }
                            return (wanted, nil)
                        } catch let refusal as StockRefusal { return (wanted, refusal) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let taken = outcomes.filter { $0.1 == nil }.flatMap(\.0)
            #expect(Set(taken).count == taken.count)
            #expect(!taken.isEmpty)
            for (wanted, refusal) in outcomes {
                guard let refusal else { continue }
                guard case .unitsGone(_, let gone) = refusal else {
                    Issue.record("a loser was told \(refusal)")
                    continue
                }
                #expect(!gone.isEmpty && Set(gone).isSubset(of: Set(wanted)) && Set(gone).isSubset(of: Set(taken)))
            }
            let level = try await Stocks(store: stores[0]).level(key)
            #expect(level.taken == taken.count && level.available == 40 - taken.count)
        }
    }
}
