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
    }

    var entries: [Entry] = []
    var bytes: [UInt8] = []
    /// The shared first arguments (command names) this batch's entries use, each once.
    var sharedNames: [[UInt8]] = []
    /// The end offset in ``bytes`` of each argument; an argument starts where the previous ends.
    var argumentEnds: [Int] = []

    init(capacity: Int) {
        entries.reserveCapacity(capacity)
        argumentEnds.reserveCapacity(capacity * 4)
        bytes.reserveCapacity(capacity * 48)
    }

    mutating func append(_ view: EntryView, record: LogReader.RecordInfo) {
        let firstArgument = argumentEnds.count
        var shared: [UInt8]?
        var sharedNameIndex: Int32 = -1
        var commandID: Int32?
        var keyHash: UInt32 = 0
        var hasKeyHash = false
        if view.kind == .command || view.kind == .checkpoint {
            shared = view.sharedFirstArgument
            if let name = shared {
                if let found = sharedNames.lastIndex(where: { $0 == name }) {
                    sharedNameIndex = Int32(found)
                } else {
                    sharedNameIndex = Int32(sharedNames.count)
                    sharedNames.append(name)
                }
            }
            if view.kind == .command, view.arguments.count > 0 { commandID = Keyspace.commandID(forName: view.arguments[0]) }
            if view.kind == .command, view.arguments.count > 1 {
                keyHash = Keyspace.keyHash(view.arguments[1])
                hasKeyHash = true
            }
            for index in view.arguments.indices {
                if index > 0 || shared == nil { bytes.append(contentsOf: view.arguments[index]) }
                argumentEnds.append(bytes.count)
            }
        }
        entries.append(Entry(
            sequence: view.sequence, timestampMilliseconds: view.timestampMilliseconds, db: Int(view.db), kind: view.kind,
            replyHash: view.replyHash, segmentIndex: record.segmentIndex, byteOffset: record.byteOffset,
            firstArgument: firstArgument, argumentCount: argumentEnds.count - firstArgument, sharedNameIndex: sharedNameIndex,
            commandID: commandID, keyHash: keyHash, hasKeyHash: hasKeyHash))
    }

    /// Calls `body` with entry `index`'s arguments as a ``PackedCommand`` over this batch's bytes.
    func withPackedCommand<Result>(_ index: Int, _ body: (PackedCommand) -> Result) -> Result {
        let entry = entries[index]
        return bytes.withUnsafeBytes { buffer in
            argumentEnds.withUnsafeBufferPointer { ends in
                sharedNames.withUnsafeBufferPointer { names in
                let firstStart = entry.firstArgument == 0 ? 0 : ends[entry.firstArgument - 1]
                let own = UnsafeBufferPointer(rebasing: ends[entry.firstArgument..<(entry.firstArgument + entry.argumentCount)])
                let name = entry.sharedNameIndex >= 0 ? names.baseAddress! + Int(entry.sharedNameIndex) : nil
                return body(PackedCommand(sharedName: name, bytes: buffer, ends: own, firstStart: firstStart,
                                          commandID: entry.commandID, keyHash: entry.hasKeyHash ? entry.keyHash : nil))
                }
            }
        }
    }

    /// Replay's lookahead from entry `index` (``ReplayRun/prefetchDistance``, 0 for none): the
    /// key's index bucket of the entry that far ahead, the slot of the one half as far, the key
    /// and value of the one a quarter as far.
    @inline(__always)
    func prefetchAhead(of index: Int, in keyspace: Keyspace) {
        let distance = ReplayRun.prefetchDistance
        guard distance > 0 else { return }
        let count = entries.count
        if index + distance < count { prefetch(index + distance, stage: 1, in: keyspace) }
        if index + distance / 2 < count { prefetch(index + distance / 2, stage: 2, in: keyspace) }
        if index + distance / 4 < count { prefetch(index + distance / 4, stage: 3, in: keyspace) }
    }

    /// Replay's lookahead for entry `index`: `stage` 1 starts loading its key's index bucket,
    /// stage 2 (a few entries later, once the bucket is in) the slot the bucket points at, stage
    /// 3 (later still) the key's bytes and the value's box.
    @inline(__always)
    func prefetch(_ index: Int, stage: Int, in keyspace: Keyspace) {
        entries.withUnsafeBufferPointer { entries in
            let entry = entries[index]
            guard entry.hasKeyHash else { return }
            switch stage {
            case 1: keyspace.prefetchBucket(keyHash: entry.keyHash, db: entry.db)
            case 2: keyspace.prefetchSlot(keyHash: entry.keyHash, db: entry.db)
            default: keyspace.prefetchKeyAndValue(keyHash: entry.keyHash, db: entry.db)
            }
        }
    }

    /// Entry `index` with its arguments copied out of the batch.
    func decoded(_ index: Int) -> DecodedEntry {
        let entry = entries[index]
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(entry.argumentCount)
        bytes.withUnsafeBytes { buffer in
            for argument in entry.firstArgument..<(entry.firstArgument + entry.argumentCount) {
                if argument == entry.firstArgument, entry.sharedNameIndex >= 0 {
                    arguments.append(sharedNames[Int(entry.sharedNameIndex)])
                    continue
                }
                let start = argument == 0 ? 0 : argumentEnds[argument - 1]
                arguments.append(Array(UnsafeRawBufferPointer(rebasing: buffer[start..<argumentEnds[argument]])))
            }
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

enum DecodingPipeline {
    /// Entries per batch: large enough that the lock is rare, small enough to stop early cheaply.
    static let batchEntryCount = 512
    /// Batches in flight: bounds the memory held ahead of the applier (about 165 bytes an entry:
    /// 512 x 3 keeps it near 0.25 MB; 1,024 x 4 peaked 0.3 MB higher on the 5M workload, no
    /// faster; 4,096 x 8 showed as 8 MB more RSS).
    static let batchCountMax = 3

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
            var batch = PackedBatch(capacity: batchEntryCount)
            var record: LogReader.RecordInfo?
            do {
                let summary = try reader.forEachEntry(from: from, recovery: recovery, reporter: reporter, onRecord: { record = $0 }) { view in
                    guard let record else { return }
                    batch.append(view, record: record)
                    if batch.entries.count == batchEntryCount {
                        guard queue.push(batch) else { throw Cancelled() }
                        batch = PackedBatch(capacity: batchEntryCount)
                    }
                }
                if !batch.entries.isEmpty { _ = queue.push(batch) }
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
