import Foundation
import Ledger
import PlazaKit
import PlazaTesting
import SQLKit
import Storage
import Testing

@Suite("Ledger")
struct LedgerTests {
    let provider = UUID()
    var earnings: LedgerAccount { LedgerAccount(.user(provider), "earnings", .uah) }
    let payments = LedgerAccount(.external, "test.payments", .uah)
    let fees = LedgerAccount(.platform, "fees", .uah)

    func uah(_ amount: Int64) -> Money { Money(amount: amount, currency: .uah) }

    /// A job paid: the customer's money in, the platform's tenth kept, the rest the provider's.
    func jobPaid(_ key: String, _ amount: Int64, at: Date? = nil) -> LedgerPosting {
        let fee = uah(amount).share(basisPoints: 1000)
        return LedgerPosting(
            key: key, kind: "test.job-paid", reference: key, occurredAt: at,
            transfers: [
                LedgerTransfer(from: payments, to: earnings, amount: uah(amount)),
                LedgerTransfer(from: earnings, to: fees, amount: fee),
            ])
    }

    @Test("a posting balances, moves the balances, and a repeated key posts once")
    func postingAndIdempotency() async throws {
        try await TestDatabase.withStore { store in
            let ledger = Ledger(store: store)
            let first = try await store.transaction { try await ledger.post(jobPaid("job-1", 125_050), in: $0) }
            #expect(first.created)
            let again = try await store.transaction { try await ledger.post(jobPaid("job-1", 125_050), in: $0) }
            #expect(!again.created && again.id == first.id)
            #expect(try await ledger.balance(earnings) == uah(125_050 - 12_505))
            #expect(try await ledger.balance(fees) == uah(12_505))
            #expect(try await ledger.balance(payments) == uah(-125_050))
            #expect(try await ledger.isBalanced())
            // The same key with other transfers is refused and writes nothing.
            await #expect(throws: LedgerRefusal.keyReused(key: "job-1")) {
                try await store.transaction { try await ledger.post(jobPaid("job-1", 999), in: $0) }
            }
            #expect(try await ledger.balance(fees) == uah(12_505))
            let rows = try await store.sql.raw("SELECT COUNT(*) AS n FROM ledger_entries").first()!
            #expect(try rows.decode(column: "n", as: Int.self) == 4)
        }
    }

    @Test("an account that is not external never goes below zero: the whole posting is refused")
    func noOverdraft() async throws {
        try await TestDatabase.withStore { store in
            let ledger = Ledger(store: store)
            try await store.transaction { try await ledger.post(jobPaid("job-1", 10_000), in: $0) }
            let payout = LedgerPosting(
                key: "payout-1", kind: "test.payout",
                transfers: [LedgerTransfer(from: earnings, to: LedgerAccount(.external, "test.bank", .uah), amount: uah(9_001))])
            await #expect(throws: LedgerRefusal.insufficientFunds(account: earnings.description, balance: uah(9_000))) {
                try await store.transaction { try await ledger.post(payout, in: $0) }
            }
            #expect(try await ledger.balance(earnings) == uah(9_000))
            #expect(try await ledger.balance(LedgerAccount(.external, "test.bank", .uah)) == uah(0))
            // A caller that catches the refusal and commits the rest commits nothing of the posting.
            let caught = try await store.transaction { transaction -> Bool in
                do {
                    try await ledger.post(payout, in: transaction)
                    return false
                } catch is LedgerRefusal { return true }
            }
            #expect(caught)
            #expect(try await ledger.balance(earnings) == uah(9_000))
            let posted = try await store.sql.raw("SELECT COUNT(*) AS n FROM ledger_postings WHERE idempotency_key = 'payout-1'").first()!
            #expect(try posted.decode(column: "n", as: Int.self) == 0)
            #expect(try await ledger.isBalanced())
            // Malformed transfers are refused before anything is written.
            for bad in [
                LedgerTransfer(from: earnings, to: fees, amount: uah(0)),
                LedgerTransfer(from: earnings, to: earnings, amount: uah(1)),
                LedgerTransfer(from: earnings, to: fees, amount: Money(amount: 1, currency: .usd)),
            ] {
                await #expect(throws: LedgerRefusal.self) {
                    try await store.transaction {
                        try await ledger.post(LedgerPosting(key: "bad-\(UUID())", kind: "test.bad", transfers: [bad]), in: $0)
                    }
                }
            }
            await #expect(throws: LedgerRefusal.self) {
                try await store.transaction { try await ledger.post(LedgerPosting(key: "empty", kind: "test.bad", transfers: []), in: $0) }
            }
            #expect(try await ledger.isBalanced())
        }
    }

    @Test("statements by period: opening and closing balances, money in and out, lines in order; monthly totals")
    func statements() async throws {
        // 2027-01-01T00:00:00.123456789Z: times below the microsecond, which the databases round, and a cursor must survive.
        let clock = ManualClock(Date(timeIntervalSince1970: 1_798_761_600.123456789))
        try await TestDatabase.withStore(clock: clock) { store in
            let ledger = Ledger(store: store)
            let day: TimeInterval = 86_400
            let start = clock.now()
            for (index, amount) in [10_000, 20_000, 30_000, 40_000].enumerated() {
                // Two in January, two in February.
                let at = start.addingTimeInterval(Double(index) * 20 * day + Double(index) * 0.000_000_7)
                try await store.transaction { try await ledger.post(jobPaid("job-\(index)", Int64(amount), at: at), in: $0) }
            }
            clock.advance(by: 100 * day)
            let february = start.addingTimeInterval(31 * day)
            let march = start.addingTimeInterval(59 * day)
            let statement = try await ledger.statement(earnings, from: february, to: march)
            // Before February: the jobs of days 0 and 20, less their fees; in February: the job of day 40 (day 60 is March 2nd).
            #expect(statement.opening == uah(27_000))
            #expect(statement.moneyIn == uah(30_000))
            #expect(statement.moneyOut == uah(3_000))
            #expect(statement.closing == uah(54_000))
            #expect(statement.lines.map(\.amount) == [uah(30_000), uah(-3_000)])
            // Pages of three lines split a posting's two lines and lose none of them.
            let paged = try await ledger.statement(earnings, from: start, to: clock.now(), limit: 3)
            #expect(paged.lines.count == 3 && paged.nextCursor != nil)
            let rest = try await ledger.statement(earnings, from: start, to: clock.now(), limit: 10, cursor: paged.nextCursor)
            #expect(rest.lines.count == 5 && rest.nextCursor == nil)
            #expect(Set((paged.lines + rest.lines).map(\.entryId)).count == 8)
            await #expect(throws: PlazaError.self) { try await ledger.statement(earnings, from: start, to: clock.now(), cursor: "nonsense") }
            #expect(try await ledger.balance(earnings, at: february) == uah(27_000))
            let months = try await ledger.totals(earnings, per: .month, from: start, to: clock.now())
            #expect(months.map(\.period) == ["2027-01", "2027-02", "2027-03"])
            #expect(months.map(\.moneyIn) == [uah(30_000), uah(30_000), uah(40_000)])
            #expect(months.map(\.count) == [4, 2, 2])
            await #expect(throws: PlazaError.self) { try await ledger.statement(earnings, from: march, to: february) }
        }
    }

    @Test("a burst of concurrent postings on two instances leaves the books balanced, every key posted once")
    func concurrentPostings() async throws {
        try await TestDatabase.withStores(2) { stores in
            let keys = (0..<200).map { "job-\($0 % 150)" } // 50 keys posted twice, at the same time
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, key) in keys.enumerated() {
                    let store = stores[index % 2]
                    let posting = jobPaid(key, 1_000)
                    group.addTask { try await store.transaction { try await Ledger(store: store).post(posting, in: $0) }.created }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 150)
            let ledger = Ledger(store: stores[0])
            #expect(try await ledger.balance(earnings) == uah(150 * 900))
            #expect(try await ledger.balance(fees) == uah(150 * 100))
            #expect(try await ledger.isBalanced())
            // Payouts racing each other cannot overdraw: 200 tries of 1,000 against 135,000 leave 135 paid.
            let bank = LedgerAccount(.external, "test.bank", .uah)
            let paid = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    let store = stores[index % 2]
                    let payout = LedgerPosting(
                        key: "payout-\(index)", kind: "test.payout", transfers: [LedgerTransfer(from: earnings, to: bank, amount: uah(1_000))])
                    group.addTask {
                        do {
                            try await store.transaction { try await Ledger(store: store).post(payout, in: $0) }
                            return true
                        } catch let refusal as LedgerRefusal {
                            guard case .insufficientFunds(let account, let balance) = refusal, account == earnings.description, balance.amount < 1_000
                            else {
                                Issue.record("a payout was told \(refusal)")
                                return false
                            }
                            return false
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(paid.filter { $0 }.count == 135)
            #expect(try await ledger.balance(earnings) == uah(0))
            #expect(try await ledger.isBalanced())
        }
    }

    @Test("merging two people: accounts the other lacks change owner, shared ones move their balance in a posting")
    func merge() async throws {
        try await TestDatabase.withStore { store in
            let ledger = Ledger(store: store)
            let other = UUID()
            let theirEarnings = LedgerAccount(.user(other), "earnings", .uah)
            let wallet = LedgerAccount(.user(provider), "wallet", .uah)
            try await store.transaction { try await ledger.post(jobPaid("job-1", 10_000), in: $0) }
            try await store.transaction {
                try await ledger.post(
                    LedgerPosting(key: "top-up", kind: "test.top-up", transfers: [LedgerTransfer(from: payments, to: wallet, amount: uah(500))]),
                    in: $0)
            }
            try await store.transaction {
                try await ledger.post(
                    LedgerPosting(
                        key: "theirs", kind: "test.job-paid", transfers: [LedgerTransfer(from: payments, to: theirEarnings, amount: uah(100))]),
                    in: $0)
            }
            let counts = try await store.transaction { try await Ledger.merge(from: provider, into: other, in: $0) }
            #expect(counts == ["ledger_accounts": 1, "ledger_postings": 1])
            #expect(try await ledger.balance(theirEarnings) == uah(9_100))
            #expect(try await ledger.balance(earnings) == uah(0))
            #expect(try await ledger.balance(LedgerAccount(.user(other), "wallet", .uah)) == uah(500))
            #expect(try await ledger.isBalanced())
        }
    }
}
