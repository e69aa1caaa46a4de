// The file side of compaction: finding a cut at a record boundary, writing a base segment of
// snapshot records, and swapping the manifest. See docs/FORMAT.md ("Base segments") and
// docs/COMPACTION.md. The log never interprets the entries it is given: which commands rebuild
// the state is RewindReplay's business (`Compactor`).

import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One compaction of a log directory, holding the log's lock from `init` to `close()`.
///
/// In order: `init` takes the writers' lock (a live writer makes it fail with `.locked`), removes
/// files no manifest names (left by a crashed writer, repair or compaction), and checks every
/// record's CRC once to learn where records start and end; `cut(...)` picks the last record to
/// compact; `makeBaseBuilder` writes the base segment (snapshot records, then the kept records of
/// the cut segment, byte for byte); the caller proves the candidate (it replays through
/// `LogReader(directory:manifest:)`); `install` swaps the manifest atomically and only then removes
/// the old files. A crash at any step leaves the old log or the new one, each readable.
public final class LogCompaction {
    /// The steps a crash test can stop at (see `onStep`), in order.
    public enum Step: String, CaseIterable, Sendable {
        /// Some snapshot records of the base are written, not all.
        case writingBase = "writing-base"
        /// The base segment is whole and fsynced; the old manifest is still in place.
        case baseWritten = "base-written"
        /// `MANIFEST.tmp` is written and fsynced, not yet renamed.
        case manifestWritten = "manifest-written"
        /// `MANIFEST` names the new segments; the directory is not fsynced yet.
        case manifestRenamed = "manifest-renamed"
        /// The first old file is deleted, the others not yet.
        case deletingOld = "deleting-old"
    }

    /// Where the compacted range ends: every record before `recordIndex` is compacted.
    public struct Cut: Hashable, Sendable {
        /// The last compacted sequence number; the base rebuilds the state after it. 0: nothing.
        public var sequence: UInt64
        /// Index, in `records`, of the first kept record (`records.count` when none is kept).
        public var recordIndex: Int
        /// Entries after the cut, markers included, that stay as they are.
        public var keptEntryCount: UInt64
    }

    /// The compacted log before its manifest is installed: read it with
    /// `LogReader(directory: candidate.directory, manifest: candidate.manifest)`.
    public struct Candidate: Sendable {
        public var directory: String
        public var manifest: Manifest
        public var baseFileName: String
        public var baseEntryCount: Int
        public var baseRecordCount: Int
        /// Bytes of the base segment file, the kept records of the cut segment included.
        public var baseByteCount: Int
        /// Bytes of every segment and dictionary file the candidate names, less preallocated
        /// zeros in the last segment when it is kept whole (as ``LogCompaction/totalByteCount``).
        public var totalByteCount: Int
    }

    public let directory: String
    /// The manifest when the compaction started.
    public let manifest: Manifest
    /// Every whole record, in log order.
    public private(set) var records: [LogReader.RecordInfo] = []
    /// The damage the record pass found and the recovery mode accepted.
    public private(set) var damages: [LogDamage] = []
    /// The last sequence number of the log.
    public private(set) var lastSequence: UInt64 = 0
    /// Files that no manifest named, removed when the compaction started.
    public private(set) var removedStrayFiles: [String] = []
    /// Bytes of every segment and dictionary file the manifest names, less the zeros a crashed
    /// writer under `always` left after the last record (they never held entries).
    public private(set) var totalByteCount = 0
    /// Those zeros, at the end of the last segment (docs/FORMAT.md, "Preallocation").
    public private(set) var preallocatedByteCount = 0
    /// Called after each step; crash tests make it kill the process.
    public var onStep: ((Step) -> Void)?
    private var lockFile: Int32

    /// Locks the log, removes unnamed files, and checks every record once.
    ///
    /// - Throws: `LogError` `.locked` when a writer holds the log, `.notALog`, `.badManifest`,
    ///   `.damaged` when the recovery mode refuses a damage.
    public init(directory: String, recovery: RecoveryMode) throws {
        self.directory = directory
        manifest = try ManifestStore.load(directory: directory)
        lockFile = try LogWriter.acquireLock(directory: directory)
        do {
            removedStrayFiles = try Self.removeStrays(directory: directory, manifest: manifest)
            let reader = try LogReader(directory: directory)
            var collected: [LogReader.RecordInfo] = []
            let summary = try reader.forEachRecord(recovery: recovery) { collected.append($0) }
            records = collected
            damages = summary.damages
            lastSequence = summary.lastSequence
            preallocatedByteCount = summary.preallocatedByteCount
            totalByteCount = try Self.byteCount(of: manifest, in: directory) - preallocatedByteCount
        } catch {
            Glibc.close(lockFile)
            lockFile = -1
            throw error
        }
    }

