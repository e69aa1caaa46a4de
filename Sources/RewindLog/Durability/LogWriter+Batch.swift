// Appending many commands and transactions under one lock, and following the writer's progress
// without a thread that waits on it. See docs/SERVER.md, "Durability".

extension LogWriter {
    /// Commands and transactions to append together, in order, with one ``LogWriter/append(_:request:)``.
    ///
    /// A server collects everything one event-loop iteration propagated here and appends it in one
    /// call, taking the writer's lock once instead of once per command. Each transaction still
    /// becomes exactly one record (framed by its begin/end markers); single commands may share a
    /// record with others, as with separate appends.
    ///
    /// ```swift
    /// var batch = LogWriter.Batch()
    /// batch.append(.command(["SET", "k", "v"], at: now))
    /// batch.appendTransaction([.command(["INCR", "a"], at: now), .command(["INCR", "b"], at: now)])
    /// let sequences = try writer.append(batch, request: .written)   // 1...5: the markers take numbers too
    /// ```
    public struct Batch: Sendable {
        /// One command, checkpoint or transaction: the entries that must stay together.
        struct Unit: Sendable {
            /// Where its first entry starts in `bytes`, and where its last entry ends.
            var start: Int
            var end: Int
            /// The size of its first entry's header (flags, database, timestamp delta), which the
            /// writer encodes again when the unit starts a record.
            var headerByteCount: Int
            var firstKind: LogEntry.Kind
            var firstHasReplyHash: Bool
            var firstDb: UInt32
            /// Also the database and timestamp of its last entry (a transaction's end marker carries
            /// its first command's), so the delta state after the unit.
            var firstTimestampMilliseconds: Int64
            /// Its entries, transaction markers included, and where their ends start in `entryEnds`.
            var entryCount: Int
            var firstEntryEnd: Int
        }

        /// The entries encoded as a record payload holds them (docs/FORMAT.md, "Entries"), each
        /// header relative to the entry before it in the batch. The writer copies them as they
        /// are and encodes only the header of the first entry of each run again, against the
        /// entry before it in the record.
        var bytes: [UInt8] = []
        /// Where each entry ends in `bytes` (transaction markers included), for the writer's
        /// dictionary samples and the sequence numbers the batch takes.
        var entryEnds: [Int] = []
        var units: [Unit] = []
        private var state = EntryCodec.DeltaState(baseTimestampMilliseconds: 0)
        /// Why the batch cannot be written (an entry past `LogLimits`), or nil. The append
        /// refuses the whole batch before appending anything.
        private(set) var problem: String?
        /// How many sequence numbers the batch takes: its entries, transaction markers included.
        public var sequenceCount: UInt64 { UInt64(entryEnds.count) }

        public init() {}

        /// True when nothing was added.
        public var isEmpty: Bool { units.isEmpty }
        /// Bytes of the encoded entries.
        public var byteCount: Int { bytes.count }

        /// Adds one entry (a command or a checkpoint) appended on its own.
        public mutating func append(_ entry: LogEntry) {
            appendCommand(timestampMilliseconds: entry.timestampMilliseconds, db: entry.db, arguments: entry.arguments,
                          replyHash: entry.replyHash, kind: entry.kind)
        }

        /// Adds one command appended on its own, encoding it now: the batch keeps no reference
        /// to `arguments`.
        public mutating func appendCommand(timestampMilliseconds: Int64, db: UInt32, arguments: [[UInt8]],
                                           replyHash: UInt64? = nil, kind: LogEntry.Kind = .command) {
            let start = bytes.count
            let header = encode(kind: kind, db: db, timestampMilliseconds: timestampMilliseconds, arguments: arguments, replyHash: replyHash)
            addCommandUnit(start: start, header: header, kind: kind, db: db, timestampMilliseconds: timestampMilliseconds,
                           hasReplyHash: replyHash != nil)
        }

