import Foundation
import GraphQL
import PlazaKit
import Synchronization
import Testing

@testable import GraphQLTransport

let stuckResolvers = Mutex<[CheckedContinuation<Void, Never>]>([])

/// A schema with a recursive type (for depth), a costly search with a list argument (for cost and list
/// nesting) and a resolver that never returns (for the deadline).
func testExecutor(_ configure: (inout GraphQLLimits) -> Void = { _ in }) throws -> GraphQLExecutor {
    var limits = GraphQLLimits()
    configure(&limits)
    let node = try GraphQLObjectType(
        name: "Node",
        fields: [
            "id": GraphQLField(type: GraphQLString, resolve: { _, _, _, _ in "n" })
        ])
    // A field that refers to its own type is added once the type exists.
    node.fields = { [node] in
        [
            "id": GraphQLField(type: GraphQLString, resolve: { _, _, _, _ in "n" }),
            "child": GraphQLField(type: node, resolve: { _, _, _, _ in "child" }),
        ]
    }
    let query = try GraphQLObjectType(
        name: "Query",
        fields: [
            "hello": GraphQLField(type: GraphQLString, resolve: { _, _, _, _ in "world" }),
            "node": GraphQLField(type: node, resolve: { _, _, _, _ in "root" }),
            "search": GraphQLField(
                type: GraphQLList(GraphQLString),
                args: ["q": GraphQLArgument(type: GraphQLString), "tags": GraphQLArgument(type: GraphQLList(GraphQLString))],
                resolve: { _, args, _, _ in [args["q"].string ?? ""] }),
            "hang": GraphQLField(
                type: GraphQLString,
                resolve: { _, _, _, _ in
                    // Deaf to cancellation, as a stuck driver call would be; kept, so it is never resumed nor leaked.
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        stuckResolvers.withLock { $0.append(continuation) }
                    }
                    return "never"
                }),
        ])
    let mutation = try GraphQLObjectType(
        name: "Mutation",
        fields: [
            "poke": GraphQLField(type: GraphQLString, resolve: { _, _, _, _ in "poked" })
        ])
    let schema = try GraphQLSchema(query: query, mutation: mutation)
    return GraphQLExecutor(schema: schema, rootValue: (), costs: ["Query.search": 100], limits: limits)
}

/// Runs a document and returns the refusal's code, or nil when it ran.
func refusal(_ executor: GraphQLExecutor, _ query: String, variables: [String: Map] = [:], get: Bool = false) async -> (code: String?, status: Int?) {
    do {
        _ = try await executor.execute(GraphQLRequest(query: query, variables: variables), caller: Caller(principal: nil), allowMutations: !get)
        return (nil, nil)
    } catch let refusal as GraphQLRefusal {
        return (refusal.errors.first?.extensions["code"]?.string, Int(refusal.status.code))
    } catch {
        Issue.record("not a refusal: \(error)")
        return ("thrown", nil)
    }
}

/// How long a refusal took, so the attacks below show they are refused before any costly work: the fastest of three
/// tries, since a full test pass keeps both cores busy and a try may wait for a thread (the work is what is bounded).
func timed(_ work: () async -> (code: String?, status: Int?)) async -> (code: String?, status: Int?, elapsed: Duration) {
    let clock = ContinuousClock()
    var best: (code: String?, status: Int?, elapsed: Duration)?
    for _ in 0..<3 {
        let start = clock.now
        let answer = await work()
        let elapsed = clock.now - start
        if best == nil || elapsed < best!.elapsed { best = (answer.code, answer.status, elapsed) }
    }
    return best!
}

@Suite("GraphQL limits")
struct GraphQLLimitsTests {
    @Test("selections nested 100,000 deep are refused at once, by size and — with a large size limit — by nesting, before parsing")
    func deepSelections() async throws {
        let deep = "{ node " + String(repeating: "{ child ", count: 100_000) + "{ id }" + String(repeating: "}", count: 100_001) + " }"
        let executor = try testExecutor()
        let bySize = await timed { await refusal(executor, deep) }
        #expect(bySize.code == "document-too-large" && bySize.status == 400)
        #expect(bySize.elapsed < .milliseconds(100), "\(bySize.elapsed)")

        let roomy = try testExecutor { $0.maxDocumentBytes = 2_000_000 }
        let byNesting = await timed { await refusal(roomy, deep) }
        #expect(byNesting.code == "depth-limit" && byNesting.status == 400)
        #expect(byNesting.elapsed < .milliseconds(100), "\(byNesting.elapsed)")
    }

