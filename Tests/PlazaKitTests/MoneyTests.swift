import Foundation
import PlazaKit
import Testing

@Suite("Money and geo")
struct MoneyTests {
    @Test("money is JSON minor units and a known currency; anything else is refused when read")
    func json() throws {
        let price = Money(amount: 125_000, currency: .uah)
        let encoded = String(decoding: try JSONEncoder().encode(price), as: UTF8.self)
        #expect(encoded.contains("\"amount\":125000") && encoded.contains("\"currency\":\"UAH\""))
        #expect(try JSONDecoder().decode(Money.self, from: Data(#"{"amount": 999, "currency": "JPY"}"#.utf8)) == Money(amount: 999, currency: .jpy))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Money.self, from: Data(#"{"amount": 12.5, "currency": "UAH"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Money.self, from: Data(#"{"amount": 1, "currency": "XXX"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Money.self, from: Data(#"{"amount": 1}"#.utf8)) }
    }

    @Test("sums refuse another currency and an overflow")
    func arithmetic() throws {
        let a = Money(amount: 150, currency: .uah)
        #expect(try a.adding(Money(amount: 50, currency: .uah)) == Money(amount: 200, currency: .uah))
        #expect(try a.subtracting(Money(amount: 200, currency: .uah)) == Money(amount: -50, currency: .uah))
        #expect(try a.times(4) == Money(amount: 600, currency: .uah))
        #expect(throws: MoneyError.currencyMismatch(.uah, .usd)) { try a.adding(Money(amount: 1, currency: .usd)) }
        #expect(throws: MoneyError.overflow) { try Money(amount: .max, currency: .uah).adding(Money(amount: 1, currency: .uah)) }
        #expect(throws: MoneyError.overflow) { try Money(amount: .max / 2, currency: .uah).times(3) }
        #expect(Money(major: 1250, .uah) == Money(amount: 125_000, currency: .uah))
        #expect(Money(major: .max, .uah) == nil)
    }

    @Test("a share rounds half away from zero and the remainder makes up the whole; a split never loses a unit")
    func sharesAndSplits() throws {
        let total = Money(amount: 1005, currency: .uah)
        let fee = total.share(basisPoints: 1000)
        #expect(fee.amount == 101)
        #expect(try fee.adding(try total.subtracting(fee)) == total)
        #expect(Money(amount: -1005, currency: .uah).share(basisPoints: 1000).amount == -101)
        #expect(Money(amount: 1004, currency: .uah).share(basisPoints: 1000).amount == 100)
        let parts = try Money(amount: 100, currency: .uah).split([1, 1, 1])
        #expect(parts.map(\.amount) == [34, 33, 33])
        #expect(try Money(amount: -100, currency: .uah).split([1, 1, 1]).map(\.amount).reduce(0, +) == -100)
        #expect(try Money(amount: 1000, currency: .uah).split([3, 0, 7]).map(\.amount) == [300, 0, 700])
        #expect(try Money(amount: 7, currency: .jpy).split([0, 0]).map(\.amount) == [0, 0])
        #expect(throws: MoneyError.overflow) { try Money(amount: 7, currency: .jpy).split([.max, 1]) }
        // Big amounts split and share without overflowing the intermediate product.
        let big = try Money(amount: .max - 1, currency: .usd).split([5, 3])
        #expect(big.map(\.amount).reduce(0, &+) == .max - 1)
        let quarter = Money(amount: .max, currency: .usd).share(basisPoints: 2_500)
        #expect(quarter.amount == Int64.max / 4 + 1, "a quarter of the largest amount, rounded half up")
        #expect(Money(amount: .min, currency: .usd).share(basisPoints: 10_000).amount == .min)
        #expect(Money(amount: 1000, currency: .uah).share(basisPoints: 20_000).amount == 1000, "a share is at most the whole")
        #expect(throws: MoneyError.overflow) { try Money(amount: .min, currency: .uah).negated() }
        #expect(try Money(amount: 5, currency: .uah).negated() == Money(amount: -5, currency: .uah))
    }

    @Test("amounts read as a person writes them and print per language")
    func parsingAndFormatting() throws {
        #expect(Money(parsing: "1250", .uah)?.amount == 125_000)
        #expect(Money(parsing: "1 250,5", .uah)?.amount == 125_050)
        #expect(Money(parsing: "1250.05", .uah)?.amount == 125_005)
        #expect(Money(parsing: "-3.10", .usd)?.amount == -310)
        #expect(Money(parsing: "120", .jpy)?.amount == 120)
        #expect(Money(parsing: "\u{2212}0.05", .usd)?.amount == -5, "the minus formatted() prints reads back")
        #expect(Money(parsing: " 1 ", .uah)?.amount == 100)
        for bad in ["", "12.345", "1.", "abc", "1.2.3", "9999999999999999", "1e3", "+1", "--1", "1,2.3", "١٢"] {
            #expect(Money(parsing: bad, .uah) == nil, "\(bad)")
        }
        #expect(Money(parsing: "12.5", .jpy) == nil)
        #expect(Money(amount: 125_050, currency: .uah).formatted(language: "en") == "₴1,250.50")
        #expect(Money(amount: 125_050, currency: .uah).formatted(language: "uk") == "1\u{202F}250,50\u{00A0}₴")
        #expect(Money(amount: -5, currency: .usd).formatted(language: "en") == "−$0.05")
        #expect(Money(amount: 1_000_000, currency: .jpy).formatted(language: "en") == "¥1,000,000")
        #expect(Money(amount: 250, currency: .chf).formatted(language: "en") == "CHF\u{00A0}2.50")
        #expect(Money(amount: 125_005, currency: .uah).decimal == "1250.05")
        #expect(Money(amount: -7, currency: .uah).decimal == "-0.07")
    }

    @Test("distances: the haversine number shown, and a local plane whose box holds its circle")
    func geo() {
        let kyiv = GeoPoint(lat: 50.4501, lng: 30.5234)
        let lviv = GeoPoint(lat: 49.8397, lng: 24.0297)
        #expect(abs(kyiv.kilometres(to: lviv) - 468.5) < 2)
        #expect(kyiv.kilometres(to: kyiv) == 0)
        let plane = LocalPlane(kyiv)
        let box = plane.box(radiusKm: 5)
        // A point 5 km east lies on the box's edge and at 25 km² on the plane.
        let east = GeoPoint(lat: kyiv.lat, lng: kyiv.lng + 5 / plane.kmPerDegreeLng)
        #expect(abs(box.lng.upperBound - east.lng) < 1e-9)
        #expect(abs(plane.squaredKilometres(to: east) - 25) < 1e-6)
        // Within city scale the plane agrees with the great circle to a fraction of a percent.
        let near = GeoPoint(lat: 50.50, lng: 30.60)
        #expect(abs(plane.squaredKilometres(to: near).squareRoot() - kyiv.kilometres(to: near)) / kyiv.kilometres(to: near) < 0.005)
        #expect(GeoPoint(checkingLat: 91, lng: 0) == nil)
        #expect(GeoPoint(checkingLat: .nan, lng: 0) == nil)
        #expect(GeoPoint(checkingLat: -90, lng: 180) != nil)
        #expect(LocalPlane(GeoPoint(lat: 90, lng: 0)).kmPerDegreeLng > 0)
    }
}
