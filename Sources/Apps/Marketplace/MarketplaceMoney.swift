import Foundation
import Ledger
import PlazaKit
import SQLKit
import Storage

/// Prices in the marketplace: `Money` in the marketplace's one currency (`PLAZA_MARKETPLACE_CURRENCY`), stored as
/// whole minor units, and what a finished job posts to the books.
enum MarketplacePrice {
    /// The largest price: ₴20,000,000.00 in kopiykas — far above a home repair, and within GraphQL's 32-bit `Int`.
    static let maxAmount: Int64 = 2_000_000_000

    /// A price as the API takes it: in `currency` (the marketplace's, as configured) or, where a stored price is
    /// described, any currency Plaza knows.
    static func schema(_ currency: Currency? = nil) -> JSONSchema {
        .object(
            properties: [
                "amount": .integer(format: "int64", minimum: 0, maximum: Int(maxAmount)),
                "currency": currency.map { .string(enumValues: [$0.code], description: "The marketplace's currency (PLAZA_MARKETPLACE_CURRENCY).") }
                    ?? Currency.schema,
            ], required: ["amount", "currency"])
    }

    /// Refuses a price in another currency or outside 0…``maxAmount``.
    static func check(_ price: Money?, field: String, currency: Currency, into errors: inout [FieldError]) {
        guard let price else { return }
        if price.currency != currency {
            errors.append(FieldError(field: "\(field).currency", message: "must be \(currency.code), this marketplace's currency"))
        } else if price.amount < 0 || price.amount > maxAmount {
            errors.append(FieldError(field: "\(field).amount", message: "must be from 0 to \(maxAmount) (minor units)"))
        }
    }

    /// A price in a workflow step's payload (its history shows what was agreed).
    static func json(_ money: Money) -> JSONValue {
        .object(["amount": .number(Double(money.amount)), "currency": .string(money.currency.code)])
    }

    /// A stored amount in the given currency (nil stays nil).
    static func money(_ row: any SQLRow, _ column: String, currency: Currency) throws -> Money? {
        try row.decode(column: column, as: Int64?.self).map { Money(amount: $0, currency: currency) }
    }

    // MARK: The books

    /// Where customers' money comes from: outside the platform (a card, cash on the doorstep).
    static func payments(_ currency: Currency) -> LedgerAccount { LedgerAccount(.external, "marketplace.payments", currency) }

    /// A provider's earnings, kept under their account.
    static func earnings(of providerUser: UUID, _ currency: Currency) -> LedgerAccount {
        LedgerAccount(.user(providerUser), "marketplace.earnings", currency)
    }

    static let jobPaidKind = "marketplace.job-paid"

    /// What a completed job posts: its price, from the customer's payment to the provider's earnings. The key is
    /// the request's, so a retried completion (or the migration that moved earlier jobs into the books) posts once.
    static func jobPaid(request: UUID, providerUser: UUID, price: Money, at: Date? = nil) -> LedgerPosting {
        LedgerPosting(
            key: "marketplace.request:\(request.uuidString.lowercased()):completed", kind: jobPaidKind,
            reference: request.uuidString.lowercased(), occurredAt: at,
            transfers: [LedgerTransfer(from: payments(price.currency), to: earnings(of: providerUser, price.currency), amount: price)])
    }
}
