// Online compaction on the writer's side: a rotation at a cut, a base segment written from a
// snapshot taken at that cut, and the manifest swapped to [base] + the segments after the cut
// while appends go on. See docs/COMPACTION.md, "Online". What the base holds (the commands that
// rebuild a state) is the caller's business: the log never interprets entries.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an online compaction cuts the log, as ``LogWriter/rotateForCompaction()`` made it.
public struct OnlineCompactionCut: Sendable, Hashable {
    /// The last compacted sequence number: every entry up to it is in the segments the base
    /// replaces, every entry after it in segments that stay. 0 when the log is empty.
    public var sequence: UInt64
    /// False when there is nothing to compact: the log is empty, or everything up to the cut is
    /// already one base segment.
    public var compactsHistory: Bool
    /// The base segment's id (that of the last replaced segment) and file name.
    public var baseSegmentID: UInt64
    public var baseFileName: String
    /// The dictionary the base is compressed with (0: none) and its file.
    public var dictionaryID: UInt32
    var dictionaryFileName: String?
    /// The segments the base replaces, by file name.
    public var replacedSegmentFileNames: [String]
}

/// A batch taken out of `pending` at a cut: the flusher writes it into the segment before the cut.
struct SealedBatch {
    var payload: [UInt8]
    var firstSequence: UInt64
    var entryCount: Int
    var baseTimestamp: Int64
    var entryEnds: [Int]
}

struct InstallRequest {
    var cut: OnlineCompactionCut
    var onStep: ((LogCompaction.Step) -> Void)?
}

extension LogWriter {
    /// Bytes of every segment and dictionary file the manifest names, as of the last write
    /// (Redis's `aof_current_size`).
    public var byteCount: Int { lock.withLock { publishedByteCount } }

    /// True from ``rotateForCompaction()`` until ``installBase(_:replacingThrough:onStep:)`` or
    /// ``abandonCompaction(_:)``.
    public var isCompacting: Bool { lock.withLock { compactionActive } }

    /// Cuts the log after the last appended entry: everything appended so far is written and
    /// synced in the current segment, and the next append goes to a new segment that starts at
    /// `cut.sequence + 1`. Call it where the caller's state is exactly the state after the last
    /// appended entry (a server: between two commands, with a snapshot of its state taken
    /// there). Blocks for the rotation's few fsyncs; appends made meanwhile by other threads go
    /// after the cut.
    ///
    /// Files that no manifest names (left by a crash of an earlier compaction) are removed.
    ///
    /// - Throws: `LogError` when the writer failed or is closed, or a compaction is already
    ///   running (`.writerClosed` then names it).
    public func rotateForCompaction() throws -> OnlineCompactionCut {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        guard !closing else { throw LogError(.writerClosed, path: directory, "the writer is closed") }
        guard !compactionActive else {
            throw LogError(.writerClosed, path: directory, "a compaction of this log is already running")
        }
        let cut = nextSequence - 1
        if pendingEntryCount > 0 {
            sealedBatch = SealedBatch(payload: pending, firstSequence: pendingFirstSequence, entryCount: pendingEntryCount,
                                      baseTimestamp: pendingBaseTimestamp, entryEnds: pendingEntryEnds)
            pending = []
            pendingEntryCount = 0
            pendingEntryEnds = []
        }
        compactionActive = true
        rotationRequest = cut
        rotationResult = nil
        lock.signalWork()
        while rotationResult == nil && failure == nil { lock.wait(.progress) }
        guard let result = rotationResult else {
            compactionActive = false
            throw failure!
        }
        rotationResult = nil
        switch result {
        case .success(let made):
            if !made.compactsHistory { compactionActive = false }
            return made
        case .failure(let error):
            compactionActive = false
            throw error
        }
    }

