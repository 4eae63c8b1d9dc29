import Foundation
import Testing

@testable import PlazaKit

struct Line: Decodable { var sku: String; var quantity: Int }
struct Order: Decodable { var customer: String; var lines: [Line]; var at: Date? }

/// The problem a JSON text gets when decoded as an `Order`, or nil when it decodes.
func problem(_ json: String) -> PlazaError? {
    let decoder = PlazaJSON.decoder()
    let result = Result { try decoder.decode(Order.self, from: Data(json.utf8)) }
    guard case .failure(let error) = result else { return nil }
    return (error as? DecodingError).map(PlazaJSON.problem(for:))
}

@Suite("Kernel")
struct PlazaKitTests {
    @Test("UUIDv7 ids carry their time and sort by it")
    func uuidV7() {
        let earlier = PlazaID.make(at: Date(timeIntervalSince1970: 1_700_000_000))
        let later = PlazaID.make(at: Date(timeIntervalSince1970: 1_700_000_001))
        let text = earlier.uuidString
        #expect(Array(text)[14] == "7", "version nibble")
        #expect("89AB".contains(Array(text)[19]), "RFC variant")
        #expect(earlier.uuidString < later.uuidString)
        let burst = (0..<5000).map { _ in PlazaID.make(at: Date(timeIntervalSince1970: 1_800_000_000)) }
        let ordered = zip(burst, burst.dropFirst()).allSatisfy { $0.uuidString < $1.uuidString }
        #expect(ordered, "strictly increasing within a millisecond, borrowing the next one when 4,096 are used")
        #expect(text.hasPrefix("018BCFE5-6800"), "48-bit millisecond timestamp first")
        #expect(Set((0..<1000).map { _ in PlazaID.make() }).count == 1000)
    }

    @Test("page requests default to 20, refuse limits outside 1…100")
    func pageRequests() throws {
        #expect(try PageRequest(query: [:]).limit == 20)
        #expect(try PageRequest(query: ["limit": "100", "cursor": "abc"]) == PageRequest(limit: 100, cursor: "abc"))
        for bad in ["0", "101", "ten", "-1"] {
            #expect(throws: PlazaError.self) { try PageRequest(query: ["limit": bad]) }
        }
    }

    @Test("cursors round-trip and reject what they did not make")
    func cursors() throws {
        let cursor = Cursor.encode(["2026-11-22T00:00:00Z", "abc/+="])
        #expect(!cursor.contains("+") && !cursor.contains("/") && !cursor.contains("="))
        #expect(try Cursor.decode(cursor, parts: 2) == ["2026-11-22T00:00:00Z", "abc/+="])
        #expect(throws: PlazaError.self) { try Cursor.decode(cursor, parts: 3) }
        #expect(throws: PlazaError.self) { try Cursor.decode("%%%", parts: 1) }
    }

    @Test("hex and base64url encodings")
    func encodings() {
        #expect([0x00, 0x0f, 0xa0, 0xff].hexString == "000fa0ff")
        let data = Data([0xfb, 0xff, 0xfe, 0x01])
        #expect(data.base64URLEncodedString() == "-__-AQ")
        #expect(Data(base64URLEncoded: "-__-AQ") == data)
        #expect(Data(base64URLEncoded: "%%") == nil)
    }

    @Test("pages encode nextCursor as null on the last page")
    func pageEncoding() throws {
        let data = try PlazaJSON.encoder().encode(Page(items: [1, 2], nextCursor: nil))
        #expect(String(decoding: data, as: UTF8.self) == "{\"items\":[1,2],\"nextCursor\":null}")
    }

    @Test("decoding errors become field errors with paths")
    func decodingErrors() {
        #expect(problem("{\"lines\": []}")?.errors == [FieldError(field: "customer", message: "is required")])
        #expect(
            problem("{\"customer\": \"a\", \"lines\": [{\"sku\": \"x\", \"quantity\": \"2\"}]}")?.errors
                == [FieldError(field: "lines[0].quantity", message: "must be an integer")])
        #expect(problem("{\"customer\": null, \"lines\": []}")?.errors == [FieldError(field: "customer", message: "must be a string, not null")])
        #expect(problem("{\"customer\": \"a\", \"lines\": [], \"at\": \"tomorrow\"}")?.errors.first?.field == "at")
        #expect(problem("not json")?.status == .badRequest)
        #expect(problem("{\"customer\": \"a\", \"lines\": [], \"at\": \"2026-11-22T10:00:00.250Z\"}") == nil)
    }

    @Test("errors render as RFC 9457 problems")
    func problems() {
        let error = PlazaError.validation([FieldError(field: "email", message: "is required")])
        let problem = error.problem(instance: "/api/v1/users", requestId: "r1")
        #expect(problem.type == "https://plaza.dev/problems/validation")
        #expect(problem.status == 422)
        #expect(problem.errors?.count == 1)
        #expect(PlazaError.notFound("x").problem().errors == nil)
    }

    @Test("schemas render as JSON Schema")
    func schemas() {
        let schema = JSONSchema.object(properties: ["id": .uuid, "tags": .array(.text), "note": .nullable(.text)], required: ["id"])
        #expect(schema.json["type"] == "object")
        #expect(schema.json["required"] == ["id"])
        #expect(schema.json["properties"]?["id"]?["format"] == "uuid")
        #expect(schema.json["properties"]?["note"]?["oneOf"] == [["type": "string"], ["type": "null"]])
    }
}
