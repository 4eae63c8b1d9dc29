import Foundation

/// Decides a file's type from its first bytes (the "magic numbers" of each format). The client's
/// `Content-Type` and the name's extension are never believed.
public enum ContentSniffer {
    /// How many leading bytes ``sniff(_:)`` needs to decide.
    public static let prefixLength = 512

    public static func sniff(_ bytes: [UInt8]) -> MediaType? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        if starts(Array("ftyp".utf8), at: 4), bytes.count >= 12 {
            let brand = String(decoding: bytes[8..<12], as: UTF8.self)
            if brand == "qt  " { return .quicktime }
            if ["isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V ", "dash", "MSNV"].contains(brand) { return .mp4 }
            return nil
        }
        return isPlainText(bytes) ? .plainText : nil
    }

    /// UTF-8 text with no control characters but tab, newline and carriage return. A multi-byte
    /// character cut at the end of the prefix is allowed.
    static func isPlainText(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return false }
        for byte in bytes where byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D { return false }
        if bytes.contains(0x7F) { return false }
        var end = bytes.count
        // Step back over a sequence the prefix cut in two.
        var back = 0
        while back < 3, end - back - 1 >= 0, bytes[end - back - 1] & 0xC0 == 0x80 { back += 1 }
        if end - back - 1 >= 0, bytes[end - back - 1] >= 0xC0 { end = end - back - 1 }
        return String(validating: bytes[0..<end], as: UTF8.self) != nil
    }
}

/// Checks a file name from a client: a name, not a path, and printable.
public enum FileName {
    public static func validate(_ raw: String?) -> Result<String, FileNameProblem> {
        guard let raw, !raw.isEmpty else { return .success("file") }
        if raw.count > 255 { return .failure(.tooLong) }
        if raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
            return .failure(.controlCharacters)
        }
        if raw.contains("/") || raw.contains("\\") || raw == "." || raw == ".." || raw.hasPrefix("..") || raw.contains("../") {
            return .failure(.path)
        }
        return .success(raw)
    }

    public enum FileNameProblem: Error, Equatable {
        case tooLong, controlCharacters, path

        public var message: String {
            switch self {
            case .tooLong: "must be at most 255 characters"
            case .controlCharacters: "must not contain control characters"
            case .path: "must be a file name, not a path (no /, \\ or ..)"
            }
        }
    }
}
