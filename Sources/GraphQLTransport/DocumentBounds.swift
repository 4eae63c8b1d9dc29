import GraphQL

/// The checks made on a document's text before it is parsed. GraphQL's parser, validator and executor all
/// recurse once per bracket, and list literals cost time exponential in their nesting when checked against a
/// scalar argument; so the text is read once, as the lexer reads it (comments, strings and block strings hold no
/// brackets), without recursion. It also refuses what the lexer itself would trap on: a `\u` escape cut short.
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
        let bytes = Array(text.utf8)
        var open: [Bool] = [] // for each open bracket: whether it is a `[`
        var lists = 0
        var index = 0
        func at(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x23: // a comment runs to the end of its line
                while index < bytes.count, bytes[index] != 0x0A, bytes[index] != 0x0D { index += 1 }
            case 0x22 where at(1) == 0x22 && at(2) == 0x22: // a block string ends at the first unescaped """
                index += 3
                while index < bytes.count {
                    if bytes[index] == 0x5C, at(1) == 0x22, at(2) == 0x22, at(3) == 0x22 { index += 4; continue }
                    if bytes[index] == 0x22, at(1) == 0x22, at(2) == 0x22 { index += 2; break }
                    index += 1
                }
            case 0x22: // a string ends at its closing quote or its line
                index += 1
                while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x0A, bytes[index] != 0x0D {
                    if bytes[index] == 0x5C {
                        // GraphQL's lexer reads the four characters after \u without checking that they are there.
                        if at(1) == 0x75, !(2...5).allSatisfy({ at($0).map(Self.isHexDigit) ?? false }) {
                            throw GraphQLRefusal(code: "graphql-syntax", "A \\u escape needs four hexadecimal digits.")
                        }
                        index += 1
                    }
                    index += 1
                }
            case 0x7B, 0x28, 0x5B:
                open.append(byte == 0x5B)
                if byte == 0x5B { lists += 1 }
                if lists > limits.maxListNesting {
                    throw GraphQLRefusal(code: "list-nesting-limit", "Lists nest \(lists) deep; at most \(limits.maxListNesting) are accepted.")
                }
                if open.count > limits.maxBracketNesting {
                    throw GraphQLRefusal(
                        code: "depth-limit",
                        "The document nests deeper than \(limits.maxBracketNesting) brackets; selections may nest \(limits.maxDepth) deep.")
                }
            case 0x7D, 0x29, 0x5D:
                if let last = open.popLast(), last { lists -= 1 }
            default:
                break
            }
            index += 1
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }

    /// Whitespace, commas and line ends: what the lexer skips between tokens.
    private static func isIgnored(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x2C
    }
}