    deinit { close() }

    /// Releases the lock.
    public func close() {
        if lockFile >= 0 { Glibc.close(lockFile) }
        lockFile = -1
    }

    // MARK: - The cut

    /// Keeps at least the last `entryCount` entries: the cut is the last record boundary at or
    /// before `lastSequence - entryCount`.
    public func cut(keepingEntryCount entryCount: UInt64) -> Cut {
        let threshold = lastSequence > entryCount ? lastSequence - entryCount : 0
        var index = 0
        while index < records.count && records[index].lastSequence <= threshold { index += 1 }
        return makeCut(recordIndex: index)
    }

    /// Keeps every entry timestamped at or after `sinceMilliseconds`: a record is compacted only
    /// when the record after it starts before that time (or, for the last record, when the log's
    /// last entry is before it), so no entry of the window is lost even where a record spans it.
    public func cut(keepingSince sinceMilliseconds: Int64, lastTimestampMilliseconds: Int64) -> Cut {
        var index = 0
        while index < records.count {
            let nextStart = index + 1 < records.count ? records[index + 1].baseTimestampMilliseconds : lastTimestampMilliseconds
            guard nextStart < sinceMilliseconds else { break }
            index += 1
        }
        return makeCut(recordIndex: index)
    }

    private func makeCut(recordIndex: Int) -> Cut {
        var index = recordIndex
        // Never between two snapshot records of an earlier base: they share one sequence number.
        while index > 0 && index < records.count && records[index].firstSequence <= records[index - 1].lastSequence { index -= 1 }
        let sequence = index == 0 ? 0 : records[index - 1].lastSequence
        let kept = records[index...].reduce(UInt64(0)) { $0 + UInt64($1.entryCount) }
        return Cut(sequence: sequence, recordIndex: index, keptEntryCount: kept)
    }

    // MARK: - The base segment

    /// Starts the base segment for `cut`, in this log's directory or, with `outputDirectory`, in a
    /// new log there (which must be empty or absent).
    ///
    /// The base takes the id of the segment that holds the first kept record (or of the last
    /// segment, when nothing is kept), so the segments after it keep their files and ids.
    public func makeBaseBuilder(cut: Cut, outputDirectory: String? = nil, compressionLevel: Int32 = 3) throws -> BaseSegmentBuilder {
        precondition(cut.sequence > 0, "nothing to compact")
        let target = outputDirectory ?? directory
        if let outputDirectory {
            try FileIO.makeDirectory(outputDirectory)
            let present = try FileIO.listDirectory(outputDirectory)
            guard present.isEmpty else {
                throw LogError(.fileSystem, path: outputDirectory, "the output directory is not empty; pass --out a new or empty directory")
            }
        }
        let segmentIndex = cut.recordIndex < records.count ? records[cut.recordIndex].segmentIndex : manifest.segments.count - 1
        let segment = manifest.segments[segmentIndex]
        let keptInSegment = records[cut.recordIndex...].prefix { $0.segmentIndex == segmentIndex }
        let segmentHeader = try Self.segmentHeader(directory: directory, fileName: segment.fileName)
        // Kept records may be compressed with their segment's dictionary, which the base header
        // must then name; otherwise the newest dictionary serves the snapshot records best.
        let dictionaryID = keptInSegment.isEmpty ? (manifest.dictionaries.map(\.id).max() ?? 0) : segmentHeader.dictionaryID
        var dictionary: [UInt8]?
        if dictionaryID != 0 {
            guard let entry = manifest.dictionaries.first(where: { $0.id == dictionaryID }) else {
                throw LogError(.damaged, path: directory, "the manifest names no dictionary \(dictionaryID)")
            }
            let bytes = try FileIO.readFile(FileIO.join(directory, entry.fileName), byteCountMax: LogLimits.dictionaryByteCountMax + 64)
            dictionary = try StoredDictionary.decode(bytes, id: dictionaryID).mapError { LogError(.damaged, path: entry.fileName, $0.reason) }.get()
        }
        let fileName = "seg-" + LogFormat.zeroPadded(segment.id, width: 12) + "-base-" + String(cut.sequence) + ".rwseg"
        var next = manifest
        next.segments = [Manifest.Segment(id: segment.id, kind: .base, fileName: fileName, firstSequence: cut.sequence)]
            + manifest.segments[(segmentIndex + 1)...]
        next.lostSequences = manifest.lostSequences.compactMap { range in
            range.upperBound <= cut.sequence ? nil : max(range.lowerBound, cut.sequence + 1)...range.upperBound
        }
        var usedDictionaries: Set<UInt32> = dictionaryID == 0 ? [] : [dictionaryID]
        for kept in manifest.segments[(segmentIndex + 1)...] {
            if let header = try? Self.segmentHeader(directory: directory, fileName: kept.fileName), header.dictionaryID != 0 {
                usedDictionaries.insert(header.dictionaryID)
            }
        }
        next.dictionaries = manifest.dictionaries.filter { usedDictionaries.contains($0.id) }
        let header = SegmentHeader(
            dictionaryID: dictionaryID, segmentID: segment.id, firstSequence: cut.sequence, createdMilliseconds: FileIO.nowMilliseconds())
        return try BaseSegmentBuilder(
            sourceDirectory: directory, step: { [unowned self] in self.onStep?($0) }, targetDirectory: target, fileName: fileName, header: header, dictionary: dictionary,
            compressionLevel: compressionLevel, keptRecords: Array(keptInSegment),
            sourcePath: FileIO.join(directory, segment.fileName), candidateManifest: next,
            copiesFiles: outputDirectory != nil,
            // The candidate keeps the last segment whole unless the cut is in it: its zeros too.
            keptZeroByteCount: segmentIndex < manifest.segments.count - 1 ? preallocatedByteCount : 0)
    }

