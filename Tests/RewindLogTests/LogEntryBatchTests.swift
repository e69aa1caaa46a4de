import Testing
@testable import RewindLog
import RewindTestSupport

@Suite("Entry batches")
struct LogEntryBatchTests {
    /// Command entries of every shape the batch encodes differently: a well-known first argument
    /// or not, more than 127 arguments (a two-byte count), empty arguments, changing databases,
    /// timestamps going back.
    static func entries(count: Int, seed: UInt64) -> [LogEntry] {
        var random = SeededGenerator(seed: seed)
        let names = ["SET", "hset", "RPUSH", "NOTACOMMAND", "", "ZADD"]
        return (0..<count).map { index in
            var arguments = [Array(names[Int.random(in: 0..<names.count, using: &random)].utf8)]
            let argumentCount = index % 50 == 0 ? Int.random(in: 128...700, using: &random) : Int.random(in: 0...6, using: &random)
            for _ in 0..<argumentCount {
                arguments.append(RandomEntries.bytes(count: Int.random(in: 0...(index % 13 == 0 ? 300 : 12), using: &random), using: &random))
            }
            return LogEntry(timestampMilliseconds: 1_700_000_000_000 + Int64.random(in: -5000...5000, using: &random),
                            db: UInt32.random(in: 0...3, using: &random), arguments: arguments)
        }
    }

    static func encode(_ entry: LogEntry, into batch: inout LogEntryBatch) throws {
        batch.beginCommand(timestampMilliseconds: entry.timestampMilliseconds, db: entry.db)
        for argument in entry.arguments { try argument.withUnsafeBytes { try batch.appendArgument($0) } }
        try batch.endCommand()
    }