        /// ``appendCommand(timestampMilliseconds:db:arguments:replyHash:kind:)`` for arguments
        /// back to back in `packedBytes` (argument `i` is `packedBytes[ends[i - 1] ..< ends[i]]`,
        /// the first from 0), as a server's parser holds a request.
        public mutating func appendCommand(timestampMilliseconds: Int64, db: UInt32, packedBytes: UnsafeRawBufferPointer,
                                           ends: UnsafeBufferPointer<Int>, replyHash: UInt64? = nil) {
            // The caller's buffer: ends must rise within it (the encoder slices by them).
            var previous = 0
            for end in ends {
                precondition(end >= previous && end <= packedBytes.count, "packed argument ends outside their bytes")
                previous = end
            }
            let start = bytes.count
            if problem == nil, let reason = EntryCodec.validate(kind: .command, packedEnds: ends) { problem = reason }
            let header = encodeHeader(kind: .command, db: db, timestampMilliseconds: timestampMilliseconds, hasReplyHash: replyHash != nil)
            EntryCodec.encodeBody(packedBytes: packedBytes, ends: ends, replyHash: replyHash, into: &bytes)
            entryEnds.append(bytes.count)
            addCommandUnit(start: start, header: header, kind: .command, db: db, timestampMilliseconds: timestampMilliseconds,
                           hasReplyHash: replyHash != nil)
        }

        /// Makes the entry just encoded from `start` (its end already in `entryEnds`) a unit of its own.
        @inline(__always)
        private mutating func addCommandUnit(start: Int, header: Int, kind: LogEntry.Kind, db: UInt32, timestampMilliseconds: Int64,
                                             hasReplyHash: Bool) {
            units.append(Unit(start: start, end: bytes.count, headerByteCount: header, firstKind: kind,
                              firstHasReplyHash: hasReplyHash, firstDb: db, firstTimestampMilliseconds: timestampMilliseconds,
                              entryCount: 1, firstEntryEnd: entryEnds.count - 1))
            checkUnitSize()
        }

        /// Adds the commands of one transaction, to be framed as one unit in one record. An empty
        /// collection adds nothing.
        public mutating func appendTransaction(_ transaction: some Sequence<LogEntry>) {
            var iterator = transaction.makeIterator()
            guard let first = iterator.next() else { return }
            let start = bytes.count
            let firstEnd = entryEnds.count
            let header = encode(kind: .transactionBegin, db: first.db, timestampMilliseconds: first.timestampMilliseconds,
                                arguments: [], replyHash: nil)
            var count = 2
            var next: LogEntry? = first
            while let entry = next {
                _ = encode(kind: entry.kind, db: entry.db, timestampMilliseconds: entry.timestampMilliseconds,
                           arguments: entry.arguments, replyHash: entry.replyHash)
                count += 1
                next = iterator.next()
            }
            // The end marker carries the first command's time and database, as the begin marker does.
            _ = encode(kind: .transactionEnd, db: first.db, timestampMilliseconds: first.timestampMilliseconds,
                       arguments: [], replyHash: nil)
            units.append(Unit(start: start, end: bytes.count, headerByteCount: header, firstKind: .transactionBegin,
                              firstHasReplyHash: false, firstDb: first.db, firstTimestampMilliseconds: first.timestampMilliseconds,
                              entryCount: count, firstEntryEnd: firstEnd))
            checkUnitSize()
        }

        /// Empties the batch, keeping its storage for the next one.
        public mutating func removeAll() {
            bytes.removeAll(keepingCapacity: true)
            entryEnds.removeAll(keepingCapacity: true)
            units.removeAll(keepingCapacity: true)
            problem = nil
        }

        /// Encodes one entry after the last; returns the size of its header.
        private mutating func encode(kind: LogEntry.Kind, db: UInt32, timestampMilliseconds: Int64,
                                     arguments: [[UInt8]], replyHash: UInt64?) -> Int {
            if problem == nil, let reason = EntryCodec.validate(kind: kind, arguments: arguments) { problem = reason }
            let header = encodeHeader(kind: kind, db: db, timestampMilliseconds: timestampMilliseconds, hasReplyHash: replyHash != nil)
            EntryCodec.encodeBody(arguments: arguments, replyHash: replyHash, into: &bytes)
            entryEnds.append(bytes.count)
            return header
        }

        /// Encodes an entry's header after the last entry; returns its size.
        @inline(__always)
        private mutating func encodeHeader(kind: LogEntry.Kind, db: UInt32, timestampMilliseconds: Int64, hasReplyHash: Bool) -> Int {
            let start = bytes.count
            EntryCodec.encodeHeader(kind: kind, hasReplyHash: hasReplyHash, db: db, timestampMilliseconds: timestampMilliseconds,
                                    into: &bytes, state: &state)
            return bytes.count - start
        }

