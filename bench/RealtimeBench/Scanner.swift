/// Finds `"key":` in a byte stream and hands over the value that follows — digits, or the characters
/// of a quoted string — however the stream is cut into reads. Parsing JSON per delivery would make
/// the client, which shares the machine's two cores with the server, the bottleneck.
struct FieldScanner {
    private let pattern: [UInt8]
    private let failure: [Int]
    private let quoted: Bool
    private var matched = 0
    private var inValue = false
    private var sawOpeningQuote = false
    private var value: [UInt8] = []

    /// `quoted`: the value is a JSON string (read up to the closing quote); otherwise digits.
    init(key: String, quoted: Bool = false) {
        pattern = Array("\"\(key)\":".utf8)
        self.quoted = quoted
        // Knuth–Morris–Pratt failure table, so a partial match cut short is never missed.
        var table = [Int](repeating: 0, count: pattern.count)
        var k = 0
        for i in 1..<pattern.count {
            while k > 0 && pattern[i] != pattern[k] { k = table[k - 1] }
            if pattern[i] == pattern[k] { k += 1 }
            table[i] = k
        }
        failure = table
    }

    /// Calls `found` with each complete value in `bytes`.
    mutating func scan(_ bytes: UnsafeRawBufferPointer, _ found: ([UInt8]) -> Void) {
        for byte in bytes { feed(byte, found) }
    }

    private mutating func feed(_ byte: UInt8, _ found: ([UInt8]) -> Void) {
        if inValue {
            if quoted {
                if !sawOpeningQuote {
                    sawOpeningQuote = byte == UInt8(ascii: "\"")
                    if !sawOpeningQuote { inValue = false }
                    return
                }
                if byte == UInt8(ascii: "\"") { finish(found) } else { value.append(byte) }
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                value.append(byte)
            } else if byte == UInt8(ascii: " ") && value.isEmpty {
                return
            } else {
                finish(found)
            }
            return
        }
        while matched > 0 && byte != pattern[matched] { matched = failure[matched - 1] }
        if byte == pattern[matched] { matched += 1 }
        if matched == pattern.count {
            matched = 0
            inValue = true
            sawOpeningQuote = false
            value.removeAll(keepingCapacity: true)
        }
    }

    private mutating func finish(_ found: ([UInt8]) -> Void) {
        inValue = false
        if !value.isEmpty { found(value) }
    }
}

extension Array where Element == UInt8 {
    /// The decimal number these ASCII digits spell.
    var decimal: UInt64 {
        reduce(0) { $0 &* 10 &+ UInt64($1 &- UInt8(ascii: "0")) }
    }
}
