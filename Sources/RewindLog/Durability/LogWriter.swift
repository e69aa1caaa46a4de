#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends entries to a log directory with group commit.
///
/// Any number of threads may call `append` at once. Each entry gets the next sequence number and
/// is encoded into the pending batch; one background thread takes the whole batch, compresses it
/// into one record, writes it, and (under `always`) fdatasyncs once for every writer waiting. A
/// transaction is always exactly one record, so a crash never leaves half of one.
///
/// ```swift
/// let writer = try LogWriter.open(directory: "app.rwlog", options: .init(durability: .always))
/// let sequence = try writer.append(.command(["SET", "k", "v"], at: nowMilliseconds))
/// try writer.close()
/// ```
public final class LogWriter: @unchecked Sendable {
    /// How a writer batches, compresses, rotates and syncs.
    public struct Options: Sendable {
        public var durability: DurabilityPolicy
        /// A segment is sealed and a new one started once it passes this size.
        public var segmentByteCountTarget: Int
        /// zstd's level, 1 (fastest) to 19.
        public var compressionLevel: Int32
        /// Train a zstd dictionary on the log's first entries and store it in the log.
        public var trainsDictionary: Bool
        /// The dictionary's maximum size.
        public var dictionaryByteCountMax: Int
        /// How many entries to train the dictionary on.
        public var dictionarySampleEntryCount: Int
        /// Under `everysec` and `no`, a batch is written once it holds this many uncompressed bytes...
        public var recordByteCountTarget: Int
        /// ...or once its first entry has waited this long.
        public var flushIntervalMilliseconds: Int
        /// Appenders wait while this many bytes are pending, so a slow disk slows them down
        /// rather than filling memory.
        public var pendingByteCountMax: Int
        /// Decompress each compressed record written and compare it with the entries it holds;
        /// a mismatch fails the writer (nothing more is written) and is thrown by the next
        /// `append` or by `close`. For bulk writers that check a new log before using it
        /// (imports): about one decompression per record, done by the appending thread (in
        /// `append`, outside the lock, and in `close`), so that it overlaps with the background
        /// thread's compression of the next record rather than adding to it. When `close`
        /// returns, every record has been checked.
        public var verifiesRecords: Bool
        /// Zeros are written ahead of the records in the open segment this many bytes at a time,
        /// so that a record's fdatasync overwrites blocks already allocated and written and has
        /// no file size to update: about 100 µs instead of 145 µs on the development machine's
        /// ext4 (docs/FORMAT.md, "Preallocation"). Readers take zeros after the last record of
        /// the last segment as its end; the writer cuts them when it seals or closes a segment,
        /// and when it opens a log a crash left with them. Nil: 256 KiB under `always`, whose
        /// every commit waits for an fdatasync, and none otherwise; 0: never.
        public var preallocationByteCount: Int?
        /// Train the dictionary on a thread of its own and switch to it at the first record after
        /// it is ready, instead of on the thread writing the record that completed the samples
        /// (tens of milliseconds, once). For a server, whose event loop writes records: that
        /// record's clients would wait for the training. The switch point then depends on timing,
        /// so a log written twice is not the same bytes twice; off by default.
        public var trainsDictionaryInBackground: Bool

        /// ``preallocationByteCount`` with its default applied.
        public var effectivePreallocationByteCount: Int {
            max(0, preallocationByteCount ?? (durability == .always ? Self.defaultPreallocationByteCount : 0))
        }

        /// What ``preallocationByteCount`` is under `always` when not given.
        public static let defaultPreallocationByteCount = 256 * 1024

        public init(
            durability: DurabilityPolicy = .everysec,
            segmentByteCountTarget: Int = 64 * 1024 * 1024,
            compressionLevel: Int32 = 3,
            trainsDictionary: Bool = true,
            dictionaryByteCountMax: Int = 16 * 1024,
            dictionarySampleEntryCount: Int = 4096,
            recordByteCountTarget: Int = 128 * 1024,
            flushIntervalMilliseconds: Int = 2,
            pendingByteCountMax: Int = 16 * 1024 * 1024,
            verifiesRecords: Bool = false,
            preallocationByteCount: Int? = nil,
            trainsDictionaryInBackground: Bool = false
        ) {
            self.durability = durability
            self.segmentByteCountTarget = segmentByteCountTarget
            self.compressionLevel = compressionLevel
            self.trainsDictionary = trainsDictionary
            self.dictionaryByteCountMax = dictionaryByteCountMax
            self.dictionarySampleEntryCount = dictionarySampleEntryCount
            self.recordByteCountTarget = recordByteCountTarget
            self.flushIntervalMilliseconds = flushIntervalMilliseconds
            self.pendingByteCountMax = pendingByteCountMax
            self.verifiesRecords = verifiesRecords
            self.preallocationByteCount = preallocationByteCount
            self.trainsDictionaryInBackground = trainsDictionaryInBackground
        }
    }

    public let directory: String
    public let options: Options
    /// The torn tail cut off when the log was opened, if there was one.
    public let recoveredDamage: LogDamage?

