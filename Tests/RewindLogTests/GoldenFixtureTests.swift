import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// Logs of format version 1 committed under fixtures/format-v1/, read with exact expected results.
///
/// These files are never "updated": a reader that cannot read them as below has broken format 1.
/// They were made once by `writeGoldens` (run only with REWIND_UPDATE_GOLDENS=1); see
/// fixtures/format-v1/README.md for exactly how.
@Suite("Golden fixtures, format v1")
struct GoldenFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/format-v1").path

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Every entry of valid.rwlog, as literals. The transaction's markers (#8 and #11) are
    /// written by the writer with the first inner entry's timestamp and db.
    static let validEntries: [LogEntry] = [
        LogEntry(sequence: 1, timestampMilliseconds: 1_700_000_000_000, db: 0, arguments: [bytes("SET"), bytes("user:1"), bytes("alice")]),
        LogEntry(sequence: 2, timestampMilliseconds: 1_700_000_000_007, db: 0, arguments: [bytes("SET"), bytes("user:2"), bytes("bob")]),
        LogEntry(sequence: 3, timestampMilliseconds: 1_700_000_000_015, db: 0, arguments: [bytes("INCR"), bytes("visits")]),
        LogEntry(sequence: 4, timestampMilliseconds: 1_700_000_000_015, db: 0, arguments: [bytes("HSET"), bytes("session:9"), bytes("ip"), bytes("10.0.0.1"), bytes("agent"), bytes("curl/8.5")]),
        LogEntry(sequence: 5, timestampMilliseconds: 1_700_000_000_090, db: 1, arguments: [bytes("SET"), bytes("cache:a"), [0x00, 0x01, 0x02, 0xFF, 0xFE, 0x0A, 0x0D]]),
        LogEntry(sequence: 6, timestampMilliseconds: 1_700_000_000_091, db: 1, arguments: [bytes("lpush"), bytes("queue"), bytes("job-1"), bytes("job-2")]),
        LogEntry(sequence: 7, timestampMilliseconds: 1_700_000_000_200, db: 0, arguments: [bytes("DEL"), bytes("user:2")], replyHash: 0x0123_4567_89AB_CDEF),
        LogEntry(sequence: 8, timestampMilliseconds: 1_700_000_000_250, db: 0, kind: .transactionBegin, arguments: []),
        LogEntry(sequence: 9, timestampMilliseconds: 1_700_000_000_250, db: 0, arguments: [bytes("INCR"), bytes("visits")]),
        LogEntry(sequence: 10, timestampMilliseconds: 1_700_000_000_250, db: 0, arguments: [bytes("SET"), bytes("motd"), bytes(String(repeating: "hello world ", count: 8))]),
        LogEntry(sequence: 11, timestampMilliseconds: 1_700_000_000_250, db: 0, kind: .transactionEnd, arguments: []),
        LogEntry(sequence: 12, timestampMilliseconds: 1_700_000_000_300, db: 0, kind: .checkpoint,
                 arguments: [[0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF]]),
        LogEntry(sequence: 13, timestampMilliseconds: 1_700_000_000_310, db: 0, arguments: [bytes("ZADD"), bytes("board"), bytes("10"), bytes("alice"), bytes("20"), bytes("bob")]),
        LogEntry(sequence: 14, timestampMilliseconds: 1_700_000_000_305, db: 0, arguments: [bytes("EXPIRE"), bytes("user:1"), bytes("3600")]),
        LogEntry(sequence: 15, timestampMilliseconds: 1_700_000_000_320, db: 0, arguments: [bytes("SET"), [], []]),
        LogEntry(sequence: 16, timestampMilliseconds: 1_700_000_000_330, db: 2, arguments: [bytes("X-CUSTOM"), [0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]], replyHash: 0),
        LogEntry(sequence: 17, timestampMilliseconds: 1_700_000_000_400, db: 0, arguments: [bytes("SET"), bytes("user:3"), bytes("carol")]),
        LogEntry(sequence: 18, timestampMilliseconds: 1_700_000_000_401, db: 0, arguments: [bytes("SET"), bytes("user:4"), bytes("dave")]),
        LogEntry(sequence: 19, timestampMilliseconds: 1_700_000_000_402, db: 0, arguments: [bytes("SET"), bytes("user:5"), bytes("erin")]),
        LogEntry(sequence: 20, timestampMilliseconds: 1_700_000_000_403, db: 1, arguments: [bytes("SET"), bytes("user:6"), bytes("frank")]),
        LogEntry(sequence: 21, timestampMilliseconds: 1_700_000_000_404, db: 0, arguments: [bytes("HSET"), bytes("session:10"), bytes("ip"), bytes("10.0.0.2"), bytes("agent"), bytes("curl/8.5")]),
        LogEntry(sequence: 22, timestampMilliseconds: 1_700_000_000_405, db: 0, arguments: [bytes("HSET"), bytes("session:11"), bytes("ip"), bytes("10.0.0.3"), bytes("agent"), bytes("curl/8.5")]),
        LogEntry(sequence: 23, timestampMilliseconds: 1_700_000_000_406, db: 0, arguments: [bytes("INCR"), bytes("visits")], replyHash: 0xFFFF_FFFF_FFFF_FFFF),
        LogEntry(sequence: 24, timestampMilliseconds: 1_700_000_000_500, db: 0, arguments: [bytes("SET"), bytes("user:7"), bytes("grace")]),
        LogEntry(sequence: 25, timestampMilliseconds: 1_700_000_000_501, db: 0, arguments: [bytes("SET"), bytes("user:8"), bytes("heidi")]),
        LogEntry(sequence: 26, timestampMilliseconds: 1_700_000_000_502, db: 1, arguments: [bytes("LPUSH"), bytes("queue"), bytes("job-3")]),
        LogEntry(sequence: 27, timestampMilliseconds: 1_700_000_000_503, db: 0, arguments: [bytes("HSET"), bytes("session:12"), bytes("ip"), bytes("10.0.0.4"), bytes("agent"), bytes("curl/8.5")]),
        LogEntry(sequence: 28, timestampMilliseconds: 1_700_000_000_504, db: 0, arguments: [bytes("SET"), bytes("user:9"), bytes("ivan")]),
        LogEntry(sequence: 29, timestampMilliseconds: 1_700_000_000_505, db: 0, arguments: [bytes("INCR"), bytes("visits")]),
        LogEntry(sequence: 30, timestampMilliseconds: 1_700_000_000_600, db: 0, arguments: [bytes("SET"), bytes("user:10"), bytes("judy")]),
    ]

    /// How valid.rwlog was written: each entry its own record, the transaction one record.
    static var validBatches: [LogBatch] {
        var batches: [LogBatch] = []
        var inner: [LogEntry]?
        for entry in validEntries {
            switch entry.kind {
            case .transactionBegin: inner = []
            case .transactionEnd:
                batches.append(LogBatch(inner!, transaction: true))
                inner = nil
            default:
                if inner != nil { inner!.append(entry) } else { batches.append(LogBatch([entry])) }
            }
        }
        return batches
    }

    /// The writer options of valid.rwlog: the dictionary is trained on the first 16 entries.
    static let validOptions = LogWriter.Options(
        durability: .no, segmentByteCountTarget: 1 << 20, compressionLevel: 3, trainsDictionary: true,
        dictionaryByteCountMax: 1024, dictionarySampleEntryCount: 16, flushIntervalMilliseconds: 60_000)

    /// Where each record of valid.rwlog sits: segment, offset, bytes, first sequence, entries, compression.
    static let validRecords: [(String, Int, Int, UInt64, Int, LogFormat.Compression)] = [
        ("seg-000000000001.rwseg", 48, 57, 1, 1, .none),
        ("seg-000000000001.rwseg", 105, 55, 2, 1, .none),
        ("seg-000000000001.rwseg", 160, 51, 3, 1, .none),
        ("seg-000000000001.rwseg", 211, 82, 4, 1, .none),
        ("seg-000000000001.rwseg", 293, 61, 5, 1, .none),
        ("seg-000000000001.rwseg", 354, 64, 6, 1, .none),
        ("seg-000000000001.rwseg", 418, 59, 7, 1, .none),
        ("seg-000000000001.rwseg", 477, 96, 8, 4, .zstd),
        ("seg-000000000001.rwseg", 573, 64, 12, 1, .none),
        ("seg-000000000001.rwseg", 637, 67, 13, 1, .none),
        ("seg-000000000001.rwseg", 704, 56, 14, 1, .none),
        ("seg-000000000001.rwseg", 760, 46, 15, 1, .none),
        ("seg-000000000001.rwseg", 806, 69, 16, 1, .none),
        ("seg-000000000002.rwseg", 48, 57, 17, 1, .none),
        ("seg-000000000002.rwseg", 105, 56, 18, 1, .none),
        ("seg-000000000002.rwseg", 161, 56, 19, 1, .none),
        ("seg-000000000002.rwseg", 217, 58, 20, 1, .none),
        ("seg-000000000002.rwseg", 275, 70, 21, 1, .zstdDictionary),
        ("seg-000000000002.rwseg", 345, 70, 22, 1, .zstdDictionary),
        ("seg-000000000002.rwseg", 415, 59, 23, 1, .none),
        ("seg-000000000002.rwseg", 474, 57, 24, 1, .none),
        ("seg-000000000002.rwseg", 531, 57, 25, 1, .none),
        ("seg-000000000002.rwseg", 588, 58, 26, 1, .none),
        ("seg-000000000002.rwseg", 646, 70, 27, 1, .zstdDictionary),
        ("seg-000000000002.rwseg", 716, 56, 28, 1, .none),
        ("seg-000000000002.rwseg", 772, 51, 29, 1, .none),
        ("seg-000000000002.rwseg", 823, 57, 30, 1, .none),
    ]

    static func path(_ name: String) -> String { directory + "/" + name }

    /// A scratch copy of a golden log, for a writer (the committed files are never written).
    static func scratchCopy(_ name: String) throws -> (TemporaryDirectory, String) {
        let scratch = try TemporaryDirectory(prefix: "rewind-golden")
        let target = scratch.appending(name)
        try FileManager.default.copyItem(atPath: path(name), toPath: target)
        return (scratch, target)
    }

    @Test("valid.rwlog: every entry as written, every record where it was, no damage in any mode", arguments: RecoveryMode.allCases)
    func valid(mode: RecoveryMode) throws {
        let outcome = LogFixture.read(directory: Self.path("valid.rwlog"), recovery: mode)
        #expect(outcome.error == nil)
        #expect(outcome.reported.isEmpty)
        #expect(entryDifference(outcome.entries, Self.validEntries) == nil)
        #expect(outcome.entries == Self.validEntries)
        let summary = try #require(outcome.summary)
        #expect(summary.entryCount == 30)
        #expect(summary.recordCount == 27)
        #expect(summary.lastSequence == 30)
        #expect(!summary.stoppedAtDamage)
        #expect(summary.tail?.segmentIndex == 1)
        #expect(summary.tail?.byteOffset == 880)
    }

    @Test("valid.rwlog: manifest, dictionary and record layout are exactly as committed")
    func validLayout() throws {
        let reader = try LogReader(directory: Self.path("valid.rwlog"))
        #expect(reader.manifest == Manifest(
            segments: [.init(id: 1, fileName: "seg-000000000001.rwseg", firstSequence: 1),
                       .init(id: 2, fileName: "seg-000000000002.rwseg", firstSequence: 17)],
            dictionaries: [.init(id: 1, fileName: "dict-000001.zdict")]))
        let records = try LogFixture.records(in: Self.path("valid.rwlog"))
        #expect(records.count == Self.validRecords.count)
        for (record, expected) in zip(records, Self.validRecords) {
            #expect(record.segmentFileName == expected.0)
            #expect(record.byteOffset == expected.1)
            #expect(record.recordByteCount == expected.2)
            #expect(record.firstSequence == expected.3)
            #expect(record.entryCount == expected.4)
            #expect(record.compression == expected.5)
        }
        // Reading from the middle starts in the right segment, at the right entry.
        let tail = LogFixture.read(directory: Self.path("valid.rwlog"), recovery: .absolute, from: 20)
        #expect(tail.entries == Array(Self.validEntries[19...]))
        #expect(tail.summary?.recordCount == 14)
        // A writer opens a copy with nothing to recover and continues at #31.
        let (scratch, copy) = try Self.scratchCopy("valid.rwlog")
        let writer = try LogWriter.open(directory: copy, options: Self.validOptions)
        #expect(writer.recoveredDamage == nil)
        #expect(try writer.append(.command(["SET", "after", "golden"], at: 1_700_000_001_000)) == 31)
        try writer.close()
        #expect(LogFixture.read(directory: copy, recovery: .absolute).entries.count == 31)
        _ = scratch
    }

    static let tornTail = LogDamage(
        kind: .tornTail, segmentFileName: "seg-000000000002.rwseg", byteOffset: 823, byteCount: 50, recordIndex: 13,
        lostSequences: nil, reason: "")

    static func place(_ damage: LogDamage?) -> String? { damage.map(BitFlipTests.placeOf) }

    @Test("torn-tail.rwlog: the last record, cut 7 bytes short, is one torn tail of 50 bytes at 823", arguments: RecoveryMode.allCases)
    func tornTail(mode: RecoveryMode) throws {
        let outcome = LogFixture.read(directory: Self.path("torn-tail.rwlog"), recovery: mode)
        #expect(outcome.reported.map(Self.place) == [Self.place(Self.tornTail)])
        #expect(outcome.reported.first?.lostSequences == nil)
        if mode == .absolute {
            #expect(outcome.logError?.code == .damaged)
            #expect(Self.place(outcome.logError?.damage) == Self.place(Self.tornTail))
        } else {
            #expect(outcome.error == nil)
            #expect(outcome.entries == Array(Self.validEntries.prefix(29)))
            #expect(outcome.summary?.stoppedAtDamage == (mode != .skipDamaged))
            #expect(outcome.summary?.lastSequence == 29)
            #expect(outcome.summary?.tail?.byteOffset == 823)
        }
    }

    @Test("torn-tail.rwlog: a writer cuts the 50 bytes and continues at #30")
    func tornTailReopened() throws {
        let (scratch, copy) = try Self.scratchCopy("torn-tail.rwlog")
        let writer = try LogWriter.open(directory: copy, options: Self.validOptions)
        #expect(Self.place(writer.recoveredDamage) == Self.place(Self.tornTail))
        #expect(try FileIO.fileSize(copy + "/seg-000000000002.rwseg") == 823)
        #expect(try writer.append(Self.validEntries[29]) == 30)
        try writer.close()
        let outcome = LogFixture.read(directory: copy, recovery: .absolute)
        #expect(outcome.reported.isEmpty)
        #expect(outcome.entries == Self.validEntries)
        _ = scratch
    }

    static let flippedBit = LogDamage(
        kind: .checksumMismatch, segmentFileName: "seg-000000000001.rwseg", byteOffset: 211, byteCount: 82, recordIndex: 3,
        lostSequences: 4...4, reason: "")

    @Test("flipped-bit.rwlog: record 3 of the first segment fails its checksum; only #4 is lost", arguments: RecoveryMode.allCases)
    func flippedBit(mode: RecoveryMode) throws {
        let outcome = LogFixture.read(directory: Self.path("flipped-bit.rwlog"), recovery: mode)
        #expect(outcome.reported.map(Self.place) == [Self.place(Self.flippedBit)])
        switch mode {
        case .tolerateTail, .absolute:
            #expect(outcome.logError?.code == .damaged)
            #expect(Self.place(outcome.logError?.damage) == Self.place(Self.flippedBit))
            #expect(outcome.entries == Array(Self.validEntries.prefix(3)))
        case .pointInTime:
            #expect(outcome.error == nil)
            #expect(outcome.entries == Array(Self.validEntries.prefix(3)))
            #expect(outcome.summary?.stoppedAtDamage == true)
        case .skipDamaged:
            #expect(outcome.error == nil)
            #expect(outcome.entries == Self.validEntries.filter { $0.sequence != 4 })
            #expect(outcome.summary?.stoppedAtDamage == false)
            #expect(outcome.summary?.lastSequence == 30)
        }
    }

    @Test("The golden logs are the committed bytes: sizes as made")
    func committedSizes() throws {
        let sizes: [String: [String: Int]] = [
            "valid.rwlog": ["MANIFEST": 141, "dict-000001.zdict": 441, "seg-000000000001.rwseg": 875, "seg-000000000002.rwseg": 880],
            "torn-tail.rwlog": ["MANIFEST": 141, "dict-000001.zdict": 441, "seg-000000000001.rwseg": 875, "seg-000000000002.rwseg": 873],
            "flipped-bit.rwlog": ["MANIFEST": 141, "dict-000001.zdict": 441, "seg-000000000001.rwseg": 875, "seg-000000000002.rwseg": 880],
        ]
        for (log, files) in sizes {
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: Self.path(log))) == Set(files.keys), "\(log)")
            for (file, size) in files { #expect(try FileIO.fileSize(Self.path(log + "/" + file)) == size, "\(log)/\(file)") }
        }
        // The two damaged logs differ from valid.rwlog only where their README says.
        let valid = try Data(contentsOf: URL(fileURLWithPath: Self.path("valid.rwlog/seg-000000000001.rwseg")))
        let flipped = try Data(contentsOf: URL(fileURLWithPath: Self.path("flipped-bit.rwlog/seg-000000000001.rwseg")))
        let differing = zip(valid, flipped).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(differing.map(\.offset) == [256])
        #expect(differing.first.map { $0.element.0 ^ $0.element.1 } == 4)
        let validLast = try Data(contentsOf: URL(fileURLWithPath: Self.path("valid.rwlog/seg-000000000002.rwseg")))
        let tornLast = try Data(contentsOf: URL(fileURLWithPath: Self.path("torn-tail.rwlog/seg-000000000002.rwseg")))
        #expect(validLast.prefix(873) == tornLast)
    }

    @Test("Regenerate the golden fixtures (only with REWIND_UPDATE_GOLDENS=1)",
          .enabled(if: ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1"))
    func writeGoldens() throws {
        let fixture = try LogFixture(batches: Self.validBatches, options: Self.validOptions)
        for record in fixture.records {
            print("golden record", record.segmentFileName, record.recordIndex, record.byteOffset, record.recordByteCount,
                  record.firstSequence, record.entryCount, record.compression)
        }
        let fileManager = FileManager.default
        for name in ["valid.rwlog", "torn-tail.rwlog", "flipped-bit.rwlog"] {
            try? fileManager.removeItem(atPath: Self.directory + "/" + name)
            try fixture.copy(to: Self.directory + "/" + name)
        }
        // torn-tail: the last segment loses its final 7 bytes (inside its last record).
        let last = fixture.lastSegmentFileName
        let lastBytes = fixture.original[last]!
        try Data(lastBytes.dropLast(7)).write(to: URL(fileURLWithPath: Self.directory + "/torn-tail.rwlog/" + last))
        // flipped-bit: bit 2 of byte 45 of record 3 (#4, the first HSET) of the first segment.
        let first = fixture.segmentFileNames[0]
        var firstBytes = fixture.original[first]!
        let record = fixture.records(in: first)[3]
        firstBytes[record.byteOffset + 45] ^= 1 << 2
        try Data(firstBytes).write(to: URL(fileURLWithPath: Self.directory + "/flipped-bit.rwlog/" + first))
        print("golden flipped record", record.byteOffset, record.recordByteCount, "last record", fixture.records.last!.byteOffset, fixture.records.last!.recordByteCount)
    }
}
