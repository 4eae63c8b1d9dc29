import Foundation

/// An ISO 4217 currency Plaza knows: its code and how many minor units make one major unit.
///
/// The list is closed on purpose: an amount in a currency whose minor digits are unknown cannot be shown or
/// split correctly. Add a currency here, with its digits and symbol, when an app needs it.
public struct Currency: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Three upper-case letters (`UAH`).
    public let code: String
    /// 2 for hryvnias and kopiykas, 0 for yen.
    public let minorDigits: Int
    /// The sign shown beside an amount (`₴`); the code when there is none in common use.
    public let symbol: String

    private init(_ code: String, _ minorDigits: Int, _ symbol: String) {
        self.code = code
        self.minorDigits = minorDigits
        self.symbol = symbol
    }

    public static let uah = Currency("UAH", 2, "₴")
    public static let usd = Currency("USD", 2, "$")
    public static let eur = Currency("EUR", 2, "€")
    public static let gbp = Currency("GBP", 2, "£")
    public static let pln = Currency("PLN", 2, "zł")
    public static let chf = Currency("CHF", 2, "CHF")
    public static let jpy = Currency("JPY", 0, "¥")
    public static let all: [Currency] = [.uah, .usd, .eur, .gbp, .pln, .chf, .jpy]
    private static let byCode = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The currency with this code, or nil when Plaza does not know it.
    public init?(code: String) {
        guard let known = Self.byCode[code] else { return nil }
        self = known
    }

    /// Minor units in one major unit (100 for UAH).
    public var scale: Int64 {
        var scale: Int64 = 1
        for _ in 0..<minorDigits { scale *= 10 }
        return scale
    }

    public var description: String { code }
    public static func < (lhs: Currency, rhs: Currency) -> Bool { lhs.code < rhs.code }

    /// A currency field in an API schema: one of the known codes.
    public static var schema: JSONSchema { .string(enumValues: all.map(\.code), description: "An ISO 4217 currency code.") }
}

extension Currency: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let code = try container.decode(String.self)
        guard let currency = Currency(code: code) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "must be one of \(Self.all.map(\.code).joined(separator: ", "))")
        }
        self = currency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

