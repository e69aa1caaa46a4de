import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// Arbitrary and forged bytes where a log should be: the reader never traps, never hangs, never
/// allocates what a length field claims, and never returns an entry that was not written.
@Suite("Hostile input")
struct HostileInputTests {
    /// A one-segment log directory whose segment file holds `body` after a valid header.
    static func log(segmentBody: [UInt8], header: Bool = true, firstSequence: UInt64 = 1, dictionaryID: UInt32 = 0) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "rewind-hostile")
        let name = LogFormat.segmentFileName(id: 1)
        let manifest = Manifest(segments: [.init(id: 1, fileName: name, firstSequence: firstSequence)])
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: directory.appending(LogFormat.manifestFileName)))
        let headerBytes = header
            ? SegmentHeader(dictionaryID: dictionaryID, segmentID: 1, firstSequence: firstSequence, createdMilliseconds: 0).encoded() : []
        try Data(headerBytes + segmentBody).write(to: URL(fileURLWithPath: directory.appending(name)))
        return directory
    }

    /// Every entry returned must be one that was written, at its own sequence number.
    static func expectOnlyWritten(_ outcome: ReadOutcome, _ written: [LogEntry], _ context: String) {
        let bySequence = Dictionary(uniqueKeysWithValues: written.map { ($0.sequence, $0) })
        for entry in outcome.entries where bySequence[entry.sequence] != entry {
            Issue.record("\(context): entry #\(entry.sequence) was never written as read")
            return
        }
    }

    @Test("Random bytes as a segment file: a bad segment header spanning the file")
    func randomSegmentFiles() throws {
        var generator = SeededGenerator(seed: 501)
        for trial in 0..<100 {
            let body = RandomEntries.bytes(count: Int.random(in: 0...3000, using: &generator), using: &generator)
            let directory = try Self.log(segmentBody: body, header: false)
            for mode in RecoveryMode.allCases {
                let outcome = LogFixture.read(directory: directory.path, recovery: mode)
                #expect(outcome.entries.isEmpty)
                #expect(outcome.reported.count == 1, "trial \(trial)")
                #expect(outcome.reported.first?.kind == .badSegmentHeader)
                #expect(outcome.reported.first?.byteOffset == 0)
                #expect(outcome.reported.first?.byteCount == body.count)
            }
        }
    }

    @Test("Random bytes after a valid segment header: one damaged range up to the end, nothing read")
    func randomRecords() throws {
        var generator = SeededGenerator(seed: 502)
        for trial in 0..<100 {
            var body = RandomEntries.bytes(count: Int.random(in: 1...3000, using: &generator), using: &generator)
            // Sprinkle record magics so that the resynchronizer has candidates to reject.
            for _ in 0..<Int.random(in: 0...20, using: &generator) where body.count >= 4 {
                let at = Int.random(in: 0...(body.count - 4), using: &generator)
                body.replaceSubrange(at..<(at + 4), with: ForgedRecord.littleEndian(LogFormat.recordMagic))
            }
            let directory = try Self.log(segmentBody: body)
            for mode in RecoveryMode.allCases {
                let outcome = LogFixture.read(directory: directory.path, recovery: mode)
                #expect(outcome.entries.isEmpty)
                let damage = try #require(outcome.reported.first, "trial \(trial)")
                #expect(outcome.reported.count == 1)
                #expect(damage.kind == .tornTail)
                #expect(damage.byteOffset == LogFormat.segmentHeaderByteCount)
                #expect(damage.byteCount == body.count)
                #expect((outcome.error == nil) == (mode != .absolute))
            }
        }
    }

    @Test("Random manifests, binary and textual, are refused or name files that are then missing")
    func randomManifests() throws {
        var generator = SeededGenerator(seed: 503)
        let directory = try TemporaryDirectory(prefix: "rewind-hostile")
        let path = directory.appending(LogFormat.manifestFileName)
        let words = ["rewind-log", "1", "segment", "dictionary", "incr", "base", "0", "2", "18446744073709551615",
                     "seg", "dict", "/", "..", "crc32c", "\u{0}", "é", " ", "-1"]
        for trial in 0..<400 {
            var bytes: [UInt8]
            if trial % 2 == 0 {
                bytes = RandomEntries.bytes(count: Int.random(in: 0...400, using: &generator), using: &generator)
            } else {
                // Lines of plausible words, with a correct checksum line half the time.
                var lines = ["rewind-log 1"]
                for _ in 0..<Int.random(in: 0...6, using: &generator) {
                    lines.append((0..<Int.random(in: 1...6, using: &generator)).map { _ in words.randomElement(using: &generator)! }.joined(separator: " "))
                }
                var text = Array((lines.joined(separator: "\n") + "\n").utf8)
                if Bool.random(using: &generator) { text += Array("crc32c \(String(CRC32C.checksum(text), radix: 16))\n".utf8) }
                bytes = text
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let outcome = LogFixture.read(directory: directory.path, recovery: .skipDamaged)
            if let error = outcome.logError {
                #expect(error.code == .badManifest, "trial \(trial): \(error)")
            } else {
                // It parsed: whatever it names is missing here, and reading says so.
                #expect(outcome.entries.isEmpty)
                #expect(outcome.reported.allSatisfy { $0.kind == .missingSegment })
            }
        }
        // Larger than a manifest may be: refused before it is read.
        let huge = FileHandle(forWritingAtPath: path)!
        huge.truncateFile(atOffset: UInt64(LogLimits.manifestByteCountMax + 1))
        huge.closeFile()
        #expect(throws: LogError.self) { try LogReader(directory: directory.path) }
    }

    @Test("Random dictionary files, and well-framed dictionaries of random content")
    func randomDictionaries() throws {
        let fixture = try LogFixture.standard()
        let file = fixture.dictionaryFileNames[0]
        var generator = SeededGenerator(seed: 504)
        let dictionarySegments = fixture.manifest.segments.filter { segment in
            fixture.records(in: segment.fileName).contains { $0.compression == .zstdDictionary }
        }
        for trial in 0..<60 {
            let content = RandomEntries.bytes(count: Int.random(in: 0...3000, using: &generator), using: &generator)
            let framed = trial % 2 == 1
            try fixture.write(framed ? StoredDictionary.encode(id: 1, dictionary: content) : content, to: file)
            let outcome = fixture.read(.skipDamaged)
            #expect(outcome.error == nil)
            #expect(!outcome.reported.isEmpty, "trial \(trial)")
            Self.expectOnlyWritten(outcome, fixture.entries, "trial \(trial)")
            if framed {
                // The file is sound; its content is not the dictionary the records need: each
                // record compressed with it is undecodable, the others are read.
                for damage in outcome.reported {
                    #expect(damage.kind == .undecodablePayload)
                    let record = fixture.records.first { $0.segmentFileName == damage.segmentFileName && $0.byteOffset == damage.byteOffset }
                    #expect(record?.compression == .zstdDictionary)
                    #expect(damage.byteCount == record?.recordByteCount)
                }
                let lost = outcome.reported.compactMap(\.lostSequences)
                #expect(entryDifference(outcome.entries, fixture.entries(excluding: lost)) == nil)
            } else {
                #expect(outcome.reported.map(\.kind) == dictionarySegments.map { _ in .missingDictionary })
            }
        }
    }

    @Test("Random byte runs written over a valid log are detected; no entry is ever read differently")
    func overwrittenRuns() throws {
        let fixture = try LogFixture.standard()
        var generator = SeededGenerator(seed: 505)
        let files = fixture.segmentFileNames + fixture.dictionaryFileNames
        var detected = 0
        for trial in 0..<300 {
            try fixture.restore()
            let file = files.randomElement(using: &generator)!
            let size = fixture.original[file]!.count
            let length = Int.random(in: 1...min(64, size), using: &generator)
            let offset = Int.random(in: 0...(size - length), using: &generator)
            var run = RandomEntries.bytes(count: length, using: &generator)
            if run == Array(fixture.original[file]![offset..<(offset + length)]) { run[0] ^= 1 }
            try fixture.overwrite(run, at: offset, in: file)
            for mode in RecoveryMode.allCases {
                let outcome = fixture.read(mode)
                Self.expectOnlyWritten(outcome, fixture.entries, "trial \(trial) \(mode)")
                #expect(outcome.detectedDamage, "trial \(trial): \(length) bytes at \(offset) of \(file), \(mode)")
                if mode == .tolerateTail && outcome.detectedDamage { detected += 1 }
                for damage in outcome.reported {
                    #expect(damage.byteCount >= 0 && damage.byteOffset + damage.byteCount <= (fixture.original[damage.segmentFileName]?.count ?? 0))
                }
            }
        }
        #expect(detected == 300)
    }

    // MARK: - Forged records: a valid checksum over absurd fields

    /// The standard log with the record at `position` of the last segment replaced by `forged`.
    static func forge(_ fixture: LogFixture, position: Int = 1, _ make: (LogReader.RecordInfo) -> [UInt8]) throws -> (LogReader.RecordInfo, [UInt8]) {
        let name = fixture.lastSegmentFileName
        let record = fixture.records(in: name)[position]
        var bytes = fixture.original[name]!
        let forged = make(record)
        bytes.replaceSubrange(record.byteOffset..<(record.byteOffset + record.recordByteCount), with: forged)
        try fixture.write(bytes, to: name)
        return (record, forged)
    }

    static let badHeaderNames = [
        "zero entries", "UInt32.max entries", "sequence 0", "sequence overflow", "1 GiB from 200 stored bytes",
        "4 GiB uncompressed", "stored differs from uncompressed without compression", "reserved flag bit",
        "compression 3", "reserved bytes",
    ]

    static func badHeader(_ index: Int, replacing record: LogReader.RecordInfo) -> [UInt8] {
        let small: [UInt8] = [0, 0, 1, 2]
        let zeros = [UInt8](repeating: 0, count: 200)
        let first = record.firstSequence
        switch index {
        case 0: return ForgedRecord.record(payload: small, firstSequence: first, entryCount: 0)
        case 1: return ForgedRecord.record(payload: small, firstSequence: first, entryCount: .max)
        case 2: return ForgedRecord.record(payload: small, firstSequence: 0, entryCount: 1)
        case 3: return ForgedRecord.record(payload: small, firstSequence: .max, entryCount: 2)
        case 4: return ForgedRecord.record(payload: zeros, uncompressedByteCount: 1 << 30, firstSequence: first, entryCount: 1, flags: 1)
        case 5: return ForgedRecord.record(payload: zeros, uncompressedByteCount: .max, firstSequence: first, entryCount: 1, flags: 1)
        case 6: return ForgedRecord.record(payload: small, uncompressedByteCount: 5, firstSequence: first, entryCount: 1)
        case 7: return ForgedRecord.record(payload: small, firstSequence: first, entryCount: 1, flags: 0x80)
        case 8: return ForgedRecord.record(payload: small, firstSequence: first, entryCount: 1, flags: 3)
        default: return ForgedRecord.record(payload: small, firstSequence: first, entryCount: 1, reserved: [0, 1, 0])
        }
    }

    @Test("A forged record header with a valid checksum is a bad record header, reported in place", arguments: 0..<10)
    func forgedHeaders(index: Int) throws {
        let name = Self.badHeaderNames[index]
        let fixture = try LogFixture.standard()
        let (record, forged) = try Self.forge(fixture) { Self.badHeader(index, replacing: $0) }
        let range = record.firstSequence...(record.firstSequence + UInt64(record.entryCount) - 1)
        let skip = fixture.read(.skipDamaged)
        #expect(skip.error == nil, "\(name)")
        #expect(skip.reported.count == 1, "\(name)")
        let damage = try #require(skip.reported.first)
        #expect(damage.kind == .badRecordHeader, "\(name)")
        #expect(damage.byteOffset == record.byteOffset)
        #expect(damage.byteCount == forged.count)
        #expect(damage.lostSequences == range)
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [range])) == nil, "\(name)")
        #expect(fixture.read(.tolerateTail).logError?.damage?.kind == .badRecordHeader)
    }

    /// Payloads whose first entry cannot be decoded, each with a valid record checksum.
    static let badPayloads: [(String, [UInt8])] = [
        ("reserved entry flag", [0x10, 0, 1, 2, 0x41]),
        ("db beyond UInt32", [0x08] + ForgedRecord.varint(1 << 33) + [0, 1, 2, 0x41]),
        ("overlong timestamp varint", [0x00] + [UInt8](repeating: 0xFF, count: 10) + [0x01, 1, 2, 0x41]),
        ("varint of 10 bytes over 64 bits", [0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 1, 2, 0x41]),
        ("unterminated varint", [0x00, 0x80, 0x80]),
        ("2^40 arguments", [0x00, 0] + ForgedRecord.varint(1 << 40) + [2, 0x41]),
        ("a million arguments in a few bytes", [0x00, 0] + ForgedRecord.varint(1_000_000) + [2, 0x41]),
        ("argument of 2^62 bytes", [0x00, 0, 2, 2, 0x41] + ForgedRecord.varint(1 << 62) + [1, 2, 3]),
        ("argument of 512 MiB + 1", [0x00, 0, 2, 2, 0x41] + ForgedRecord.varint(512 * 1024 * 1024 + 1) + [1]),
        ("argument past the payload", [0x00, 0, 2, 2, 0x41, 100, 1, 2, 3]),
        ("unknown token", [0x00, 0, 1] + ForgedRecord.varint(UInt64(100_000) << 1 | 1)),
        ("command without arguments", [0x00, 0, 0]),
        ("truncated reply hash", [0x04, 0, 1, 2, 0x41, 1, 2, 3]),
        ("bytes after the last entry", [0x00, 0, 1, 2, 0x41, 0xEE]),
        ("empty payload", []),
    ]

    @Test("A forged payload behind a valid checksum is undecodable, reported with the record's range", arguments: 0..<15)
    func forgedPayloads(index: Int) throws {
        let (name, payload) = Self.badPayloads[index]
        let fixture = try LogFixture.standard()
        let (record, forged) = try Self.forge(fixture) {
            ForgedRecord.record(payload: payload, firstSequence: $0.firstSequence, entryCount: UInt32($0.entryCount))
        }
        let range = record.firstSequence...(record.firstSequence + UInt64(record.entryCount) - 1)
        let skip = fixture.read(.skipDamaged)
        #expect(skip.error == nil, "\(name)")
        #expect(skip.reported.count == 1, "\(name): \(skip.reported)")
        let damage = try #require(skip.reported.first)
        #expect(damage.kind == .undecodablePayload, "\(name)")
        #expect(damage.byteOffset == record.byteOffset)
        #expect(damage.byteCount == forged.count)
        #expect(damage.recordIndex == record.recordIndex)
        #expect(damage.lostSequences == range)
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [range])) == nil, "\(name)")
        let strict = fixture.read(.tolerateTail)
        #expect(strict.logError?.code == .damaged)
        #expect(strict.logError?.damage?.kind == .undecodablePayload)
    }

    @Test("A transaction record whose last entry is undecodable delivers none of its entries")
    func undecodableTransactionIsWhole() throws {
        let fixture = try LogFixture.standard()
        let transaction = try #require(fixture.records.first { $0.entryCount == 5 })
        let payload = ForgedRecord.entry(flags: 2, arguments: []) + ForgedRecord.entry(arguments: [Array("SET".utf8), [1], [2]])
            + ForgedRecord.entry(arguments: [Array("SET".utf8), [3], [4]]) + ForgedRecord.entry(arguments: [Array("SET".utf8), [5], [6]])
            + [0x03, 0, 0, 0xEE]  // EXEC, then a byte too many
        let name = transaction.segmentFileName
        var bytes = fixture.original[name]!
        let forged = ForgedRecord.record(payload: payload, firstSequence: transaction.firstSequence, entryCount: 5)
        bytes.replaceSubrange(transaction.byteOffset..<(transaction.byteOffset + transaction.recordByteCount), with: forged)
        try fixture.write(bytes, to: name)
        let range = transaction.firstSequence...(transaction.firstSequence + 4)
        for mode in [RecoveryMode.skipDamaged, .pointInTime, .tolerateTail] {
            let outcome = fixture.read(mode)
            #expect(outcome.reported.map(\.kind) == [.undecodablePayload])
            #expect(outcome.reported.first?.lostSequences == range)
            #expect(!outcome.entries.contains { range.contains($0.sequence) }, "\(mode): half a transaction was delivered")
        }
    }

    @Test("A forged zstd payload (random bytes, wrong size, a dictionary the segment lacks) is undecodable",
          arguments: ["random frame", "frame of another size", "dictionary flag without dictionary", "truncated frame"])
    func forgedFrames(kind: String) throws {
        let fixture = try LogFixture.standard()
        var generator = SeededGenerator(seed: 506)
        let entry = ForgedRecord.entry(arguments: [Array("SET".utf8), Array("k".utf8), [UInt8](repeating: 0x61, count: 300)])
        let frame = LimitsTests.compress(entry)
        // The first segment has no dictionary.
        let name = fixture.segmentFileNames[0]
        let record = fixture.records(in: name)[1]
        let payload: [UInt8], uncompressed: Int, flags: UInt8
        switch kind {
        case "random frame": (payload, uncompressed, flags) = (RandomEntries.bytes(count: 100, using: &generator), 300, 1)
        case "frame of another size": (payload, uncompressed, flags) = (frame, entry.count + 1, 1)
        case "dictionary flag without dictionary": (payload, uncompressed, flags) = (frame, entry.count, 2)
        default: (payload, uncompressed, flags) = (Array(frame.dropLast(3)), entry.count, 1)
        }
        let forged = ForgedRecord.record(payload: payload, uncompressedByteCount: UInt32(uncompressed),
                                         firstSequence: record.firstSequence, entryCount: 1, flags: flags)
        var bytes = fixture.original[name]!
        bytes.replaceSubrange(record.byteOffset..<(record.byteOffset + record.recordByteCount), with: forged)
        try fixture.write(bytes, to: name)
        let skip = fixture.read(.skipDamaged)
        #expect(skip.reported.count == 1)
        #expect(skip.reported.first?.kind == .undecodablePayload)
        #expect(skip.reported.first?.byteOffset == record.byteOffset)
        #expect(skip.reported.first?.byteCount == forged.count)
        #expect(skip.reported.first?.lostSequences == record.firstSequence...record.firstSequence)
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [record.firstSequence...record.firstSequence])) == nil)
    }

    @Test("A record claiming 1 GiB uncompressed from 30 KB stored reports damage without allocating it")
    func noAllocationFromAClaimedLength() throws {
        let fixture = try LogFixture.standard()
        var generator = SeededGenerator(seed: 507)
        // Enough stored bytes that the compression-ratio bound alone does not refuse the claim.
        let stored = RandomEntries.bytes(count: 30_000, using: &generator)
        let realFrame = LimitsTests.compress(stored)
        for payload in [stored, realFrame] {
            try fixture.restore()
            let (record, forged) = try Self.forge(fixture) {
                ForgedRecord.record(payload: payload, uncompressedByteCount: 1 << 30, firstSequence: $0.firstSequence,
                                    entryCount: UInt32($0.entryCount), flags: 1)
            }
            resetPeakResidentBytes()
            let before = peakResidentBytes()
            let skip = fixture.read(.skipDamaged)
            let grown = peakResidentBytes() - before
            #expect(grown < 256 << 20, "reading grew the peak resident size by \(grown >> 20) MiB")
            #expect(skip.reported.count == 1)
            #expect(skip.reported.first?.kind == .undecodablePayload)
            #expect(skip.reported.first?.byteOffset == record.byteOffset)
            #expect(skip.reported.first?.byteCount == forged.count)
        }
    }

    @Test("Thousands of record magics with plausible lengths do not make resynchronizing quadratic")
    func resynchronizingIsBounded() throws {
        // Every 12 bytes a magic, a checksum and a stored length of half the file: each candidate
        // fits, so a naive resynchronizer checksums half the file for each of them.
        let size = 2 << 20
        var unit = ForgedRecord.littleEndian(LogFormat.recordMagic) + ForgedRecord.littleEndian(UInt32(0))
        unit += ForgedRecord.littleEndian(UInt32(size / 2))
        var body: [UInt8] = []
        body.reserveCapacity(size)
        while body.count + unit.count <= size { body += unit }
        let directory = try Self.log(segmentBody: [0] + body)
        let start = Date()
        let outcome = LogFixture.read(directory: directory.path, recovery: .skipDamaged)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 5, "reading took \(elapsed) s")
        #expect(outcome.reported.count == 1)
        #expect(outcome.reported.first?.kind == .tornTail)
        #expect(outcome.reported.first?.byteCount == body.count + 1)
    }
}

/// The process's peak resident set size (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    return kilobytes * 1024
}

/// Resets VmHWM to the current resident size (Linux: write 5 to /proc/self/clear_refs).
func resetPeakResidentBytes() {
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}
