import Foundation

/// Runs the real `plaza` executable, built beside the test bundle by `swift build --build-tests`.
public struct PlazaProcess {
    public static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("plaza")
    }

    public struct Output {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = cleanEnvironment.merging(environment) { $1 }
        // Files, not pipes: Foundation's pipe reads trap when a signal interrupts them (EINTR).
        let outPath = temporaryDirectory() + "/out"
        let errPath = outPath.replacingOccurrences(of: "/out", with: "/err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: outPath).deletingLastPathComponent().path) }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        // Bounded: a command that hangs fails its test instead of holding a pool thread for good.
        if !process.waitForExit(upTo: .seconds(120)) {
            process.end(grace: .seconds(1))
            FileHandle.standardError.write(Data("!! plaza \(arguments.joined(separator: " ")) had not finished after 120 s: killed\n".utf8))
        }
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Output(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// The environment without the test run's own PLAZA_ settings.
    public static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLAZA_") }
    }
}

public func temporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("plaza-cli-\(UUID())").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
