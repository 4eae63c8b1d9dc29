import Foundation
import NIOPosix
import Synchronization
import VipsShim

/// Image work through libvips, run on a thread pool of its own: decoding never stalls the cooperative
/// threads that serve requests, nor NIO's shared blocking pool, where SQLite runs every statement (a
/// 24-megapixel decode there held every test's queries back long enough to time them out).
public struct Images: Sendable {
    public struct Header: Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var loader: String
        public var orientation: Int
    }

    public struct Made: Sendable, Equatable {
        public var width: Int
        public var height: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let pool: NIOThreadPool

    public init(pool: NIOThreadPool = Images.pool) {
        Self.start()
        self.pool = pool
    }

    /// Two threads for the whole process (libvips spreads each image over two of its own as well).
    public static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    private static let started: Bool = {
        // Two threads per operation: the machine's cores are shared with the server.
        plaza_vips_start(2) == 0
    }()

    static func start() {
        precondition(started, "libvips did not start")
    }

    /// The header only: no pixels are decoded, so a decompression bomb is caught here cheaply.
    public func header(of path: String) async throws -> Header {
        try await pool.runIfActive {
            var info = PlazaImageInfo()
            guard plaza_vips_probe(path, &info) == 0 else { throw Self.failure() }
            let loader = withUnsafeBytes(of: info.loader) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return Header(width: Int(info.width), height: Int(info.height), loader: loader, orientation: Int(info.orientation))
        }
    }

    /// Decodes the whole image (at reduced size where the format allows); throws on truncated or corrupt data.
    public func verify(_ path: String) async throws {
        try await pool.runIfActive {
            guard plaza_vips_verify(path) == 0 else { throw Self.failure() }
        }
    }

    /// Writes `spec`'s variant of `input` to `output`.
    public func variant(of input: String, to output: String, spec: VariantSpec, quality: Int = 82) async throws -> Made {
        try await pool.runIfActive {
            var width: Int32 = 0, height: Int32 = 0
            let fit: PlazaFit =
                switch spec.fit {
                case .inside: PlazaFitInside
                case .cover: PlazaFitCover
                case .smart: PlazaFitSmart
                }
            let format: PlazaFormat = spec.format == .webp ? PlazaFormatWebP : PlazaFormatJPEG
            guard plaza_vips_variant(input, output, Int32(spec.width), Int32(spec.height), fit, format, Int32(quality), &width, &height) == 0 else {
                throw Self.failure()
            }
            return Made(width: Int(width), height: Int(height))
        }
    }

    /// Bytes of pixel memory libvips holds now and at most since the process started.
    public static var trackedMemory: (now: Int, peak: Int) {
        (Int(plaza_vips_tracked_memory()), Int(plaza_vips_tracked_memory_peak()))
    }

    private static func failure() -> Failure {
        var buffer = [CChar](repeating: 0, count: 1024)
        let length = plaza_vips_take_error(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Failure(description: text.split(separator: "\n").first.map(String.init) ?? "libvips failed")
    }
}
