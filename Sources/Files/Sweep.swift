import Foundation
import PlazaKit
import SQLKit

/// What one sweep removed.
public struct SweepReport: Sendable, Equatable {
    public var unboundFiles = 0
    public var staleStaging = 0
    public var strayBlobs = 0
}

extension FileService {
    public static let sweepJob = "files.sweep"
    /// How long an upload may wait to be bound to what it was uploaded for, and how old a staging file or a
    /// blob without a record must be before it counts as debris (younger ones may be in use right now).
    public static let graceForUnbound: TimeInterval = 86_400

    /// Removes abandoned uploads, staging files left by a crash, and bytes no record names (in the local
    /// directory or the bucket). Runs daily as a recurring job.
    @discardableResult
    public func sweep() async throws -> SweepReport {
        var report = SweepReport()
        let cutoff = store.clock.now().addingTimeInterval(-Self.graceForUnbound)
        // Purposes whose files belong to something a module binds them to (a message, a profile, a category):
        // such a file left unbound is an abandoned upload.
        let records = try await self.records(where: "entity_kind IS NULL AND created_at < \(bind: cutoff)")
            .filter { $0.purpose.needsEntity }
        try await remove(records, caller: .system("files.sweep"))
        report.unboundFiles = records.count

        let debrisBefore = Date().addingTimeInterval(-Self.graceForUnbound)
        report.staleStaging = Self.removeFiles(in: blobs.stagingDirectory, olderThan: debrisBefore) { _ in true }
        var known = Set<String>()
        for row in try await store.sql.raw("SELECT storage_key FROM files UNION ALL SELECT storage_key FROM file_variants").all() {
            known.insert(try row.decode(column: "storage_key", as: String.self))
        }
        for prefix in ["originals/", "variants/"] {
            for blob in try await blobs.list(prefix: prefix) where blob.modified < debrisBefore && !known.contains(blob.key) {
                try await blobs.delete(blob.key)
                report.strayBlobs += 1
            }
        }
        if report != SweepReport() {
            logger.info(
                "swept files",
                metadata: [
                    "unbound": "\(report.unboundFiles)", "staging": "\(report.staleStaging)", "stray": "\(report.strayBlobs)",
                ])
        }
        return report
    }

    /// Deletes regular files under `directory` last changed before `cutoff` that `matches` picks.
    private static func removeFiles(in directory: URL, olderThan cutoff: Date, where matches: (URL) -> Bool) -> Int {
        guard
            let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey, .contentModificationDateKey])
        else { return 0 }
        var removed = 0
        for case let url as URL in walker {
            guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .contentModificationDateKey]), values.isRegularFile == true,
                let changed = values.contentModificationDate, changed < cutoff, matches(url)
            else { continue }
            if (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
        }
        return removed
    }
}
