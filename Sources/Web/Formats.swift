import Foundation

/// How pages write dates: in the reader's language and, when known, time zone.
public enum Formats {
    public static func dateTime(_ date: Date, _ language: Language, timeZone: String? = nil) -> String {
        var style = Date.FormatStyle(date: .abbreviated, time: .shortened)
        style.locale = Locale(identifier: language == .uk ? "uk_UA" : "en_GB")
        style.timeZone = timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        return date.formatted(style)
    }

    public static func date(_ date: Date, _ language: Language, timeZone: String? = nil) -> String {
        var style = Date.FormatStyle(date: .long, time: .omitted)
        style.locale = Locale(identifier: language == .uk ? "uk_UA" : "en_GB")
        style.timeZone = timeZone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
        return date.formatted(style)
    }
}
