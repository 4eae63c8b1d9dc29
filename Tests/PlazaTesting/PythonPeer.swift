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
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        try process.run()
        // Waiting on a thread of its own keeps the test's executor free for the server the peer talks to.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                done.resume()
            }
        }
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// A script under `Tests/peers/`.
    public static func script(_ name: String) -> String {
        repository.appendingPathComponent("Tests/peers/\(name)").path
    }
}
