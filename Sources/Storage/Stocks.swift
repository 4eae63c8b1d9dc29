import FluentKit
import Foundation
import PlazaKit
import SQLKit

/// Stock that never oversells: a count ("take 4 of what remains") or named units ("take seats 3A and 3B"),
/// taken for good or held until a deadline, given back when released or when a hold expires.
///
/// Every take is one conditional write in the caller's transaction — `UPDATE … SET available = available - n
/// WHERE available >= n` for a count; for units, the stock's row locked (`FOR UPDATE` on PostgreSQL, the one
/// writer on SQLite) and then only the free units changed — so any number of takers, in one process or in
/// several `plaza serve` instances on one PostgreSQL, can never take more than there is, and a unit is never
/// taken twice. A refused taker learns what is gone (``StockRefusal``), and its transaction should roll back.
///
/// A hold that reaches its deadline stops counting: a later take reclaims it (so no sweeper is needed for
/// correctness), and ``confirm(_:in:)`` refuses it. Keys are the caller's (`<app>.<thing>:<id>`), which keeps
/// two apps' stocks apart; rows carry no personal data (a hold's `reference` is the caller's own id, a booking).
public struct Stocks: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// Most units one stock may have, and most one take may ask for: a launch's seats, not a warehouse.
    public static let maxUnits = 10_000
    public static let keyLimit = 200

    // MARK: Stocks

    /// A stock of `quantity` interchangeable things. A key that exists already is a conflict.
    public func create(_ key: String, quantity: Int, in transaction: Transaction) async throws {
        try Self.check(key: key)
        guard quantity >= 0, quantity <= Int(Int32.max) else { throw PlazaError.validation(field: "quantity", "must be from 0 to \(Int32.max)") }
        try await insert(key, kind: "count", total: quantity, in: transaction)
    }

    /// A stock of named units (seats): each can be taken once. Names are the caller's (`3A`), at most 64 characters.
    public func create(_ key: String, units: [String], in transaction: Transaction) async throws {
        try Self.check(key: key)
        let names = try Self.check(units: units)
        try await insert(key, kind: "units", total: names.count, in: transaction)
        let now = transaction.clock.now()
        for start in stride(from: 0, to: names.count, by: 500) {
            let rows = names[start..<min(start + 500, names.count)].map { "(\(bind: key), \(bind: $0), NULL, NULL, \(bind: now))" as SQLQueryString }
            try await transaction.sql.raw(
                "INSERT INTO stock_units (stock_key, unit, hold_id, expires_at, updated_at) VALUES \(rows.joined(separator: ", "))"
            ).run()
        }
    }

    private func insert(_ key: String, kind: String, total: Int, in transaction: Transaction) async throws {
        let inserted = try await transaction.sql.raw(
            """
            INSERT INTO stocks (stock_key, kind, total, available, created_at, updated_at)
            VALUES (\(bind: key), \(bind: kind), \(bind: total), \(bind: total), \(bind: transaction.clock.now()), \(bind: transaction.clock.now()))
            ON CONFLICT (stock_key) DO NOTHING RETURNING stock_key
            """
        ).first()
        guard inserted != nil else { throw PlazaError.conflict("The stock \(key) exists already.") }
    }

    /// Adds to a count stock (a delivery) or, with a negative `quantity`, withdraws what is still available
    /// (never what is held or taken: that is refused like a take).
    public func adjust(_ key: String, by quantity: Int, in transaction: Transaction) async throws {
        guard quantity != 0 else { return }
        // What lapsed holds kept is available again before anything is withdrawn.
        if quantity < 0 { try await reclaimExpired(key, in: transaction) }
        let row = try await transaction.sql.raw(
            """
            UPDATE stocks SET total = total + \(bind: quantity), available = available + \(bind: quantity), updated_at = \(bind: transaction.clock.now())
            WHERE stock_key = \(bind: key) AND kind = 'count' AND available + \(bind: quantity) >= 0 RETURNING available
            """
        ).first()
        if row == nil {
            throw try await countRefusal(key, requested: -quantity, unitsMessage: "names a stock of units: add units instead", in: transaction)
        }
    }

    /// Removes a stock with its units and holds (the launch was deleted).
    public func delete(_ key: String, in transaction: Transaction) async throws {
        try await transaction.sql.raw("DELETE FROM stock_units WHERE stock_key = \(bind: key)").run()
        try await transaction.sql.raw("DELETE FROM stock_holds WHERE stock_key = \(bind: key)").run()
        try await transaction.sql.raw("DELETE FROM stocks WHERE stock_key = \(bind: key)").run()
    }

    // MARK: Taking

    /// Takes `quantity` of a count stock, for good (`until` nil) or held until `until`. Throws
    /// ``StockRefusal/notEnough(key:requested:available:)`` with what remains when there is not enough.
    @discardableResult
    public func take(_ quantity: Int, from key: String, until: Date? = nil, reference: String? = nil, in transaction: Transaction) async throws
        -> StockHold
    {
        guard quantity > 0, quantity <= Self.maxUnits else { throw PlazaError.validation(field: "quantity", "must be from 1 to \(Self.maxUnits)") }
        try Self.check(until: until, now: transaction.clock.now())
        if try await decrement(key, by: quantity, in: transaction) == nil {
            // Holds past their deadline still count until someone reclaims them: reclaim, then try once more if any were.
            let reclaimed = try await reclaimExpired(key, in: transaction)
            let retried = reclaimed > 0 ? try await decrement(key, by: quantity, in: transaction) : nil
            if retried == nil {
                throw try await countRefusal(key, requested: quantity, unitsMessage: "names a stock of units: take units by name", in: transaction)
            }
        }
        return try await record(key, quantity: quantity, units: [], until: until, reference: reference, in: transaction)
    }

    /// Why a count stock's conditional write changed nothing, read after lapsed holds were reclaimed: the row's
    /// number is then what remains. A unit stock's key is a validation error (`unitsMessage`).
    private func countRefusal(_ key: String, requested: Int, unitsMessage: String, in transaction: Transaction) async throws -> any Error {
        guard let row = try await transaction.sql.raw("SELECT kind, available FROM stocks WHERE stock_key = \(bind: key)").first() else {
            return StockRefusal.noSuchStock(key: key)
        }
        guard try row.decode(column: "kind", as: String.self) == "count" else { return PlazaError.validation(field: "key", unitsMessage) }
        return StockRefusal.notEnough(key: key, requested: requested, available: try row.decode(column: "available", as: Int.self))
    }

    private func decrement(_ key: String, by quantity: Int, in transaction: Transaction) async throws -> Int? {
        try await transaction.sql.raw(
            """
            UPDATE stocks SET available = available - \(bind: quantity), updated_at = \(bind: transaction.clock.now())
            WHERE stock_key = \(bind: key) AND kind = 'count' AND available >= \(bind: quantity) RETURNING available
            """
        ).first()?.decode(column: "available", as: Int.self)
    }

    /// Takes these units of a unit stock, all or none. Throws ``StockRefusal/unitsGone(key:units:)`` naming the
    /// units someone else has (held or taken), or ``StockRefusal/noSuchUnits(key:units:)`` for names the stock lacks.
    @discardableResult
    public func take(units: [String], from key: String, until: Date? = nil, reference: String? = nil, in transaction: Transaction) async throws
        -> StockHold
    {
        let wanted = try Self.check(units: units)
        let now = transaction.clock.now()
        try Self.check(until: until, now: now)
        // One taker of this stock at a time past this point: the units are then read and written without a race,
        // and two takers of overlapping seats never lock them in opposite orders.
        guard try await lock(key, in: transaction) == .units else {
            throw PlazaError.validation(field: "key", "names a count stock: take a quantity")
        }
        let rows = try await transaction.sql.raw(
            "SELECT unit, hold_id, expires_at FROM stock_units WHERE stock_key = \(bind: key) AND unit IN (\(binds: wanted))"
        ).all()
        let found = Set(try rows.map { try $0.decode(column: "unit", as: String.self) })
        let missing = wanted.filter { !found.contains($0) }
        guard missing.isEmpty else { throw StockRefusal.noSuchUnits(key: key, units: missing) }
        var gone: [String] = []
        var expiredHolds: Set<UUID> = []
        for row in rows {
            guard let hold = try row.decode(column: "hold_id", as: UUID?.self) else { continue }
            if let expires = try row.decode(column: "expires_at", as: Date?.self), expires <= now {
                expiredHolds.insert(hold)
            } else {
                gone.append(try row.decode(column: "unit", as: String.self))
            }
        }
        guard gone.isEmpty else { throw StockRefusal.unitsGone(key: key, units: gone.sorted()) }
        for hold in expiredHolds { try await end(hold, state: "expired", in: transaction) }
        let taken = try await record(key, quantity: wanted.count, units: wanted, until: until, reference: reference, in: transaction)
        try await transaction.sql.raw(
            """
            UPDATE stock_units SET hold_id = \(bind: taken.id), expires_at = \(bind: until), updated_at = \(bind: now)
            WHERE stock_key = \(bind: key) AND unit IN (\(binds: wanted)) AND hold_id IS NULL
            """
        ).run()
        try await transaction.sql.raw(
            "UPDATE stocks SET available = available - \(bind: wanted.count), updated_at = \(bind: now) WHERE stock_key = \(bind: key)"
        ).run()
        return taken
    }

    private func record(_ key: String, quantity: Int, units: [String], until: Date?, reference: String?, in transaction: Transaction) async throws
        -> StockHold
    {
        let hold = StockHold(
            id: UUID(), key: key, quantity: quantity, units: units, state: until == nil ? .taken : .held, expiresAt: until, reference: reference)
        try await transaction.sql.raw(
            """
            INSERT INTO stock_holds (id, stock_key, quantity, units, state, expires_at, reference, created_at, updated_at)
            VALUES (\(bind: hold.id), \(bind: key), \(bind: quantity), \(bind: try Self.encode(units)), \(bind: hold.state.rawValue),
                    \(bind: until), \(bind: reference), \(bind: transaction.clock.now()), \(bind: transaction.clock.now()))
            """
        ).run()
        return hold
    }

    /// Locks the stock's row until the transaction ends, and says what kind it is. Every path that changes
    /// units or holds takes this lock first, so two of them never wait for each other in opposite orders (on
    /// SQLite the one writer already serializes them).
    @discardableResult
    private func lock(_ key: String, in transaction: Transaction) async throws -> StockLevel.Kind {
        let row = try await transaction.sql.raw(
            "SELECT kind FROM stocks WHERE stock_key = \(bind: key)\(unsafeRaw: transaction.dialect == .postgres ? " FOR UPDATE" : "")"
        ).first()
        guard let row else { throw StockRefusal.noSuchStock(key: key) }
        return StockLevel.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .count
    }

    // MARK: Holds

    /// Makes a hold a take (the booking was paid). A hold past its deadline is refused
    /// (``StockRefusal/holdEnded(id:state:)``) and what it held goes back.
    @discardableResult
    public func confirm(_ id: UUID, in transaction: Transaction) async throws -> StockHold {
        guard let key = try await self.hold(id, on: transaction.sql)?.key else { throw PlazaError.notFound("No such hold.") }
        try await lock(key, in: transaction)
        let now = transaction.clock.now()
        let row = try await transaction.sql.raw(
            """
            UPDATE stock_holds SET state = 'taken', expires_at = NULL, updated_at = \(bind: now)
            WHERE id = \(bind: id) AND state = 'held' AND expires_at > \(bind: now) RETURNING \(unsafeRaw: Self.holdColumns)
            """
        ).first()
        if let row {
            try await transaction.sql.raw("UPDATE stock_units SET expires_at = NULL, updated_at = \(bind: now) WHERE hold_id = \(bind: id)").run()
            return try Self.hold(row)
        }
        guard let hold = try await self.hold(id, on: transaction.sql) else { throw PlazaError.notFound("No such hold.") }
        if hold.state == .taken { return hold }
        if hold.state == .held { try await end(id, state: "expired", in: transaction) }
        throw StockRefusal.holdEnded(id: id, state: hold.state == .held ? .expired : hold.state)
    }

    /// Gives back what a hold holds or took (a cancelled booking). Releasing twice changes nothing.
    public func release(_ id: UUID, in transaction: Transaction) async throws {
        try await end(id, state: "released", in: transaction)
    }

    /// Ends a hold or take and returns its quantity and units to the stock: `released` ends a live hold or a take,
    /// `expired` only a hold still held past its deadline. The condition is checked under the stock's lock, so an
    /// ender working from an older read (a reclaim that listed a hold a confirm has since taken) changes nothing,
    /// and two enders give back once. A hold that does not exist is a 404.
    private func end(_ id: UUID, state: String, in transaction: Transaction) async throws {
        let now = transaction.clock.now()
        guard let key = try await self.hold(id, on: transaction.sql)?.key else { throw PlazaError.notFound("No such hold.") }
        try await lock(key, in: transaction)
        let condition: SQLQueryString =
            state == "expired" ? "state = 'held' AND expires_at <= \(bind: now)" : "state IN ('held', 'taken')"
        guard
            let row = try await transaction.sql.raw(
                """
                UPDATE stock_holds SET state = \(bind: state), updated_at = \(bind: now)
                WHERE id = \(bind: id) AND \(condition) RETURNING quantity
                """
            ).first()
        else { return }
        let quantity = try row.decode(column: "quantity", as: Int.self)
        try await transaction.sql.raw(
            "UPDATE stock_units SET hold_id = NULL, expires_at = NULL, updated_at = \(bind: now) WHERE stock_key = \(bind: key) AND hold_id = \(bind: id)"
        ).run()
        try await transaction.sql.raw(
            "UPDATE stocks SET available = available + \(bind: quantity), updated_at = \(bind: now) WHERE stock_key = \(bind: key)"
        ).run()
    }

    /// Returns every hold of the stock whose deadline has passed; how many there were.
    @discardableResult
    private func reclaimExpired(_ key: String, in transaction: Transaction) async throws -> Int {
        try await reclaim("stock_key = \(bind: key)", in: transaction)
    }

    /// Returns every expired hold of every stock (a thousand at a time); the number returned. For a periodic
    /// job: takes reclaim on their own, this only keeps levels read by people current.
    @discardableResult
    public func reclaimExpired() async throws -> Int {
        try await store.transaction { transaction in try await reclaim("1 = 1", limit: 1000, in: transaction) }
    }

    /// Ends, as expired, the lapsed holds among the stocks `scope` picks.
    private func reclaim(_ scope: SQLQueryString, limit: Int? = nil, in transaction: Transaction) async throws -> Int {
        let expired = try await transaction.sql.raw(
            """
            SELECT id FROM stock_holds WHERE \(scope) AND state = 'held' AND expires_at <= \(bind: transaction.clock.now())\
            \(unsafeRaw: limit.map { " LIMIT \($0)" } ?? "")
            """
        ).all()
        for row in expired { try await end(try row.decode(column: "id", as: UUID.self), state: "expired", in: transaction) }
        return expired.count
    }

    // MARK: Reading

    /// What a stock has: its total, what is available (expired holds counted as available), held and taken.
    public func level(_ key: String, on sql: (any SQLDatabase)? = nil) async throws -> StockLevel {
        let sql = sql ?? store.sql
        guard let row = try await sql.raw("SELECT kind, total, available FROM stocks WHERE stock_key = \(bind: key)").first() else {
            throw StockRefusal.noSuchStock(key: key)
        }
        let now = store.clock.now()
        let holds = try await sql.raw(
            """
            SELECT CAST(COALESCE(SUM(CASE WHEN state = 'held' AND expires_at > \(bind: now) THEN quantity ELSE 0 END), 0) AS BIGINT) AS held,
                   CAST(COALESCE(SUM(CASE WHEN state = 'held' AND expires_at <= \(bind: now) THEN quantity ELSE 0 END), 0) AS BIGINT) AS lapsed
            FROM stock_holds WHERE stock_key = \(bind: key)
            """
        ).first()
        let held = try holds?.decode(column: "held", as: Int.self) ?? 0
        let lapsed = try holds?.decode(column: "lapsed", as: Int.self) ?? 0
        let total = try row.decode(column: "total", as: Int.self)
        let available = try row.decode(column: "available", as: Int.self) + lapsed
        return StockLevel(
            key: key, kind: StockLevel.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .count, total: total,
            available: available, held: held, taken: total - available - held)
    }

    /// Every unit of a unit stock and whether it is free, in the order the names sort.
    public func units(_ key: String) async throws -> [StockUnit] {
        let now = store.clock.now()
        return try await store.sql.raw(
            """
            SELECT u.unit, u.expires_at, h.state FROM stock_units u LEFT JOIN stock_holds h ON h.id = u.hold_id
            WHERE u.stock_key = \(bind: key) ORDER BY u.unit
            """
        ).all().map { row in
            let expires = try row.decode(column: "expires_at", as: Date?.self)
            let state: StockUnit.State =
                switch try row.decode(column: "state", as: String?.self) {
                case "taken": .taken
                case "held" where expires.map { $0 > now } ?? false: .held
                default: .free
                }
            return StockUnit(unit: try row.decode(column: "unit", as: String.self), state: state)
        }
    }

    /// One hold, or nil.
    public func hold(_ id: UUID, on sql: (any SQLDatabase)? = nil) async throws -> StockHold? {
        try await (sql ?? store.sql).raw("SELECT \(unsafeRaw: Self.holdColumns) FROM stock_holds WHERE id = \(bind: id)").first().map(Self.hold)
    }

    private static let holdColumns = "id, stock_key, quantity, units, state, expires_at, reference"

    private static func hold(_ row: any SQLRow) throws -> StockHold {
        StockHold(
            id: try row.decode(column: "id", as: UUID.self), key: try row.decode(column: "stock_key", as: String.self),
            quantity: try row.decode(column: "quantity", as: Int.self),
            units: try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "units", as: String.self).utf8)),
            state: StockHold.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .released,
            expiresAt: try row.decode(column: "expires_at", as: Date?.self), reference: try row.decode(column: "reference", as: String?.self))
    }

    // MARK: Input

    private static func check(until: Date?, now: Date) throws {
        if let until, until <= now { throw PlazaError.validation(field: "until", "must be in the future") }
    }

    private static func check(key: String) throws {
        guard !key.isEmpty, key.count <= keyLimit, key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw PlazaError.validation(field: "key", "must be 1 to \(keyLimit) ASCII characters without spaces")
        }
    }

    /// The names, each once, in order; refuses empty, long or too many names and a name given twice.
    private static func check(units: [String]) throws -> [String] {
        guard !units.isEmpty, units.count <= maxUnits else { throw PlazaError.validation(field: "units", "must name 1 to \(maxUnits) units") }
        var seen: Set<String> = []
        for unit in units {
            guard !unit.isEmpty, unit.count <= 64 else { throw PlazaError.validation(field: "units", "each unit's name is 1 to 64 characters") }
            guard seen.insert(unit).inserted else { throw PlazaError.validation(field: "units", "names \(unit) twice") }
        }
        return units
    }

    private static func encode(_ units: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(units), as: UTF8.self)
    }
}

