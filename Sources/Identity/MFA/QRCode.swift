import CQREncode
import Foundation

/// A QR code (Debian's libqrencode) and its picture as a PNG, written here without an image library:
/// one bit a pixel, stored (uncompressed) deflate blocks — a few kilobytes for an enrolment code.
struct QRCode {
    /// Modules per side.
    let size: Int
    /// Row by row; true is dark.
    let modules: [Bool]

    struct TooLong: Error {}

    /// Error correction M (15 %), 8-bit mode, the smallest version that fits.
    init(_ text: String) throws {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { throw TooLong() }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        size = width
        modules = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    /// A black-on-white PNG: `scale` pixels a module and the four-module quiet zone the standard asks for.
    func png(scale: Int = 6, border: Int = 4) -> Data {
        let side = (size + 2 * border) * scale
        let rowBytes = (side + 7) / 8
        var raw = Data(capacity: (rowBytes + 1) * side)
        for y in 0..<side {
            raw.append(0) // filter: none
            var row = [UInt8](repeating: 0xFF, count: rowBytes)
            let moduleY = y / scale - border
            for x in 0..<side {
                let moduleX = x / scale - border
                let dark = moduleY >= 0 && moduleY < size && moduleX >= 0 && moduleX < size && modules[moduleY * size + moduleX]
                if dark { row[x / 8] &= ~(0x80 >> UInt8(x % 8)) }
            }
            raw.append(contentsOf: row)
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(side))
        header.appendBigEndian(UInt32(side))
        header.append(contentsOf: [1, 0, 0, 0, 0]) // bit depth 1, greyscale, deflate, no filter method, no interlace
        png.appendChunk("IHDR", header)
        png.appendChunk("IDAT", Self.zlibStored(raw))
        png.appendChunk("IEND", Data())
        return png
    }

    /// A zlib stream of stored deflate blocks (RFC 1950/1951), with its Adler-32.
    static func zlibStored(_ data: Data) -> Data {
        var out = Data([0x78, 0x01])
        let bytes = [UInt8](data)
        var index = 0
        repeat {
            let length = min(65_535, bytes.count - index)
            let final = index + length == bytes.count
            out.append(final ? 1 : 0)
            out.append(UInt8(length & 0xFF))
            out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xFF))
            out.append(UInt8((~length >> 8) & 0xFF))
            out.append(contentsOf: bytes[index..<(index + length)])
            index += length
        } while index < bytes.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        out.appendBigEndian((b << 16) | a)
        return out
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension Data {
    fileprivate mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }

    fileprivate mutating func appendChunk(_ type: String, _ body: Data) {
        appendBigEndian(UInt32(body.count))
        let typed = Data(type.utf8) + body
        append(typed)
        appendBigEndian(QRCode.crc32(typed))
    }
}
