// Fast replay: one thread reads, checksums, decompresses and decodes records into entries with
// owned arguments while the calling thread applies them (DESIGN §9: let one core decode while
// the other applies).

import Foundation
import RewindEngine
import RewindLog

/// One log entry with its arguments copied out of the record buffer, ready to apply.
struct DecodedEntry: Sendable {
    var sequence: UInt64
    var timestampMilliseconds: Int64
    var db: Int
    var kind: LogEntry.Kind
    var arguments: [[UInt8]]
    /// The hash of the reply the client got, when the writer recorded one.
    var replyHash: UInt64?
    var segmentIndex: Int
    /// Byte offset of the record holding the entry.
    var byteOffset: Int
}

extension DecodedEntry {
    init(_ view: EntryView, record: LogReader.RecordInfo) {
        sequence = view.sequence
        timestampMilliseconds = view.timestampMilliseconds
        db = Int(view.db)
        kind = view.kind
        arguments = view.kind == .command || view.kind == .checkpoint ? view.copiedArguments() : []
        replyHash = view.replyHash
        segmentIndex = record.segmentIndex
        byteOffset = record.byteOffset
    }
}

extension DecodedEntry {
    /// A checkpoint's digest as lowercase hex: its first argument, stored as 20 raw bytes or as
    /// 40 hex digits.
    var storedDigest: String? {
        guard kind == .checkpoint, let first = arguments.first else { return nil }
        if first.count == 20 { return first.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
        if first.count == 40 { return String(decoding: first, as: UTF8.self).lowercased() }
        return nil
    }
}

/// A growable buffer of plain values (bytes, offsets) owned by one ``PackedBatch``: appending
/// is a bounds check and a copy, with none of an array's uniqueness checks per call (those, and
/// the generic `append(contentsOf:)`, were a fifth of the reading thread's time on a
/// compaction base). Written only by the reading thread until the batch is handed over, then
/// only read.
final class PackedStore<Element: BitwiseCopyable>: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more elements (doubling, so appends stay amortized O(1)).
    @inline(__always)
    func reserve(adding extra: Int) {
        if extra > capacity - count { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends one element; room must have been reserved.
    @inline(__always)
    func appendReserved(_ element: Element) {
        assert(count < capacity)
        (base + count).initialize(to: element)
        count += 1
    }

    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }
}

extension PackedStore where Element == UInt8 {
    /// Appends bytes; room must have been reserved.
    @inline(__always)
    func appendReserved(_ bytes: UnsafeRawBufferPointer) {
        assert(bytes.count <= capacity - count)
        if let source = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    var rawBuffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// Entries decoded on the reading thread, packed for the applying thread: every argument's bytes
/// back to back in one buffer, so the reading thread allocates one buffer per batch and the
/// applying thread makes (and later frees) each argument's array itself. Handing over an array
/// per argument made one thread allocate what the other freed, which cost more than decoding
/// saved (docs/REPLAY.md).
struct PackedBatch: @unchecked Sendable {
    struct Entry {
        var sequence: UInt64
        var timestampMilliseconds: Int64
        var db: Int
        var kind: LogEntry.Kind
        var replyHash: UInt64?
        var segmentIndex: Int
        var byteOffset: Int
        /// The arguments are `argumentEnds[firstArgument ..< firstArgument + argumentCount]`.
        var firstArgument: Int
        var argumentCount: Int
        /// Where the first argument is in ``sharedNames`` when the log stored it as a shared
        /// token (nothing to copy); -1 otherwise. An index, not the array, so that an entry is
        /// plain data and reading one costs no reference counting.
        var sharedNameIndex: Int32
        /// The engine's identifier of the command (``Keyspace/commandID(forName:)``), resolved here
        /// on the reading thread; nil for an entry that is not a command.
        var commandID: Int32?
        /// ``Keyspace/keyHash(_:)`` of argument 1, when the command has one (`hasKeyHash`).
        var keyHash: UInt32
        var hasKeyHash: Bool
        /// From a compaction base's snapshot record, where each key appears once (or once per
        /// chunk of a big collection): the lookahead then only loads the index bucket the insert
        /// probes, since there is no slot or value to find (``prefetchAhead(of:in:)``).
        var isSnapshot: Bool
    }

    var entries: [Entry] = []
    /// Every argument's bytes, back to back (a shared name's are not copied).
    let bytes: PackedStore<UInt8>
    /// The shared first arguments (command names) this batch's entries use, each once.
    var sharedNames: [[UInt8]] = []
    /// For each of ``sharedNames``: where the reader's token is (an argument that points there is
    /// that name, found without comparing bytes) and the command it names.
    private var sharedNameTokens: [(base: UnsafeRawPointer, commandID: Int32)] = []
    /// The end offset in ``bytes`` of each argument; an argument starts where the previous ends.
    let argumentEnds: PackedStore<Int>

    init(capacity: Int) {
        entries.reserveCapacity(capacity)
        argumentEnds = PackedStore(capacity: capacity * 4)
        bytes = PackedStore(capacity: capacity * 48)
    }

    mutating func append(_ view: EntryView, segmentIndex: Int, byteOffset: Int, isSnapshot: Bool = false) {
        let firstArgument = argumentEnds.count
        var sharedNameIndex: Int32 = -1
        var commandID: Int32?
        var keyHash: UInt32 = 0
        var hasKeyHash = false
        if view.kind == .command || view.kind == .checkpoint {
            let arguments = view.arguments
            let count = arguments.count
            var firstCopied = 0
            if count > 0 {
                let name = arguments[0]
                if let base = name.baseAddress, let known = sharedNameTokens.firstIndex(where: { $0.base == base }) {
                    sharedNameIndex = Int32(known)
                    if view.kind == .command { commandID = sharedNameTokens[known].commandID }
                    firstCopied = 1
                } else if let shared = view.sharedFirstArgument, let base = name.baseAddress {
                    sharedNameIndex = Int32(sharedNames.count)
                    let id = Keyspace.commandID(forName: name)
                    sharedNames.append(shared)
                    sharedNameTokens.append((base, id))
                    if view.kind == .command { commandID = id }
                    firstCopied = 1
                } else if view.kind == .command {
                    commandID = Keyspace.commandID(forName: name)
                }
            }
            if view.kind == .command, count > 1 {
                keyHash = Keyspace.keyHash(arguments[1])
                hasKeyHash = true
            }
            var byteCount = 0
            for index in firstCopied..<max(count, firstCopied) { byteCount += arguments[index].count }
            bytes.reserve(adding: byteCount)
            argumentEnds.reserve(adding: count)
            if firstCopied == 1 { argumentEnds.appendReserved(bytes.count) }
            for index in firstCopied..<max(count, firstCopied) {
                bytes.appendReserved(arguments[index])
                argumentEnds.appendReserved(bytes.count)
            }
        }
        entries.append(Entry(
            sequence: view.sequence, timestampMilliseconds: view.timestampMilliseconds, db: Int(view.db), kind: view.kind,
            replyHash: view.replyHash, segmentIndex: segmentIndex, byteOffset: byteOffset,
            firstArgument: firstArgument, argumentCount: argumentEnds.count - firstArgument, sharedNameIndex: sharedNameIndex,
            commandID: commandID, keyHash: keyHash, hasKeyHash: hasKeyHash, isSnapshot: isSnapshot))
    }

    /// Calls `body` with entry `index`'s arguments as a ``PackedCommand`` over this batch's bytes.
    func withPackedCommand<Result>(_ index: Int, _ body: (PackedCommand) -> Result) -> Result {
        let entry = entries[index]
        let buffer = bytes.rawBuffer
        let ends = argumentEnds.buffer
        return sharedNames.withUnsafeBufferPointer { names in
            let firstStart = entry.firstArgument == 0 ? 0 : ends[entry.firstArgument - 1]
            let own = UnsafeBufferPointer(rebasing: ends[entry.firstArgument..<(entry.firstArgument + entry.argumentCount)])
            let name = entry.sharedNameIndex >= 0 ? names.baseAddress! + Int(entry.sharedNameIndex) : nil
            return body(PackedCommand(sharedName: name, bytes: buffer, ends: own, firstStart: firstStart,
                                      commandID: entry.commandID, keyHash: entry.hasKeyHash ? entry.keyHash : nil))
        }
    }

    /// Replay's lookahead from entry `index` (``ReplayRun/prefetchDistance``, 0 for none): the
    /// key's index bucket of the entry that far ahead, the slot of the one half as far, the key
    /// and value of the one a quarter as far (for an entry of a snapshot record, only the bucket:
    /// ``snapshotStageMax``).
    @inline(__always)
    func prefetchAhead(of index: Int, in keyspace: Keyspace) {
        let distance = ReplayRun.prefetchDistance
        guard distance > 0 else { return }
        let count = entries.count
        if index + distance < count { prefetch(index + distance, stage: 1, in: keyspace) }
        // A stage whose distance rounds down to 0 would only touch the entry about to be applied.
        if distance >= 2, index + distance / 2 < count { prefetch(index + distance / 2, stage: 2, in: keyspace) }
        if distance >= 4, index + distance / 4 < count { prefetch(index + distance / 4, stage: 3, in: keyspace) }
    }

    /// Replay's lookahead for entry `index`: `stage` 1 starts loading its key's index bucket,
    /// stage 2 (a few entries later, once the bucket is in) the slot the bucket points at, stage
    /// 3 (later still) the key's bytes and the value's box.
    @inline(__always)
    func prefetch(_ index: Int, stage: Int, in keyspace: Keyspace) {
        entries.withUnsafeBufferPointer { entries in
            let entry = entries[index]
            guard entry.hasKeyHash else { return }
            if entry.isSnapshot && stage > Self.snapshotStageMax { return }
            switch stage {
            case 1: keyspace.prefetchBucket(keyHash: entry.keyHash, db: entry.db)
            case 2: keyspace.prefetchSlot(keyHash: entry.keyHash, db: entry.db)
            default: keyspace.prefetchKeyAndValue(keyHash: entry.keyHash, db: entry.db)
            }
        }
    }

    /// The last lookahead stage an entry of a snapshot record gets: its key is new, so the bucket
    /// its insert probes is worth loading, and there is no slot or value to load. On the 5M
    /// workload's base, the applying thread took 134-137 ms of CPU so, against 146-149 ms with
    /// every stage and 146-161 ms with none (docs/COMPACTION.md).
    static let snapshotStageMax = 1

    /// Entry `index` with its arguments copied out of the batch.
    func decoded(_ index: Int) -> DecodedEntry {
        let entry = entries[index]
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(entry.argumentCount)
        let buffer = bytes.rawBuffer
        let ends = argumentEnds.buffer
        for argument in entry.firstArgument..<(entry.firstArgument + entry.argumentCount) {
            if argument == entry.firstArgument, entry.sharedNameIndex >= 0 {
                arguments.append(sharedNames[Int(entry.sharedNameIndex)])
                continue
            }
            let start = argument == 0 ? 0 : ends[argument - 1]
            arguments.append(Array(UnsafeRawBufferPointer(rebasing: buffer[start..<ends[argument]])))
        }
        return DecodedEntry(sequence: entry.sequence, timestampMilliseconds: entry.timestampMilliseconds, db: entry.db, kind: entry.kind,
                            arguments: arguments, replyHash: entry.replyHash, segmentIndex: entry.segmentIndex, byteOffset: entry.byteOffset)
    }
}

/// A bounded hand-off of entry batches from the decoding thread to the applying thread.
final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var batches: [PackedBatch] = []
    private var finished = false
    private var cancelled = false
    private var outcome: Result<LogReader.Summary?, Error> = .success(nil)
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a batch, waiting while the queue is full; false when the consumer has stopped.
    func push(_ batch: PackedBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        batches.append(batch)
        condition.broadcast()
        return true
    }

    /// Marks the end of the stream, with the reader's summary or its error.
    func finish(_ result: Result<LogReader.Summary?, Error>) {
        condition.lock()
        outcome = result
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch, or nil at the end of the stream.
    func pop() -> PackedBatch? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !finished { condition.wait() }
        if batches.isEmpty { return nil }
        let batch = batches.removeFirst()
        condition.broadcast()
        return batch
    }

    /// Tells the producer to stop, and waits until it has.
    func cancelAndWait() -> Result<LogReader.Summary?, Error> {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        batches.removeAll()
        condition.broadcast()
        while !finished { condition.wait() }
        return outcome
    }

    func waitForOutcome() -> Result<LogReader.Summary?, Error> {
        condition.lock()
        defer { condition.unlock() }
        while !finished { condition.wait() }
        return outcome
    }
}

/// What the reading thread's two closures share: the batch being filled and the record's place
/// (two integers: holding the record's info instead cost a copy of it, a retain and release of
/// its file name, per entry). In a class without exclusivity checks, because captured `var`s
/// were checked dynamically on every access (4% of the thread's time).
final class ReadingState {
    @exclusivity(unchecked) var batch = PackedBatch(capacity: DecodingPipeline.batchEntryCount)
    @exclusivity(unchecked) var segmentIndex = -1
    @exclusivity(unchecked) var byteOffset = 0
    @exclusivity(unchecked) var isSnapshot = false
}

enum DecodingPipeline {
    /// Entries per batch: large enough that the lock is rare, small enough to stop early cheaply.
    static let batchEntryCount = 512
    /// Entries per batch while reading a base segment's snapshot records. The hand-over costs a
    /// wake-up of the other thread (a futex call and a context switch on each side); a base's
    /// entries are few and each rebuilds a whole key, so bigger batches are cheap there: on the
    /// 5M workload's base, 2,048 made 550 context switches instead of 2,650 and the process took
    /// 434-482 ms of CPU instead of 463-482 ms (about 1.3 MB more held while the base is read).
    static let snapshotBatchEntryCount = 2048
    /// Batches in flight: bounds the memory held ahead of the applier (about 165 bytes an entry:
    /// 512 x 3 keeps it near 0.25 MB; 1,024 x 4 peaked 0.3 MB higher on the 5M workload, no
    /// faster; 4,096 x 8 showed as 8 MB more RSS).
    static let batchCountMax = 3

