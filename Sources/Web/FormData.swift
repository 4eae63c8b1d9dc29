import Foundation
import PlazaKit

/// An `application/x-www-form-urlencoded` body (or query string) as a dictionary; the last value wins,
/// except where a field is read with ``all(_:)``.
public struct FormData: Sendable, Equatable {
    private(set) var pairs: [(String, String)]

    /// An empty form: what a page shows before anything was typed.
    public init() {
        pairs = []
    }

    init(pairs: [(String, String)]) {
        self.pairs = pairs
    }

    /// A browser sends a textarea's line breaks as CRLF (HTML's form submission): read as one line break each, so
    /// a text the page's `maxlength` let through is not longer here (limits count code points).
    init(encoded text: String) {
        pairs = FormEncoding.decode(text).map { ($0.0, $0.1.replacingOccurrences(of: "\r\n", with: "\n")) }
    }

    public subscript(_ name: String) -> String? {
        pairs.last { $0.0 == name }?.1
    }

    /// A field that is present and not blank, trimmed.
    public func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// Every value of a repeated field (checkboxes).
    public func all(_ name: String) -> [String] {
        pairs.filter { $0.0 == name }.map(\.1)
    }

    public static func == (lhs: FormData, rhs: FormData) -> Bool {
        lhs.pairs.map { [$0.0, $0.1] } == rhs.pairs.map { [$0.0, $0.1] }
    }
}