    @Test("depth is counted with fragments expanded: at the limit a document runs, one deeper is refused")
    func depthAtTheBound() async throws {
        let executor = try testExecutor { $0.maxDepth = 5 }
        // node(1) child(2) child(3) child(4) id(5)
        let atBound = "{ node { child { child { child { id } } } } }"
        #expect(await refusal(executor, atBound).code == nil)
        let past = "{ node { child { child { child { child { id } } } } } }"
        #expect(await refusal(executor, past).code == "depth-limit")
        let throughFragments = """
            { node { ...A } }
            fragment A on Node { child { ...B } }
            fragment B on Node { child { child { child { id } } } }
            """
        #expect(await refusal(executor, throughFragments).code == "depth-limit", "fragments add their depth where they are spread")
        // A chain of fragments each spreading the next adds no depth to the answer, but GraphQL recurses along it.
        func chain(_ length: Int) -> String {
            "{ node { ...F1 } }\n" + (1..<length).map { "fragment F\($0) on Node { ...F\($0 + 1) }\n" }.joined()
                + "fragment F\(length) on Node { id }\n"
        }
        #expect(await refusal(executor, chain(5)).code == nil, "five spreads deep: within the depth of 5")
        #expect(await refusal(executor, chain(6)).code == "depth-limit")
        let roomy = try testExecutor { $0.maxDocumentBytes = 1_000_000 }
        #expect(await refusal(roomy, chain(20_000)).code == "depth-limit")
    }

    @Test("a list literal nested 10,000 deep is refused before parsing; at the bound it is an ordinary validation error")
    func nestedLists() async throws {
        let executor = try testExecutor()
        let deep = "{ search(tags: " + String(repeating: "[", count: 10_000) + "\"x\"" + String(repeating: "]", count: 10_000) + ") }"
        let roomy = try testExecutor { $0.maxDocumentBytes = 100_000 }
        let refused = await timed { await refusal(roomy, deep) }
        #expect(refused.code == "list-nesting-limit" && refused.status == 400)
        #expect(refused.elapsed < .milliseconds(100), "\(refused.elapsed)")
        // 80 levels in 180 bytes once held a core for minutes: now refused like any other.
        let small = "{ search(q: " + String(repeating: "[", count: 80) + "1.5" + String(repeating: "]", count: 80) + ") }"
        #expect(await refusal(executor, small).code == "list-nesting-limit")
        let atBound = "{ search(q: [[[[\"x\"]]]]) }"
        let answer = await timed { await refusal(executor, atBound) }
        #expect(answer.code == "graphql-validation", "a list for a String argument is invalid, and found so quickly")
        #expect(await refusal(executor, "{ search(tags: [\"a\", \"b\"]) }").code == nil)
        // Brackets inside strings, block strings and comments are not nesting.
        let quoted = #"{ search(q: "[[[[[[[[[[\"[[[[[") # [[[[[[[[[[[[[[[[[[[["# + "\n" + #"hello }"#
        #expect(await refusal(executor, quoted).code == nil)
        let block = #"{ search(q: """[[[[[[[[ \""" [[[[[[[[[[""") }"#
        #expect(await refusal(executor, block).code == nil)
        // Six quotes are an empty block string, seven an empty block string and a string: brackets after them count.
        let lists = String(repeating: "[", count: 80) + "\"x\"" + String(repeating: "]", count: 80)
        #expect(await refusal(executor, #"{ search(q: """""" tags: "# + lists + ") }").code == "list-nesting-limit")
        #expect(await refusal(executor, #"{ search(q: """"""""# + "\n" + #"tags: "# + lists + ") }").code == "list-nesting-limit")
        #expect(await refusal(executor, #"{ search(q: """""" tags: "# + String(repeating: "{a:", count: 3_000) + ") }").code == "depth-limit")
    }

    @Test("aliases, fields and cost are bounded: an alias bomb, a cost bomb and a fragment fan-out are refused")
    func breadth() async throws {
        let executor = try testExecutor()
        let aliases = "{ " + (0..<200).map { "a\($0): hello" }.joined(separator: " ") + " }"
        let aliasBomb = await timed { await refusal(executor, aliases) }
        #expect(aliasBomb.code == "alias-limit" && aliasBomb.elapsed < .milliseconds(100), "\(aliasBomb)")

        let searches = "{ " + (0..<11).map { "s\($0): search(q: \"x\")" }.joined(separator: " ") + " }"
        let costBomb = await timed { await refusal(executor, searches) }
        #expect(costBomb.code == "cost-limit" && costBomb.elapsed < .milliseconds(100), "\(costBomb)")
        let ten = "{ " + (0..<10).map { "s\($0): search(q: \"x\")" }.joined(separator: " ") + " }"
        #expect(await refusal(executor, ten).code == nil, "ten searches cost exactly the limit")

        // Each fragment spreads the one before twice: 2^30 fields described in a few hundred bytes.
        var fanOut = "{ node { ...F30 } }\nfragment F0 on Node { id }\n"
        for level in 1...30 { fanOut += "fragment F\(level) on Node { ...F\(level - 1) ... on Node { ...F\(level - 1) } }\n" }
        // (Thirty spreads deep is past the depth limit too; with room for the chain, the field count refuses it.)
        #expect(await refusal(executor, fanOut).code == "depth-limit")
        let deepChains = try testExecutor { $0.maxDepth = 40 }
        let fragments = await timed { await refusal(deepChains, fanOut) }
        #expect(fragments.code == "field-limit" && fragments.elapsed < .milliseconds(100), "\(fragments)")
    }

