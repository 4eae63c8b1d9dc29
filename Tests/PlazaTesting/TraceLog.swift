import Foundation
import Logging
import Synchronization

/// A file the test stores log into at debug level, when `PLAZA_TEST_TRACE` names one.
///
/// Why: when a pass is slow or stuck, the stores' own warnings, PostgresNIO's pool events (connections made and
/// closed) and the cleanup steps' timings are what tell where, and at the tests' usual level (errors only)
/// nobody sees them. scripts/test.sh sets it for every pass (a few hundred KB) and prints its tail when a
/// pass is stuck; it is what found the lost wakeup of 2026-11-30 (notes of that day).
enum TraceLog {
    static let file: FileHandle? = {
        guard let path = ProcessInfo.processInfo.environment["PLAZA_TEST_TRACE"], !path.isEmpty else { return nil }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }()

    /// The tests' logger, with `name` in every line; at debug into the trace file when there is one.
    static func logger(_ name: String, base: Logger) -> Logger {
        guard let file else { return base }
        var logger = Logger(label: base.label) { label in TraceHandler(label: label, file: file, forward: base.handler) }
        logger.logLevel = .debug
        logger[metadataKey: "db"] = "\(name)"
        return logger
    }

    /// Writes a line to the trace file (and nothing when there is none).
    static func note(_ line: String) {
        file.map { TraceHandler.write("\(Date()) note \(line)\n", to: $0) }
    }
}

/// Writes every event to the trace file, and hands the tests' usual ones (errors) on to `forward` as well.
private struct TraceHandler: LogHandler {
    let label: String
    let file: FileHandle
    var forward: any LogHandler
    var logLevel: Logger.Level = .debug
    var metadata: Logger.Metadata = [:]
    private static let lock = Mutex(())

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        Self.write("\(Date()) \(event.level) \(label): \(event.message) \(fields)\n", to: file)
        if event.level >= .error {
            var event = event
            event.metadata = all
            forward.log(event: event)
        }
    }

    static func write(_ line: String, to file: FileHandle) {
        lock.withLock { _ in file.write(Data(line.utf8)) }
    }
}