    // MARK: - Installing

    /// Makes the candidate the log: writes and fsyncs `MANIFEST.tmp`, renames it over `MANIFEST`,
    /// fsyncs the directory, and only then removes the files the old manifest named and the new
    /// one does not (then fsyncs the directory again). For a candidate in another directory
    /// (`--out`) only the manifest is written there; this log is left as it was.
    public func install(_ candidate: Candidate) throws {
        let temporary = FileIO.join(candidate.directory, LogFormat.manifestTemporaryFileName)
        do {
            try FileIO.writeFileDurably(temporary, candidate.manifest.encoded())
        } catch {
            try? FileIO.remove(temporary)
            throw error
        }
        onStep?(.manifestWritten)
        try FileIO.rename(temporary, FileIO.join(candidate.directory, LogFormat.manifestFileName))
        onStep?(.manifestRenamed)
        try FileIO.syncDirectory(candidate.directory)
        guard candidate.directory == directory else { return }
        let kept = Set(candidate.manifest.segments.map(\.fileName) + candidate.manifest.dictionaries.map(\.fileName))
        let obsolete = (manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName)).filter { !kept.contains($0) }
        for (index, fileName) in obsolete.enumerated() {
            try FileIO.remove(FileIO.join(directory, fileName))
            if index == 0 { onStep?(.deletingOld) }
        }
        try FileIO.syncDirectory(directory)
    }

    /// Removes what a failed compaction wrote (best effort); the old manifest was never replaced.
    public func abandon(_ fileNames: [String], in targetDirectory: String) {
        for name in fileNames { try? FileIO.remove(FileIO.join(targetDirectory, name)) }
        try? FileIO.remove(FileIO.join(targetDirectory, LogFormat.manifestTemporaryFileName))
    }

    // MARK: - Helpers

    static func segmentHeader(directory: String, fileName: String) throws -> SegmentHeader {
        let path = FileIO.join(directory, fileName)
        let bytes = try FileIO.readPrefix(path, byteCount: LogFormat.segmentHeaderByteCount)
        switch bytes.withUnsafeBytes({ SegmentHeader.parse($0) }) {
        case .success(let header): return header
        case .failure(let detail): throw LogError(.damaged, path: path, detail.reason)
        }
    }

    static func byteCount(of manifest: Manifest, in directory: String) throws -> Int {
        var total = 0
        for name in manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName) {
            total += (try? FileIO.fileSize(FileIO.join(directory, name))) ?? 0
        }
        return total
    }

    /// Segment and dictionary files, and a `MANIFEST.tmp`, that the manifest does not name: what a
    /// crash of a writer, a repair or a compaction can leave. Nothing else is touched.
    static func removeStrays(directory: String, manifest: Manifest) throws -> [String] {
        let named = Set(manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName))
        var removed: [String] = []
        for name in try FileIO.listDirectory(directory) where !named.contains(name) {
            guard name.hasSuffix(".rwseg") || name.hasSuffix(".zdict") || name == LogFormat.manifestTemporaryFileName else { continue }
            try FileIO.remove(FileIO.join(directory, name))
            removed.append(name)
        }
        if !removed.isEmpty { try FileIO.syncDirectory(directory) }
        return removed
    }
}

