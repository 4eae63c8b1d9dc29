import Foundation
import PlazaKit
import SQLKit
import Storage

/// Plaza's books: an append-only, double-entry ledger. Apps record what money did — a customer paid, the
/// platform kept its fee, a provider was paid out, a booking was refunded — as postings of transfers between
/// accounts, in the same transaction as the change that caused them; balances, statements and per-month
/// totals are read from it. Rows are only ever inserted (an account's running balance is the one number
/// updated, and always by the entries written beside it).
///
/// Every posting balances by construction (a transfer debits one account and credits another), carries an
/// idempotency key (a retried job posts once), and is refused whole when an account that is not `external`
/// would go below zero. Balances change by conditional writes in account order, so concurrent postings on
/// several instances neither lose an update nor deadlock.
public struct Ledger: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public static let maxTransfers = 100
    static let keyLimit = 200
    static let nameLimit = 100

    // MARK: Posting

    /// Records a posting in the caller's transaction; the first posting when its key was posted before with the
    /// same transfers. Throws ``LedgerRefusal``.
    @discardableResult
    public func post(_ posting: LedgerPosting, in transaction: Transaction) async throws -> LedgerRecord {
        try await Self.post(posting, in: transaction)
    }

    /// Records a posting on a migration's connection: for a migration that moves records kept before the books
    /// existed into them (its keys make a second run post nothing). Anything else posts in a transaction.
    @discardableResult
    public static func post(_ posting: LedgerPosting, on database: any SQLDatabase, at now: Date) async throws -> LedgerRecord {
        try await post(posting, sql: database, now: now)
    }

    static func post(_ posting: LedgerPosting, in transaction: Transaction) async throws -> LedgerRecord {
        try await post(posting, sql: transaction.sql, now: transaction.clock.now())
    }

    private static func post(_ posting: LedgerPosting, sql: any SQLDatabase, now: Date) async throws -> LedgerRecord {
        try check(posting)
        let occurredAt = posting.occurredAt ?? now
        let body = canonical(posting)
        if let replayed = try await replay(posting, body: body, sql: sql) { return replayed }
        var net: [LedgerAccount: Int64] = [:]
        for transfer in posting.transfers {
            net[transfer.from, default: 0] -= transfer.amount.amount
            net[transfer.to, default: 0] += transfer.amount.amount
        }
        var ids: [LedgerAccount: UUID] = [:]
        // Opened in name order: two postings opening the same new accounts wait for each other in one order.
        for account in net.keys.sorted(by: { $0.description < $1.description }) { ids[account] = try await open(account, sql: sql, now: now) }
        // The accounts that keep a running balance, locked in the order of their ids (two postings touching the same
        // accounts wait in one order) and checked before anything is written: a refusal leaves no posting behind
        // and no balance changed, whether or not the caller's transaction goes on. The outside world's accounts
        // keep none (every posting would queue on their one row); their balance is the sum of their entries.
        let kept = net.filter { $0.key.owner != .external && $0.value != 0 }.sorted { ids[$0.key]!.uuidString < ids[$1.key]!.uuidString }
        let lock = sql.dialect.name == "postgresql" ? " FOR UPDATE" : ""
        for (account, change) in kept {
            let row = try await sql.raw("SELECT balance FROM ledger_accounts WHERE id = \(bind: ids[account]!)\(unsafeRaw: lock)").first()
            let balance = try row?.decode(column: "balance", as: Int64.self) ?? 0
            if balance + change < 0 {
                throw LedgerRefusal.insufficientFunds(account: account.description, balance: Money(amount: balance, currency: account.currency))
            }
        }
        let id = PlazaID.make(at: now)
        let inserted = try await sql.raw(
            """
            INSERT INTO ledger_postings (id, idempotency_key, kind, memo, reference, body, occurred_at, created_at)
            VALUES (\(bind: id), \(bind: posting.key), \(bind: posting.kind), \(bind: posting.memo), \(bind: posting.reference), \(bind: body),
                    \(bind: occurredAt), \(bind: now))
            ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
            """
        ).first()
        guard inserted != nil else {
            // The same key committed by someone else meanwhile: theirs stands, nothing of this one was written.
            guard let replayed = try await replay(posting, body: body, sql: sql) else { throw LedgerRefusal.keyReused(key: posting.key) }
            return replayed
        }
        for (account, change) in kept {
            try await sql.raw(
                "UPDATE ledger_accounts SET balance = balance + \(bind: change), updated_at = \(bind: now) WHERE id = \(bind: ids[account]!)"
            ).run()
        }
        var rows: [SQLQueryString] = []
        for (index, transfer) in posting.transfers.enumerated() {
            for (side, account, amount) in [(0, transfer.from, -transfer.amount.amount), (1, transfer.to, transfer.amount.amount)] {
                rows.append(
                    """
                    (\(bind: PlazaID.make(at: now)), \(bind: id), \(bind: index * 2 + side), \(bind: ids[account]!), \(bind: amount), \(bind: account.currency.code), \
                    \(bind: occurredAt))
                    """)
            }
        }
        try await sql.raw(
            "INSERT INTO ledger_entries (id, posting_id, line, account_id, amount, currency, occurred_at) VALUES \(rows.joined(separator: ", "))"
        ).run()
        return LedgerRecord(
            id: id, key: posting.key, kind: posting.kind, memo: posting.memo, reference: posting.reference, occurredAt: occurredAt, created: true)
    }

    /// The posting recorded under the key, when it is this one; a refusal when the key holds another; nil when unused.
    private static func replay(_ posting: LedgerPosting, body: String, sql: any SQLDatabase) async throws -> LedgerRecord? {
        guard
            let existing = try await sql.raw(
                "SELECT id, idempotency_key, kind, memo, reference, body, occurred_at FROM ledger_postings WHERE idempotency_key = \(bind: posting.key)"
            ).first()
        else { return nil }
        guard try existing.decode(column: "body", as: String.self) == body else { throw LedgerRefusal.keyReused(key: posting.key) }
        return try record(existing, created: false)
    }

    /// The account's id, opening it on first use.
    private static func open(_ account: LedgerAccount, sql: any SQLDatabase, now: Date) async throws -> UUID {
        if let id = try await accountID(account, on: sql) { return id }
        try await sql.raw(
            """
            INSERT INTO ledger_accounts (id, owner, name, currency, balance, created_at, updated_at)
            VALUES (\(bind: UUID()), \(bind: account.owner.description), \(bind: account.name), \(bind: account.currency.code), 0,
                    \(bind: now), \(bind: now))
            ON CONFLICT (owner, name, currency) DO NOTHING
            """
        ).run()
        guard let id = try await accountID(account, on: sql) else {
            throw PlazaError.conflict("The account \(account) could not be opened.")
        }
        return id
    }

    static func accountID(_ account: LedgerAccount, on sql: any SQLDatabase) async throws -> UUID? {
        try await accountRow(account, on: sql)?.decode(column: "id", as: UUID.self)
    }

    /// The account's row (`id`, `balance`), or nil before its first posting.
    private static func accountRow(_ account: LedgerAccount, on sql: any SQLDatabase) async throws -> (any SQLRow)? {
        try await sql.raw(
            """
            SELECT id, balance FROM ledger_accounts
            WHERE owner = \(bind: account.owner.description) AND name = \(bind: account.name) AND currency = \(bind: account.currency.code)
            """
        ).first()
    }

    // MARK: Reading

    /// What the account holds now (zero for an account never posted to), or at the end of `at`.
    public func balance(_ account: LedgerAccount, at: Date? = nil) async throws -> Money {
        try await Self.balance(account, at: at, on: store.sql)
    }

    static func balance(_ account: LedgerAccount, at: Date?, on sql: any SQLDatabase) async throws -> Money {
        guard let row = try await accountRow(account, on: sql) else { return .zero(account.currency) }
        var balance = try row.decode(column: "balance", as: Int64.self)
        // The outside world keeps no running balance: its entries are summed. A past moment takes off what came after.
        if account.owner == .external || at != nil {
            let sums = try await sql.raw(
                """
                SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total,
                       CAST(COALESCE(SUM(CASE WHEN occurred_at > \(bind: at) THEN amount ELSE 0 END), 0) AS BIGINT) AS later
                FROM ledger_entries WHERE account_id = \(bind: try row.decode(column: "id", as: UUID.self))
                """
            ).first()
            if account.owner == .external { balance = try sums?.decode(column: "total", as: Int64.self) ?? 0 }
            balance -= try sums?.decode(column: "later", as: Int64.self) ?? 0
        }
        return Money(amount: balance, currency: account.currency)
    }

    /// The account's movements from `from` (inclusive) to `to` (exclusive), oldest first, at most `limit` lines
    /// a page (`cursor` is the previous page's `nextCursor`; the sums cover the whole period), with the opening
    /// and closing balances.
    public func statement(_ account: LedgerAccount, from: Date, to: Date, limit: Int = 100, cursor: String? = nil) async throws -> LedgerStatement {
        guard from < to else { throw PlazaError.validation(field: "to", "must be after from") }
        var after: UUID?
        if let cursor {
            guard let id = UUID(uuidString: try Cursor.decode(cursor, parts: 1)[0]) else {
                throw PlazaError.validation(field: "cursor", "is not a cursor this list gave out")
            }
            after = id
        }
        let limit = max(1, min(limit, 1000))
        let zero = Money.zero(account.currency)
        guard let id = try await Self.accountID(account, on: store.sql) else {
            return LedgerStatement(
                account: account.description, from: from, to: to, opening: zero, moneyIn: zero, moneyOut: zero, closing: zero, lines: [],
                nextCursor: nil)
        }
        let sums = try await store.sql.raw(
            """
            SELECT CAST(COALESCE(SUM(CASE WHEN occurred_at < \(bind: from) THEN amount ELSE 0 END), 0) AS BIGINT) AS opening,
                   CAST(COALESCE(SUM(CASE WHEN occurred_at >= \(bind: from) AND amount > 0 THEN amount ELSE 0 END), 0) AS BIGINT) AS money_in,
                   CAST(COALESCE(SUM(CASE WHEN occurred_at >= \(bind: from) AND amount < 0 THEN amount ELSE 0 END), 0) AS BIGINT) AS money_out
            FROM ledger_entries WHERE account_id = \(bind: id) AND occurred_at < \(bind: to)
            """
        ).first()
        let opening = try sums?.decode(column: "opening", as: Int64.self) ?? 0
        let moneyIn = try sums?.decode(column: "money_in", as: Int64.self) ?? 0
        let moneyOut = try sums?.decode(column: "money_out", as: Int64.self) ?? 0
        // After the previous page's last entry, compared as the database stores its time (a time carried in the
        // cursor would come back rounded, and skip or repeat lines of the same moment).
        let keyset: SQLQueryString =
            after.map { "(e.occurred_at, e.id) > (SELECT occurred_at, id FROM ledger_entries WHERE id = \(bind: $0))" }
            ?? "e.occurred_at >= \(bind: from)"
        let rows = try await store.sql.raw(
            """
            SELECT e.id AS entry_id, e.amount, e.occurred_at, p.id, p.kind, p.memo, p.reference
            FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id
            WHERE e.account_id = \(bind: id) AND \(keyset) AND e.occurred_at < \(bind: to)
            ORDER BY e.occurred_at, e.id LIMIT \(literal: limit + 1)
            """
        ).all()
        let lines = try rows.prefix(limit).map { row in
            LedgerLine(
                entryId: try row.decode(column: "entry_id", as: UUID.self),
                postingId: try row.decode(column: "id", as: UUID.self), kind: try row.decode(column: "kind", as: String.self),
                memo: try row.decode(column: "memo", as: String?.self), reference: try row.decode(column: "reference", as: String?.self),
                amount: Money(amount: try row.decode(column: "amount", as: Int64.self), currency: account.currency),
                occurredAt: try row.decode(column: "occurred_at", as: Date.self))
        }
        func money(_ amount: Int64) -> Money { Money(amount: amount, currency: account.currency) }
        return LedgerStatement(
            account: account.description, from: from, to: to, opening: money(opening), moneyIn: money(moneyIn), moneyOut: money(-moneyOut),
            closing: money(opening + moneyIn + moneyOut), lines: Array(lines),
            nextCursor: rows.count > lines.count
                ? lines.last.map { Cursor.encode([$0.entryId.uuidString]) } : nil)
    }

    public enum Period: Sendable { case day, month }

    /// The account's totals per day or month from `from` to `to`, in `timeZone`; periods without movement are left out.
    /// `kinds`, when given, counts only postings of those kinds (a provider's paid jobs, not a merge's transfer).
    public func totals(
        _ account: LedgerAccount, per period: Period, from: Date, to: Date, timeZone: TimeZone = .gmt, kinds: [String]? = nil
    ) async throws -> [LedgerPeriod] {
        guard let id = try await Self.accountID(account, on: store.sql) else { return [] }
        let ofKinds: SQLQueryString = kinds.map { " AND p.kind IN (\(binds: $0))" } ?? ""
        let rows = try await store.sql.raw(
            """
            SELECT e.amount, e.occurred_at FROM ledger_entries e JOIN ledger_postings p ON p.id = e.posting_id
            WHERE e.account_id = \(bind: id) AND e.occurred_at >= \(bind: from) AND e.occurred_at < \(bind: to)\(ofKinds) ORDER BY e.occurred_at
            """
        ).all()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var totals: [String: (count: Int, moneyIn: Int64, moneyOut: Int64)] = [:]
        for row in rows {
            let parts = calendar.dateComponents([.year, .month, .day], from: try row.decode(column: "occurred_at", as: Date.self))
            let key =
                switch period {
                case .month: String(format: "%04d-%02d", parts.year ?? 0, parts.month ?? 0)
                case .day: String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
                }
            let amount = try row.decode(column: "amount", as: Int64.self)
            totals[key, default: (0, 0, 0)].count += 1
            if amount > 0 { totals[key]!.moneyIn += amount } else { totals[key]!.moneyOut -= amount }
        }
        return totals.keys.sorted().map { key in
            let value = totals[key]!
            return LedgerPeriod(
                period: key, count: value.count, moneyIn: Money(amount: value.moneyIn, currency: account.currency),
                moneyOut: Money(amount: value.moneyOut, currency: account.currency))
        }
    }

    /// True when every posting's entries add up to zero in each currency and every account's balance is the sum
    /// of its entries: the books' own check, for operators and tests.
    public func isBalanced() async throws -> Bool {
        let unbalanced = try await store.sql.raw(
            "SELECT posting_id FROM ledger_entries GROUP BY posting_id, currency HAVING SUM(amount) <> 0 LIMIT 1"
        ).first()
        let drifted = try await store.sql.raw(
            """
            SELECT a.id FROM ledger_accounts a LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM ledger_entries GROUP BY account_id) e
            ON e.account_id = a.id WHERE a.owner <> 'external' AND a.balance <> COALESCE(e.total, 0) LIMIT 1
            """
        ).first()
        return unbalanced == nil && drifted == nil
    }

    // MARK: People

    /// Ledger's part in merging two accounts: the merged person's accounts become the other's; where the other
    /// already has the same account, the balance moves there in a posting of its own (entries are never rewritten).
    public static func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> [String: Int] {
        let (from, to) = (LedgerOwner.user(source).description, LedgerOwner.user(target).description)
        // Locked on PostgreSQL: a posting to one of them meanwhile waits, and its money follows the account.
        let lock = transaction.dialect == .postgres ? " ORDER BY id FOR UPDATE" : ""
        let accounts = try await transaction.sql.raw(
            "SELECT id, name, currency, balance FROM ledger_accounts WHERE owner = \(bind: from)\(unsafeRaw: lock)"
        ).all()
        var moved = 0
        var transferred = 0
        for row in accounts {
            let name = try row.decode(column: "name", as: String.self)
            let code = try row.decode(column: "currency", as: String.self)
            guard let currency = Currency(code: code) else { continue }
            let theirs = LedgerAccount(.user(target), name, currency)
            if try await accountID(theirs, on: transaction.sql) == nil {
                try await transaction.sql.raw(
                    "UPDATE ledger_accounts SET owner = \(bind: to), updated_at = \(bind: transaction.clock.now()) WHERE id = \(bind: try row.decode(column: "id", as: UUID.self))"
                ).run()
                moved += 1
            } else {
                let balance = try row.decode(column: "balance", as: Int64.self)
                guard balance > 0 else { continue }
                try await post(
                    LedgerPosting(
                        key: "ledger.merge:\(source):\(target):\(name):\(code)", kind: "ledger.merge", memo: "Accounts merged",
                        transfers: [
                            LedgerTransfer(
                                from: LedgerAccount(.user(source), name, currency), to: theirs, amount: Money(amount: balance, currency: currency))
                        ]), in: transaction)
                transferred += 1
            }
        }
        return ["ledger_accounts": moved, "ledger_postings": transferred]
    }

    // MARK: Input

    static func check(_ posting: LedgerPosting) throws {
        guard !posting.key.isEmpty, posting.key.count <= keyLimit else { throw LedgerRefusal.invalid("the key must be 1 to \(keyLimit) characters") }
        guard !posting.kind.isEmpty, posting.kind.count <= nameLimit else {
            throw LedgerRefusal.invalid("the kind must be 1 to \(nameLimit) characters")
        }
        guard (1...maxTransfers).contains(posting.transfers.count) else {
            throw LedgerRefusal.invalid("a posting has 1 to \(maxTransfers) transfers")
        }
        for transfer in posting.transfers {
            guard transfer.amount.amount > 0 else { throw LedgerRefusal.invalid("an amount must be above zero") }
            guard transfer.from.currency == transfer.amount.currency, transfer.to.currency == transfer.amount.currency else {
                throw LedgerRefusal.invalid("an amount must be in its accounts' currency")
            }
            guard transfer.from != transfer.to else { throw LedgerRefusal.invalid("a transfer needs two accounts") }
            for account in [transfer.from, transfer.to] {
                guard !account.name.isEmpty, account.name.count <= nameLimit else {
                    throw LedgerRefusal.invalid("an account's name must be 1 to \(nameLimit) characters")
                }
            }
        }
    }

    /// The posting's transfers as one string: a repeated key is the same posting when this is equal.
    static func canonical(_ posting: LedgerPosting) -> String {
        ([posting.kind] + posting.transfers.map { "\($0.from)>\($0.to)=\($0.amount.amount)" }).joined(separator: "\n")
    }

    static func record(_ row: any SQLRow, created: Bool) throws -> LedgerRecord {
        LedgerRecord(
            id: try row.decode(column: "id", as: UUID.self), key: try row.decode(column: "idempotency_key", as: String.self),
            kind: try row.decode(column: "kind", as: String.self), memo: try row.decode(column: "memo", as: String?.self),
            reference: try row.decode(column: "reference", as: String?.self), occurredAt: try row.decode(column: "occurred_at", as: Date.self),
            created: created)
    }
}