/// An amount of money: whole minor units (kopiykas, cents) of one currency, never a floating-point number.
///
/// JSON is `{"amount": 125000, "currency": "UAH"}` — minor units, as Stripe's API writes them — so a client
/// never rounds. Arithmetic refuses to mix currencies and to overflow (``MoneyError``); shares and splits
/// (``share(basisPoints:)``, ``split(_:)``) always add back up to the whole. Nothing here traps: what would
/// overflow throws ``MoneyError/overflow``.
public struct Money: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// Minor units (125000 is ₴1,250.00).
    public let amount: Int64
    public let currency: Currency

    public init(amount: Int64, currency: Currency) {
        self.amount = amount
        self.currency = currency
    }

    /// Nothing, in a currency.
    public static func zero(_ currency: Currency) -> Money { Money(amount: 0, currency: currency) }

    /// Whole major units (`Money(major: 1250, .uah)` is 125000 kopiykas); nil when it would overflow.
    public init?(major: Int64, _ currency: Currency) {
        let (amount, overflow) = major.multipliedReportingOverflow(by: currency.scale)
        guard !overflow else { return nil }
        self.init(amount: amount, currency: currency)
    }

    /// Reads a decimal written by a person (`1250`, `1250.5`, `1 250,50`): at most the currency's minor
    /// digits after the separator, nothing else. Nil when it is not such a number.
    public init?(parsing text: String, _ currency: Currency) {
        var digits = text.trimmingCharacters(in: .whitespacesAndNewlines).filter { $0 != " " && $0 != "\u{00A0}" && $0 != "\u{202F}" }
        // A person's minus, or the one `formatted` prints (U+2212).
        if digits.hasPrefix("\u{2212}") { digits = "-" + digits.dropFirst() }
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        let parts = digits.split(separator: digits.contains(",") ? "," : ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= currency.minorDigits, parts.count == 1 || !fraction.isEmpty, parts[0].count <= 15 else { return nil }
        let padded = fraction + String(repeating: "0", count: currency.minorDigits - fraction.count)
        guard let whole = Int64(parts[0]), let major = Money(major: whole, currency), let minor = padded.isEmpty ? 0 : Int64(padded)
        else { return nil }
        self.init(amount: negative ? -(major.amount + minor) : major.amount + minor, currency: currency)
    }

    public var isZero: Bool { amount == 0 }
    public var isNegative: Bool { amount < 0 }

    /// The sum; refuses another currency and an overflow.
    public func adding(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = amount.addingReportingOverflow(other.amount)
        guard !overflow else { throw .overflow }
        return Money(amount: sum, currency: currency)
    }

    /// The difference; refuses another currency and an overflow.
    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (difference, overflow) = amount.subtractingReportingOverflow(other.amount)
        guard !overflow else { throw .overflow }
        return Money(amount: difference, currency: currency)
    }

    /// This amount `count` times (a seat's price for four seats).
    public func times(_ count: Int) throws(MoneyError) -> Money {
        let (product, overflow) = amount.multipliedReportingOverflow(by: Int64(count))
        guard !overflow else { throw .overflow }
        return Money(amount: product, currency: currency)
    }

    /// The same amount the other way; refuses the one amount whose opposite does not exist (`Int64.min`).
    public func negated() throws(MoneyError) -> Money {
        guard amount != .min else { throw .overflow }
        return Money(amount: -amount, currency: currency)
    }

    /// A share in basis points (1,000 is 10 %; 0…10,000), rounded half away from zero to a minor unit: a
    /// platform's fee. What remains is `subtracting` the share, so fee and remainder add up to the whole. The
    /// product is taken at double width, so no amount overflows.
    public func share(basisPoints: Int) -> Money {
        let points = Int64(min(max(basisPoints, 0), 10_000))
        let product = amount.multipliedFullWidth(by: points)
        let (quotient, remainder) = Int64(10_000).dividingFullWidth(product)
        let rounded = remainder.magnitude * 2 >= 10_000 ? quotient + (amount < 0 ? -1 : 1) : quotient
        return Money(amount: rounded, currency: currency)
    }

    /// Splits the amount by weights without losing a minor unit: the parts add up to the whole exactly, the
    /// units left over by rounding down going to the largest remainders (ties: the earlier weight).
    /// Negative weights count as zero; weights whose sum overflows are refused.
    public func split(_ weights: [Int]) throws(MoneyError) -> [Money] {
        var total = 0
        for weight in weights {
            let (sum, overflow) = total.addingReportingOverflow(max(0, weight))
            guard !overflow else { throw .overflow }
            total = sum
        }
        guard total > 0 else { return weights.map { _ in .zero(currency) } }
        var parts = weights.map { weight -> (Int64, Int64) in
            let product = amount.multipliedFullWidth(by: Int64(max(0, weight)))
            let (quotient, remainder) = Int64(total).dividingFullWidth(product)
            return (quotient, remainder)
        }
        var left = amount - parts.reduce(0) { $0 + $1.0 }
        let step: Int64 = left < 0 ? -1 : 1
        let order = parts.indices.sorted { abs(parts[$0].1) > abs(parts[$1].1) || (abs(parts[$0].1) == abs(parts[$1].1) && $0 < $1) }
        for index in order where left != 0 {
            parts[index].0 += step
            left -= step
        }
        return parts.map { Money(amount: $0.0, currency: currency) }
    }

    /// The amount as a person reads it in a language: `₴1,250.00` in English, `1 250,00 ₴` in Ukrainian.
    public func formatted(language: String) -> String {
        let scale = currency.scale
        let magnitude = amount.magnitude
        let whole = String(magnitude / UInt64(scale))
        let ukrainian = language.hasPrefix("uk")
        var grouped = ""
        for (index, character) in whole.enumerated() {
            if index > 0, (whole.count - index) % 3 == 0 { grouped += ukrainian ? "\u{202F}" : "," }
            grouped.append(character)
        }
        var number = grouped
        if currency.minorDigits > 0 {
            let minor = String(magnitude % UInt64(scale))
            number += (ukrainian ? "," : ".") + String(repeating: "0", count: currency.minorDigits - minor.count) + minor
        }
        let sign = amount < 0 ? "−" : ""
        if ukrainian { return "\(sign)\(number)\u{00A0}\(currency.symbol)" }
        let symbol = currency.symbol.count > 1 && currency.symbol == currency.code ? "\(currency.symbol)\u{00A0}" : currency.symbol
        return "\(sign)\(symbol)\(number)"
    }

    /// The amount as a plain decimal in major units (`1250.00`), for a form's input.
    public var decimal: String {
        let scale = UInt64(currency.scale)
        let whole = "\(amount < 0 ? "-" : "")\(amount.magnitude / scale)"
        guard currency.minorDigits > 0 else { return whole }
        let minor = String(amount.magnitude % scale)
        return whole + "." + String(repeating: "0", count: currency.minorDigits - minor.count) + minor
    }

    public var description: String { "\(decimal) \(currency.code)" }

    /// Orders amounts of one currency; amounts of two currencies order by currency first (a stable order for
    /// lists, not a comparison of value).
    public static func < (lhs: Money, rhs: Money) -> Bool {
        lhs.currency == rhs.currency ? lhs.amount < rhs.amount : lhs.currency < rhs.currency
    }

    /// A money field in an API schema.
    public static var schema: JSONSchema {
        .object(
            properties: [
                "amount": .integer(format: "int64", minimum: nil, maximum: nil),
                "currency": Currency.schema,
            ], required: ["amount", "currency"])
    }

    /// A money field that must not be negative (a price).
    public static var nonNegativeSchema: JSONSchema {
        .object(
            properties: ["amount": .integer(format: "int64", minimum: 0, maximum: nil), "currency": Currency.schema],
            required: ["amount", "currency"])
    }
}

/// Why a sum of money was refused.
public enum MoneyError: Error, Equatable, CustomStringConvertible {
    case currencyMismatch(Currency, Currency)
    case overflow

    public var description: String {
        switch self {
        case .currencyMismatch(let a, let b): "cannot combine \(a.code) with \(b.code)"
        case .overflow: "the amount is too large"
        }
    }
}
