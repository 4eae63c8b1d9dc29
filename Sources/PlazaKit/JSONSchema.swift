import Foundation

/// A JSON Schema (the OpenAPI 3.1 dialect), small enough to write by hand next to a type.
public indirect enum JSONSchema: Sendable, Equatable {
    case string(
        format: String? = nil, enumValues: [String]? = nil, description: String? = nil, minLength: Int? = nil, maxLength: Int? = nil,
        pattern: String? = nil)
    case integer(format: String? = "int64", minimum: Int? = nil, maximum: Int? = nil)
    /// A number within a range (``number`` when there is none).
    case numeric(minimum: Double?, maximum: Double?)
    case boolean
    case array(JSONSchema)
    /// An array of at least `minItems` and at most `maxItems` (``list(_:minItems:maxItems:)``).
    case boundedArray(JSONSchema, minItems: Int?, maxItems: Int?)
    case object(properties: [String: JSONSchema], required: [String], additional: Bool = false)
    /// An object whose members must come in `order` (a multipart body's parts: the server reads `purpose`
    /// before the `file` it governs). `/openapi.json` lists its properties in the order, and says it in
    /// `x-plaza-order`.
    case ordered(properties: [String: JSONSchema], order: [String], required: [String])
    /// A free-form object (a JSON payload whose shape belongs to someone else).
    case anyObject
    /// Any JSON value at all.
    case anyValue
    case nullable(JSONSchema)
    /// The schema, or an empty string, which means "any" (a query parameter a page's form sends empty).
    case emptyOr(JSONSchema)
    /// A reference to a named component (`#/components/schemas/<name>`).
    case ref(String)

    public static let number = JSONSchema.numeric(minimum: nil, maximum: nil)

    /// The same object with more of its fields required; any other schema as it is.
    public func requiring(_ fields: [String]) -> JSONSchema {
        guard case .object(let properties, let required, let additional) = self else { return self }
        return .object(properties: properties, required: Array(Set(required + fields)), additional: additional)
    }
    public static func list(_ items: JSONSchema, minItems: Int? = nil, maxItems: Int? = nil) -> JSONSchema {
        .boundedArray(items, minItems: minItems, maxItems: maxItems)
    }
    public static func number(minimum: Double? = nil, maximum: Double? = nil) -> JSONSchema { .numeric(minimum: minimum, maximum: maximum) }
    public static let uuid = JSONSchema.string(format: "uuid")
    public static let dateTime = JSONSchema.string(format: "date-time")
    public static let text = JSONSchema.string()

    /// The schema as a JSON value, ready to encode.
    public var json: JSONValue {
        switch self {
        case .string(let format, let values, let description, let minLength, let maxLength, let pattern):
            var object: [String: JSONValue] = ["type": "string"]
            if let format { object["format"] = .string(format) }
            if let values { object["enum"] = .array(values.map(JSONValue.string)) }
            if let description { object["description"] = .string(description) }
            if let minLength { object["minLength"] = .number(Double(minLength)) }
            if let maxLength { object["maxLength"] = .number(Double(maxLength)) }
            if let pattern { object["pattern"] = .string(pattern) }
            return .object(object)
        case .integer(let format, let minimum, let maximum):
            var object: [String: JSONValue] = ["type": "integer"]
            if let format { object["format"] = .string(format) }
            if let minimum { object["minimum"] = .number(Double(minimum)) }
            if let maximum { object["maximum"] = .number(Double(maximum)) }
            return .object(object)
        case .numeric(let minimum, let maximum):
            var object: [String: JSONValue] = ["type": "number"]
            if let minimum { object["minimum"] = .number(minimum) }
            if let maximum { object["maximum"] = .number(maximum) }
            return .object(object)
        case .boolean: return ["type": "boolean"]
        case .array(let items): return ["type": "array", "items": items.json]
        case .boundedArray(let items, let least, let most):
            var object: [String: JSONValue] = ["type": "array", "items": items.json]
            if let least { object["minItems"] = .number(Double(least)) }
            if let most { object["maxItems"] = .number(Double(most)) }
            return .object(object)
        case .object(let properties, let required, let additional):
            var object: [String: JSONValue] = [
                "type": "object",
                "properties": .object(properties.mapValues(\.json)),
                "additionalProperties": .bool(additional),
            ]
            if !required.isEmpty { object["required"] = .array(required.sorted().map(JSONValue.string)) }
            return .object(object)
        case .ordered(let properties, let order, let required):
            var object: [String: JSONValue] = [
                "type": "object", "properties": .object(properties.mapValues(\.json)),
                "additionalProperties": false, OpenAPI.orderKey: .array(order.map(JSONValue.string)),
            ]
            if !required.isEmpty { object["required"] = .array(required.sorted().map(JSONValue.string)) }
            return .object(object)
        case .anyObject: return ["type": "object"]
        case .anyValue: return [:]
        case .nullable(let inner):
            return ["oneOf": .array([inner.json, ["type": "null"]])]
        case .emptyOr(let inner):
            return ["anyOf": .array([inner.json, ["type": "string", "maxLength": 0]])]
        case .ref(let name): return ["$ref": .string("#/components/schemas/\(name)")]
        }
    }
}

/// A type that can describe itself for `/openapi.json`.
public protocol APISchema {
    static var schemaName: String { get }
    static var schema: JSONSchema { get }
}

extension APISchema {
    public static var schemaName: String { String(describing: Self.self) }
}

/// A JSON value, for documents assembled in code (OpenAPI, problem extensions, event payloads).
public enum JSONValue: Sendable, Equatable, Codable, ExpressibleByDictionaryLiteral, ExpressibleByStringLiteral,
    ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral
{
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}