/// Writes a base segment: snapshot records of the given entries (all carrying the cut's sequence
/// number), then the kept records of the cut segment copied byte for byte.
public final class BaseSegmentBuilder {
    /// A snapshot record is written once its entries pass this many uncompressed bytes: large
    /// enough for zstd to find the repetition between keys, small enough to decode in cache.
    public static let recordByteCountTarget = 1 << 20

    private let sourceDirectory: String
    private let step: (LogCompaction.Step) -> Void
    private let targetDirectory: String
    private let fileName: String
    private let header: SegmentHeader
    private let keptRecords: [LogReader.RecordInfo]
    private let sourcePath: String
    private var candidateManifest: Manifest
    private let copiesFiles: Bool
    private var compressor: ZstdCompressor
    private var descriptor: Int32
    /// Records are compressed and written on a serial queue while the caller encodes the next
    /// ones (the online rewrite's critical path was encode + compress + write on one thread);
    /// at most `recordsInFlightMax` wait, so memory stays bounded. The queue's first error is
    /// kept and thrown by the next `append` or by `finish`.
    private let recordQueue = DispatchQueue(label: "rewind.base-segment.records")
    private let recordSlots = DispatchSemaphore(value: BaseSegmentBuilder.recordsInFlightMax)
    private static let recordsInFlightMax = 2
    private let failureLock = NSLock()
    private var queueFailure: Error?
    private var pending: [UInt8] = []
    private var pendingEntryCount = 0
    private var deltaState: EntryCodec.DeltaState
    private var pendingBaseTimestamp: Int64 = 0
    private var recordBuffer: [UInt8] = []
    private var compressed: [UInt8] = []
    private(set) var entryCount = 0
    /// Records written, counted on the record queue: read only after ``drainRecords()``.
    private var recordCount = 0
    /// Records handed to the record queue, counted on the caller's thread.
    private var submittedRecordCount = 0
    private var byteCount = 0
    private var writtenFiles: [String]
    /// Preallocated zeros in the segments the candidate keeps whole, left out of its size as
    /// ``LogCompaction/totalByteCount`` leaves them out of the log's.
    private let keptZeroByteCount: Int

