import Foundation

/// Runs a program of the repository's `.venv` Python (where `scripts/deps.sh test` installs the test peers:
/// PyJWT, selenium, …) and collects what it printed.
public enum PythonPeer {
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let python = repository.appendingPathComponent(".venv/bin/python").path

    /// Whether the virtualenv exists (a test names the command that makes it when it does not).
    public static var isInstalled: Bool { FileManager.default.fileExists(atPath: python) }

    /// Runs `python arguments…` and waits; stdout and stderr go to one file (Foundation's pipes can lose
    /// output on EINTR), which is returned with the exit status.
    public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("python-peer-\(UUID()).out").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: output) }
        // One handle for both streams: two handles on one file would each keep an offset and overwrite each other.
        let handle = FileHandle(forWritingAtPath: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Waiting on a thread of its own keeps the test's executor free for the server the peer talks to. A test
        // cancelled (its time limit) ends the peer, so the wait ends too.
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    done.resume()
                }
            }
        } onCancel: {
            DispatchQueue.global().async { process.end(grace: .seconds(1)) }
        }
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// A peer left running while the test goes on: the test watches its output (for a line saying it is
    /// ready, say) and then waits for it to finish.
    public final class Running: Sendable {
        let process: Process
        let outputPath: String

        init(process: Process, outputPath: String) {
            self.process = process
            self.outputPath = outputPath
        }

        public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

        /// Waits until the output contains `text` (true), or the peer exits or `limit` passes (false).
        public func waitFor(_ text: String, within limit: Duration = .seconds(20)) async throws -> Bool {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                if output.contains(text) { return true }
                if !process.isRunning { return output.contains(text) }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        /// The lines of output that are JSON objects with `key` at the top, each as that key's value.
        public func jsonLines(_ key: String) -> [[String: Any]] {
            output.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
                return object[key] as? [String: Any]
            }
        }

        /// Stops the peer: SIGTERM, then SIGKILL if it is still there after a second (a child can inherit a
        /// blocked SIGTERM from the test process's threads).
        public func stop() {
            process.end(grace: .seconds(1))
            try? FileManager.default.removeItem(atPath: outputPath)
        }

        /// Waits for the peer to exit; ends it after `limit`, or at once when the test is cancelled.
        public func wait(within limit: Duration = .seconds(60)) async -> (status: Int32, output: String) {
            let deadline = ContinuousClock.now + limit
            while process.isRunning, ContinuousClock.now < deadline, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
            process.end(grace: .seconds(1))
            defer { try? FileManager.default.removeItem(atPath: outputPath) }
            return (process.terminationStatus, output)
        }
    }

    /// Starts `python arguments…` and returns at once.
    public static func start(_ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("python-peer-\(UUID()).out").path
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        // One handle for both streams: two handles on one file would each keep an offset and overwrite each other.
        let handle = FileHandle(forWritingAtPath: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return Running(process: process, outputPath: output)
    }

    /// A script under `Tests/peers/`.
    public static func script(_ name: String) -> String {
        repository.appendingPathComponent("Tests/peers/\(name)").path
    }
}
