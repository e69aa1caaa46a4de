import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// Single-bit flips anywhere in a log: segment headers, record headers, payloads, the manifest and
/// the dictionary. Every flip is detected, and skip-damaged mode loses exactly the damaged part.
@Suite("Bit flips")
struct BitFlipTests {
    /// What reading must report for a flip of `bit` in `file`: the damages in order, or nil when
    /// the manifest itself is broken (the reader refuses the log).
    struct Expectation {
        var damages: [LogDamage]
        /// Sequence numbers skip-damaged mode loses, including a torn tail's (which has no range).
        var lost: [ClosedRange<UInt64>]
    }

    static func expectation(_ fixture: LogFixture, file: String, bit: Int) -> Expectation? {
        let byte = bit / 8
        let segments = fixture.manifest.segments
        if file == LogFormat.manifestFileName { return nil }
        func wholeSegment(_ index: Int, _ kind: LogDamage.Kind) -> (LogDamage, ClosedRange<UInt64>?) {
            let segment = segments[index]
            let isLast = index == segments.count - 1
            let range = fixture.sequences(ofSegment: index)
            let damage = LogDamage(
                kind: kind, segmentFileName: segment.fileName, byteOffset: 0,
                byteCount: fixture.original[segment.fileName]!.count, recordIndex: 0,
                lostSequences: isLast ? nil : range, reason: "")
            return (damage, range)
        }
        if fixture.dictionaryFileNames.contains(file) {
            // Every segment that names the dictionary is lost.
            let id = fixture.manifest.dictionaries.first { $0.fileName == file }!.id
            var result = Expectation(damages: [], lost: [])
            for index in segments.indices {
                let header = fixture.original[segments[index].fileName]!
                let dictionaryID = UInt32(header[12]) | UInt32(header[13]) << 8 | UInt32(header[14]) << 16 | UInt32(header[15]) << 24
                guard dictionaryID == id else { continue }
                let (damage, range) = wholeSegment(index, .missingDictionary)
                result.damages.append(damage)
                if let range { result.lost.append(range) }
            }
            return result
        }
        let index = segments.firstIndex { $0.fileName == file }!
        let isLast = index == segments.count - 1
        if byte < LogFormat.segmentHeaderByteCount {
            let (damage, range) = wholeSegment(index, .badSegmentHeader)
            return Expectation(damages: [damage], lost: range.map { [$0] } ?? [])
        }
        let records = fixture.records(in: file)
        let position = records.firstIndex { $0.byteOffset <= byte && byte < $0.byteOffset + $0.recordByteCount }!
        let record = records[position]
        let fileSize = fixture.original[file]!.count
        let inRecord = byte - record.byteOffset
        var kind = LogDamage.Kind.checksumMismatch
        if inRecord < 4 {
            kind = .badRecordHeader
        } else if (8..<12).contains(inRecord) {
            let flipped = UInt32(record.storedPayloadByteCount) ^ (UInt32(1) << UInt32(bit - (record.byteOffset + 8) * 8))
            if Int(flipped) > fileSize - record.byteOffset - LogFormat.recordHeaderByteCount { kind = .badRecordHeader }
        }
        let isLastRecord = position == records.count - 1
        if isLastRecord { kind = isLast ? .tornTail : (kind == .checksumMismatch ? kind : .truncatedSegment) }
        let range = record.firstSequence...(record.firstSequence + UInt64(record.entryCount) - 1)
        let damage = LogDamage(
            kind: kind, segmentFileName: file, byteOffset: record.byteOffset,
            byteCount: isLastRecord ? fileSize - record.byteOffset : record.recordByteCount,
            recordIndex: record.recordIndex, lostSequences: isLastRecord && isLast ? nil : range, reason: "")
        return Expectation(damages: [damage], lost: [range])
    }

    /// Compares damages without their reasons (the words may change; the places may not).
    static func placeOf(_ damage: LogDamage) -> String {
        "\(damage.kind) \(damage.segmentFileName) @\(damage.byteOffset)+\(damage.byteCount) record \(damage.recordIndex.map(String.init) ?? "-") lost \(damage.lostSequences.map { "\($0)" } ?? "-")"
    }

