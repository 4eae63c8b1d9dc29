import Foundation

/// Text that enters Plaza is stored exactly as accepted, or refused: the NUL character is refused everywhere
/// (SQLite's C strings end at it and PostgreSQL's text cannot hold it, so it would be cut off in storage while
/// the answer and the live event carried the whole text).
public enum InputText {
    /// What a refused field's error says.
    public static let nulMessage = "must not contain the NUL character (\\u0000)"

    public static func containsNUL(_ text: String) -> Bool { text.utf8.contains(0) }

    /// The name of the first field whose name or value holds a NUL, printable (its own NULs left out); nil when none.
    public static func fieldWithNUL<Fields: Sequence>(in fields: Fields) -> String? where Fields.Element == (String, String) {
        fields.first { containsNUL($0.0) || containsNUL($0.1) }.map { printable($0.0) }
    }

    /// A name as an error may show it: without its NULs.
    public static func printable(_ name: String) -> String { name.replacingOccurrences(of: "\0", with: "") }

    /// Refuses the first field (name or value) holding a NUL with a 422 naming it.
    public static func check(_ pairs: [(String, String)]) throws(PlazaError) {
        if let field = fieldWithNUL(in: pairs) { throw PlazaError.validation(field: field, nulMessage) }
    }

    public static func check(_ value: String, field: String) throws(PlazaError) {
        if containsNUL(value) { throw PlazaError.validation(field: field, nulMessage) }
    }
}

/// A JSON body read once, byte by byte, before it is decoded: how deep it nests (every JSON decoder recurses per
/// level) and whether a string holds the escape `\u0000` (a NUL inside the text it decodes to).
public struct JSONScan: Sendable, Equatable {
    /// The deepest a JSON body may nest; deeper bodies are refused before decoding.
    public static let maxDepth = 64

    public private(set) var depth = 0
    public private(set) var hasNUL = false
    /// A zero byte: never in UTF-8 JSON, always in UTF-16 or UTF-32 JSON (which decoders accept and this scan
    /// would misread), so such a body is refused.
    public private(set) var hasZeroByte = false

    public init<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var level = 0
        var inString = false
        // Bytes since a backslash inside a string: 1 after `\`, 2 after `\u`, up to 6 after `\u0000`.
        var escape = 0
        for byte in bytes {
            if byte == 0 { hasZeroByte = true }
            if inString {
                switch escape {
                case 0:
                    if byte == 0x5C { escape = 1 } else if byte == 0x22 { inString = false }
                case 1:
                    escape = byte == 0x75 ? 2 : 0
                default:
                    if byte == 0x30 {
                        escape += 1
                        if escape == 6 {
                            hasNUL = true
                            escape = 0
                        }
                    } else {
                        escape = 0
                        if byte == 0x5C { escape = 1 } else if byte == 0x22 { inString = false }
                    }
                }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x7B, 0x5B:
                level += 1
                depth = max(depth, level)
            case 0x7D, 0x5D: level -= 1
            default: break
            }
        }
    }

    /// The body, once ``check(_:)`` has passed it.
    public static func checked(_ data: Data) throws(PlazaError) -> Data {
        try check(data)
        return data
    }

    /// Refuses a body that nests past ``maxDepth`` (400) or holds a NUL (422, naming the field when the body
    /// can be read).
    public static func check(_ data: Data) throws(PlazaError) {
        let scan = JSONScan(data)
        if scan.hasZeroByte {
            throw PlazaError.badRequest("The body must be JSON in UTF-8.", code: "malformed-body")
        }
        if scan.depth > maxDepth {
            throw PlazaError.badRequest("The body nests \(scan.depth) levels deep; at most \(maxDepth) are accepted.", code: "malformed-body")
        }
        if scan.hasNUL {
            let field = (try? JSONDecoder().decode(JSONValue.self, from: data)).flatMap(Self.pathToNUL) ?? "body"
            throw PlazaError.validation(field: field.isEmpty ? "body" : field, InputText.nulMessage)
        }
    }

    /// The path (`items[2].name`) of the first string or key with a NUL.
    public static func pathToNUL(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): return InputText.containsNUL(text) ? "" : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let inner = pathToNUL(item) { return "[\(index)]" + (inner.isEmpty || inner.hasPrefix("[") ? inner : "." + inner) }
            }
            return nil
        case .object(let fields):
            for key in fields.keys.sorted() {
                if InputText.containsNUL(key) { return InputText.printable(key) }
                if let inner = pathToNUL(fields[key]!) { return key + (inner.isEmpty || inner.hasPrefix("[") ? inner : "." + inner) }
            }
            return nil
        default: return nil
        }
    }
}
