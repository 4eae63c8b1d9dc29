import GraphQL

/// What a parsed document asks for, with every fragment spread counted where it is spread: how deep its
/// selections go, how many aliases and fields it selects, and what it costs.
struct QueryMeasure: Equatable {
    var depth = 0
    /// The longest chain of fragments spread inside fragments: GraphQL's validator and executor recurse along it
    /// although it adds no depth to the answer.
    var spreads = 0
    var aliases = 0
    var fields = 0
    var cost = 0
    /// Whether it asks for `__schema` or `__type`: introspection's only entrances (every introspection type is
    /// reached through them; `__typename` is a String).
    var introspects = false

    /// Adds a sibling's counts (depth is the deeper of the two). Sums saturate: fragments spread inside fragments
    /// can describe more fields than an Int holds, and such a document is refused, not overflowed.
    mutating func add(_ other: QueryMeasure) {
        depth = max(depth, other.depth)
        spreads = max(spreads, other.spreads)
        introspects = introspects || other.introspects
        aliases = Self.sum(aliases, other.aliases)
        fields = Self.sum(fields, other.fields)
        cost = Self.sum(cost, other.cost)
    }

    static let ceiling = 1 << 40
    static func sum(_ a: Int, _ b: Int) -> Int { min(a + b, ceiling) }

    /// Refuses the first limit this measure passes.
    func check(_ limits: GraphQLLimits) throws(GraphQLRefusal) {
        // Checked here rather than by GraphQL's NoSchemaIntrospectionCustomRule: the same answer, without a visitor
        // over every node of every request.
        if introspects, !limits.introspection {
            throw GraphQLRefusal(
                code: "graphql-validation", "GraphQL introspection is turned off on this server (__schema and __type are not answered).")
        }
        if depth > limits.maxDepth {
            throw GraphQLRefusal(code: "depth-limit", "Selections nest \(depth) deep; at most \(limits.maxDepth) are accepted.")
        }
        if spreads > limits.maxDepth {
            throw GraphQLRefusal(
                code: "depth-limit", "Fragments are spread inside fragments more than \(limits.maxDepth) deep.")
        }
        if aliases > limits.maxAliases {
            throw GraphQLRefusal(code: "alias-limit", "The document uses \(aliases) aliases; at most \(limits.maxAliases) are accepted.")
        }
        if fields > limits.maxFields {
            throw GraphQLRefusal(code: "field-limit", "The document selects \(fields) fields; at most \(limits.maxFields) are accepted.")
        }
        if cost > limits.maxCost {
            throw GraphQLRefusal(
                code: "cost-limit", "The document costs \(cost); at most \(limits.maxCost) is accepted (a search costs more than a field).")
        }
    }
}

/// The schema as the measure needs it: each object or interface type's fields, with the type their selections
/// are made on and their cost. Built once per schema.
struct SchemaCosts: Sendable {
    struct FieldInfo: Sendable {
        var type: String?
        var cost: Int
    }
    let fields: [String: [String: FieldInfo]]
    let roots: [OperationType: String]

    /// `costs` gives a field's cost as `"Type.field"` (`"Query.providers": 100`); every other field costs 1.
    init(schema: GraphQLSchema, costs: [String: Int]) {
        var fields: [String: [String: FieldInfo]] = [:]
        for (name, type) in schema.typeMap {
            let map: GraphQLFieldMap?
            if let object = type as? GraphQLObjectType {
                map = try? object.fields()
            } else if let interface = type as? GraphQLInterfaceType {
                map = try? interface.fields()
            } else {
                map = nil
            }
            guard let map else { continue }
            var typeFields: [String: FieldInfo] = [:]
            for (fieldName, field) in map {
                typeFields[fieldName] = FieldInfo(type: getNamedType(type: field.type)?.name, cost: costs["\(name).\(fieldName)"] ?? 1)
            }
            fields[name] = typeFields
        }
        self.fields = fields
        var roots: [OperationType: String] = [:]
        roots[.query] = schema.queryType?.name
        roots[.mutation] = schema.mutationType?.name
        roots[.subscription] = schema.subscriptionType?.name
        self.roots = roots
    }