        /// A unit is written into one record: it must fit in one, with room for a header.
        private mutating func checkUnitSize() {
            guard problem == nil, let unit = units.last else { return }
            let size = unit.end - unit.start
            if size > LogLimits.recordUncompressedByteCountMax - 4096 {
                problem = "\(size) bytes do not fit in one record"
            }
        }
    }

    /// What to ask of the flusher along with an append, without waiting for it.
    public enum ProgressRequest: Sendable {
        /// Nothing: the batch is written when it is old or large enough (or on the next sync).
        case none
        /// Nothing now, and the flusher is not even woken to start the batch's clock: the caller
        /// asks for progress itself soon (``requestProgress(through:durable:)``), after more
        /// appends. Saves a thread wake-up per append. (Under `always` it means `none`.)
        case later
        /// Write everything up to the batch's last entry to the OS now.
        case written
        /// Write and fdatasync everything up to the batch's last entry now.
        case durable
    }

    /// The writer's progress, as its flusher publishes it.
    public struct Progress: Sendable, Equatable {
        /// Every entry up to this one has been handed to the OS.
        public var writtenSequence: UInt64
        /// Every entry up to this one has been fdatasync'ed.
        public var durableSequence: UInt64
        /// Set once the writer failed: nothing more will be written or acknowledged.
        public var failure: LogError?
    }

    /// Appends every command and transaction of `batch`, in order, taking the writer's lock once,
    /// and returns the sequence numbers taken (transaction markers included).
    ///
    /// Under a writer opened with `always`, returns once the batch is durable, as ``append(_:)``
    /// does. Under `everysec` and `no` it never waits for the disk (only for the writer's
    /// backpressure, ``Options/pendingByteCountMax``); `request` then asks the flusher to write
    /// (or write and sync) the batch at once, in the same lock acquisition, instead of waiting
    /// for the batch to age. Follow the progress with ``setProgressHandler(_:)`` or
    /// ``publishedProgress``.
    ///
    /// - Throws: `LogError` (`.entryTooLarge`) before anything is appended when an entry or a
    ///   transaction cannot be written; the writer's failure, or `.writerClosed`. A failure in the
    ///   middle of the batch (the writer failed or closed meanwhile) may leave its first units
    ///   appended.
    @discardableResult
    public func append(_ batch: Batch, request: ProgressRequest = .none) throws -> ClosedRange<UInt64> {
        guard !batch.isEmpty else { throw LogError(.entryTooLarge, path: directory, "nothing to append") }
        if let problem = batch.problem { throw LogError(.entryTooLarge, path: directory, problem) }
        let (range, waitsForDurability) = try appendBatchLocked(batch, request: request)
        try checkWrittenRecords()
        if waitsForDurability { try progress.wait(for: range.upperBound, durable: true) }
        return range
    }

    private func appendBatchLocked(_ batch: Batch, request: ProgressRequest) throws -> (ClosedRange<UInt64>, Bool) {
        lock.lock()
        defer { lock.unlock() }
        let startedEmpty = pendingEntryCount == 0
        let first = nextSequence
        let recordHalf = batchRecordByteCountMax
        var index = 0
        let units = batch.units
        while index < units.count {
            // A record never grows past the limit: wait for the flusher to take the current one.
            try waitForRoomLocked { !pending.isEmpty && pending.count + (units[index].end - units[index].start) > recordHalf }
            // The run of units that fits in the pending record, copied in one piece.
            var last = index
            var size = units[index].end - units[index].start
            while last + 1 < units.count, pending.count + size + (units[last + 1].end - units[last + 1].start) <= recordHalf {
                last += 1
                size += units[last].end - units[last].start
            }
            appendRunLocked(of: batch, from: units[index], through: units[last])
            index = last + 1
        }
        let range = first...(nextSequence - 1)
        let lastSequence = range.upperBound
        switch options.durability {
        case .always:
            requestedDurable = max(requestedDurable, lastSequence)
            if pendingEntryCount >= flusherWakeEntryCount { lock.signalWork() }
            return (range, true)
        case .everysec, .no:
            switch request {
            case .none:
                // As a single append: the first entries of a batch start the flusher's clock.
                if startedEmpty || pending.count >= options.recordByteCountTarget { lock.signalWork() }
            case .later:
                if pending.count >= options.recordByteCountTarget { lock.signalWork() }
            case .written:
                requestedWritten = max(requestedWritten, lastSequence)
                lock.signalWork()
            case .durable:
                requestedDurable = max(requestedDurable, lastSequence)
                lock.signalWork()
            }
            waitWhilePendingIsFullLocked()
        }
        return (range, false)
    }

