import Foundation

/// The rules every JSON body on Plaza's own routes follows, read from the schema the route declares (so
/// `/openapi.json` and the check cannot drift apart): a field the schema does not list is refused, and so is `null`
/// where the schema does not allow it. What is left — types, ranges, formats — the decoder and the service check.
extension JSONSchema {
    /// Field errors for `value` against this schema: unknown fields (where `additionalProperties` is false) and
    /// nulls where the schema does not say `nullable`. A `$ref` is not followed: what it names is checked where
    /// it is decoded.
    public func bodyRuleViolations(in value: JSONValue, at path: String = "") -> [FieldError] {
        switch (self, value) {
        case (.nullable(let inner), _):
            if case .null = value { return [] }
            return inner.bodyRuleViolations(in: value, at: path)
        case (.anyObject, _), (.anyValue, _), (.ref, _):
            return []
        case (_, .null):
            return [FieldError(field: path.isEmpty ? "body" : path, message: "must not be null")]
        case (.object(let properties, _, let additional), .object(let fields)):
            var errors: [FieldError] = []
            for key in fields.keys.sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                guard let schema = properties[key] else {
                    if !additional { errors.append(FieldError(field: field, message: "is not a field of this request")) }
                    continue
                }
                errors += schema.bodyRuleViolations(in: fields[key]!, at: field)
            }
            return errors
        case (.array(let items), .array(let values)), (.boundedArray(let items, _, _), .array(let values)):
            return values.enumerated().flatMap { index, item in items.bodyRuleViolations(in: item, at: "\(path)[\(index)]") }
        default:
            return []
        }
    }
}