/// What a take made: a hold until a deadline, or a take for good.
public struct StockHold: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case held, taken, released, expired
    }
    public var id: UUID
    public var key: String
    public var quantity: Int
    /// The units taken, for a unit stock; empty for a count.
    public var units: [String]
    public var state: State
    public var expiresAt: Date?
    public var reference: String?
}

/// A stock's numbers: `total = available + held + taken`.
public struct StockLevel: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case count, units }
    public var key: String
    public var kind: Kind
    public var total: Int
    public var available: Int
    public var held: Int
    public var taken: Int

    public init(key: String, kind: Kind, total: Int, available: Int, held: Int, taken: Int) {
        self.key = key
        self.kind = kind
        self.total = total
        self.available = available
        self.held = held
        self.taken = taken
    }
}

/// One named unit and whether someone has it.
public struct StockUnit: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case free, held, taken }
    public var unit: String
    public var state: State
}

/// Why a take was refused, with what the taker needs to choose again. An HTTP answer: 409 (404 for a stock
/// that does not exist), its `errors` naming the units gone.
public enum StockRefusal: Error, Equatable, CustomStringConvertible {
    case notEnough(key: String, requested: Int, available: Int)
    case unitsGone(key: String, units: [String])
    case noSuchUnits(key: String, units: [String])
    case noSuchStock(key: String)
    case holdEnded(id: UUID, state: StockHold.State)

