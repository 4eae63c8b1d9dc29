import Foundation
import PlazaKit

/// The identifiers the walk has seen, by the collection they were listed in and by the member that held them.
struct FoundIdentifiers {
    /// `/api/v1/marketplace/requests` → the `id`s (and `name`s) of its items.
    var byCollection: [String: [String]] = [:]
    /// `conversationId` → the values seen under that member anywhere.
    var byMember: [String: [String]] = [:]

    /// The concrete paths to try for a documented path: itself when it has no parameters, otherwise up to three
    /// fillings from what was found.
    func paths(for template: String) -> [String] {
        var results = [""]
        for segment in template.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
            if segment.hasPrefix("{") {
                let name = String(segment.dropFirst().dropLast())
                results = Array(results.flatMap { base in candidates(name: name, collection: base).prefix(3).map { base + "/" + $0 } }.prefix(3))
                if results.isEmpty { return [] }
            } else {
                results = results.map { $0 + "/" + segment }
            }
        }
        return results
    }

    /// Ids for the parameter `name` after the concrete path `collection`: those listed there, and those seen in
    /// members named for it (`{id}` after `/files` takes `fileId`s; `{messageId}` takes `messageId`s).
    func candidates(name: String, collection: String) -> [String] {
        let member = Self.idMember(of: collection)
        // A bare `id` could be anything's: only the collection's own, and members named for it (`fileId`).
        let keys = name == "id" ? [member] : [name]
        let listed = name == "id" || name == member || name == "name" ? (byCollection[collection] ?? []) : []
        var seen = Set<String>()
        return (listed + keys.flatMap { byMember[$0] ?? [] }).filter { seen.insert($0).inserted }
    }

    mutating func collect(_ value: JSONValue, at path: String) {
        let collection = path.split(separator: "?").first.map(String.init) ?? path
        let items: [JSONValue]
        switch value {
        case .array(let array): items = array
        case .object(let object):
            // A page of items, or one resource just created in the collection.
            if case .array(let array)? = object["items"] { items = array } else { items = object["id"] == nil ? [] : [value] }
        default: items = []
        }
        // Items listed at `…/messages` are messages: their ids are `messageId`s too.
        let member = Self.idMember(of: collection)
        for item in items {
            for key in ["id", "name"] {
                if case .string(let text)? = item[key] { byCollection[collection, default: []].append(text) }
            }
            if case .string(let id)? = item["id"] { note(id, as: member) }
        }
        walk(value)
    }

    /// The member that names one of a collection's items: `…/categories` → `categoryId`, `…/messages` → `messageId`.
    static func idMember(of collection: String) -> String {
        let noun = collection.split(separator: "/").last.map(String.init) ?? ""
        return (noun.hasSuffix("ies") ? String(noun.dropLast(3)) + "y" : noun.hasSuffix("s") ? String(noun.dropLast()) : noun) + "Id"
    }

    private mutating func note(_ id: String, as member: String) {
        if !(byMember[member]?.contains(id) ?? false) { byMember[member, default: []].append(id) }
    }

    private mutating func walk(_ value: JSONValue) {
        switch value {
        case .object(let object):
            for (key, member) in object {
                if case .string(let text) = member, key == "id" || key.hasSuffix("Id"), UUID(uuidString: text) != nil { note(text, as: key) }
                walk(member)
            }
        case .array(let array): array.forEach { walk($0) }
        default: break
        }
    }
}
