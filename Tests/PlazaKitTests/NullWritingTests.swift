import Foundation
import PlazaKit
import Testing

private struct Leaf: Encodable { var note: String?; var count: Int?; var at: Date? }
private struct Tree: Encodable {
    var id: UUID
    var parentId: UUID?
    var at: Date
    var leaves: [Leaf]
    var byName: [String: Leaf]
    var maybe: [Int?]
    var claims: Claims
}
/// Another standard's wire format: absent members stay out.
private struct Claims: Encodable, OmitsAbsentMembers { var sub: String; var email: String? }

@Suite("Responses write absent values as null")
struct NullWritingTests {
    @Test("absent optionals are null at every depth; dates, ids and other standards' formats are untouched")
    func nullsEverywhere() throws {
        let id = UUID()
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let tree = Tree(
            id: id, parentId: nil, at: at, leaves: [Leaf(note: nil, count: 3, at: nil)], byName: ["a": Leaf(note: "x", count: nil, at: at)],
            maybe: [1, nil], claims: Claims(sub: "s", email: nil))
        let text = String(decoding: try PlazaJSON.responseBody(tree), as: UTF8.self)
        #expect(
            text
                == #"{"at":"2027-01-15T08:00:00Z","byName":{"a":{"at":"2027-01-15T08:00:00Z","count":null,"note":"x"}},"claims":{"sub":"s"},"#
                + #""id":"\#(id.uuidString)","leaves":[{"at":null,"count":3,"note":null}],"maybe":[1,null],"parentId":null}"#
        )
        // What clients send is unchanged: the plain encoder still leaves absent values out.
        let plain = String(decoding: try PlazaJSON.encoder().encode(Leaf(note: nil, count: 1, at: nil)), as: UTF8.self)
        #expect(plain == #"{"count":1}"#)
    }
}
