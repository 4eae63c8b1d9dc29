import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The JSON conventions of the API: camelCase keys, RFC 3339 UTC timestamps.
public enum PlazaJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A response body in the API's conventions: absent optionals as `null` (see ``NullWriting``).
    public static func responseBody<T: Encodable>(_ value: T) throws -> Data {
        try encoder().encode(NullWriting(value))
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }

    /// Parses RFC 3339 timestamps with or without fractional seconds, with any offset RFC 3339 allows (up to
    /// ±23:59; Foundation's parser stops at ±18:00).
    public static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        return parseFarOffset(text)
    }

    /// `2026-04-01T03:08:41+23:54`: the time read as UTC, then moved by the offset.
    private static func parseFarOffset(_ text: String) -> Date? {
        guard text.count >= 25, let sign = text.dropLast(5).last, sign == "+" || sign == "-" else { return nil }
        let offset = text.suffix(5)
        guard offset.dropFirst(2).first == ":", offset.filter(\.isASCII).filter(\.isNumber).count == 4,
            let hours = Int(offset.prefix(2)), let minutes = Int(offset.suffix(2)),
            hours <= 23, minutes <= 59,
            let utc = try? Date(String(text.dropLast(6)) + "Z", strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains(".")))
        else { return nil }
        let seconds = TimeInterval(hours * 3600 + minutes * 60)
        return sign == "+" ? utc - seconds : utc + seconds
    }

    /// Turns a decoding failure into the field errors a client can act on.
    public static func problem(for error: DecodingError) -> PlazaError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            let rendered = keys.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
            return rendered.reduce(into: "") { result, part in
                if part.hasPrefix("[") || result.isEmpty { result += part } else { result += "." + part }
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .validation(field: path(context.codingPath, key), "is required")
        case .valueNotFound(let type, let context):
            return .validation(field: path(context.codingPath), "must be \(describe(type)), not null")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty {
                return .badRequest("The body must be \(describe(type)) in JSON.", code: "malformed-body")
            }
            return .validation(field: path(context.codingPath), "must be \(describe(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .badRequest("The body is not valid JSON.", code: "malformed-body")
            }
            return .validation(field: path(context.codingPath), context.debugDescription)
        @unknown default:
            return .badRequest("The body could not be read.", code: "malformed-body")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is UUID.Type: return "a UUID"
        case is Date.Type: return "an RFC 3339 timestamp"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}

extension Request {
    /// Reads the body as JSON of the given type, answering in problem+json when it cannot:
    /// 415 for another media type, 413 past the size limit, 400 for malformed JSON or JSON nested past
    /// ``JSONScan/maxDepth``, 422 with field errors (a NUL in any string among them).
    public func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext) async throws -> T {
        guard let value = try await decodeJSON(type, context: context, required: true) else {
            throw PlazaError.badRequest("The request needs a JSON body.", code: "malformed-body")
        }
        return value
    }

    /// Like ``decodeJSON(_:context:)`` for bodies that may be left out (a command's optional comment): nil
    /// when there is none.
    public func decodeJSONIfPresent<T: Decodable>(_ type: T.Type, context: some RequestContext) async throws -> T? {
        try await decodeJSON(type, context: context, required: false)
    }

    /// Whether the body is declared as JSON (`application/json` or a `+json` type).
    public var isJSON: Bool {
        let media = headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return media == "application/json" || media.hasSuffix("+json")
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, required: Bool) async throws -> T? {
        if let contentType = headers[.contentType], !isJSON {
            let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard !required && media.isEmpty else {
                throw PlazaError(
                    .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                    detail: "Send the body as application/json, not \(media).")
            }
        }
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: context.maxUploadSize)
        } catch {
            throw PlazaError.payloadTooLarge(limit: context.maxUploadSize)
        }
        guard buffer.readableBytes > 0 else { return nil }
        guard headers[.contentType] != nil else {
            throw PlazaError(
                .unsupportedMediaType, code: "unsupported-media-type", title: "Unsupported media type",
                detail: "The body has no Content-Type: send it as application/json.")
        }
        let data = Data(buffer: buffer)
        try JSONScan.check(data)
        do {
            return try PlazaJSON.decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw PlazaJSON.problem(for: error)
        }
    }

    /// The query string as a dictionary (the last value wins for repeated keys), read as forms and browsers write
    /// it: `+` is a space (a literal plus is `%2B`), as in `variables={"a":+1}` from a form-encoding client.
    public var queryItems: [String: String] {
        var items: [String: String] = [:]
        for (key, value) in FormEncoding.decode(uri.query ?? "") { items[key] = value }
        return items
    }
}

extension Response {
    /// A JSON response in the API's conventions (absent optionals as `null`: see ``NullWriting``).
    public static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
        let data = try PlazaJSON.responseBody(value)
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 204 No Content.
    public static var noContent: Response { Response(status: .noContent) }

    /// 202 Accepted: the request was taken; what follows happens out of sight (an email, a job).
    public static var accepted: Response { Response(status: .accepted) }
}

extension RequestContext {
    /// A path parameter that must be a UUID; anything else is a 404, since no resource has that id.
    public func uuidParameter(_ name: String) throws -> UUID {
        guard let raw = parameters.get(name), let id = UUID(uuidString: raw) else {
            throw PlazaError.notFound("No resource has the id \(parameters.get(name) ?? "").")
        }
        return id
    }
}

/// JSON written by hand where an encoder would cost too much (the access log) or lose an order (`/openapi.json`).
public enum JSONText {
    /// A number as Plaza writes it, in JSON and in messages alike: a whole one without a fraction (`-90`, not
    /// `-90.0`), as `JSONValue` encodes it.
    public static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Appends a JSON string literal (RFC 8259 escaping).
    public static func appendString(_ string: String, to line: inout String) {
        line += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20:
                line += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
