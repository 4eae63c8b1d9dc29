// image-bench: how fast Plaza's image path (libvips through Files.Images) makes variants of one image,
// and how much memory the process holds at its peak.
//
//   ImageBench --image PATH [--count N] [--concurrency C] [--fit smart|cover|inside] [--width W] [--height H]
//
// Prints one markdown table row: | fit | box | concurrency | variants/s | ms each | peak RSS MB | libvips peak MB |
import Files
import Foundation
import PlazaKit

func argument(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

/// Peak resident memory of this process (VmHWM) in MB.
func peakRSS() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
}

let image = argument("--image", "")
let count = Int(argument("--count", "20"))!
let concurrency = Int(argument("--concurrency", "1"))!
let fit = VariantFit(rawValue: argument("--fit", "smart")) ?? .smart
let width = Int(argument("--width", "320"))!, height = Int(argument("--height", "240"))!
guard FileManager.default.fileExists(atPath: image) else {
    FileHandle.standardError.write(Data("ImageBench: --image must name an image file\n".utf8))
    exit(2)
}
let images = Images()
let spec = VariantSpec(name: "bench", width: width, height: height, fit: fit)
let output = FileManager.default.temporaryDirectory.appendingPathComponent("image-bench-\(getpid())")
try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: output) }

// One warm-up, so libvips has loaded its modules before the clock starts.
_ = try await images.variant(of: image, to: output.appendingPathComponent("warm.webp").path, spec: spec)
let started = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for worker in 0..<concurrency {
        group.addTask {
            var index = worker
            while index < count {
                _ = try await images.variant(of: image, to: output.appendingPathComponent("\(index).webp").path, spec: spec)
                index += concurrency
            }
        }
    }
    try await group.waitForAll()
}
let seconds = (ContinuousClock.now - started).timeInterval
let rate = Double(count) / seconds
let vipsPeak = Double(Images.trackedMemory.peak) / 1_048_576
print(
    String(
        format: "| %@ | %dx%d | %d | %.1f | %.0f | %.0f | %.0f |", fit.rawValue, width, height, concurrency, rate,
        seconds / Double(count) * 1000 * Double(concurrency), peakRSS(), vipsPeak))
