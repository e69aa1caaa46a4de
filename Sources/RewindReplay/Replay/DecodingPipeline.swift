// Fast replay: one thread reads, checksums, decompresses and decodes records into entries with
// owned arguments while the calling thread applies them (DESIGN §9: let one core decode while
// the other applies).

import Foundation
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

/// A bounded hand-off of entry batches from the decoding thread to the applying thread.
final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var batches: [[DecodedEntry]] = []
    private var finished = false
    private var cancelled = false
    private var outcome: Result<LogReader.Summary?, Error> = .success(nil)
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds a batch, waiting while the queue is full; false when the consumer has stopped.
    func push(_ batch: [DecodedEntry]) -> Bool {
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
    func pop() -> [DecodedEntry]? {
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
    static let batchEntryCount = 4096
    /// Batches in flight: bounds the memory held ahead of the applier.
    static let batchCountMax = 8

    /// Reads the log on a new thread and calls `apply` with each entry on this one.
    ///
    /// - Returns: The reader's summary when it read to the end; nil when `apply` stopped it.
    /// - Throws: What the reader threw (damage the recovery mode refuses, file errors).
    static func run(reader: LogReader, from: UInt64, recovery: RecoveryMode,
                    apply: (DecodedEntry) -> Bool) throws -> LogReader.Summary? {
        let queue = BatchQueue(capacity: batchCountMax)
        struct Cancelled: Error {}
        let thread = Thread {
            var batch: [DecodedEntry] = []
            batch.reserveCapacity(batchEntryCount)
            var record: LogReader.RecordInfo?
            do {
                let summary = try reader.forEachEntry(from: from, recovery: recovery, onRecord: { record = $0 }) { view in
                    guard let record else { return }
                    batch.append(DecodedEntry(view, record: record))
                    if batch.count == batchEntryCount {
                        guard queue.push(batch) else { throw Cancelled() }
                        batch = []
                        batch.reserveCapacity(batchEntryCount)
                    }
                }
                if !batch.isEmpty { _ = queue.push(batch) }
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
            for entry in batch where !apply(entry) {
                _ = queue.cancelAndWait()
                return nil
            }
        }
        return try queue.waitForOutcome().get()
    }
}
