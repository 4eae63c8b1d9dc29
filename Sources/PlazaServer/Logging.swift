import Foundation
import Logging
import PlazaKit
import Synchronization

/// Writes each log event as one JSON object per line on stderr: easy for people to grep and for
/// collectors to parse.
///
/// It sits on the request path (one access line per request), so it formats by hand: no
/// `JSONSerialization`, and the timestamp's date part is formatted once per second.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"time\":\""
        line += Self.timestamp()
        line += "\",\"level\":\"\(event.level.rawValue)\",\"logger\":"
        JSONText.appendString(label, to: &line)
        line += ",\"message\":"
        JSONText.appendString(event.message.description, to: &line)
        let merged = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        for key in merged.keys.sorted() {
            line += ","
            JSONText.appendString(key, to: &line)
            line += ":"
            Self.append(merged[key]!, to: &line)
        }
        if let error = event.error {
            line += ",\"error\":"
            JSONText.appendString(String(reflecting: error), to: &line)
        }
        line += "}\n"
        Self.writeToStandardError(line)
    }

    /// One `write(2)` per line (so concurrent lines never interleave), retried when a signal interrupts
    /// it — FileHandle would trap on EINTR instead.
    static func writeToStandardError(_ line: String) {
        var line = line
        line.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    static func append(_ value: Logger.Metadata.Value, to line: inout String) {
        switch value {
        case .string(let string): JSONText.appendString(string, to: &line)
        case .stringConvertible(let convertible): JSONText.appendString(convertible.description, to: &line)
        case .array(let array):
            line += "["
            for (index, element) in array.enumerated() {
                if index > 0 { line += "," }
                append(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                JSONText.appendString(key, to: &line)
                line += ":"
                append(dictionary[key]!, to: &line)
            }
            line += "}"
        }
    }

    private static let secondCache = Mutex<(second: Int, text: String)>((-1, ""))

    /// RFC 3339 UTC with milliseconds: `2026-11-22T01:04:14.598Z`.
    static func timestamp(_ date: Date = Date()) -> String {
        let interval = date.timeIntervalSince1970
        let second = Int(interval.rounded(.down))
        let millis = min(999, Int((interval - Double(second)) * 1000))
        let prefix = secondCache.withLock { cache -> String in
            if cache.second == second { return cache.text }
            var time = time_t(second)
            var parts = tm()
            gmtime_r(&time, &parts)
            let text = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
            cache = (second, text)
            return text
        }
        return prefix + (millis < 10 ? ".00" : millis < 100 ? ".0" : ".") + String(millis) + "Z"
    }
}

/// Sets up swift-log once per process, in the configured format.
public enum PlazaLogging {
    private static let bootstrapped = Mutex(false)

    public static func bootstrap(level: Logger.Level, format: PlazaConfig.LogFormat) {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            switch format {
            case .json: return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