    /// Adds the units `first` through `last` of `batch` to the pending record: the first unit's
    /// first header encoded again against the entry before it, the rest copied as it is (each
    /// later entry is relative to the one before it, the same in either place).
    private func appendRunLocked(of batch: Batch, from first: Batch.Unit, through last: Batch.Unit) {
        if pendingEntryCount == 0 { startPendingRecordLocked(baseTimestampMilliseconds: first.firstTimestampMilliseconds) }
        var after = EntryCodec.DeltaState(baseTimestampMilliseconds: last.firstTimestampMilliseconds)
        after.previousDb = last.firstDb
        let entryCount = last.firstEntryEnd + last.entryCount - first.firstEntryEnd
        batch.bytes.withUnsafeBytes { bytes in
            appendEncodedLocked(firstKind: first.firstKind, firstHasReplyHash: first.firstHasReplyHash, firstDb: first.firstDb,
                                firstTimestampMilliseconds: first.firstTimestampMilliseconds,
                                rest: UnsafeRawBufferPointer(rebasing: bytes[(first.start + first.headerByteCount)..<last.end]),
                                entryEnds: batch.entryEnds[first.firstEntryEnd..<(first.firstEntryEnd + entryCount)],
                                stateAfter: after)
        }
        nextSequence += UInt64(entryCount)
    }

    /// With the lock held: adds entries encoded elsewhere (a run of a ``Batch``, a
    /// ``LogEntryBatch``) to the pending record. Only the first entry's header depends on the
    /// entry before it, so it is encoded again here against the writer's delta state; `rest` (the
    /// bytes after that header) is copied as it is. `entryEnds` are where each entry ends in the
    /// source buffer `rest` was cut from, for the dictionary samples; `stateAfter` is the delta
    /// state after the last entry.
    func appendEncodedLocked(firstKind: LogEntry.Kind, firstHasReplyHash: Bool, firstDb: UInt32, firstTimestampMilliseconds: Int64,
                             rest: UnsafeRawBufferPointer, entryEnds: ArraySlice<Int>, stateAfter: EntryCodec.DeltaState) {
        EntryCodec.encodeHeader(kind: firstKind, hasReplyHash: firstHasReplyHash, db: firstDb,
                                timestampMilliseconds: firstTimestampMilliseconds, into: &pending, state: &deltaState)
        if collectsSamples, let lastEnd = entryEnds.last {
            // Source offsets to pending offsets: the source's last end is where `rest` ends.
            let shift = pending.count + rest.count - lastEnd
            for end in entryEnds { pendingEntryEnds.append(end + shift) }
        }
        pending.append(contentsOf: rest)
        deltaState = stateAfter
        pendingEntryCount += entryEnds.count
    }

    /// Asks the flusher to write (or, with `durable`, write and fdatasync) every entry up to
    /// `sequence` now, without waiting. A sequence past the last appended entry is clamped to it.
    public func requestProgress(through sequence: UInt64, durable: Bool) {
        lock.withLock {
            let target = min(sequence, nextSequence - 1)
            if durable { requestedDurable = max(requestedDurable, target) } else { requestedWritten = max(requestedWritten, target) }
            lock.signalWork()
        }
    }

    /// The progress the flusher published last, read without taking the writer's lock.
    public var publishedProgress: Progress { progress.snapshot }

    /// Calls `handler` on the flusher's thread each time it publishes progress (after every
    /// record written, every sync, and once when the writer fails or closes).
    ///
    /// The handler runs on the flusher's thread, without the writer's lock, before the flusher
    /// takes its next batch: keep it short (post the progress to the thread that needs it and
    /// return). Set it before the first append; a later call replaces it, nil removes it.
    public func setProgressHandler(_ handler: (@Sendable (Progress) -> Void)?) {
        progress.setHandler(handler)
    }
}