    // Shared state, guarded by `lock`. The stored properties below are `@exclusivity(unchecked)`:
    // Swift's dynamic exclusivity checks track accesses per thread, so they say nothing about the
    // threads this lock orders, and they showed as about 1% of `rewind serve`'s instructions.
    // The flusher's own state further down carries the same attribute for the same reason.
    let lock = ConditionLock()
    let progress: ProgressNotifier
    @exclusivity(unchecked) var pending: [UInt8] = []
    @exclusivity(unchecked) var pendingEntryCount = 0
    @exclusivity(unchecked) var pendingFirstSequence: UInt64 = 0
    @exclusivity(unchecked) var pendingBaseTimestamp: Int64 = 0
    @exclusivity(unchecked) var pendingStartNanoseconds: UInt64 = 0
    @exclusivity(unchecked) var pendingEntryEnds: [Int] = []
    @exclusivity(unchecked) var deltaState = EntryCodec.DeltaState(baseTimestampMilliseconds: 0)
    @exclusivity(unchecked) var nextSequence: UInt64
    @exclusivity(unchecked) var writtenSequence: UInt64
    @exclusivity(unchecked) var durableSequence: UInt64
    @exclusivity(unchecked) var requestedWritten: UInt64 = 0
    @exclusivity(unchecked) var requestedDurable: UInt64 = 0
    @exclusivity(unchecked) var collectsSamples: Bool
    @exclusivity(unchecked) var failure: LogError?
    @exclusivity(unchecked) var closing = false
    /// Set while the flusher works on the segment file without the lock.
    @exclusivity(unchecked) var flusherBusy = false
    /// Set while the appender writes and syncs on its own thread (``writeAndSyncOnCallingThread()``).
    @exclusivity(unchecked) var fileBorrowed = false
    /// Set while the flusher waits for the appender to give the segment file back.
    @exclusivity(unchecked) var waitsForBorrowedFile = false
    @exclusivity(unchecked) private var closed = false
    // Online compaction (LogWriter+Compaction.swift), guarded by `lock`; the flusher carries
    // the requests out, so the segment file and the manifest stay its own.
    @exclusivity(unchecked) var compactionActive = false
    @exclusivity(unchecked) var rotationRequest: UInt64?
    @exclusivity(unchecked) var sealedBatch: SealedBatch?
    @exclusivity(unchecked) var rotationResult: Result<OnlineCompactionCut, LogError>?
    @exclusivity(unchecked) var installRequest: InstallRequest?
    @exclusivity(unchecked) var installResult: Result<[String], LogError>?
    /// Bytes of every file the manifest names, as of the flusher's last write.
    @exclusivity(unchecked) var publishedByteCount = 0

    // Owned by the flusher thread once it runs.
    @exclusivity(unchecked) var segmentFile: SegmentFile
    @exclusivity(unchecked) var manifest: Manifest
    /// Bytes of the files the manifest names, the open segment excepted.
    @exclusivity(unchecked) var sealedByteCount = 0
    @exclusivity(unchecked) private var compressor: ZstdCompressor
    /// With `verifiesRecords`: records written, not yet checked (guarded by `lock`), and what
    /// checks them (guarded by `verifierLock`: one checking thread at a time).
    @exclusivity(unchecked) var uncheckedRecords: [UncheckedRecord] = []
    private let verifierLock = ConditionLock()
    @exclusivity(unchecked) private var verifier: (decompressor: ZstdDecompressor, buffer: UnsafeMutableRawBufferPointer)?
    @exclusivity(unchecked) private var samples: [UInt8] = []
    @exclusivity(unchecked) private var trainingFinished = false
    @exclusivity(unchecked) private var sampleSizes: [Int] = []
    /// With ``Options/trainsDictionaryInBackground``: trains the dictionary once the samples are in
    /// (``collectSamples(_:entryEnds:nextSequence:)``), on a thread of its own, so that nobody
    /// waits for it: training takes tens of milliseconds, which a server's event loop (the thread
    /// writing records under `always`, or between flushes) must not spend.
    @exclusivity(unchecked) private var trainer: WorkerThread?
    /// The trainer's result, guarded by `lock`: nil while it runs, then the dictionary (nil inside
    /// when training gave none). The next record's writer installs it.
    private var trainerResult: [UInt8]??
    @exclusivity(unchecked) private var recordBuffer: [UInt8] = []
    @exclusivity(unchecked) private var lastSyncNanoseconds: UInt64 = 0
    @exclusivity(unchecked) private var lastBatchEntryCount = 0
    /// Under `always`, appenders wake the flusher once the batch holds this many entries.
    @exclusivity(unchecked) var flusherWakeEntryCount = 1
    /// How many uncompressed bytes a record collects from a ``Batch`` before the next unit waits
    /// for the flusher to take it: half the record limit. Settable so tests can make batches
    /// span records.
    @exclusivity(unchecked) var batchRecordByteCountMax = LogLimits.recordUncompressedByteCountMax / 2
    /// The longest a batch waits for more writers under `always`: about one fdatasync here.
    static let commitDelayNanoseconds: UInt64 = 150_000
    @exclusivity(unchecked) private var flusher: WorkerThread?
    private let lockFile: Int32

    // MARK: - Opening

    /// Opens the log in `directory` for appending, creating it when it does not exist.
    ///
    /// An incomplete or corrupt final record (a write cut short by a crash) is cut off and
    /// returned in `recoveredDamage`; any other damage is an error: run `rewind verify` and
    /// `rewind repair` first.
    public static func open(directory: String, options: Options = Options()) throws -> LogWriter {
        try LogWriter(directory: directory, options: options)
    }