    /// Reads every entry from `from` into packed batches and hands each full batch, then the
    /// last one, to `emit`, on the calling thread: the reading half of ``run(reader:from:recovery:reporter:applyPacked:apply:)``.
    static func readBatches(reader: LogReader, from: UInt64, recovery: RecoveryMode, reporter: DamageReporter? = nil,
                            emit: (PackedBatch) throws -> Void) throws -> LogReader.Summary {
        let state = ReadingState()
        let summary = try reader.forEachEntry(from: from, recovery: recovery, reporter: reporter,
                                              onRecord: { state.segmentIndex = $0.segmentIndex; state.byteOffset = $0.byteOffset; state.isSnapshot = $0.isSnapshot }) { view in
            guard state.segmentIndex >= 0 else { return }
            state.batch.append(view, segmentIndex: state.segmentIndex, byteOffset: state.byteOffset, isSnapshot: state.isSnapshot)
            let capacity = state.isSnapshot ? snapshotBatchEntryCount : batchEntryCount
            if state.batch.entries.count >= capacity {
                try emit(state.batch)
                state.batch = PackedBatch(capacity: capacity)
            }
        }
        if !state.batch.entries.isEmpty { try emit(state.batch) }
        return summary
    }

    /// Reads the log on a new thread and calls `apply` with each entry on this one.
    ///
    /// - Returns: The reader's summary when it read to the end; nil when `apply` stopped it.
    /// - Throws: What the reader threw (damage the recovery mode refuses, file errors).
    ///
    /// `applyPacked`, when given, is offered each entry first, still packed in its batch; it
    /// returns nil to have the entry decoded and passed to `apply` instead.
    static func run(reader: LogReader, from: UInt64, recovery: RecoveryMode, reporter: DamageReporter? = nil,
                    applyPacked: ((PackedBatch, Int) -> Bool?)? = nil,
                    apply: (DecodedEntry) -> Bool) throws -> LogReader.Summary? {
        let queue = BatchQueue(capacity: batchCountMax)
        struct Cancelled: Error {}
        let thread = Thread {
            do {
                let summary = try readBatches(reader: reader, from: from, recovery: recovery, reporter: reporter) { batch in
                    guard queue.push(batch) else { throw Cancelled() }
                }
                queue.finish(.success(summary))
            } catch is Cancelled {
                queue.finish(.success(nil))
            } catch {
                queue.finish(.failure(error))
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
        while let batch = queue.pop() {
            for index in batch.entries.indices {
                let goesOn = applyPacked?(batch, index) ?? apply(batch.decoded(index))
                if !goesOn {
                    _ = queue.cancelAndWait()
                    return nil
                }
            }
        }
        return try queue.waitForOutcome().get()
    }
}
