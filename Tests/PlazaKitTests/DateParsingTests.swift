import Foundation
import PlazaKit
import Testing

@Suite("RFC 3339 timestamps")
struct DateParsingTests {
    @Test("every offset RFC 3339 allows is read, up to ±23:59 (Foundation's parser stops at ±18:00); nonsense is not")
    func offsets() throws {
        let utc = try #require(PlazaJSON.parseDate("2026-04-01T03:08:41Z"))
        #expect(PlazaJSON.parseDate("2026-04-01T03:08:41+08:30") == utc - 8.5 * 3600)
        #expect(PlazaJSON.parseDate("2026-04-01T03:08:41+23:54") == utc - (23 * 3600 + 54 * 60))
        #expect(PlazaJSON.parseDate("2026-04-01T03:08:41-23:59") == utc + (23 * 3600 + 59 * 60))
        #expect(PlazaJSON.parseDate("2026-04-01T03:08:41.250-19:00") == utc + 0.25 + 19 * 3600)
        for bad in [
            "2026-04-01T03:08:41+24:00", "2026-04-01T03:08:41+23:60", "2026-04-01T03:08:41", "tomorrow", "2026-04-01T03:08:41+2300",
            "2026-04-01T03:08:41+-1:00", "2026-04-01T03:08:41+00:-5",
        ] {
            #expect(PlazaJSON.parseDate(bad) == nil, "\(bad)")
        }
    }
}

@Suite("Text limits")
struct TextLimitTests {
    @Test("lengths count code points as JSON Schema does; blank is what the schema's \\S calls blank")
    func limits() {
        let name = TextLimit(1...3)
        #expect(name.problem("abc") == nil && name.problem("abcd") != nil)
        #expect(name.problem("e\u{301}e\u{301}") != nil, "two characters, four code points")
        #expect(name.problem(" \t") != nil && name.problem("\u{FEFF}") != nil && name.problem("\u{3000}") != nil, "blank")
        #expect(name.problem("\u{85}") == nil, "U+0085 is not white space to ECMAScript's \\S")
        #expect(name.schema.json["pattern"] == "\\S" && name.schema.json["maxLength"] == 3)
        #expect(TextLimit.atMost(5).problem("") == nil)
    }
}