    @Test("Entries encoded in batches read back as the entries, mixed with ordinary appends and transactions",
          arguments: [false, true])
    func batchesRoundTrip(verifies: Bool) throws {
        let directory = try TemporaryDirectory()
        let entries = Self.entries(count: 3000, seed: 7)
        // A small sample count, so the dictionary is trained and switched to while batches arrive.
        let options = LogWriter.Options(durability: .no, segmentByteCountTarget: 256 * 1024, dictionarySampleEntryCount: 300,
                                        recordByteCountTarget: 8 * 1024, verifiesRecords: verifies)
        let writer = try LogWriter.open(directory: directory.path, options: options)
        var batch = LogEntryBatch()
        var random = SeededGenerator(seed: 8)
        var expected: [LogEntry] = []
        var index = 0
        while index < entries.count {
            let run = Int.random(in: 1...40, using: &random)
            let slice = entries[index..<min(index + run, entries.count)]
            index += slice.count
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                // Ordinary appends, which may join the record the last batch started.
                try writer.append(contentsOf: slice)
                expected += slice
            case 1:
                try writer.append(contentsOf: slice, transaction: true)
                expected.append(LogEntry(timestampMilliseconds: slice.first!.timestampMilliseconds, db: slice.first!.db, kind: .transactionBegin, arguments: []))
                expected += slice
                expected.append(LogEntry(timestampMilliseconds: slice.first!.timestampMilliseconds, db: slice.first!.db, kind: .transactionEnd, arguments: []))
            default:
                for entry in slice { try Self.encode(entry, into: &batch) }
                #expect(batch.entryCount == slice.count)
                let first = UInt64(expected.count + 1)
                #expect(try writer.append(&batch) == first...(first + UInt64(slice.count) - 1))
                #expect(batch.isEmpty && batch.byteCount == 0)
                expected += slice
            }
        }
        try writer.close()
        let reader = try LogReader(directory: directory.path)
        let (read, summary) = try reader.readAll(recovery: .absolute)
        #expect(summary.damages.isEmpty)
        #expect(reader.manifest.dictionaries.count == 1)
        #expect(read.count == expected.count)
        for (offset, (got, want)) in zip(read, expected).enumerated() {
            #expect(got.sequence == UInt64(offset + 1))
            #expect(got.kind == want.kind && got.db == want.db && got.timestampMilliseconds == want.timestampMilliseconds)
            #expect(got.arguments == want.arguments, "entry #\(offset + 1)")
        }
    }

    @Test("A batch encodes the bytes EntryCodec encodes")
    func sameBytesAsEntryCodec() throws {
        var batch = LogEntryBatch()
        var bytes: [UInt8] = []
        let entries = Self.entries(count: 400, seed: 3)
        var state = EntryCodec.DeltaState(baseTimestampMilliseconds: entries[0].timestampMilliseconds)
        for entry in entries {
            try Self.encode(entry, into: &batch)
            EntryCodec.encode(entry, into: &bytes, state: &state)
        }
        #expect(batch.bytes == bytes)
        #expect(batch.entryCount == entries.count)
        #expect(batch.entryEnds.last == bytes.count)
    }

    @Test("Limits: an entry without arguments and an empty batch are refused")
    func limits() throws {
        let directory = try TemporaryDirectory()
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .no))
        defer { try? writer.close() }
        var batch = LogEntryBatch()
        #expect(throws: LogError.self) { try writer.append(&batch) }
        batch.beginCommand(timestampMilliseconds: 1, db: 0)
        #expect { try batch.endCommand() } throws: { ($0 as? LogError)?.code == .entryTooLarge }
        batch.removeAll()
        #expect(batch.isEmpty && !batch.hasOpenEntry)
    }

    @Test("A refused entry is taken back out: the batch stays usable and reads back without it")
    func refusedEntryIsAbandoned() throws {
        let directory = try TemporaryDirectory()
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .no, trainsDictionary: false))
        var batch = LogEntryBatch()
        batch.beginCommand(timestampMilliseconds: 1_000, db: 0)
        try batch.appendArgument("SET")
        try batch.appendArgument("a")
        try batch.appendArgument("1")
        try batch.endCommand()
        // Refused in another database at another time: its header moved the delta state.
        batch.beginCommand(timestampMilliseconds: 9_000, db: 3)
        #expect(throws: LogError.self) { try batch.endCommand() }
        #expect(!batch.hasOpenEntry)
        batch.beginCommand(timestampMilliseconds: 2_000, db: 0)
        try batch.appendArgument("SET")
        try batch.appendArgument("b")
        try batch.appendArgument("2")
        try batch.endCommand()
        #expect(batch.entryCount == 2)
        try writer.append(&batch)
        try writer.close()
        let entries = try LogReader(directory: directory.path).readAll().entries
        #expect(entries.map(\.arguments) == [["SET", "a", "1"], ["SET", "b", "2"]].map { $0.map { Array($0.utf8) } })
        #expect(entries.map(\.db) == [0, 0])
        #expect(entries.map(\.timestampMilliseconds) == [1_000, 2_000])
    }
}

extension LogEntryBatchTests {
    @Test("A batch appended while entries are pending joins their record; its first entry is encoded again against them")
    func batchJoinsPendingEntries() throws {
        let directory = try TemporaryDirectory()
        // The background thread waits a long time for more before writing a small batch, so the
        // ordinary appends are still pending when the batches arrive.
        let options = LogWriter.Options(durability: .no, trainsDictionary: false, flushIntervalMilliseconds: 60_000)
        let writer = try LogWriter.open(directory: directory.path, options: options)
        let entries = Self.entries(count: 60, seed: 11).filter { $0.arguments.count < 100 }
        try writer.append(contentsOf: entries[0..<5])
        var batch = LogEntryBatch()
        var expected = Array(entries[0..<5])
        // Batches whose first entry is in another database and earlier or later in time than
        // the entry before it.
        for range in [5..<9, 9..<10, 10..<20, 20..<entries.count] {
            for entry in entries[range] { try Self.encode(entry, into: &batch) }
            try writer.append(&batch)
            expected += entries[range]
        }
        try writer.close()
        let (read, summary) = try LogReader(directory: directory.path).readAll(recovery: .absolute)
        #expect(summary.recordCount == 1)
        #expect(read.map(\.sequence) == (1...UInt64(expected.count)).map { $0 })
        #expect(read.map(\.arguments) == expected.map(\.arguments))
        #expect(read.map(\.db) == expected.map(\.db))
        #expect(read.map(\.timestampMilliseconds) == expected.map(\.timestampMilliseconds))
    }
}
