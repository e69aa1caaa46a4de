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
        struct Unit: Sendable {
            /// Index in `entries` just past the unit's last entry.
            var end: Int
            var isTransaction: Bool
        }

        /// The entries in order, transactions' commands included (their markers are not).
        public private(set) var entries: [LogEntry] = []
        var units: [Unit] = []
        /// How many sequence numbers the batch takes: its entries, plus two per transaction.
        public private(set) var sequenceCount: UInt64 = 0

        public init() {}

        /// True when nothing was added.
        public var isEmpty: Bool { units.isEmpty }

        /// Adds one entry (a command or a checkpoint) appended on its own.
        public mutating func append(_ entry: LogEntry) {
            entries.append(entry)
            units.append(Unit(end: entries.count, isTransaction: false))
            sequenceCount += 1
        }

        /// Adds the commands of one transaction, to be framed as one unit in one record. An empty
        /// collection adds nothing.
        public mutating func appendTransaction(_ transaction: some Sequence<LogEntry>) {
            let start = entries.count
            entries.append(contentsOf: transaction)
            guard entries.count > start else { return }
            units.append(Unit(end: entries.count, isTransaction: true))
            sequenceCount += UInt64(entries.count - start) + 2
        }

        /// Empties the batch, keeping its storage for the next one.
        public mutating func removeAll() {
            entries.removeAll(keepingCapacity: true)
            units.removeAll(keepingCapacity: true)
            sequenceCount = 0
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
        var estimates: [Int] = []
        estimates.reserveCapacity(batch.units.count)
        var start = 0
        for unit in batch.units {
            var estimate = 0
            // Indexing rather than iterating: an iterator copies (retains and releases) each element.
            for index in start..<unit.end {
                if let problem = EntryCodec.validate(batch.entries[index]) { throw LogError(.entryTooLarge, path: directory, problem) }
                estimate += 24 + batch.entries[index].arguments.count * 10
                for argument in batch.entries[index].arguments.indices { estimate += batch.entries[index].arguments[argument].count }
            }
            guard estimate <= LogLimits.recordUncompressedByteCountMax - 4096 else {
                throw LogError(.entryTooLarge, path: directory, "\(estimate) bytes do not fit in one record")
            }
            estimates.append(estimate)
            start = unit.end
        }
        let (range, waitsForDurability) = try appendBatchLocked(batch, estimates: estimates, request: request)
        try checkWrittenRecords()
        if waitsForDurability { try progress.wait(for: range.upperBound, durable: true) }
        return range
    }

    private func appendBatchLocked(_ batch: Batch, estimates: [Int], request: ProgressRequest) throws -> (ClosedRange<UInt64>, Bool) {
        lock.lock()
        defer { lock.unlock() }
        let startedEmpty = pendingEntryCount == 0
        var first: UInt64?
        var last: UInt64 = 0
        var start = 0
        for (index, unit) in batch.units.enumerated() {
            let entries = batch.entries[start..<unit.end]
            let range = try encodeLocked(entries, first: entries[entries.startIndex], estimate: estimates[index],
                                         transaction: unit.isTransaction)
            if first == nil { first = range.lowerBound }
            last = range.upperBound
            start = unit.end
        }
        let range = first!...last
        switch options.durability {
        case .always:
            requestedDurable = max(requestedDurable, last)
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
                requestedWritten = max(requestedWritten, last)
                lock.signalWork()
            case .durable:
                requestedDurable = max(requestedDurable, last)
                lock.signalWork()
            }
            waitWhilePendingIsFullLocked()
        }
        return (range, false)
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
