/// GraphQLTransport: serves an app's GraphQL schema over HTTP. A document is bounded before it is parsed
/// (size, bracket nesting, list nesting — the parser and the validator recurse on both), measured before it
/// is validated (depth, aliases, fields, cost, with fragments expanded), validated with introspection off
/// unless allowed, and executed under a deadline. Every refusal is a 400 in GraphQL's error shape; a resolver's
/// ``PlazaKit/PlazaError`` keeps its status and code in the error's `extensions`.

/// How much one GraphQL request may ask for. Every limit refuses the whole request before anything runs.
public struct GraphQLLimits: Sendable, Equatable {
    /// The largest document, in UTF-8 bytes.
    public var maxDocumentBytes = 16_384
    /// The deepest selection (a field with no sub-selection is depth 1), fragments expanded.
    public var maxDepth = 12
    /// The most aliased fields in a document, fragments expanded.
    public var maxAliases = 20
    /// The most fields a document selects, fragments expanded (and counted as written, too).
    public var maxFields = 300
    /// The deepest list literal or list type (`[[String]]` is 2).
    public var maxListNesting = 4
    /// The most a request may cost: each field costs 1 unless its schema gives it more (a search costs more).
    public var maxCost = 1_000
    /// How long execution may take before the request is answered with a 503 (the deadline is firm: work that
    /// ignores cancellation is left behind, never waited for).
    public var timeout: Duration = .seconds(10)
    /// Whether `__schema` and `__type` may be asked for (`__typename` always may).
    public var introspection = false

    public init() {}

    /// How deep brackets of any kind (selections, arguments, lists, input objects) may nest in the text. Checked
    /// before parsing, so the parser's recursion is bounded whatever the document; generous enough that a
    /// document within every other limit always passes it.
    var maxBracketNesting: Int { 2 * maxDepth + maxListNesting + 8 }
}
