import Foundation

/// A limit on a text field, stated once: the service checks values with it and the field's schema declares it,
/// so `/openapi.json` and the validator cannot disagree (RouteLimitTests samples each declared limit against the
/// server).
///
/// Lengths count Unicode code points, as JSON Schema's `minLength`/`maxLength` do (Swift's `count` counts
/// grapheme clusters: "é" written as e and a combining accent is one of those and two code points).
public struct TextLimit: Sendable, Equatable {
    public let length: ClosedRange<Int>
    /// Whether the text must hold more than white space (checked as the pattern `\S`).
    public let nonBlank: Bool

    /// A text of `length` code points; when its lower bound is 1 or more, it must also hold more than white space.
    public init(_ length: ClosedRange<Int>) {
        self.length = length
        nonBlank = length.lowerBound > 0
    }

    /// At most `maximum` code points; may be empty.
    public static func atMost(_ maximum: Int) -> TextLimit { TextLimit(0...maximum) }

    /// What is wrong with `text`, in the words of a field error, or nil when it fits.
    public func problem(_ text: String) -> String? {
        let count = text.unicodeScalars.count
        if !length.contains(count) || (nonBlank && text.unicodeScalars.allSatisfy(Self.isPatternSpace)) { return message }
        return nil
    }

    /// What the schema's `\S` calls white space (ECMAScript's WhiteSpace and LineTerminator), so the server calls a
    /// text blank exactly when the schema does: U+0085 is not, U+FEFF is.
    static func isPatternSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x2028, 0x2029, 0xFEFF: return true
        default: return scalar.properties.generalCategory == .spaceSeparator
        }
    }

    /// Adds a field error when `text` is present and does not fit.
    public func check(_ text: String?, field: String, into errors: inout [FieldError]) {
        if let text, let message = problem(text) { errors.append(FieldError(field: field, message: message)) }
    }

    /// Throws the field error when `text` does not fit.
    public func require(_ text: String, field: String) throws {
        if let message = problem(text) { throw PlazaError.validation(field: field, message) }
    }

    public var message: String {
        switch length.lowerBound {
        case 0: return "must be at most \(length.upperBound) characters"
        case length.upperBound: return "must be \(length.upperBound) characters"
        default: return "must be \(length.lowerBound) to \(length.upperBound) characters"
        }
    }

    /// The field's schema: its lengths, `\S` when it must not be blank, and what else the caller says.
    public func schema(format: String? = nil, description: String? = nil) -> JSONSchema {
        .string(
            format: format, description: description, minLength: length.lowerBound > 0 ? length.lowerBound : nil,
            maxLength: length.upperBound, pattern: nonBlank ? "\\S" : nil)
    }

    public var schema: JSONSchema { schema() }
}

/// A range for a whole number, stated once for the validator and the schema.
public struct IntegerLimit: Sendable, Equatable {
    public let range: ClosedRange<Int>
    public init(_ range: ClosedRange<Int>) { self.range = range }

    public var message: String { "must be from \(range.lowerBound) to \(range.upperBound)" }

    public func check(_ value: Int?, field: String, into errors: inout [FieldError]) {
        if let value, !range.contains(value) { errors.append(FieldError(field: field, message: message)) }
    }

    public var schema: JSONSchema { .integer(format: "int32", minimum: range.lowerBound, maximum: range.upperBound) }
}

/// A range for a number (a coordinate, a price), stated once for the validator and the schema.
public struct NumberLimit: Sendable, Equatable {
    public let range: ClosedRange<Double>
    public init(_ range: ClosedRange<Double>) { self.range = range }

    public var message: String { "must be from \(JSONText.number(range.lowerBound)) to \(JSONText.number(range.upperBound))" }

    public func check(_ value: Double?, field: String, into errors: inout [FieldError]) {
        if let value, !(value.isFinite && range.contains(value)) { errors.append(FieldError(field: field, message: message)) }
    }

    public var schema: JSONSchema { .number(minimum: range.lowerBound, maximum: range.upperBound) }

}

extension NumberLimit {
    public static let latitude = NumberLimit(-90...90)
    public static let longitude = NumberLimit(-180...180)
}

extension String {
    /// Whether the whole text matches `pattern` (a schema's `pattern`, anchored with ^ and $). Checked as a range
    /// over the whole text: ICU's `$` also matches before a final line break, so `"roofing\n"` would pass `^[a-z]+$`
    /// where JSON Schema's (ECMA) `$` refuses it.
    public func wholly(matches pattern: String) -> Bool {
        range(of: pattern, options: .regularExpression) == startIndex..<endIndex
    }
}
