import Foundation
import Synchronization

/// A real `plaza serve` process, for tests that need two instances (or a server outside the test process).
public final class ServerProcess: Sendable {
    /// The `plaza` executable `swift build --build-tests` puts beside the test bundle.
    public static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("plaza")
    }

    public let port: Int
    let process: Process
    let logPath: String

    /// Starts `plaza serve` (or another executable built beside the tests that serves like it) on a free port
    /// of 127.0.0.1 (or `port`) with `settings` (PLAZA_* keys; they may name the data directory) and waits until it listens.
    public init(settings: [String: String], executable: String = "plaza", port: Int? = nil) async throws {
        self.port = port ?? Self.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-server-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        logPath = directory + "/server.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = Process()
        process.executableURL = Self.binary.deletingLastPathComponent().appendingPathComponent(executable)
        process.arguments = executable == "plaza" ? ["serve"] : []
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLAZA_") }
        environment["PLAZA_PORT"] = "\(self.port)"
        environment["PLAZA_HOST"] = "127.0.0.1"
        environment["PLAZA_DATA_DIR"] = directory
        environment["PLAZA_LOG_LEVEL"] = "warning"
        for (key, value) in settings { environment[key] = value }
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if Self.isListening(self.port) { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StartFailed(log: log)
    }

    public var url: String { "http://127.0.0.1:\(port)" }
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the graceful stop, up to `grace`; then SIGKILL (and a line on stderr, since a
    /// server that does not stop on SIGTERM is a bug). Says whether it stopped by itself.
    @discardableResult
    public func stop(grace: Duration = .seconds(30)) -> Bool {
        let stopped = process.end(grace: grace)
        if !stopped { FileHandle.standardError.write(Data("!! plaza serve on port \(port) had not stopped \(grace) after SIGTERM: killed\n".utf8)) }
        return stopped
    }

    /// SIGKILL: the process dies where it stands, as in a power cut or an OOM kill.
    public func kill() {
        guard process.isRunning else { return }
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { if process.isRunning { process.terminate() } }

    public struct StartFailed: Error, CustomStringConvertible {
        public var log: String
        public var description: String { "plaza serve did not start:\n\(log)" }
    }

    public static func freePort() -> Int {
        guard let reserved = try? ReservedPort() else { return 0 }
        reserved.release()
        return reserved.port
    }

    public static func isListening(_ port: Int) -> Bool {
        guard let fd = connection(to: port) else { return false }
        close(fd)
        return true
    }

    /// A TCP connection to 127.0.0.1:`port` (the caller closes it), or nil when nothing listens there.
    public static func connection(to port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected =
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        if !connected { close(fd) }
        return connected ? fd : nil
    }
}

/// A loopback port held by this process. Not listening, it refuses connections and no other server can
/// take it (a port merely found free may be taken by another test before it is used); listening, it
/// accepts connections into its backlog and never answers them (a server that hangs).
public final class ReservedPort: Sendable {
    public let port: Int
    private let descriptor: Mutex<Int32?>

    public init(listening: Bool = false) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0 && (!listening || listen(fd, 64) == 0)
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        descriptor = Mutex(fd)
    }

    /// Lets the port go (a listening one resets the connections waiting in its backlog); once.
    public func release() {
        guard
            let fd = descriptor.withLock({ value -> Int32? in
                defer { value = nil }; return value
            })
        else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { release() }
}