    /// Flips `bit` of `file`, checks every recovery mode against the expectation, and puts the
    /// byte back. Returns true when the flip was detected in the default mode.
    @discardableResult
    static func checkFlip(_ fixture: LogFixture, file: String, bit: Int) throws -> Bool {
        try fixture.flipBit(at: bit, in: file)
        defer { try? fixture.flipBit(at: bit, in: file) }
        let context = "flip of bit \(bit) (byte \(bit / 8)) in \(file)"
        let tolerate = fixture.read(.tolerateTail)
        guard let expected = expectation(fixture, file: file, bit: bit) else {
            for mode in RecoveryMode.allCases {
                let outcome = mode == .tolerateTail ? tolerate : fixture.read(mode)
                #expect(outcome.logError?.code == .badManifest, "\(context), \(mode)")
                #expect(outcome.reported.isEmpty)
            }
            return tolerate.logError?.code == .badManifest
        }
        let first = expected.damages[0]
        let allLost = expected.lost
        // Default mode: a torn tail is cut and reported, anything else refused.
        if first.kind == .tornTail {
            #expect(tolerate.error == nil, "\(context)")
            #expect(tolerate.reported.map(placeOf) == [placeOf(first)], "\(context)")
            #expect(entryDifference(tolerate.entries, fixture.entries(excluding: allLost)) == nil, "\(context)")
        } else {
            #expect(tolerate.logError?.code == .damaged, "\(context)")
            #expect(tolerate.logError?.damage.map(placeOf) == placeOf(first), "\(context)")
        }
        let absolute = fixture.read(.absolute)
        #expect(absolute.logError?.code == .damaged, "\(context)")
        #expect(absolute.logError?.damage.map(placeOf) == placeOf(first), "\(context)")
        let pointInTime = fixture.read(.pointInTime)
        #expect(pointInTime.error == nil, "\(context)")
        #expect(pointInTime.reported.map(placeOf) == [placeOf(first)], "\(context)")
        #expect(pointInTime.summary?.stoppedAtDamage == true)
        let firstLost = allLost.first?.lowerBound ?? fixture.entries.last!.sequence + 1
        #expect(entryDifference(pointInTime.entries, fixture.entries.filter { $0.sequence < firstLost }) == nil, "\(context)")
        // Skip-damaged: every damage reported with its place and lost range; everything else read.
        let skip = fixture.read(.skipDamaged)
        #expect(skip.error == nil, "\(context)")
        #expect(skip.reported.map(placeOf) == expected.damages.map(placeOf), "\(context)")
        #expect(skip.summary?.damages == skip.reported)
        #expect(entryDifference(skip.entries, fixture.entries(excluding: allLost)) == nil, "\(context)")
        return tolerate.detectedDamage
    }

    @Test("1,000 seeded random single-bit flips anywhere in the log are all detected, and skip-damaged loses only the damaged part")
    func thousandRandomFlips() throws {
        let fixture = try LogFixture.standard()
        let files = fixture.logFileNames
        let sizes = files.map { fixture.original[$0]!.count }
        let totalBits = sizes.reduce(0, +) * 8
        var generator = SeededGenerator(seed: 0xB17F_1105)
        var detected = 0
        var byFile: [String: Int] = [:]
        for _ in 0..<1000 {
            var bit = Int.random(in: 0..<totalBits, using: &generator)
            var fileIndex = 0
            while bit >= sizes[fileIndex] * 8 {
                bit -= sizes[fileIndex] * 8
                fileIndex += 1
            }
            if try Self.checkFlip(fixture, file: files[fileIndex], bit: bit) { detected += 1 }
            byFile[files[fileIndex], default: 0] += 1
        }
        #expect(detected == 1000)
        print("bit flips: \(detected) of 1000 detected; by file \(byFile.sorted { $0.key < $1.key })")
        // The draw covered every file of the log.
        #expect(Set(byFile.keys) == Set(files))
        // And the log is back as it was.
        let clean = fixture.read(.absolute)
        #expect(clean.reported.isEmpty)
        #expect(entryDifference(clean.entries, fixture.entries) == nil)
    }

    @Test("Every bit of the manifest, of segment headers, and of record headers at both ends of the dictionary switch")
    func exhaustiveHeaderFlips() throws {
        let fixture = try LogFixture.standard()
        for bit in 0..<(fixture.original[LogFormat.manifestFileName]!.count * 8) {
            #expect(try Self.checkFlip(fixture, file: LogFormat.manifestFileName, bit: bit), "manifest bit \(bit)")
        }
        // Every bit of the last segment's header (where a writer appends) and every fifth bit of
        // the others.
        for segment in fixture.segmentFileNames {
            for bit in stride(from: 0, to: LogFormat.segmentHeaderByteCount * 8, by: segment == fixture.lastSegmentFileName ? 1 : 5) {
                #expect(try Self.checkFlip(fixture, file: segment, bit: bit))
            }
        }
        for record in fixture.records(in: fixture.lastSegmentFileName).suffix(2) + fixture.records(in: fixture.segmentFileNames[3]).prefix(2) {
            for bit in (record.byteOffset * 8)..<((record.byteOffset + LogFormat.recordHeaderByteCount) * 8) {
                #expect(try Self.checkFlip(fixture, file: record.segmentFileName, bit: bit))
            }
        }
    }

    @Test("Every bit of the dictionary header and a sample of its body loses exactly the segments that use it")
    func dictionaryFlips() throws {
        let fixture = try LogFixture.standard()
        let file = try #require(fixture.dictionaryFileNames.first)
        let size = fixture.original[file]!.count
        for bit in Array(0..<(LogFormat.dictionaryHeaderByteCount * 8)) + Array(stride(from: LogFormat.dictionaryHeaderByteCount * 8, to: size * 8, by: 97)) {
            #expect(try Self.checkFlip(fixture, file: file, bit: bit))
        }
        // A damaged dictionary also stops a writer from appending with it.
        try fixture.flipBit(at: size * 8 - 1, in: file)
        #expect(throws: LogError.self) { try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions) }
    }
}