    init(
        sourceDirectory: String, step: @escaping (LogCompaction.Step) -> Void, targetDirectory: String, fileName: String, header: SegmentHeader, dictionary: [UInt8]?,
        compressionLevel: Int32, keptRecords: [LogReader.RecordInfo], sourcePath: String, candidateManifest: Manifest,
        copiesFiles: Bool, keptZeroByteCount: Int = 0
    ) throws {
        self.keptZeroByteCount = keptZeroByteCount
        self.sourceDirectory = sourceDirectory
        self.step = step
        self.targetDirectory = targetDirectory
        self.fileName = fileName
        self.header = header
        self.keptRecords = keptRecords
        self.sourcePath = sourcePath
        self.candidateManifest = candidateManifest
        self.copiesFiles = copiesFiles
        compressor = ZstdCompressor(level: compressionLevel, dictionary: dictionary)
        deltaState = EntryCodec.DeltaState(baseTimestampMilliseconds: 0)
        let path = FileIO.join(targetDirectory, fileName)
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileIO.fail(path, "create base segment") }
        writtenFiles = [fileName]
        try write(header.encoded())
    }

    // Pending records hold the builder (their closures capture it), so this runs only once the
    // queue is idle.
    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// The sequence number every snapshot entry carries: the last compacted one.
    public var sequence: UInt64 { header.firstSequence }

    /// Adds one entry of the base. Its `sequence` is ignored: it becomes the cut's.
    public func append(_ entry: LogEntry) throws {
        try throwQueueFailure()
        if let problem = EntryCodec.validate(entry) { throw LogError(.entryTooLarge, path: targetDirectory, problem) }
        if pendingEntryCount == 0 {
            deltaState = EntryCodec.DeltaState(baseTimestampMilliseconds: entry.timestampMilliseconds)
            pendingBaseTimestamp = entry.timestampMilliseconds
        }
        EntryCodec.encode(entry, into: &pending, state: &deltaState)
        pendingEntryCount += 1
        entryCount += 1
        if pending.count >= Self.recordByteCountTarget || pendingEntryCount >= LogLimits.recordEntryCountMax { try flushRecord() }
    }

    private func flushRecord() throws {
        guard pendingEntryCount > 0 else { return }
        let payload = pending
        let entryCountOfRecord = pendingEntryCount
        let baseTimestamp = pendingBaseTimestamp
        pending = []
        pending.reserveCapacity(Self.recordByteCountTarget + Self.recordByteCountTarget / 4)
        pendingEntryCount = 0
        recordSlots.wait()
        recordQueue.async { [self] in
            defer { recordSlots.signal() }
            guard currentQueueFailure() == nil else { return }
            do {
                try writeRecord(payload, entryCount: entryCountOfRecord, baseTimestamp: baseTimestamp)
            } catch {
                failureLock.lock()
                if queueFailure == nil { queueFailure = error }
                failureLock.unlock()
            }
        }
        submittedRecordCount += 1
        if submittedRecordCount == 1 {
            // The step is reported on the caller's thread, as every other step is, once the first
            // record is in the file: the queue never calls back into the compaction.
            try drainRecords()
            step(.writingBase)
        }
    }

    /// Compresses and writes one record (on the record queue).
    private func writeRecord(_ payload: [UInt8], entryCount: Int, baseTimestamp: Int64) throws {
        compressed.removeAll(keepingCapacity: true)
        try payload.withUnsafeBytes { try compressor.compress($0, appendingTo: &compressed) }
        let useCompressed = compressed.count < payload.count
        let record = RecordHeader(
            storedByteCount: UInt32(useCompressed ? compressed.count : payload.count), uncompressedByteCount: UInt32(payload.count),
            firstSequence: header.firstSequence, entryCount: UInt32(entryCount),
            compression: useCompressed ? (compressor.usesDictionary ? .zstdDictionary : .zstd) : .none,
            baseTimestampMilliseconds: baseTimestamp, isSnapshot: true)
        recordBuffer.removeAll(keepingCapacity: true)
        if useCompressed {
            compressed.withUnsafeBytes { record.append(payload: $0, to: &recordBuffer) }
        } else {
            payload.withUnsafeBytes { record.append(payload: $0, to: &recordBuffer) }
        }
        try write(recordBuffer)
        recordCount += 1
    }

    private func currentQueueFailure() -> Error? {
        failureLock.lock()
        defer { failureLock.unlock() }
        return queueFailure
    }

    /// Throws what the record queue failed with, if it did.
    private func throwQueueFailure() throws {
        if let failure = currentQueueFailure() { throw failure }
    }

    /// Waits until every record handed to the queue is written; throws its failure if any.
    private func drainRecords() throws {
        recordQueue.sync {}
        try throwQueueFailure()
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try FileIO.writeAll(descriptor, $0, path: FileIO.join(targetDirectory, fileName)) }
        byteCount += bytes.count
    }

    /// Writes what is pending, copies the kept records of the cut segment, fsyncs the file and the
    /// directory, and returns the candidate log. With `--out`, also copies the kept segments and
    /// the dictionaries into the new directory first.
    public func finish() throws -> LogCompaction.Candidate {
        try throwQueueFailure()
        try flushRecord()
        try drainRecords()
        guard recordCount > 0 else { throw LogError(.entryTooLarge, path: targetDirectory, "a base needs at least one entry") }
        if !keptRecords.isEmpty {
            let source = try FileIO.readFile(sourcePath, byteCountMax: LogLimits.segmentByteCountMax)
            for record in keptRecords {
                let end = record.byteOffset + record.recordByteCount
                guard end <= source.count else { throw LogError(.damaged, path: sourcePath, "the segment changed during compaction") }
                try write(Array(source[record.byteOffset..<end]))
            }
        }
        guard fsync(descriptor) == 0 else { throw FileIO.fail(FileIO.join(targetDirectory, fileName), "fsync") }
        Glibc.close(descriptor)
        descriptor = -1
        if copiesFiles {
            for name in candidateManifest.segments.dropFirst().map(\.fileName) + candidateManifest.dictionaries.map(\.fileName) {
                let bytes = try FileIO.readFile(FileIO.join(sourceDirectory, name), byteCountMax: LogLimits.segmentByteCountMax)
                writtenFiles.append(name)
                try FileIO.writeFileDurably(FileIO.join(targetDirectory, name), bytes)
            }
        }
        try FileIO.syncDirectory(targetDirectory)
        step(.baseWritten)
        return LogCompaction.Candidate(
            directory: targetDirectory, manifest: candidateManifest, baseFileName: fileName, baseEntryCount: entryCount,
            baseRecordCount: recordCount, baseByteCount: byteCount,
            totalByteCount: max(0, ((try? LogCompaction.byteCount(of: candidateManifest, in: targetDirectory)) ?? 0) - keptZeroByteCount))
    }

    /// The files this builder created, for `LogCompaction.abandon`.
    public var createdFiles: [String] { writtenFiles }
}