    private init(directory: String, options: Options) throws {
        self.directory = directory
        self.options = options
        let manifestPath = FileIO.join(directory, LogFormat.manifestFileName)
        if !FileIO.exists(manifestPath) {
            try FileIO.makeDirectory(directory)
            let stray = try FileIO.listDirectory(directory).filter { $0 != "LOCK" && $0 != LogFormat.manifestTemporaryFileName }
            if !stray.isEmpty {
                throw LogError(.notALog, path: directory, "directory is not empty and holds no Rewind manifest; refusing to write into it")
            }
        }
        lockFile = try Self.acquireLock(directory: directory)
        do {
            if !FileIO.exists(manifestPath) {
                let first = Manifest.Segment(id: 1, fileName: LogFormat.segmentFileName(id: 1), firstSequence: 1)
                let file = try SegmentFile.create(directory: directory, header: SegmentHeader(
                    dictionaryID: 0, segmentID: 1, firstSequence: 1, createdMilliseconds: FileIO.nowMilliseconds()),
                    fileName: first.fileName, preallocationByteCount: options.effectivePreallocationByteCount)
                manifest = Manifest(segments: [first])
                try ManifestStore.replace(manifest, directory: directory)
                segmentFile = file
                nextSequence = 1
                recoveredDamage = nil
            } else {
                let reader = try LogReader(directory: directory)
                manifest = reader.manifest
                guard let last = manifest.segments.last else {
                    throw LogError(.badManifest, path: manifestPath, "the manifest lists no segments")
                }
                // Read only the last segment; only there can a crash have torn a record.
                let summary = try reader.forEachEntry(from: .max, recovery: .tolerateTail) { _ in }
                let tail = summary.damages.last { $0.kind == .tornTail }
                guard let end = summary.tail, end.segmentIndex == manifest.segments.count - 1 else {
                    throw LogError(.damaged, path: directory, "the last segment \(last.fileName) is unreadable")
                }
                // A torn record, or zeros preallocated before a crash: appending starts after the
                // last whole record.
                if tail != nil || summary.preallocatedByteCount > 0 {
                    try FileIO.truncate(FileIO.join(directory, last.fileName), to: end.byteOffset)
                }
                recoveredDamage = tail
                nextSequence = summary.recordCount > 0 && summary.lastSequence >= last.firstSequence
                    ? summary.lastSequence + 1 : last.firstSequence
                segmentFile = try SegmentFile.openForAppend(directory: directory, fileName: last.fileName,
                                                            preallocationByteCount: options.effectivePreallocationByteCount)
            }
        } catch {
            Glibc.close(lockFile)
            throw error
        }
        writtenSequence = nextSequence - 1
        durableSequence = nextSequence - 1
        progress = ProgressNotifier(written: nextSequence - 1, durable: nextSequence - 1)
        let dictionaryID = segmentFile.header.dictionaryID
        var dictionaryBytes: [UInt8]?
        if dictionaryID != 0, let entry = manifest.dictionaries.first(where: { $0.id == dictionaryID }) {
            let bytes = try FileIO.readFile(FileIO.join(directory, entry.fileName), byteCountMax: LogLimits.dictionaryByteCountMax + 64)
            dictionaryBytes = try StoredDictionary.decode(bytes, id: dictionaryID).mapError {
                LogError(.damaged, path: entry.fileName, $0.reason)
            }.get()
        }
        compressor = ZstdCompressor(level: options.compressionLevel, dictionary: dictionaryBytes)
        if options.verifiesRecords {
            let decompressor = ZstdDecompressor()
            if let dictionaryBytes { decompressor.register(dictionaryID: dictionaryID, bytes: dictionaryBytes) }
            verifier = (decompressor, UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16))
        }
        collectsSamples = options.trainsDictionary && manifest.dictionaries.isEmpty
        recountSealedBytes()
        publishedByteCount = sealedByteCount + segmentFile.byteCount
        lastSyncNanoseconds = FileIO.monotonicNanoseconds()
        flusher = WorkerThread { [unowned self] in self.flusherLoop() }
    }

    /// Tries to take the lock this many times, 20 ms apart, before reporting `.locked`.
    static let lockAttemptCount = 25

    static func acquireLock(directory: String) throws -> Int32 {
        let path = FileIO.join(directory, "LOCK")
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileIO.fail(path, "open") }
        // A lock is held by an open file description, which a child process forked by another
        // thread shares until its exec closes it (O_CLOEXEC): for that moment a lock just released
        // by this process still looks held. A short bounded retry rides over it; a real writer
        // holds the lock for much longer.
        for attempt in 0..<lockAttemptCount {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return descriptor }
            guard errno == EWOULDBLOCK, attempt + 1 < lockAttemptCount else { break }
            usleep(20_000)
        }
        Glibc.close(descriptor)
        throw LogError(.locked, path: directory, "another writer has this log open")
    }

    deinit {
        if !closed { try? close() }
        verifier?.buffer.deallocate()
    }

    // MARK: - Appending

    /// Appends one entry and returns its sequence number. Under `always`, returns only once the
    /// entry is on disk.
    @discardableResult
    public func append(_ entry: LogEntry) throws -> UInt64 {
        try append(contentsOf: CollectionOfOne(entry), transaction: false).lowerBound
    }

    /// Appends entries in order, as one unit when `transaction` is true: then they are framed by
    /// `transactionBegin`/`transactionEnd` markers (which take sequence numbers too) in a single
    /// record. Returns the sequence numbers taken.
    @discardableResult
    public func append<Entries: Collection<LogEntry>>(contentsOf entries: Entries, transaction: Bool = false) throws -> ClosedRange<UInt64> {
        var estimate = 0
        for entry in entries {
            if let problem = EntryCodec.validate(entry) { throw LogError(.entryTooLarge, path: directory, problem) }
            estimate += 24 + entry.arguments.count * 10 + entry.arguments.reduce(0) { $0 + $1.count }
        }
        guard let first = entries.first else { throw LogError(.entryTooLarge, path: directory, "nothing to append") }
        // The whole record bound, less slack for framing the estimate leaves out (transaction
        // markers, reply hashes): an entry with one argument of `argumentByteCountMax` must fit.
        guard estimate <= LogLimits.recordUncompressedByteCountMax - 4096 else {
            throw LogError(.entryTooLarge, path: directory, "\(estimate) bytes do not fit in one record")
        }
        let (range, waitsForDurability) = try appendLocked(entries, first: first, estimate: estimate, transaction: transaction)
        try checkWrittenRecords()
        if waitsForDurability { try progress.wait(for: range.upperBound, durable: true) }
        return range
    }

    /// Appends the entries of `batch`, encoded by the caller, and empties it (keeping its storage).
    /// Returns the sequence numbers taken.
    ///
    /// When nothing is pending, the batch's bytes become the pending record as they are (no
    /// copy). When entries are pending (the background thread is still busy with an earlier
    /// record), the batch joins them: its first entry's header is encoded again against the
    /// entry before it, and the rest is copied as it is (every later entry of the batch is
    /// relative to the one before it, the same in either place). So the caller goes on encoding
    /// its next batch instead of waiting, unless the pending entries already reach
    /// `batchedPendingByteCountMax`. Under `always`, returns once the entries are on disk.
    @discardableResult
    public func append(_ batch: inout LogEntryBatch) throws -> ClosedRange<UInt64> {
        precondition(!batch.hasOpenEntry, "append(batch) with an entry still open")
        guard batch.entryCount > 0 else { throw LogError(.entryTooLarge, path: directory, "nothing to append") }
        guard batch.byteCount <= LogLimits.recordUncompressedByteCountMax - 4096, batch.entryCount <= LogLimits.recordEntryCountMax else {
            throw LogError(.entryTooLarge, path: directory, "a batch of \(batch.entryCount) entries in \(batch.byteCount) bytes does not fit in one record")
        }
        let pendingMax = batchedPendingByteCountMax
        let (range, waitsForDurability) = try lock.withLock { () throws -> (ClosedRange<UInt64>, Bool) in
            try waitForRoomLocked { pendingEntryCount > 0 && pending.count + batch.byteCount > pendingMax }
            if pendingEntryCount == 0 {
                // The batch's bytes become the pending record as they are.
                swap(&pending, &batch.bytes)
                startPendingRecordLocked(baseTimestampMilliseconds: batch.baseTimestampMilliseconds)
                pendingEntryCount = batch.entryCount
                pendingEntryEnds.removeAll(keepingCapacity: true)
                if collectsSamples { swap(&pendingEntryEnds, &batch.entryEnds) }
            } else {
                // The batch joins the pending entries: only its first entry's header changes.
                let headerByteCount = batch.firstEntryHeaderByteCount
                batch.bytes.withUnsafeBytes { bytes in
                    appendEncodedLocked(firstKind: .command, firstHasReplyHash: false, firstDb: batch.firstEntryDb,
                                        firstTimestampMilliseconds: batch.baseTimestampMilliseconds,
                                        rest: UnsafeRawBufferPointer(rebasing: bytes[headerByteCount...]),
                                        entryEnds: batch.entryEnds[...], stateAfter: batch.state)
                }
            }
            deltaState = batch.state
            let range = nextSequence...(nextSequence + UInt64(batch.entryCount) - 1)
            nextSequence += UInt64(batch.entryCount)
            if options.durability == .always { requestedDurable = max(requestedDurable, range.upperBound) }
            lock.signalWork()
            return (range, options.durability == .always)
        }
        batch.removeAll()
        try checkWrittenRecords()
        if waitsForDurability { try progress.wait(for: range.upperBound, durable: true) }
        return range
    }

    /// With the lock held and nothing pending: the next entry starts a new record, whose entries'
    /// timestamps are encoded against `baseTimestampMilliseconds` (the first entry's); the
    /// flusher's clock for it starts now.
    func startPendingRecordLocked(baseTimestampMilliseconds: Int64) {
        pendingFirstSequence = nextSequence
        pendingBaseTimestamp = baseTimestampMilliseconds
        pendingStartNanoseconds = FileIO.monotonicNanoseconds()
        deltaState = EntryCodec.DeltaState(baseTimestampMilliseconds: baseTimestampMilliseconds)
    }

    /// `append(_ batch:)` waits for the background thread once the pending entries would pass
    /// this many bytes: eight records' worth, so records stay about a megabyte or less.
    var batchedPendingByteCountMax: Int { min(max(options.recordByteCountTarget, 4096) * 8, LogLimits.recordUncompressedByteCountMax / 2) }

    /// Encodes the entries into the pending batch; returns their sequence numbers and whether the
    /// caller must wait for them to be durable.
    private func appendLocked<Entries: Collection<LogEntry>>(
        _ entries: Entries, first: LogEntry, estimate: Int, transaction: Bool
    ) throws -> (ClosedRange<UInt64>, Bool) {
        lock.lock()
        defer { lock.unlock() }
        let range = try encodeLocked(entries, first: first, estimate: estimate, transaction: transaction)
        switch options.durability {
        case .always:
            requestedDurable = max(requestedDurable, range.upperBound)
            // Wake the flusher only when it waits for exactly this: every needless wake-up is a
            // context switch, and with many writers on few cores those decide the throughput.
            if pendingEntryCount >= flusherWakeEntryCount { lock.signalWork() }
            return (range, true)
        case .everysec, .no:
            if pendingEntryCount == Int(range.upperBound - range.lowerBound) + 1 || pending.count >= options.recordByteCountTarget {
                lock.signalWork()
            }
            waitWhilePendingIsFullLocked()
        }
        return (range, false)
    }

    /// Encodes one append (a command, a group of commands, or a transaction) into the pending
    /// batch, with the lock held, and returns the sequence numbers it took. Waits first while the
    /// batch is too large to take it in the same record.
    /// With the lock held: while `isFull` says the pending record has no room, asks the flusher
    /// to write it and waits; then throws if the writer failed or is closing.
    func waitForRoomLocked(while isFull: () -> Bool) throws {
        while failure == nil && !closing && isFull() {
            requestedWritten = max(requestedWritten, nextSequence - 1)
            lock.signalWork()
            lock.wait(.progress)
        }
        if let failure { throw failure }
        guard !closing else { throw LogError(.writerClosed, path: directory, "the writer is closed") }
    }

    func encodeLocked<Entries: Collection<LogEntry>>(
        _ entries: Entries, first: LogEntry, estimate: Int, transaction: Bool
    ) throws -> ClosedRange<UInt64> {
        // A batch never grows past the record limit: wait for the flusher to take the current one.
        try waitForRoomLocked { !pending.isEmpty && pending.count + estimate > LogLimits.recordUncompressedByteCountMax / 2 }
        if pendingEntryCount == 0 { startPendingRecordLocked(baseTimestampMilliseconds: first.timestampMilliseconds) }
        let firstSequence = nextSequence
        if transaction {
            encodePending(LogEntry(timestampMilliseconds: first.timestampMilliseconds, db: first.db, kind: .transactionBegin, arguments: []))
        }
        for index in entries.indices { encodePending(entries[index]) }
        if transaction {
            encodePending(LogEntry(timestampMilliseconds: first.timestampMilliseconds, db: first.db, kind: .transactionEnd, arguments: []))
        }
        return firstSequence...(nextSequence - 1)
    }

    /// The writer's backpressure under `everysec` and `no`, with the lock held: appenders wait
    /// while `pendingByteCountMax` bytes are pending, so a stalled disk does not fill memory.
    func waitWhilePendingIsFullLocked() {
        while pending.count >= options.pendingByteCountMax && failure == nil && !closing { lock.wait(.progress) }
    }

    @inline(__always)
    private func encodePending(_ entry: LogEntry) {
        EntryCodec.encode(entry, into: &pending, state: &deltaState)
        pendingEntryCount += 1
        nextSequence += 1
        if collectsSamples { pendingEntryEnds.append(pending.count) }
    }

    /// The sequence number the next append will get.
    public var nextSequenceNumber: UInt64 { lock.withLock { nextSequence } }
    /// Every entry up to this one has been handed to the OS.
    public var writtenSequenceNumber: UInt64 { lock.withLock { writtenSequence } }
    /// Every entry up to this one has been fdatasync'ed.
    public var durableSequenceNumber: UInt64 { lock.withLock { durableSequence } }

    /// Returns once every entry up to `sequence` has been written to the OS.
    public func waitUntilWritten(_ sequence: UInt64) throws {
        try wait(until: sequence, durable: false)
    }

    /// Returns once every entry up to `sequence` has been fdatasync'ed.
    public func waitUntilDurable(_ sequence: UInt64) throws {
        try wait(until: sequence, durable: true)
    }

    /// Writes and fdatasyncs everything appended so far.
    public func sync() throws {
        let last = lock.withLock { nextSequence - 1 }
        try waitUntilDurable(last)
    }

    private func wait(until sequence: UInt64, durable: Bool) throws {
        let target = lock.withLock { () -> UInt64 in
            let target = min(sequence, nextSequence - 1)
            if durable { requestedDurable = max(requestedDurable, target) } else { requestedWritten = max(requestedWritten, target) }
            lock.signalWork()
            return target
        }
        try progress.wait(for: target, durable: durable)
    }

    /// Writes and syncs everything pending, stops the background thread and closes the files.
    public func close() throws {
        let alreadyClosed = lock.withLock { () -> Bool in
            defer { closing = true }
            lock.signalWork()
            return closing
        }
        if alreadyClosed { return }
        flusher?.join()
        flusher = nil
        // A dictionary still being trained is dropped: the next writer trains again.
        trainer?.join()
        trainer = nil
        closed = true
        defer {
            segmentFile.close()
            Glibc.close(lockFile)
        }
        if let failure = lock.withLock({ failure }) { throw failure }
        try checkWrittenRecords()
        try segmentFile.trimPreallocation()
        try segmentFile.sync()
        let written = lock.withLock { writtenSequence }
        progress.publish(written: written, durable: written, failure: nil)
        progress.hasUnreportedProgress = false
        progress.reportToHandler()
    }

    // MARK: - The flusher thread

    private func flusherLoop() {
        let intervalNanoseconds = UInt64(max(options.flushIntervalMilliseconds, 0)) * 1_000_000
        lock.lock()
        while failure == nil {
            if progress.hasUnreportedProgress {
                // The handler runs without the lock: appenders never wait behind it.
                progress.hasUnreportedProgress = false
                lock.unlock()
                progress.reportToHandler()
                lock.lock()
                continue
            }
            if fileBorrowed {
                // The appender writes and syncs on its own thread (``writeAndSyncOnCallingThread()``);
                // it wakes the flusher when it is done, for work that came meanwhile.
                waitsForBorrowedFile = true
                lock.wait(.work)
                waitsForBorrowedFile = false
                continue
            }
            if rotationRequest != nil || installRequest != nil {
                flusherBusy = true
                carryOutCompactionRequests()
                flusherBusy = false
                lock.broadcastProgress()
                continue
            }
            let syncDue = options.durability == .everysec && durableSequence < writtenSequence
                && FileIO.monotonicNanoseconds() - lastSyncNanoseconds >= 1_000_000_000
            let wantsDurable = durableSequence < requestedDurable && requestedDurable <= nextSequence - 1
            if pendingEntryCount == 0 {
                if closing { break }
                if syncDue || (wantsDurable && writtenSequence >= requestedDurable) {
                    let target = writtenSequence
                    flusherBusy = true
                    lock.unlock()
                    let result = Result { try segmentFile.sync() }
                    lock.lock()
                    flusherBusy = false
                    finishSync(result, upTo: target)
                    continue
                }
                if options.durability == .everysec && durableSequence < writtenSequence {
                    lock.wait(.work, nanoseconds: 1_000_000_000 - min(FileIO.monotonicNanoseconds() - lastSyncNanoseconds, 999_000_000))
                } else {
                    lock.wait(.work)
                }
                continue
            }
            let age = FileIO.monotonicNanoseconds() &- pendingStartNanoseconds
            // Group-commit delay (PostgreSQL's commit_delay, made adaptive): when the last sync
            // served many writers, give them a moment to queue again, so that one fdatasync
            // serves them all instead of a few. A lone writer never waits: its batches are of one.
            if options.durability == .always && !closing && pendingEntryCount * 4 < lastBatchEntryCount * 3 {
                let sinceSync = FileIO.monotonicNanoseconds() &- lastSyncNanoseconds
                if sinceSync < Self.commitDelayNanoseconds {
                    flusherWakeEntryCount = (lastBatchEntryCount * 3 + 3) / 4
                    lock.wait(.work, nanoseconds: Self.commitDelayNanoseconds - sinceSync)
                    flusherWakeEntryCount = 1
                    continue
                }
            }
            let urgent = options.durability == .always || closing || wantsDurable || requestedWritten >= pendingFirstSequence
                || pending.count >= options.recordByteCountTarget || age >= intervalNanoseconds
            if !urgent {
                lock.wait(.work, nanoseconds: intervalNanoseconds - age)
                continue
            }
            let syncAfter = options.durability == .always || requestedDurable >= pendingFirstSequence || syncDue
            flusherBusy = true
            writePendingLocked(syncAfter: syncAfter)
            flusherBusy = false
            lock.broadcastProgress()
        }
        lock.broadcastProgress()
        let reports = progress.hasUnreportedProgress
        progress.hasUnreportedProgress = false
        lock.unlock()
        if reports { progress.reportToHandler() }
    }

    /// Called with the lock held, which it releases while it compresses, writes (and, with
    /// `syncAfter`, fdatasyncs) every pending entry as one record: the flusher's step, and the
    /// appender's own in ``writeAndSyncOnCallingThread()``. The caller has made sure nobody else
    /// uses the segment file meanwhile (`flusherBusy` or `fileBorrowed`).
    private func writePendingLocked(syncAfter requestedSync: Bool) {
        // Over preallocated zeros every record is synced before the next is written: the file's
        // size is already durable there, so nothing orders two records' pages on the way to the
        // disk, and a power cut could keep a later record and lose an earlier one (zeros, then a
        // whole record: damage a reader must refuse, for it cannot tell it from a zeroed block
        // that held acknowledged entries). Appending grows the file instead, and the file system
        // makes the size durable only after the data it covers. With one unsynced record at most,
        // a crash leaves a torn tail, as always. (docs/FORMAT.md, "Preallocation".)
        let syncAfter = requestedSync || segmentFile.preallocates
        // Take the whole batch; appenders start a new one while this one is written.
        var batch: [UInt8] = []
        swap(&batch, &pending)
        pending.reserveCapacity(batch.count)
        let firstSequence = pendingFirstSequence
        let entryCount = pendingEntryCount
        let baseTimestamp = pendingBaseTimestamp
        var entryEnds: [Int] = []
        swap(&entryEnds, &pendingEntryEnds)
        lastBatchEntryCount = entryCount
        pendingEntryCount = 0
        lock.broadcastProgress()
        lock.unlock()
        let lastSequence = firstSequence + UInt64(entryCount) - 1
        var unchecked: UncheckedRecord?
        let result = Result {
            unchecked = try writeRecord(batch, firstSequence: firstSequence, entryCount: entryCount, baseTimestamp: baseTimestamp)
            if !entryEnds.isEmpty { try collectSamples(batch, entryEnds: entryEnds, nextSequence: lastSequence + 1) }
            try installTrainedDictionary(nextSequence: lastSequence + 1)
            if segmentFile.byteCount >= options.segmentByteCountTarget {
                try rotate(firstSequence: lastSequence + 1, dictionaryID: segmentFile.header.dictionaryID)
            }
            if syncAfter { try segmentFile.sync() }
        }
        lock.lock()
        if case .failure(let error) = result {
            fail(error)
        } else {
            if let unchecked { uncheckedRecords.append(unchecked) }
            writtenSequence = lastSequence
            publishedByteCount = sealedByteCount + segmentFile.byteCount
            if syncAfter { finishSync(.success(()), upTo: lastSequence) }
            progress.publish(written: writtenSequence, durable: durableSequence, failure: nil)
            lock.broadcastProgress()
        }
    }

    /// Writes and fdatasyncs every entry appended so far on the calling thread, and returns the
    /// last durable sequence number: what Redis's main thread does before it replies under
    /// `appendfsync always`. The server calls it once per event-loop iteration under `always`
    /// instead of asking the flusher, which saves the two thread wake-ups of that round trip
    /// (about 50 µs of every commit on the development machine). The flusher keeps everything
    /// else (the `everysec` clock, compaction requests) and stands aside meanwhile; if it is in
    /// the middle of a record, this waits for it. The progress handler is not called for the
    /// progress made here: the caller has it as the return value.
    ///
    /// - Throws: The writer's failure (then also reported to the progress handler), or
    ///   `.writerClosed`.
    public func writeAndSyncOnCallingThread() throws -> UInt64 {
        try writeOnCallingThread(sync: true)
    }

    /// Writes every entry appended so far to the OS on the calling thread, and returns the last
    /// written sequence number: Redis's `write()` of its AOF buffer before it replies under
    /// `everysec`. The sync stays the flusher's, at most a second later. See
    /// ``writeAndSyncOnCallingThread()``.
    public func writeOnCallingThread() throws -> UInt64 {
        try writeOnCallingThread(sync: false)
    }

    private func writeOnCallingThread(sync: Bool) throws -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        // The flusher, or another thread calling this, may hold the file.
        while (flusherBusy || fileBorrowed) && failure == nil && !closing { lock.wait(.progress) }
        if let failure { throw failure }
        guard !closing else { throw LogError(.writerClosed, path: directory, "the writer is closed") }
        fileBorrowed = true
        let reportedBefore = progress.hasUnreportedProgress
        let allDurableBefore = durableSequence >= writtenSequence
        if pendingEntryCount > 0 {
            writePendingLocked(syncAfter: sync)
        } else if sync && durableSequence < writtenSequence {
            let target = writtenSequence
            lock.unlock()
            let result = Result { try segmentFile.sync() }
            lock.lock()
            finishSync(result, upTo: target)
        }
        fileBorrowed = false
        lock.broadcastProgress()  // for another caller waiting for the file (no system call when none)
        // The flusher waits for the file back, or, with nothing left to sync, without a clock:
        // it must start the everysec one for what was just written.
        if waitsForBorrowedFile || (!sync && allDurableBefore && durableSequence < writtenSequence) { lock.signalWork() }
        if let failure {
            lock.signalWork()  // the flusher reports the failure to the handler and stops
            throw failure
        }
        if !reportedBefore { progress.hasUnreportedProgress = false }
        return sync ? durableSequence : writtenSequence
    }

    /// Called with the lock held.
    func finishSync(_ result: Result<Void, Error>, upTo sequence: UInt64) {
        switch result {
        case .success:
            durableSequence = max(durableSequence, sequence)
            lastSyncNanoseconds = FileIO.monotonicNanoseconds()
            progress.publish(written: writtenSequence, durable: durableSequence, failure: nil)
        case .failure(let error):
            fail(error)
        }
        lock.broadcastProgress()
    }

    /// Called with the lock held. After a failed write or sync nothing more is acknowledged: the
    /// file's state is unknown, so the writer stops, as Redis stops accepting writes.
    func fail(_ error: Error) {
        let stored = (error as? LogError) ?? LogError(.fileSystem, path: directory, "\(error)")
        failure = stored
        progress.publish(written: 0, durable: 0, failure: stored)
        lock.broadcastProgress()
    }

    /// Compresses and writes one record; with `verifiesRecords`, returns it to be checked.
    @discardableResult
    func writeRecord(_ payload: [UInt8], firstSequence: UInt64, entryCount: Int, baseTimestamp: Int64) throws -> UncheckedRecord? {
        recordBuffer.removeAll(keepingCapacity: true)
        var compressed: [UInt8] = []
        try payload.withUnsafeBytes { try compressor.compress($0, appendingTo: &compressed) }
        let useCompressed = compressed.count < payload.count
        var header = RecordHeader(
            storedByteCount: UInt32(useCompressed ? compressed.count : payload.count),
            uncompressedByteCount: UInt32(payload.count),
            firstSequence: firstSequence,
            entryCount: UInt32(entryCount),
            compression: useCompressed ? (compressor.usesDictionary ? .zstdDictionary : .zstd) : .none,
            baseTimestampMilliseconds: baseTimestamp)
        if useCompressed {
            compressed.withUnsafeBytes { header.append(payload: $0, to: &recordBuffer) }
        } else {
            header.compression = .none
            payload.withUnsafeBytes { header.append(payload: $0, to: &recordBuffer) }
        }
        try segmentFile.append(recordBuffer)
        guard useCompressed, options.verifiesRecords else { return nil }
        return UncheckedRecord(compressed: compressed, payload: payload, firstSequence: firstSequence,
                               dictionaryID: compressor.usesDictionary ? segmentFile.header.dictionaryID : nil, path: segmentFile.path)
    }

    /// A record written compressed, kept until the appending thread has checked it.
    struct UncheckedRecord {
        var compressed: [UInt8]
        var payload: [UInt8]
        var firstSequence: UInt64
        /// The dictionary it was compressed with, as the segment's header names it.
        var dictionaryID: UInt32?
        var path: String
    }

    /// Checks the records written since the last call (`verifiesRecords`): each must decompress
    /// to exactly the entries encoded into it. A mismatch fails the writer and is thrown.
    func checkWrittenRecords() throws {
        guard options.verifiesRecords else { return }
        var records: [UncheckedRecord] = []
        lock.withLock { swap(&records, &uncheckedRecords) }
        guard !records.isEmpty else { return }
        verifierLock.lock()
        defer { verifierLock.unlock() }
        for record in records {
            do {
                try verify(record)
            } catch {
                lock.withLock { fail(error) }
                throw error
            }
        }
    }

    /// Called with `verifierLock` held.
    private func verify(_ record: UncheckedRecord) throws {
        guard var state = verifier else { return }
        let payloadCount = record.payload.count
        if state.buffer.count < payloadCount {
            state.buffer.deallocate()
            state.buffer = .allocate(byteCount: max(payloadCount, state.buffer.count * 2), alignment: 16)
            verifier = state
        }
        let output = UnsafeMutableRawBufferPointer(rebasing: state.buffer[0..<payloadCount])
        let matches: Bool
        do {
            try record.compressed.withUnsafeBytes { try state.decompressor.decompress($0, into: output, dictionaryID: record.dictionaryID) }
            matches = payloadCount == 0 || record.payload.withUnsafeBytes { memcmp($0.baseAddress!, output.baseAddress!, payloadCount) == 0 }
        } catch {
            throw LogError(.damaged, path: record.path, "the record from #\(record.firstSequence) does not decompress: \(error); the writer stops")
        }
        guard matches else {
            throw LogError(.damaged, path: record.path, "the record from #\(record.firstSequence) decompresses to other bytes than were compressed; the writer stops")
        }
    }

    // MARK: - Dictionary and rotation

    func collectSamples(_ payload: [UInt8], entryEnds: [Int], nextSequence: UInt64) throws {
        // Batches queued while the dictionary was being trained still carry entry boundaries.
        guard !trainingFinished else { return }
        var start = 0
        for end in entryEnds {
            samples.append(contentsOf: payload[start..<end])
            sampleSizes.append(end - start)
            start = end
        }
        guard sampleSizes.count >= options.dictionarySampleEntryCount else { return }
        lock.withLock { collectsSamples = false }
        trainingFinished = true
        var trainingSamples: [UInt8] = []
        var trainingSizes: [Int] = []
        swap(&trainingSamples, &samples)
        swap(&trainingSizes, &sampleSizes)
        let byteCountMax = options.dictionaryByteCountMax
        guard options.trainsDictionaryInBackground else {
            // In the foreground, the dictionary is in use from the next record on, wherever it is written.
            let dictionary = ZstdDictionaryTrainer.train(samples: trainingSamples, sampleSizes: trainingSizes, byteCountMax: byteCountMax)
            if let dictionary { try install(dictionary, nextSequence: nextSequence) }
            return
        }
        // Weak: a writer dropped without close() while it trains goes away (its deinit must not
        // run on this thread, which close() would then try to join).
        trainer = WorkerThread { [weak self] in
            let dictionary = ZstdDictionaryTrainer.train(samples: trainingSamples, sampleSizes: trainingSizes, byteCountMax: byteCountMax)
            guard let self else { return }
            self.lock.withLock { self.trainerResult = .some(dictionary) }
        }
    }

    /// Called by the thread writing records, after a record: once the background trainer is done,
    /// installs its dictionary from `nextSequence` on.
    func installTrainedDictionary(nextSequence: UInt64) throws {
        guard trainer != nil, let result = lock.withLock({ () -> [UInt8]?? in
            defer { trainerResult = nil }
            return trainerResult
        }) else { return }
        trainer?.join()
        trainer = nil
        if let dictionary = result { try install(dictionary, nextSequence: nextSequence) }
    }

    /// Stores `dictionary` and starts a new segment (from `nextSequence`) whose records use it.
    /// About a millisecond of file system calls, once.
    private func install(_ dictionary: [UInt8], nextSequence: UInt64) throws {
        let id = (manifest.dictionaries.map(\.id).max() ?? 0) + 1
        let fileName = LogFormat.dictionaryFileName(id: id)
        try FileIO.writeFileDurably(FileIO.join(directory, fileName), StoredDictionary.encode(id: id, dictionary: dictionary))
        manifest.dictionaries.append(Manifest.Dictionary(id: id, fileName: fileName))
        // Records compressed with the dictionary go into a new segment whose header names it, so
        // every record before stays readable without it.
        try rotate(firstSequence: nextSequence, dictionaryID: id)
        compressor = ZstdCompressor(level: options.compressionLevel, dictionary: dictionary)
        if options.verifiesRecords {
            verifierLock.withLock { verifier?.decompressor.register(dictionaryID: id, bytes: dictionary) }
        }
    }

    func rotate(firstSequence: UInt64, dictionaryID: UInt32) throws {
        // A sealed segment is always synced, whatever the policy: only the last segment may end
        // in a torn record (or in preallocated zeros, cut here first).
        try segmentFile.trimPreallocation()
        try segmentFile.sync()
        let id = (manifest.segments.last?.id ?? 0) + 1
        let fileName = LogFormat.segmentFileName(id: id)
        let file = try SegmentFile.create(
            directory: directory,
            header: SegmentHeader(dictionaryID: dictionaryID, segmentID: id, firstSequence: firstSequence,
                                  createdMilliseconds: FileIO.nowMilliseconds()),
            fileName: fileName, preallocationByteCount: options.effectivePreallocationByteCount)
        var next = manifest
        next.segments.append(Manifest.Segment(id: id, fileName: fileName, firstSequence: firstSequence))
        do {
            try ManifestStore.replace(next, directory: directory)
        } catch {
            file.close()
            throw error
        }
        manifest = next
        segmentFile.close()
        segmentFile = file
        recountSealedBytes()
    }

    /// Sums the sizes of the files the manifest names, the open segment excepted.
    func recountSealedBytes() {
        var total = 0
        for name in manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName) where name != manifest.segments.last?.fileName {
            total += (try? FileIO.fileSize(FileIO.join(directory, name))) ?? 0
        }
        sealedByteCount = total
    }
}

