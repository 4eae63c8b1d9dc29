import Foundation

/// `?limit=&cursor=` as every list endpoint reads it: limit defaults to 20 and is capped at 100.
public struct PageRequest: Sendable, Equatable {
    public static let defaultLimit = 20
    public static let maxLimit = 100

    public var limit: Int
    public var cursor: String?

    public init(limit: Int = PageRequest.defaultLimit, cursor: String? = nil) {
        self.limit = min(max(limit, 1), PageRequest.maxLimit)
        self.cursor = cursor
    }

    /// Reads `limit` and `cursor` from query items; a limit that is not a number in 1...100 is a 422.
    public init(query: [String: String]) throws {
        var limit = PageRequest.defaultLimit
        if let raw = query["limit"] {
            guard let value = Int(raw), (1...PageRequest.maxLimit).contains(value) else {
                throw PlazaError.validation(
                    field: "limit", "must be a whole number from 1 to \(PageRequest.maxLimit)")
            }
            limit = value
        }
        let cursor = query["cursor"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(limit: limit, cursor: cursor)
    }
}

/// A page of a list: `{ "items": [...], "nextCursor": "…" | null }`.
public struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor) // explicit null, as documented
    }
    enum CodingKeys: String, CodingKey { case items, nextCursor }
}

/// Opaque cursors: a keyset position (for example the last row's sort key and id) encoded as base64url.
///
/// Clients must treat cursors as opaque; a cursor that does not decode is a 422 on `cursor`.
public enum Cursor {
    public static func encode(_ parts: [String]) -> String {
        let joined = parts.joined(separator: "\u{1F}")
        return Data(joined.utf8).base64URLEncodedString()
    }

    public static func decode(_ cursor: String, parts count: Int) throws -> [String] {
        guard let data = Data(base64URLEncoded: cursor), let text = String(data: data, encoding: .utf8) else {
            throw PlazaError.validation(field: "cursor", "is not a cursor this list gave out")
        }
        let parts = text.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count else {
            throw PlazaError.validation(field: "cursor", "is not a cursor this list gave out")
        }
        return parts
    }
}

extension Cursor {
    /// The id a "newest first by id" cursor stands after (lists of UUIDv7 rows page by id alone).
    public static func decodeID(_ cursor: String) throws -> UUID {
        guard let id = UUID(uuidString: try decode(cursor, parts: 1)[0]) else {
            throw PlazaError.validation(field: "cursor", "is not a cursor this list gave out")
        }
        return id
    }
}

extension Page {
    /// The page for rows fetched newest first by id with `LIMIT limit + 1`: the extra row says there is more.
    public static func byID(_ fetched: [Item], limit: Int, id: (Item) -> UUID) -> Page<Item> {
        let items = Array(fetched.prefix(limit))
        let next = fetched.count > limit ? items.last.map { Cursor.encode([id($0).uuidString]) } : nil
        return Page(items: items, nextCursor: next)
    }
}