    @Test("syntax and validation errors are 400s in GraphQL's shape, never 500s; an escape cut short is refused before the lexer traps on it")
    func badDocuments() async throws {
        let executor = try testExecutor()
        for text in [#"{ search(q: "\u"#, #"{ search(q: "\u12"#, #"{ search(q: "\u12"#, #"{ search(q: "\uZZZZ") }"#] {
            #expect(await refusal(executor, text) == ("graphql-syntax", 400), "\(text)")
        }
        for text in ["", "   ", "{", "# only a comment", "query {", "{ hello(", "}}}}", "\"unterminated"] {
            let answer = await refusal(executor, text)
            #expect(answer.code == "graphql-syntax" && answer.status == 400, "\(text.debugDescription): \(answer)")
        }
        #expect(await refusal(executor, "{ nope }").code == "graphql-validation")
        #expect(await refusal(executor, "{ node }").code == "graphql-validation")
        #expect(await refusal(executor, "query($n: Int!) { hello }").code == "graphql-validation")
        #expect(await refusal(executor, "mutation { poke }", get: true) == ("mutation-over-get", 405))
        #expect(await refusal(executor, "query A { hello } mutation B { poke }", get: true).code == "graphql-request", "which one to run?")
        #expect(await refusal(executor, "query A { hello } mutation B { poke }", get: true).status == 400)
        #expect(await refusal(executor, "query($n: Int!) { search(q: \"x\") @include(if: true) }").code == "graphql-validation")
        #expect(await refusal(executor, "query($q: String!) { search(q: $q) }").code == "graphql-request", "a required variable left out")
    }

    @Test("a NUL in an argument, a directive's argument anywhere, a default value or a variable is a 422 naming it")
    func nul() async throws {
        let executor = try testExecutor()
        let cases: [(String, [String: Map], String)] = [
            (#"{ search(q: "a\u0000b") }"#, [:], "q"),
            (#"{ search(tags: ["ok", "x\u0000"]) }"#, [:], "tags"),
            (#"{ hello @include(if: true) node { ... on Node @skip(if: false) { id } } search(q: "a\u0000") }"#, [:], "q"),
            (#"query($q: String = "a\u0000") { search(q: $q) }"#, [:], "$q"),
            (#"query($q: String) { search(q: $q) }"#, ["q": .string("a\u{0}b")], "$q"),
        ]
        for (query, variables, field) in cases {
            do {
                _ = try await executor.execute(GraphQLRequest(query: query, variables: variables), caller: Caller(principal: nil))
                Issue.record("\(query) ran")
            } catch {
                #expect(error.status == .unprocessableContent, "\(query)")
                var named: String?
                if case .array(let list)? = error.errors.first?.extensions["errors"], case .dictionary(let first)? = list.first,
                    case .string(let name)? = first["field"]
                {
                    named = name
                }
                #expect(named == field, "\(query)")
            }
        }
        // Directives on operations and fragments: unknown here, but their text is still refused before validation.
        let onOperation = #"query Q @cached(key: "a\u0000") { hello }"#
        #expect(await refusal(executor, onOperation).status == 422)
        let onSpread = #"{ node { ...F @cached(key: "a\u0000") } } fragment F on Node { id }"#
        #expect(await refusal(executor, onSpread).status == 422)
    }

    @Test("introspection is off unless the limits allow it; __typename always answers")
    func introspection() async throws {
        let closed = try testExecutor()
        #expect(await refusal(closed, "{ __schema { types { name } } }").code == "graphql-validation")
        #expect(await refusal(closed, "{ __type(name: \"Query\") { name } }").code == "graphql-validation")
        #expect(await refusal(closed, "{ __typename hello }").code == nil)
        #expect(
            await refusal(closed, "{ ...F } fragment F on Query { __schema { queryType { name } } }").code == "graphql-validation",
            "through a fragment too")
        #expect(await refusal(closed, "{ node { __typename child { __typename } } }").code == nil)
        let open = try testExecutor { $0.introspection = true }
        #expect(await refusal(open, "{ __schema { types { name } } }").code == nil)
    }

    @Test("a resolver that never returns is answered 503 at the deadline")
    func deadline() async throws {
        // Three seconds: long enough that a trivial query finishes inside it even while a full test pass keeps both
        // cores busy (half a second was not, once, on PostgreSQL's pass).
        let executor = try testExecutor { $0.timeout = .seconds(3) }
        let clock = ContinuousClock()
        let start = clock.now
        let answer = await refusal(executor, "{ hang }")
        let elapsed = clock.now - start
        #expect(answer.code == "deadline-exceeded" && answer.status == 503)
        #expect(elapsed >= .seconds(3) && elapsed < .seconds(15), "\(elapsed)")
        #expect(await refusal(executor, "{ hello }").code == nil, "the executor still answers")
    }
}
