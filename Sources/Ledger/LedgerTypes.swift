import Foundation
import PlazaKit

/// Whose an account is. `external` is the world outside the platform (a card network, a bank): money enters
/// and leaves through it, so it is the one owner whose balances may go below zero.
public enum LedgerOwner: Sendable, Hashable, CustomStringConvertible {
    case user(UUID)
    case organisation(UUID)
    /// The platform's own accounts (its fees).
    case platform
    case external

    /// As stored: `user:<id>`, `organisation:<id>`, `platform`, `external`.
    public var description: String {
        switch self {
        case .user(let id): "user:\(id.uuidString.lowercased())"
        case .organisation(let id): "organisation:\(id.uuidString.lowercased())"
        case .platform: "platform"
        case .external: "external"
        }
    }

    public init?(_ stored: String) {
        switch stored {
        case "platform": self = .platform
        case "external": self = .external
        default:
            let parts = stored.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let id = UUID(uuidString: parts[1]) else { return nil }
            switch parts[0] {
            case "user": self = .user(id)
            case "organisation": self = .organisation(id)
            default: return nil
            }
        }
    }
}

/// An account, named by its owner, its purpose (`earnings`, `fees`, `wallet`, `refunds` — the caller's word,
/// an app's id first when only that app uses it: `marketplace.payments`) and its currency. Accounts open on
/// their first posting.
public struct LedgerAccount: Sendable, Hashable, CustomStringConvertible {
    public var owner: LedgerOwner
    public var name: String
    public var currency: Currency

    public init(_ owner: LedgerOwner, _ name: String, _ currency: Currency) {
        self.owner = owner
        self.name = name
        self.currency = currency
    }

    public var description: String { "\(owner)/\(name)/\(currency.code)" }
}

/// Money moving from one account to another: one debit and one credit, so every posting balances by construction.
public struct LedgerTransfer: Sendable, Hashable {
    public var from: LedgerAccount
    public var to: LedgerAccount
    public var amount: Money

    public init(from: LedgerAccount, to: LedgerAccount, amount: Money) {
        self.from = from
        self.to = to
        self.amount = amount
    }
}

/// One posting: transfers that happen together, under an idempotency key. Posting the same key again with the
/// same transfers returns the first posting; with different ones it is refused.
public struct LedgerPosting: Sendable, Hashable {
    /// Unique per posting, chosen by the caller from what it records (`marketplace.request:<id>:completed`).
    public var key: String
    /// What happened, for statements (`marketplace.job-paid`).
    public var kind: String
    public var memo: String?
    /// The caller's id of the thing the posting is about (a request, a booking).
    public var reference: String?
    /// When it happened, when not now (a statement's period follows it).
    public var occurredAt: Date?
    public var transfers: [LedgerTransfer]

    public init(key: String, kind: String, memo: String? = nil, reference: String? = nil, occurredAt: Date? = nil, transfers: [LedgerTransfer]) {
        self.key = key
        self.kind = kind
        self.memo = memo
        self.reference = reference
        self.occurredAt = occurredAt
        self.transfers = transfers
    }
}

/// A posting as recorded.
public struct LedgerRecord: Sendable, Equatable, Codable {
    public var id: UUID
    public var key: String
    public var kind: String
    public var memo: String?
    public var reference: String?
    public var occurredAt: Date
    /// False when the key had been posted before and this is that first posting.
    public var created: Bool
}

/// One line of a statement: an account's side of a posting.
public struct LedgerLine: Sendable, Equatable, Codable {
    public var entryId: UUID
    public var postingId: UUID
    public var kind: String
    public var memo: String?
    public var reference: String?
    /// Positive: money in; negative: money out.
    public var amount: Money
    public var occurredAt: Date
}

/// An account's movements in a period, with the balances around them.
public struct LedgerStatement: Sendable, Equatable, Codable {
    public var account: String
    public var from: Date
    public var to: Date
    public var opening: Money
    public var moneyIn: Money
    public var moneyOut: Money
    public var closing: Money
    public var lines: [LedgerLine]
    /// Where the next page of lines starts, when there are more than the limit.
    public var nextCursor: String?
}

/// Totals of an account per calendar period (a month, a day) in a time zone.
public struct LedgerPeriod: Sendable, Equatable, Codable {
    /// `2026-12` for a month, `2026-12-07` for a day.
    public var period: String
    public var count: Int
    public var moneyIn: Money
    public var moneyOut: Money
}

/// Why a posting was refused.
public enum LedgerRefusal: Error, Equatable, CustomStringConvertible {
    /// The account would go below zero; its balance now.
    case insufficientFunds(account: String, balance: Money)
    /// The key was posted before with other transfers.
    case keyReused(key: String)
    /// A transfer is malformed (the message says how).
    case invalid(String)

    public var description: String {
        switch self {
        case .insufficientFunds(let account, let balance): "\(account) holds only \(balance)"
        case .keyReused(let key): "the key \(key) was posted before with other transfers"
        case .invalid(let message): message
        }
    }

    /// The refusal as the API answers it.
    public var error: PlazaError {
        switch self {
        case .insufficientFunds(_, let balance):
            PlazaError(
                .conflict, code: "insufficient-funds", title: "Insufficient funds",
                detail: "The account holds \(balance.decimal) \(balance.currency.code).")
        case .keyReused:
            PlazaError(.conflict, code: "idempotency-key-reused", title: "Conflict", detail: "This key was used for a different posting.")
        case .invalid(let message): PlazaError.validation(field: "transfers", message)
        }
    }
}