/// One open segment file, appended to by the flusher thread only.
final class SegmentFile {
    let path: String
    let header: SegmentHeader
    /// Bytes written (header and records): where the next record goes.
    private(set) var byteCount: Int
    /// The file's size: `byteCount` and the zeros written ahead of it.
    private var allocatedByteCount: Int
    /// Zeros are written ahead of the records this many bytes at a time (0: never); see
    /// ``LogWriter/Options/preallocationByteCount``.
    private let preallocationByteCount: Int
    private var descriptor: Int32

    private init(path: String, header: SegmentHeader, byteCount: Int, descriptor: Int32, preallocationByteCount: Int) {
        self.path = path
        self.header = header
        self.byteCount = byteCount
        self.allocatedByteCount = byteCount
        self.descriptor = descriptor
        self.preallocationByteCount = preallocationByteCount
    }

    /// Creates the file with its header, fsyncs it and the directory, so that a manifest naming it
    /// never names a file without a whole header.
    static func create(directory: String, header: SegmentHeader, fileName: String, preallocationByteCount: Int = 0) throws -> SegmentFile {
        let path = FileIO.join(directory, fileName)
        let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileIO.fail(path, "create segment") }
        let file = SegmentFile(path: path, header: header, byteCount: 0, descriptor: descriptor,
                               preallocationByteCount: preallocationByteCount)
        do {
            try file.append(header.encoded())
            try file.sync()
            try FileIO.syncDirectory(directory)
        } catch {
            file.close()
            throw error
        }
        return file
    }

    /// Opens the last segment to append after its last byte: the caller has cut whatever follows
    /// its last whole record (a torn record, preallocated zeros).
    static func openForAppend(directory: String, fileName: String, preallocationByteCount: Int = 0) throws -> SegmentFile {
        let path = FileIO.join(directory, fileName)
        let bytes = try FileIO.readPrefix(path, byteCount: LogFormat.segmentHeaderByteCount)
        guard case .success(let header) = bytes.withUnsafeBytes({ SegmentHeader.parse($0) }) else {
            throw LogError(.damaged, path: path, "bad segment header")
        }
        let descriptor = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIO.fail(path, "open segment") }
        return SegmentFile(path: path, header: header, byteCount: try FileIO.fileSize(path), descriptor: descriptor,
                           preallocationByteCount: preallocationByteCount)
    }

    /// Writes `bytes` after the last byte written, first writing zeros ahead when the
    /// preallocated space runs out.
    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { bytes in
            if preallocationByteCount > 0 && byteCount + bytes.count > allocatedByteCount {
                try preallocate(through: byteCount + bytes.count)
            }
            try FileIO.writeAll(descriptor, bytes, at: byteCount, path: path)
        }
        byteCount += bytes.count
        allocatedByteCount = max(allocatedByteCount, byteCount)
    }

    /// Writes zeros from the end of the file to past `end`, a whole number of steps: blocks
    /// allocated and written now are overwritten by later records, whose fdatasync then has no
    /// file size or block map to update (docs/FORMAT.md, "Preallocation").
    private func preallocate(through end: Int) throws {
        let target = (end / preallocationByteCount + 1) * preallocationByteCount
        var offset = allocatedByteCount  // never below byteCount (`append`)
        try Self.zeros.withUnsafeBytes { zeros in
            while offset < target {
                let count = min(zeros.count, target - offset)
                try FileIO.writeAll(descriptor, UnsafeRawBufferPointer(rebasing: zeros[0..<count]), at: offset, path: path)
                offset += count
            }
        }
        allocatedByteCount = target
    }

    private static let zeros = [UInt8](repeating: 0, count: 64 * 1024)

    /// Whether zeros are written ahead of the records.
    var preallocates: Bool { preallocationByteCount > 0 }

    /// Cuts the zeros written ahead of the last record, before the segment is sealed or closed.
    func trimPreallocation() throws {
        guard allocatedByteCount > byteCount, descriptor >= 0 else { return }
        guard ftruncate(descriptor, off_t(byteCount)) == 0 else { throw FileIO.fail(path, "ftruncate") }
        allocatedByteCount = byteCount
    }

    func sync() throws {
        guard descriptor >= 0 else { return }
        guard fdatasync(descriptor) == 0 else { throw FileIO.fail(path, "fdatasync") }
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
