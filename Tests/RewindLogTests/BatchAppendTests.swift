#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import RewindLog
import RewindTestSupport

/// Collects the progress a writer's flusher reports, and waits for it with a timeout.
private final class ProgressRecorder: @unchecked Sendable {
    private let lock = ConditionLock()
    private var reports: [LogWriter.Progress] = []

    func record(_ progress: LogWriter.Progress) {
        lock.withLock { reports.append(progress) }
        lock.broadcastProgress()
    }

    var all: [LogWriter.Progress] { lock.withLock { reports } }

    /// Waits until a report satisfies `condition`, for at most `seconds`; returns whether one did.
    func wait(seconds: Double, until condition: (LogWriter.Progress) -> Bool) -> Bool {
        let deadline = FileIO.monotonicNanoseconds() + UInt64(seconds * 1e9)
        lock.lock()
        defer { lock.unlock() }
        while !reports.contains(where: condition) {
            let now = FileIO.monotonicNanoseconds()
            guard now < deadline else { return false }
            lock.wait(.progress, nanoseconds: min(deadline - now, 50_000_000))
        }
        return true
    }
}

@Suite("Batch appends and progress reports")
struct BatchAppendTests {
    @Test("A batch of commands, transactions and a checkpoint reads back in order, each transaction in one record",
          arguments: DurabilityPolicy.allCases, [0, 600])
    func batchRoundTrip(policy: DurabilityPolicy, recordByteCountMax: Int) throws {
        let directory = try TemporaryDirectory()
        var generator = SeededGenerator(seed: 7)
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: policy, trainsDictionary: false))
        // 600: a record takes about 600 bytes of a batch, so batches span records and each
        // record after the first starts in the middle of a batch.
        if recordByteCountMax > 0 { writer.batchRecordByteCountMax = recordByteCountMax }
        var expected: [LogEntry] = []
        var transactionRanges: [ClosedRange<UInt64>] = []
        var batchRanges: [ClosedRange<UInt64>] = []
        var next: UInt64 = 1
        for round in 0..<20 {
            var batch = LogWriter.Batch()
            var batchSequenceCount: UInt64 = 0
            for unit in 0..<(round % 5 + 1) {
                if (round + unit) % 3 == 0 {
                    let commands = (0..<(unit % 3 + 1)).map { RandomEntries.entry(index: round * 10 + unit + $0, using: &generator) }
                    batch.appendTransaction(commands)
                    transactionRanges.append(next + batchSequenceCount...next + batchSequenceCount + UInt64(commands.count) + 1)
                    expected.append(LogEntry(timestampMilliseconds: commands[0].timestampMilliseconds, db: commands[0].db,
                                             kind: .transactionBegin, arguments: []))
                    expected += commands
                    expected.append(LogEntry(timestampMilliseconds: commands[0].timestampMilliseconds, db: commands[0].db,
                                             kind: .transactionEnd, arguments: []))
                    batchSequenceCount += UInt64(commands.count) + 2
                } else {
                    let entry = RandomEntries.entry(index: round * 10 + unit, using: &generator)
                    batch.append(entry)
                    expected.append(entry)
                    batchSequenceCount += 1
                }
            }
            if round % 7 == 6 {
                let checkpoint = LogEntry(timestampMilliseconds: 1_700_000_000_000, kind: .checkpoint, arguments: [Array(repeating: 0xAB, count: 20)])
                batch.append(checkpoint)
                expected.append(checkpoint)
                batchSequenceCount += 1
            }
            #expect(batch.sequenceCount == batchSequenceCount)
            let range = try writer.append(batch, request: round % 2 == 0 ? .written : .none)
            #expect(range == next...(next + batchSequenceCount - 1))
            batchRanges.append(range)
            next += batchSequenceCount
        }
        try writer.close()
        let reader = try LogReader(directory: directory.path)
        let (read, summary) = try reader.readAll()
        #expect(summary.damages.isEmpty)
        #expect(read.map(\.sequence) == Array(1..<next))
        #expect(read.count == expected.count)
        for (got, want) in zip(read, expected) {
            #expect(got.kind == want.kind)
            #expect(got.arguments == want.arguments)
            #expect(got.db == want.db)
            #expect(got.timestampMilliseconds == want.timestampMilliseconds)
            #expect(got.replyHash == want.replyHash)
        }
        var records: [ClosedRange<UInt64>] = []
        try reader.forEachRecord { records.append($0.firstSequence...$0.lastSequence) }
        if recordByteCountMax > 0 {
            // Some record starts in the middle of a batch: the path that encodes a unit's first
            // header again against a new record ran.
            let splits = records.filter { record in batchRanges.contains { $0.lowerBound < record.lowerBound && $0.contains(record.lowerBound) } }
            #expect(!splits.isEmpty, "no batch spans records: \(records)")
        }
        for transaction in transactionRanges {
            #expect(records.contains { $0.contains(transaction.lowerBound) && $0.contains(transaction.upperBound) },
                    "transaction \(transaction) is split across records \(records)")
        }
    }

    @Test("An entry the log cannot hold fails the whole batch before anything is appended")
    func invalidEntryAppendsNothing() throws {
        let directory = try TemporaryDirectory()
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .everysec))
        var batch = LogWriter.Batch()
        batch.append(.command(["SET", "a", "1"], at: 1))
        batch.append(LogEntry(timestampMilliseconds: 1, arguments: []))  // a command needs a name
        #expect(throws: LogError.self) { try writer.append(batch) }
        #expect(writer.nextSequenceNumber == 1)
        var empty = LogWriter.Batch()
        #expect(throws: LogError.self) { try writer.append(empty) }
        empty.appendTransaction([])
        #expect(empty.isEmpty)
        batch.removeAll()
        batch.append(.command(["SET", "a", "1"], at: 1))
        #expect(try writer.append(batch) == 1...1)
        try writer.close()
    }

    @Test("A command appended from packed arguments encodes and validates exactly as from arrays")
    func packedCommandsEncodeAsArrays() throws {
        var random = SeededRandom(seed: 7)
        var arrays = LogWriter.Batch()
        var packed = LogWriter.Batch()
        func appendBoth(_ arguments: [[UInt8]], db: UInt32, at time: Int64, replyHash: UInt64?) {
            arrays.appendCommand(timestampMilliseconds: time, db: db, arguments: arguments, replyHash: replyHash)
            let bytes = arguments.flatMap { $0 }
            var ends: [Int] = []
            for argument in arguments { ends.append((ends.last ?? 0) + argument.count) }
            bytes.withUnsafeBytes { bytes in
                ends.withUnsafeBufferPointer {
                    packed.appendCommand(timestampMilliseconds: time, db: db, packedBytes: bytes, ends: $0, replyHash: replyHash)
                }
            }
        }
        let names = ["SET", "set", "LPUSH", "XYZZY", ""]
        for step in 0..<500 {
            var arguments = [Array(names[Int(random.next() % UInt64(names.count))].utf8)]
            for _ in 0..<random.next() % 5 {
                arguments.append((0..<random.next() % 300).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            }
            appendBoth(arguments, db: UInt32(random.next() % 3), at: 1_000 + Int64(step) - Int64(random.next() % 10),
                       replyHash: random.next() % 2 == 0 ? random.next() : nil)
        }
        #expect(packed.bytes == arrays.bytes)
        #expect(packed.entryEnds == arrays.entryEnds)
        #expect(packed.sequenceCount == arrays.sequenceCount)
        #expect(packed.problem == nil && arrays.problem == nil)
        // A command needs a name: refused the same way.
        appendBoth([], db: 0, at: 1, replyHash: nil)
        #expect(packed.problem != nil && packed.problem == arrays.problem)
    }

    @Test("Requested progress is reported to the handler without waiting for the batch to age",
          arguments: [LogWriter.ProgressRequest.written, .durable])
    func progressHandlerReportsRequestedWrite(request: LogWriter.ProgressRequest) throws {
        let directory = try TemporaryDirectory()
        // A batch that is not asked for would wait 10 s before it is written.
        let writer = try LogWriter.open(directory: directory.path, options: .init(
            durability: .everysec, trainsDictionary: false, flushIntervalMilliseconds: 10_000))
        let recorder = ProgressRecorder()
        writer.setProgressHandler { recorder.record($0) }
        var batch = LogWriter.Batch()
        batch.append(.command(["SET", "a", "1"], at: 1))
        batch.appendTransaction([.command(["INCR", "b"], at: 1), .command(["INCR", "c"], at: 1)])
        let range = try writer.append(batch, request: request)
        #expect(range == 1...5)
        let reached = recorder.wait(seconds: 5) { request == .durable ? $0.durableSequence >= 5 : $0.writtenSequence >= 5 }
        #expect(reached)
        #expect(writer.publishedProgress.writtenSequence == 5)
        if request == .durable { #expect(writer.publishedProgress.durableSequence == 5) }
        // Nothing more to write: a request past the end is clamped, and reports nothing new.
        writer.requestProgress(through: 100, durable: false)
        var more = LogWriter.Batch()
        more.append(.command(["SET", "d", "1"], at: 2))
        // `.later`: the flusher is not woken; nothing is written until progress is requested.
        try writer.append(more, request: .later)
        usleep(50_000)
        #expect(writer.publishedProgress.writtenSequence == 5)
        writer.requestProgress(through: 6, durable: false)
        #expect(recorder.wait(seconds: 5) { $0.writtenSequence >= 6 })
        #expect(recorder.all.allSatisfy { $0.failure == nil })
        writer.setProgressHandler(nil)
        try writer.close()
        #expect(try LogReader(directory: directory.path).readAll().entries.count == 6)
    }

    @Test("Writing and syncing on the appender's thread takes turns with the flusher and loses nothing")
    func writeAndSyncOnCallingThread() throws {
        let directory = try TemporaryDirectory()
        // Small segments: the flusher and the appender both rotate them.
        let writer = try LogWriter.open(directory: directory.path, options: .init(
            durability: .everysec, segmentByteCountTarget: 16 * 1024, trainsDictionary: false, flushIntervalMilliseconds: 1))
        let recorder = ProgressRecorder()
        writer.setProgressHandler { recorder.record($0) }
        var generator = SeededGenerator(seed: 11)
        var expected: [LogEntry] = []
        for round in 0..<300 {
            var batch = LogWriter.Batch()
            for unit in 0..<(round % 4 + 1) {
                let entry = RandomEntries.entry(index: round * 10 + unit, using: &generator, largeArgumentByteCount: 3_000)
                batch.append(entry)
                expected.append(entry)
            }
            // Every other round the flusher is asked too, so both write records in turn.
            let range = try writer.append(batch, request: round % 2 == 0 ? .written : .later)
            if round % 3 != 0 {
                let durable = try writer.writeAndSyncOnCallingThread()
                #expect(durable >= range.upperBound)
                #expect(writer.publishedProgress.durableSequence >= range.upperBound)
            }
        }
        #expect(try writer.writeAndSyncOnCallingThread() == UInt64(expected.count))
        writer.setProgressHandler(nil)
        try writer.close()
        #expect(recorder.all.allSatisfy { $0.failure == nil })
        let (read, summary) = try LogReader(directory: directory.path).readAll()
        #expect(summary.damages.isEmpty)
        #expect(read.map(\.sequence) == Array(1...UInt64(expected.count)))
        for (got, want) in zip(read, expected) {
            #expect(got.arguments == want.arguments)
            #expect(got.timestampMilliseconds == want.timestampMilliseconds)
            #expect(got.db == want.db)
        }
        #expect(try LogReader(directory: directory.path).manifest.segments.count > 1, "segments should have rotated")
    }

    @Test("A write on the appender's thread under everysec is synced by the flusher within about a second")
    func writeOnCallingThreadIsSyncedByTheClock() throws {
        let directory = try TemporaryDirectory()
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .everysec, trainsDictionary: false))
        for round in 0..<3 {
            var batch = LogWriter.Batch()
            batch.append(.command(["SET", "k\(round)", "v"], at: 1))
            let range = try writer.append(batch, request: .later)
            #expect(try writer.writeOnCallingThread() == range.upperBound)
            #expect(writer.publishedProgress.writtenSequence == range.upperBound)
            // Nothing woke the flusher but the write itself: its everysec clock must run.
            let deadline = FileIO.monotonicNanoseconds() + 5_000_000_000
            while writer.publishedProgress.durableSequence < range.upperBound && FileIO.monotonicNanoseconds() < deadline {
                usleep(10_000)
            }
            #expect(writer.publishedProgress.durableSequence >= range.upperBound, "round \(round): not synced within 5 s")
        }
        try writer.close()
        #expect(try LogReader(directory: directory.path).readAll().entries.count == 3)
    }

    @Test("A failed writer reports its failure to the handler")
    func progressHandlerReportsFailure() throws {
        let directory = try TemporaryDirectory()
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .everysec, trainsDictionary: false))
        let recorder = ProgressRecorder()
        writer.setProgressHandler { recorder.record($0) }
        // The flusher's next write fails: its segment file descriptor is closed under it.
        writer.lock.withLock { writer.segmentFile.close() }
        var batch = LogWriter.Batch()
        batch.append(.command(["SET", "a", "1"], at: 1))
        try writer.append(batch, request: .written)
        #expect(recorder.wait(seconds: 5) { $0.failure != nil })
        #expect(writer.publishedProgress.failure != nil)
        #expect(throws: LogError.self) { try writer.append(batch) }
        try? writer.close()
    }
}