    public var description: String {
        switch self {
        case .notEnough(let key, let requested, let available): "\(key): \(requested) asked, \(available) left"
        case .unitsGone(let key, let units): "\(key): \(units.joined(separator: ", ")) already taken"
        case .noSuchUnits(let key, let units): "\(key) has no \(units.joined(separator: ", "))"
        case .noSuchStock(let key): "no stock \(key)"
        case .holdEnded(let id, let state): "hold \(id) is \(state.rawValue)"
        }
    }

    /// The refusal as the API answers it.
    public var error: PlazaError {
        switch self {
        case .notEnough(_, let requested, let available):
            PlazaError(
                .conflict, code: "sold-out", title: "Not enough left",
                detail: available == 0 ? "None are left." : "\(requested) asked, only \(available) left.",
                errors: [FieldError(field: "quantity", message: "only \(available) left")])
        case .unitsGone(_, let units):
            PlazaError(
                .conflict, code: "sold-out", title: "Already taken", detail: "Already taken: \(units.joined(separator: ", ")).",
                errors: units.map { FieldError(field: "units", message: "\($0) is already taken") })
        case .noSuchUnits(_, let units):
            PlazaError.validation(units.map { FieldError(field: "units", message: "there is no \($0)") })
        case .noSuchStock: PlazaError.notFound("No such stock.")
        case .holdEnded(_, let state):
            PlazaError(.conflict, code: "hold-ended", title: "The hold has ended", detail: "The hold was \(state.rawValue); take again.")
        }
    }
}

/// The tables: a stock's numbers, its units, and every hold and take.
public struct CreateStocks: AsyncMigration {
    public init() {}
    public var name: String { "0024_create_stocks" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("stocks")
            .field("stock_key", .string, .identifier(auto: false))
            .field("kind", .string, .required)
            .field("total", .int, .required)
            .field("available", .int, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema("stock_units")
            .field("stock_key", .string, .required)
            .field("unit", .string, .required)
            .field("hold_id", .uuid)
            .field("expires_at", .datetime)
            .field("updated_at", .datetime, .required)
            .unique(on: "stock_key", "unit")
            .create()
        try await database.schema("stock_holds")
            .id()
            .field("stock_key", .string, .required)
            .field("quantity", .int, .required)
            .field("units", .string, .required)
            .field("state", .string, .required)
            .field("expires_at", .datetime)
            .field("reference", .string)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("CREATE INDEX stock_units_hold ON stock_units (hold_id)").run()
        try await sql.raw("CREATE INDEX stock_holds_live ON stock_holds (stock_key, state, expires_at)").run()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("stock_holds").delete()
        try await database.schema("stock_units").delete()
        try await database.schema("stocks").delete()
    }
}
