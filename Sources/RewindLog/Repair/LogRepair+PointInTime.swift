// Point-in-time recovery's cut: the log is made to end just before its first damage, and every
// byte cut away is set aside, never deleted. See docs/SERVER.md, "Crash recovery at start".

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LogRepair {
    /// What ``cutAtFirstDamage(directory:)`` found and did.
    public struct PointInTimeCut: Sendable, CustomStringConvertible {
        /// The first damage: the log now ends just before it.
        public var damage: LogDamage
        /// The sequence number of the last entry kept (0 when none is).
        public var lastKeptSequence: UInt64
        /// The highest sequence number a whole record in the cut bytes carries (0 when none does):
        /// entries `lastKeptSequence + 1 ... lastCutSequence` (as far as readable) were set aside.
        public var lastCutSequence: UInt64
        /// Whole, checked records in the cut bytes, and the entries they hold.
        public var cutRecordCount: Int
        public var cutEntryCount: Int
        /// The segment the log now ends in, and its new length in bytes.
        public var tailSegmentFileName: String
        public var tailByteCount: Int
        /// Bytes removed from the log: the tail segment's end plus every later segment.
        public var bytesCut: Int
        /// Of `bytesCut`, the zeros a writer under `always` had written ahead of its records at
        /// the end of the last segment: no entries were ever in them.
        public var zeroBytesCut: Int
        /// Segments after the tail one, dropped from the manifest and moved aside whole.
        public var droppedSegmentFileNames: [String]
        /// Where the cut bytes are kept: a directory inside the log holding a copy of the tail
        /// segment as it was, the dropped segments, and a README.txt saying what each is.
        public var preservedDirectory: String

        public var description: String {
            var text = "cut the log after entry #\(lastKeptSequence) at the first damage (\(damage)): "
                + "\(bytesCut) bytes from \(tailSegmentFileName) @\(tailByteCount)"
                + (zeroBytesCut > 0 ? " (\(zeroBytesCut) of them zeros written ahead of the records)" : "")
            if !droppedSegmentFileNames.isEmpty {
                text += " and \(droppedSegmentFileNames.count) later segment(s) (\(droppedSegmentFileNames.joined(separator: ", ")))"
            }
            if cutEntryCount > 0 {
                text += "; \(cutEntryCount) readable entries in \(cutRecordCount) records after the damage, up to #\(lastCutSequence), are not replayed"
            }
            return text + "; every cut byte is kept in \(preservedDirectory)"
        }
    }

    /// Point-in-time recovery of a log damaged somewhere other than its torn tail: the log is cut
    /// right after the last whole record before the first damage, and everything after it is set
    /// aside in a new directory inside the log, `point-in-time-cut-<ms>/`.
    ///
    /// Returns nil, changing nothing, when the log is clean or its only damage is a torn tail
    /// (which ``LogWriter/open(directory:options:)`` cuts as usual).
    ///
    /// The steps keep every byte reachable at every moment: (1) the tail segment is copied whole
    /// into the new directory and every later segment is hard-linked there, with a README.txt, all
    /// fsynced; (2) the manifest is replaced atomically to end with the tail segment (`lost` lines
    /// past the cut dropped); (3) the later segments' names in the log are unlinked; (4) the tail
    /// segment is truncated and fsynced. A crash before (2) leaves the old log (plus the new
    /// directory); after it, a log whose only damage is in its last segment, which the next call
    /// cuts again (into a second directory). Compaction removes only unnamed `.rwseg`/`.zdict`
    /// files at the top of the log, never this directory.
    ///
    /// - Throws: `LogError` `.damaged` when no whole record precedes the damage in any segment
    ///   (there is no point in time to keep); `.locked` when a writer has the log open; file
    ///   system errors.
    public static func cutAtFirstDamage(directory: String) throws -> PointInTimeCut? {
        _ = try ManifestStore.load(directory: directory)
        let lock = try LogWriter.acquireLock(directory: directory)
        defer { close(lock) }
        let reader = try LogReader(directory: directory)
        let manifest = reader.manifest
        let summary = try reader.forEachEntry(recovery: .pointInTime) { _ in }
        guard summary.stoppedAtDamage, let damage = summary.damages.first, damage.kind != .tornTail else { return nil }
        guard let tail = summary.tail, manifest.segments.indices.contains(tail.segmentIndex) else {
            throw LogError(.damaged, path: directory,
                           "\(damage); no whole record precedes it, so there is no point in time to keep")
        }
        // What the cut bytes still hold, for the report: every whole record after the tail.
        var cutRecordCount = 0
        var cutEntryCount = 0
        var lastCutSequence: UInt64 = 0
        // The same pass finds the zeros a writer under `always` left after the last segment's last
        // record (`preallocatedByteCount`): cut too, and reported apart.
        let cutSummary = try? LogReader(directory: directory, manifest: manifest).forEachRecord(recovery: .skipDamaged) { info in
            guard info.segmentIndex > tail.segmentIndex
                || (info.segmentIndex == tail.segmentIndex && info.byteOffset >= tail.byteOffset) else { return }
            cutRecordCount += 1
            cutEntryCount += info.entryCount
            lastCutSequence = max(lastCutSequence, info.lastSequence)
        }

        let tailSegment = manifest.segments[tail.segmentIndex]
        let tailPath = FileIO.join(directory, tailSegment.fileName)
        let tailSize = try FileIO.fileSize(tailPath)
        let dropped = Array(manifest.segments[(tail.segmentIndex + 1)...])
        var bytesCut = max(0, tailSize - tail.byteOffset)
        for segment in dropped {
            let path = FileIO.join(directory, segment.fileName)
            if FileIO.exists(path) { bytesCut += (try? FileIO.fileSize(path)) ?? 0 }
        }
        let zeroBytesCut = min(cutSummary?.preallocatedByteCount ?? 0, bytesCut)

        // (1) Set everything aside first.
        let stamp = FileIO.nowMilliseconds()
        let asideName = "point-in-time-cut-\(stamp)"
        let aside = FileIO.join(directory, asideName)
        try FileIO.makeDirectory(aside)
        try FileIO.writeFileDurably(FileIO.join(aside, tailSegment.fileName),
                                    try FileIO.readFile(tailPath, byteCountMax: LogLimits.segmentByteCountMax))
        var linked: [String] = []
        for segment in dropped where FileIO.exists(FileIO.join(directory, segment.fileName)) {
            guard link(FileIO.join(directory, segment.fileName), FileIO.join(aside, segment.fileName)) == 0 else {
                throw FileIO.fail(FileIO.join(aside, segment.fileName), "link")
            }
            linked.append(segment.fileName)
        }
        var cut = PointInTimeCut(
            damage: damage, lastKeptSequence: summary.lastSequence, lastCutSequence: lastCutSequence,
            cutRecordCount: cutRecordCount, cutEntryCount: cutEntryCount, tailSegmentFileName: tailSegment.fileName,
            tailByteCount: tail.byteOffset, bytesCut: bytesCut, zeroBytesCut: zeroBytesCut, droppedSegmentFileNames: dropped.map(\.fileName),
            preservedDirectory: aside)
        try FileIO.writeFileDurably(FileIO.join(aside, "README.txt"),
                                    Array(readme(cut, tailSize: tailSize, linked: linked, manifest: manifest).utf8))
        try FileIO.syncDirectory(aside)
        try FileIO.syncDirectory(directory)

        // (2) The log now ends with the tail segment.
        var next = manifest
        next.segments = Array(manifest.segments[...tail.segmentIndex])
        let kept = summary.lastSequence
        next.lostSequences = manifest.lostSequences.compactMap { range in
            range.lowerBound > kept ? nil : range.lowerBound...min(range.upperBound, kept)
        }
        try ManifestStore.replace(next, directory: directory)

        // (3) and (4): the old names go, the tail is cut and made durable.
        for name in linked { try FileIO.remove(FileIO.join(directory, name)) }
        try FileIO.truncate(tailPath, to: tail.byteOffset)
        let descriptor = open(tailPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIO.fail(tailPath, "open") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileIO.fail(tailPath, "fsync") }
        try FileIO.syncDirectory(directory)
        cut.preservedDirectory = aside
        return cut
    }

    private static func readme(_ cut: PointInTimeCut, tailSize: Int, linked: [String], manifest: Manifest) -> String {
        var text = """
            Rewind point-in-time recovery set these bytes aside; nothing here is part of the log any more.

            First damage: \(cut.damage)
            The log was cut after entry #\(cut.lastKeptSequence); new writes take the numbers from #\(cut.lastKeptSequence + 1) on.

            \(cut.tailSegmentFileName): a copy of the segment as it was (\(tailSize) bytes). The log keeps its
              first \(cut.tailByteCount) bytes; bytes \(cut.tailByteCount)..<\(tailSize) of this copy were cut.

            """
        if cut.zeroBytesCut > 0 {
            text += "The last \(cut.zeroBytesCut) bytes of the log's last segment were zeros its writer wrote ahead of its\n"
                + "  records (docs/FORMAT.md, \"Preallocation\"); they never held entries.\n"
        }
        for name in linked {
            text += "\(name): a whole segment that followed it, dropped from the log unchanged.\n"
        }
        let missing = cut.droppedSegmentFileNames.filter { !linked.contains($0) }
        for name in missing { text += "\(name): named by the manifest but missing; nothing to keep.\n" }
        if cut.cutEntryCount > 0 {
            text += "\nReadable in the cut bytes: \(cut.cutEntryCount) entries in \(cut.cutRecordCount) whole records, up to #\(cut.lastCutSequence).\n"
        }
        if !manifest.dictionaries.isEmpty {
            text += "Compressed records use the dictionaries the log's manifest still names: "
                + manifest.dictionaries.map(\.fileName).joined(separator: ", ") + ".\n"
        }
        return text
    }
}
