#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Repairs a damaged log: cuts a torn tail, or rewrites damaged segments without their damaged
/// records. A clean log is never touched.
///
/// The repair works like compaction: damaged segments are copied, good record by good record and
/// byte for byte, to new files; the manifest is replaced atomically to name them and to record
/// the sequence numbers that were lost (so later readers do not report the same holes again);
/// only then are the old files removed. A crash at any step leaves either the old log or the
/// repaired one.
public enum LogRepair {
    /// What a repair found and did.
    public struct Report: Sendable {
        /// Every damage found, in order.
        public var damages: [LogDamage]
        /// False when the log was clean and nothing was written.
        public var changed: Bool
        /// Bytes no longer part of the log.
        public var bytesDropped: Int
        /// Sequence numbers lost with the dropped records, where the surrounding records tell.
        public var lostSequences: [ClosedRange<UInt64>]
        /// Entries whose records were dropped, where known.
        public var entriesLost: UInt64 { lostSequences.reduce(0) { $0 + UInt64($1.count) } }
        /// Good entries that remain.
        public var entriesKept: Int
    }

    /// Repairs the log in `directory`.
    ///
    /// - Parameter skipDamaged: false: only a torn tail may be cut, and any other damage is an
    ///   error that changes nothing. True: every damaged range is dropped.
    /// - Throws: `LogError` `.damaged` when the damage needs `skipDamaged`; `.locked` when a
    ///   writer has the log open; file system errors.
    public static func repair(directory: String, skipDamaged: Bool) throws -> Report {
        // Refuse a directory that holds no log before creating anything in it (the LOCK file).
        _ = try ManifestStore.load(directory: directory)
        let lock = try LogWriter.acquireLock(directory: directory)
        defer { close(lock) }
        let reader = try LogReader(directory: directory)
        var good: [String: [(offset: Int, count: Int)]] = [:]
        var entriesKept = 0
        let summary = try reader.forEachEntry(
            recovery: .skipDamaged,
            onRecord: { info in
                good[info.segmentFileName, default: []].append((info.byteOffset, info.recordByteCount))
                entriesKept += info.entryCount
            }
        ) { _ in }
        var report = Report(
            damages: summary.damages, changed: false, bytesDropped: summary.damages.reduce(0) { $0 + $1.byteCount },
            lostSequences: summary.damages.compactMap(\.lostSequences), entriesKept: entriesKept)
        guard !summary.damages.isEmpty else { return report }
        let manifest = reader.manifest
        let onlyTornTail = summary.damages.count == 1 && summary.damages[0].kind == .tornTail
        if onlyTornTail, let tail = summary.tail, tail.segmentIndex == manifest.segments.count - 1 {
            // The common case after a crash: cut the incomplete final record, nothing else.
            try FileIO.truncate(FileIO.join(directory, manifest.segments[tail.segmentIndex].fileName), to: tail.byteOffset)
            report.changed = true
            return report
        }
        guard skipDamaged else {
            throw LogError(
                .damaged, path: directory,
                "\(summary.damages.count) damaged ranges, not only a torn tail; nothing was changed. "
                    + "Run `rewind repair --skip-damaged` to drop them and keep the \(entriesKept) good entries")
        }
        try rewrite(directory: directory, manifest: manifest, damages: summary.damages, good: good)
        report.changed = true
        return report
    }

    private static func rewrite(
        directory: String, manifest: Manifest, damages: [LogDamage], good: [String: [(offset: Int, count: Int)]]
    ) throws {
        let damagedFiles = Set(damages.map(\.segmentFileName))
        var next = manifest
        next.segments = []
        var obsolete: [String] = []
        let repairStamp = String(FileIO.nowMilliseconds())
        for segment in manifest.segments {
            guard damagedFiles.contains(segment.fileName) else {
                next.segments.append(segment)
                continue
            }
            obsolete.append(segment.fileName)
            let path = FileIO.join(directory, segment.fileName)
            guard FileIO.exists(path), let bytes = try? FileIO.readFile(path, byteCountMax: LogLimits.segmentByteCountMax),
                case .success(let header) = bytes.withUnsafeBytes({ SegmentHeader.parse($0) }),
                let records = good[segment.fileName], !records.isEmpty
            else { continue }  // nothing readable is left in it: drop the segment
            var rewritten = header.encoded()
            for record in records { rewritten += bytes[record.offset..<(record.offset + record.count)] }
            let fileName = "seg-" + LogFormat.zeroPadded(segment.id, width: 12) + "-repaired-" + repairStamp + ".rwseg"
            try FileIO.writeFileDurably(FileIO.join(directory, fileName), rewritten)
            var replaced = segment
            replaced.fileName = fileName
            next.segments.append(replaced)
        }
        guard !next.segments.isEmpty else {
            throw LogError(.damaged, path: directory, "no readable segment is left; nothing was changed")
        }
        next.lostSequences += damages.compactMap(\.lostSequences)
        try FileIO.syncDirectory(directory)
        try ManifestStore.replace(next, directory: directory)
        for fileName in obsolete { try FileIO.remove(FileIO.join(directory, fileName)) }
    }
}
