import Foundation
import PlazaKit

/// Checks JSON against the schemas of Plaza's own `/openapi.json`: the subset of JSON Schema (2020-12, as
/// OpenAPI 3.1 uses it) that ``JSONSchema`` writes — types, properties, `required`, `additionalProperties`,
/// `items`, `enum`, `oneOf`, `$ref`, lengths, ranges, `pattern` and the `uuid` and `date-time` formats.
/// A keyword it does not know is a failure, so the document cannot grow past what is checked.
public struct SchemaCheck {
    let components: [String: JSONValue]

    /// Reads the components of an OpenAPI document.
    public init(document: JSONValue) {
        components = document["components"]?["schemas"].flatMap { if case .object(let object) = $0 { object } else { nil } } ?? [:]
    }

    /// Every place where `value` breaks `schema`, as `path: what is wrong`; empty when it conforms.
    public func problems(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        guard case .object(let keywords) = schema else { return ["\(path): the schema is not an object"] }
        var found: [String] = []
        let known: Set<String> = [
            "type", "properties", "required", "additionalProperties", "items", "enum", "oneOf", "anyOf", "$ref", "format", "minLength",
            "maxLength", "minimum", "maximum", "pattern", "description", "minItems", "maxItems", "x-plaza-order",
        ]
        for keyword in keywords.keys where !known.contains(keyword) { found.append("\(path): the check does not know \(keyword)") }
        if case .string(let reference)? = keywords["$ref"] {
            let name = String(reference.dropFirst("#/components/schemas/".count))
            guard let target = components[name] else { return found + ["\(path): no component \(name)"] }
            return found + problems(value, against: target, at: path)
        }
        if case .array(let options)? = keywords["oneOf"] {
            let matching = options.filter { problems(value, against: $0, at: path).isEmpty }.count
            if matching != 1 {
                let each = options.flatMap { problems(value, against: $0, at: path) }
                found.append("\(path): matches \(matching) of \(options.count) alternatives (\(each.prefix(3).joined(separator: "; ")))")
            }
        }
        if case .array(let options)? = keywords["anyOf"], !options.contains(where: { problems(value, against: $0, at: path).isEmpty }) {
            found.append("\(path): matches none of \(options.count) alternatives")
        }
        if case .string(let type)? = keywords["type"] {
            guard Self.has(type: type, value) else { return found + ["\(path): \(Self.describe(value)) where the schema says \(type)"] }
        }
        switch value {
        case .object(let object):
            let properties: [String: JSONValue]
            if case .object(let declared)? = keywords["properties"] { properties = declared } else { properties = [:] }
            if case .array(let required)? = keywords["required"] {
                for case .string(let name) in required where object[name] == nil { found.append("\(path): \(name) is missing") }
            }
            for (name, member) in object.sorted(by: { $0.key < $1.key }) {
                if let schema = properties[name] {
                    found += problems(member, against: schema, at: "\(path).\(name)")
                } else if keywords["additionalProperties"] == .bool(false) {
                    found.append("\(path).\(name) is not in the schema")
                }
            }
        case .array(let items):
            if let schema = keywords["items"] {
                for (index, item) in items.enumerated() { found += problems(item, against: schema, at: "\(path)[\(index)]") }
            }
            if case .number(let least)? = keywords["minItems"], Double(items.count) < least {
                found.append("\(path): fewer than \(Int(least)) items")
            }
            if case .number(let most)? = keywords["maxItems"], Double(items.count) > most { found.append("\(path): more than \(Int(most)) items") }
        case .string(let text):
            if case .array(let allowed)? = keywords["enum"], !allowed.contains(.string(text)) {
                found.append("\(path): \"\(text)\" is not one of \(allowed)")
            }
            if case .number(let least)? = keywords["minLength"], Double(text.unicodeScalars.count) < least {
                found.append("\(path): shorter than \(Int(least))")
            }
            if case .number(let most)? = keywords["maxLength"], Double(text.unicodeScalars.count) > most {
                found.append("\(path): longer than \(Int(most))")
            }
            if case .string(let pattern)? = keywords["pattern"], text.range(of: pattern, options: .regularExpression) == nil {
                found.append("\(path): \"\(text)\" does not match \(pattern)")
            }
            if case .string(let format)? = keywords["format"] {
                switch format {
                case "uuid": if UUID(uuidString: text) == nil { found.append("\(path): \"\(text)\" is not a uuid") }
                case "date-time": if PlazaJSON.parseDate(text) == nil { found.append("\(path): \"\(text)\" is not a date-time") }
                default: break
                }
            }
        case .number(let number):
            if case .number(let least)? = keywords["minimum"], number < least { found.append("\(path): \(number) is below \(least)") }
            if case .number(let most)? = keywords["maximum"], number > most { found.append("\(path): \(number) is above \(most)") }
        case .null, .bool: break
        }
        return found
    }

    static func has(type: String, _ value: JSONValue) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number): return true
        case ("integer", .number(let number)): return number.rounded() == number
        default: return false
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Whether an answer is one its operation in `/openapi.json` declares: its status (or the `default` response),
/// its media type, and — for JSON — its body against the declared schema.
public struct ResponseConformance {
    public let document: JSONValue
    let check: SchemaCheck

    public init(document: JSONValue) {
        self.document = document
        check = SchemaCheck(document: document)
    }

    /// What is wrong with the answer to `method path` (the path as documented, `{id}` and all); empty when nothing is.
    public func problems(method: String, path: String, status: Int, contentType: String?, body: [UInt8]) -> [String] {
        let label = "\(method) \(path) → \(status)"
        guard let operation = document["paths"]?[path]?[method.lowercased()] else { return ["\(label): not in the document"] }
        guard let response = operation["responses"]?[String(status)] ?? operation["responses"]?["default"] else {
            return ["\(label): the status is not declared and there is no default"]
        }
        let media = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard case .object(let content)? = response["content"], !content.isEmpty else {
            if body.isEmpty || method == "HEAD" { return [] }
            return ["\(label): declares no body, answered \(body.count) bytes of \(media ?? "no type")"]
        }
        // A declared media type may carry parameters (`text/plain; version=0.0.4`); the answer's type must be the same type.
        let declaredTypes = Dictionary(
            content.map { ($0.key.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? $0.key, $0.value) },
            uniquingKeysWith: { first, _ in first })
        guard let media, let declared = declaredTypes[media] ?? declaredTypes["*/*"] else {
            if body.isEmpty && (method == "HEAD" || status == 304) { return [] }
            return ["\(label): answered \(media ?? "no type"), declares \(content.keys.sorted().joined(separator: ", "))"]
        }
        guard media == "application/json" || media.hasSuffix("+json"), let schema = declared["schema"] else { return [] }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else { return ["\(label): the body is not JSON"] }
        return check.problems(value, against: schema).map { "\(label): \($0)" }
    }
}
