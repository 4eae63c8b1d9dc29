import GraphQL

/// The checks made on a document's text before it is parsed. GraphQL's parser, validator and executor all
/// recurse once per bracket, and list literals cost time exponential in their nesting when checked against a
/// scalar argument; so the text is read once, as the lexer would read it, without recursion.
enum DocumentBounds {
    static func check(_ text: String, limits: GraphQLLimits) throws(GraphQLRefusal) {
        let size = text.utf8.count
        guard size > 0, text.utf8.contains(where: { !Self.isIgnored($0) }) else {
            throw GraphQLRefusal(code: "graphql-syntax", "The request has no GraphQL document: send {\"query\": \"{ … }\"}.")
        }
        guard size <= limits.maxDocumentBytes else {
            throw GraphQLRefusal(
                code: "document-too-large", "The document is \(size) bytes; at most \(limits.maxDocumentBytes) are accepted.")
        }
        var scan = Scan()
        for byte in text.utf8 {
            guard let (depth, lists) = scan.step(byte) else { continue }
            if lists > limits.maxListNesting {
                throw GraphQLRefusal(code: "list-nesting-limit", "Lists nest \(lists) deep; at most \(limits.maxListNesting) are accepted.")
            }
            if depth > limits.maxBracketNesting {
                throw GraphQLRefusal(
                    code: "depth-limit",
                    "The document nests deeper than \(limits.maxBracketNesting) brackets; selections may nest \(limits.maxDepth) deep.")
            }
        }
    }

    /// Whitespace, commas and the byte order mark: what the lexer skips between tokens.
    private static func isIgnored(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x2C
    }

    /// The lexer's view of one byte at a time: inside a comment, a string or a block string brackets mean
    /// nothing; outside them each opening bracket deepens the nesting and each closing one ends the latest.
    struct Scan {
        enum Mode { case code, comment, string, escape, blockString }
        var mode = Mode.code
        /// `[` (true) or another bracket (false) for each open bracket.
        var open: [Bool] = []
        var lists = 0
        /// Quotes seen in a row: three open or close a block string.
        var quotes = 0
        /// A backslash just before, inside a block string (`\"""` does not close it).
        var blockEscape = false

        /// The nesting and the list nesting after an opening bracket; nil for every other byte.
        mutating func step(_ byte: UInt8) -> (depth: Int, lists: Int)? {
            switch mode {
            case .comment:
                if byte == 0x0A || byte == 0x0D { mode = .code }
                return nil
            case .escape:
                mode = .string
                return nil
            case .string:
                if byte == 0x5C { mode = .escape }
                else if byte == 0x22 || byte == 0x0A || byte == 0x0D { mode = .code }
                return nil
            case .blockString:
                if byte == 0x22 {
                    quotes += 1
                    if quotes == 3 {
                        quotes = 0
                        if blockEscape { blockEscape = false } else { mode = .code }
                    }
                } else {
                    blockEscape = byte == 0x5C
                    quotes = 0
                }
                return nil
            case .code:
                if byte == 0x22 {
                    quotes += 1
                    return nil
                }
                // One quote opened a string, two closed an empty one, three (or more) open a block string.
                let pending = quotes
                quotes = 0
                if pending == 1 {
                    mode = .string
                    return step(byte)
                }
                if pending >= 3 {
                    mode = .blockString
                    quotes = pending - 3
                    return step(byte)
                }
                switch byte {
                case 0x23: mode = .comment
                case 0x7B, 0x28, 0x5B:
                    open.append(byte == 0x5B)
                    if byte == 0x5B { lists += 1 }
                    return (open.count, lists)
                case 0x7D, 0x29, 0x5D:
                    if let last = open.popLast(), last { lists -= 1 }
                default: break
                }
                return nil
            }
        }
    }
}