    /// Measures every operation of a document (validation reads them all) and adds up what they select. Chains of
    /// fragments are followed at most `maxSpreads` deep: the walk recurses along them too.
    func measure(_ document: Document, maxSpreads: Int) -> QueryMeasure {
        var walk = Walk(costs: self, document: document, maxSpreads: maxSpreads)
        var total = QueryMeasure()
        for case let operation as OperationDefinition in document.definitions {
            total.add(walk.measure(operation.selectionSet, on: roots[operation.operation]))
        }
        // Fields as written count too: a fragment nobody spreads is still validated.
        total.fields = max(total.fields, walk.writtenFields)
        return total
    }

    private struct Walk {
        let costs: SchemaCosts
        var fragments: [String: FragmentDefinition] = [:]
        var measured: [String: QueryMeasure] = [:]
        var visiting: Set<String> = []
        var writtenFields = 0
        let maxSpreads: Int

        init(costs: SchemaCosts, document: Document, maxSpreads: Int) {
            self.costs = costs
            self.maxSpreads = maxSpreads
            for case let fragment as FragmentDefinition in document.definitions {
                fragments[fragment.name.value] = fragment
            }
            writtenFields = document.definitions.reduce(0) { count, definition in
                switch definition {
                case let operation as OperationDefinition: return count + Self.written(operation.selectionSet)
                case let fragment as FragmentDefinition: return count + Self.written(fragment.selectionSet)
                default: return count
                }
            }
        }

        static func written(_ set: SelectionSet) -> Int {
            set.selections.reduce(0) { count, selection in
                switch selection {
                case let field as Field: return count + 1 + (field.selectionSet.map(written) ?? 0)
                case let inline as InlineFragment: return count + written(inline.selectionSet)
                default: return count
                }
            }
        }

        /// A fragment is measured once, however often it is spread; a cycle measures as nothing (validation
        /// refuses it).
        mutating func measure(_ set: SelectionSet, on type: String?) -> QueryMeasure {
            var result = QueryMeasure()
            for selection in set.selections {
                switch selection {
                case let field as Field:
                    let info = type.flatMap { costs.fields[$0]?[field.name.value] }
                    var own = QueryMeasure(depth: 1, aliases: field.alias == nil ? 0 : 1, fields: 1, cost: info?.cost ?? 1)
                    own.introspects = field.name.value == "__schema" || field.name.value == "__type"
                    if let children = field.selectionSet {
                        let inner = measure(children, on: info?.type)
                        own.depth = 1 + inner.depth
                        own.spreads = inner.spreads
                        own.introspects = own.introspects || inner.introspects
                        own.aliases = QueryMeasure.sum(own.aliases, inner.aliases)
                        own.fields = QueryMeasure.sum(own.fields, inner.fields)
                        own.cost = QueryMeasure.sum(own.cost, inner.cost)
                    }
                    result.add(own)
                case let inline as InlineFragment:
                    result.add(measure(inline.selectionSet, on: inline.typeCondition?.name.value ?? type))
                case let spread as FragmentSpread:
                    result.add(measure(fragment: spread.name.value))
                default:
                    continue
                }
            }
            return result
        }

        mutating func measure(fragment name: String) -> QueryMeasure {
            if let known = measured[name] { return known }
            guard let fragment = fragments[name], !visiting.contains(name) else { return QueryMeasure() }
            // Deeper than allowed already: refused whatever lies below, so the walk goes no further.
            guard visiting.count <= maxSpreads else { return QueryMeasure(spreads: QueryMeasure.ceiling) }
            visiting.insert(name)
            var result = measure(fragment.selectionSet, on: fragment.typeCondition.name.value)
            result.spreads += 1
            visiting.remove(name)
            measured[name] = result
            return result
        }
    }
}