    /// Starts the base segment for `cut`, compressed with the log's newest dictionary at the cut.
    /// Append the entries that rebuild the state at the cut, then `finish()` it (which fsyncs the
    /// file and the directory) and pass the result to ``installBase(_:replacingThrough:onStep:)``.
    public func makeBaseBuilder(for cut: OnlineCompactionCut, compressionLevel: Int32 = 3,
                                onStep: ((LogCompaction.Step) -> Void)? = nil) throws -> BaseSegmentBuilder {
        precondition(cut.compactsHistory, "nothing to compact")
        var dictionary: [UInt8]?
        if cut.dictionaryID != 0, let name = cut.dictionaryFileName {
            let bytes = try FileIO.readFile(FileIO.join(directory, name), byteCountMax: LogLimits.dictionaryByteCountMax + 64)
            dictionary = try StoredDictionary.decode(bytes, id: cut.dictionaryID).mapError {
                LogError(.damaged, path: name, $0.reason)
            }.get()
        }
        let header = SegmentHeader(dictionaryID: cut.dictionaryID, segmentID: cut.baseSegmentID, firstSequence: cut.sequence,
                                   createdMilliseconds: FileIO.nowMilliseconds())
        let base = Manifest.Segment(id: cut.baseSegmentID, kind: .base, fileName: cut.baseFileName, firstSequence: cut.sequence)
        return try BaseSegmentBuilder(
            sourceDirectory: directory, step: { onStep?($0) }, targetDirectory: directory, fileName: cut.baseFileName,
            header: header, dictionary: dictionary, compressionLevel: compressionLevel, keptRecords: [], sourcePath: "",
            candidateManifest: Manifest(segments: [base]), copiesFiles: false)
    }

    /// Makes `base` the log's history up to `cut`: under the writer, the manifest becomes [base] +
    /// every segment after the cut (the appends made meanwhile included), written to
    /// `MANIFEST.tmp`, fsynced, renamed over `MANIFEST`, and the directory fsynced; only then are
    /// the replaced segments and the dictionaries no segment uses any more deleted. Returns the
    /// deleted file names. Sequence numbers of the kept entries do not change.
    ///
    /// A crash at any step leaves either the old manifest (the base is then a stray file, removed
    /// by the next compaction) or the new one (old files not yet deleted are strays likewise).
    public func installBase(_ base: LogCompaction.Candidate, replacingThrough cut: OnlineCompactionCut,
                            onStep: ((LogCompaction.Step) -> Void)? = nil) throws -> [String] {
        precondition(base.baseFileName == cut.baseFileName, "the base was not made for this cut")
        let obsolete: [String] = try lock.withLock {
            if let failure { throw failure }
            guard !closing else {
                compactionActive = false
                throw LogError(.writerClosed, path: directory, "the writer is closed")
            }
            guard compactionActive else { throw LogError(.writerClosed, path: directory, "no compaction is running") }
            installRequest = InstallRequest(cut: cut, onStep: onStep)
            installResult = nil
            lock.signalWork()
            while installResult == nil && failure == nil { lock.wait(.progress) }
            guard let result = installResult else {
                compactionActive = false
                throw failure!
            }
            installResult = nil
            compactionActive = false
            return try result.get()
        }
        for (index, fileName) in obsolete.enumerated() {
            try FileIO.remove(FileIO.join(directory, fileName))
            if index == 0 { onStep?(.deletingOld) }
        }
        if !obsolete.isEmpty { try FileIO.syncDirectory(directory) }
        return obsolete
    }

    /// Ends a compaction that failed: removes the base (best effort) unless the manifest on disk
    /// names it already (a failure after the rename: the old files are then strays).
    public func abandonCompaction(_ cut: OnlineCompactionCut) {
        lock.withLock { compactionActive = false }
        guard cut.compactsHistory else { return }
        if let onDisk = try? ManifestStore.load(directory: directory), onDisk.segments.contains(where: { $0.fileName == cut.baseFileName }) {
            return
        }
        try? FileIO.remove(FileIO.join(directory, cut.baseFileName))
    }

    // MARK: - The flusher's side

    /// Called by the flusher with the lock held; returns with it held.
    func carryOutCompactionRequests() {
        if let cut = rotationRequest {
            rotationRequest = nil
            let sealed = sealedBatch
            sealedBatch = nil
            lock.unlock()
            let result = Result { try rotate(at: cut, sealed: sealed) }.mapError { error in
                (error as? LogError) ?? LogError(.fileSystem, path: directory, "\(error)")
            }
            lock.lock()
            if case .failure(let error) = result {
                fail(error)
            } else if let sealed {
                let last = sealed.firstSequence + UInt64(sealed.entryCount) - 1
                writtenSequence = max(writtenSequence, last)
                durableSequence = max(durableSequence, last)  // the sealed segment was synced
                progress.publish(written: writtenSequence, durable: durableSequence, failure: nil)
            }
            publishedByteCount = sealedByteCount + segmentFile.byteCount
            rotationResult = result
            lock.broadcastProgress()
        }
        if let request = installRequest {
            installRequest = nil
            lock.unlock()
            let result = Result { try install(request) }.mapError { error in
                (error as? LogError) ?? LogError(.fileSystem, path: directory, "\(error)")
            }
            lock.lock()
            publishedByteCount = sealedByteCount + segmentFile.byteCount
            installResult = result
            lock.broadcastProgress()
        }
    }

    private func rotate(at cut: UInt64, sealed: SealedBatch?) throws -> OnlineCompactionCut {
        if let sealed {
            if let unchecked = try writeRecord(sealed.payload, firstSequence: sealed.firstSequence, entryCount: sealed.entryCount,
                                               baseTimestamp: sealed.baseTimestamp) {
                lock.withLock { uncheckedRecords.append(unchecked) }
            }
            if !sealed.entryEnds.isEmpty {
                try collectSamples(sealed.payload, entryEnds: sealed.entryEnds, nextSequence: cut + 1)
            }
        }
        if cut > 0 && segmentFile.header.firstSequence <= cut {
            try rotate(firstSequence: cut + 1, dictionaryID: segmentFile.header.dictionaryID)  // syncs the sealed one
        } else {
            try segmentFile.sync()
        }
        _ = try LogCompaction.removeStrays(directory: directory, manifest: manifest)
        let replaced = manifest.segments.filter { $0.firstSequence <= cut }
        let compacts = cut > 0 && replaced.contains { $0.kind == .incr }
        let baseID = replaced.last?.id ?? 0
        let dictionary = manifest.dictionaries.max { $0.id < $1.id }
        return OnlineCompactionCut(
            sequence: cut, compactsHistory: compacts, baseSegmentID: baseID,
            baseFileName: "seg-" + LogFormat.zeroPadded(baseID, width: 12) + "-base-" + String(cut) + ".rwseg",
            dictionaryID: dictionary?.id ?? 0, dictionaryFileName: dictionary?.fileName,
            replacedSegmentFileNames: replaced.map(\.fileName))
    }

    private func install(_ request: InstallRequest) throws -> [String] {
        let cut = request.cut
        let kept = manifest.segments.filter { $0.firstSequence > cut.sequence }
        guard !kept.isEmpty, manifest.segments.count == kept.count + cut.replacedSegmentFileNames.count else {
            throw LogError(.badManifest, path: directory, "the segments changed during the compaction")
        }
        var next = manifest
        next.segments = [Manifest.Segment(id: cut.baseSegmentID, kind: .base, fileName: cut.baseFileName, firstSequence: cut.sequence)] + kept
        next.lostSequences = manifest.lostSequences.compactMap { range in
            range.upperBound <= cut.sequence ? nil : max(range.lowerBound, cut.sequence + 1)...range.upperBound
        }
        var used: Set<UInt32> = cut.dictionaryID == 0 ? [] : [cut.dictionaryID]
        for segment in kept {
            let header = segment.id == segmentFile.header.segmentID
                ? segmentFile.header : try LogCompaction.segmentHeader(directory: directory, fileName: segment.fileName)
            if header.dictionaryID != 0 { used.insert(header.dictionaryID) }
        }
        next.dictionaries = manifest.dictionaries.filter { used.contains($0.id) }
        let temporary = FileIO.join(directory, LogFormat.manifestTemporaryFileName)
        do {
            try FileIO.writeFileDurably(temporary, next.encoded())
        } catch {
            try? FileIO.remove(temporary)
            throw error
        }
        request.onStep?(.manifestWritten)
        try FileIO.rename(temporary, FileIO.join(directory, LogFormat.manifestFileName))
        request.onStep?(.manifestRenamed)
        try FileIO.syncDirectory(directory)
        let names = Set(next.segments.map(\.fileName) + next.dictionaries.map(\.fileName))
        let obsolete = (manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName)).filter { !names.contains($0) }
        manifest = next
        recountSealedBytes()
        return obsolete
    }
}
