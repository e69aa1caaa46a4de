import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// A log cut short at every byte offset of its last records, as a crash mid-write leaves it
/// (LevelDB `log_test.cc`: TruncatedTrailingRecordIsIgnored, BadLength...).
@Suite("Truncation")
struct TruncationTests {
    /// The damage a cut at `length` leaves in the last segment, nil when it falls on a boundary.
    static func expectedTornTail(_ fixture: LogFixture, cutAt length: Int) -> (record: LogReader.RecordInfo, entries: [LogEntry])? {
        let records = fixture.records(in: fixture.lastSegmentFileName)
        guard let torn = records.first(where: { $0.byteOffset < length && length < $0.byteOffset + $0.recordByteCount }) else {
            return nil
        }
        return (torn, fixture.entries.filter { $0.sequence < torn.firstSequence })
    }

    @Test("Cutting the last segment at every offset of its last three records: whole records survive, the cut is one torn tail")
    func everyOffsetOfTheLastThreeRecords() throws {
        let fixture = try LogFixture.standard()
        let last = fixture.lastSegmentFileName
        let lastIndex = fixture.manifest.segments.count - 1
        let records = fixture.records(in: last)
        try #require(records.count >= 3)
        let fileSize = fixture.original[last]!.count
        let start = records[records.count - 3].byteOffset
        var checked = 0, boundaries = 0
        for length in start..<fileSize {
            try fixture.restore()
            try fixture.truncate(last, to: length)
            let expected = Self.expectedTornTail(fixture, cutAt: length)
            let cutoff = records.first { $0.byteOffset + $0.recordByteCount > length }!.firstSequence
            let survivors = fixture.entries.filter { $0.sequence < cutoff }
            for mode in [RecoveryMode.tolerateTail, .pointInTime, .skipDamaged] {
                let outcome = fixture.read(mode)
                #expect(outcome.error == nil, "cut at \(length), \(mode): \(String(describing: outcome.error))")
                #expect(entryDifference(outcome.entries, survivors) == nil, "cut at \(length), \(mode)")
                let summary = try #require(outcome.summary)
                if let expected {
                    let damage = try #require(outcome.reported.first, "cut at \(length), \(mode): no damage reported")
                    #expect(outcome.reported.count == 1)
                    #expect(damage.kind == .tornTail)
                    #expect(damage.segmentFileName == last)
                    #expect(damage.byteOffset == expected.record.byteOffset)
                    #expect(damage.byteCount == length - expected.record.byteOffset)
                    #expect(damage.recordIndex == expected.record.recordIndex)
                    #expect(summary.damages == outcome.reported)
                    #expect(summary.stoppedAtDamage == (mode != .skipDamaged))
                    #expect(summary.tail?.segmentIndex == lastIndex)
                    #expect(summary.tail?.byteOffset == expected.record.byteOffset)
                } else {
                    #expect(outcome.reported.isEmpty, "cut at \(length) is a record boundary, \(mode): \(outcome.reported)")
                    #expect(!summary.stoppedAtDamage)
                    #expect(summary.tail?.byteOffset == length)
                }
                #expect(summary.lastSequence == (survivors.last?.sequence ?? 0))
                #expect(summary.entryCount == survivors.count)
            }
            // Absolute consistency refuses the torn tail, naming it.
            let absolute = fixture.read(.absolute)
            if let expected {
                let error = try #require(absolute.logError, "cut at \(length): absolute accepted a torn tail")
                #expect(error.code == .damaged)
                #expect(error.damage?.kind == .tornTail)
                #expect(error.damage?.byteOffset == expected.record.byteOffset)
                #expect(error.damage?.byteCount == length - expected.record.byteOffset)
                #expect(absolute.reported.count == 1)
                checked += 1
            } else {
                #expect(absolute.error == nil)
                #expect(entryDifference(absolute.entries, survivors) == nil)
                boundaries += 1
            }
        }
        #expect(boundaries == 3)
        #expect(checked == fileSize - start - 3)
        print("truncation: \(fileSize - start) cuts in the last 3 records (\(checked) torn tails, \(boundaries) boundaries), 4 modes each")
    }

    @Test("Reopening after a cut at every offset trims the tail, continues the sequence, and reads back whole")
    func reopenAfterEveryCut() throws {
        let fixture = try LogFixture.standard()
        let last = fixture.lastSegmentFileName
        let records = fixture.records(in: last)
        let fileSize = fixture.original[last]!.count
        let start = records[records.count - 3].byteOffset
        for length in start..<fileSize {
            try fixture.restore()
            try fixture.truncate(last, to: length)
            let expected = Self.expectedTornTail(fixture, cutAt: length)
            let before = fixture.read(.tolerateTail).entries
            let writer = try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions)
            if let expected {
                let damage = try #require(writer.recoveredDamage, "cut at \(length): no recovered damage")
                #expect(damage.kind == .tornTail)
                #expect(damage.byteOffset == expected.record.byteOffset)
                #expect(damage.byteCount == length - expected.record.byteOffset)
                #expect(try FileIO.fileSize(fixture.filePath(last)) == expected.record.byteOffset)
            } else {
                #expect(writer.recoveredDamage == nil, "cut at \(length) is a record boundary")
                #expect(try FileIO.fileSize(fixture.filePath(last)) == length)
            }
            let nextSequence = (before.last?.sequence ?? 0) + 1
            #expect(writer.nextSequenceNumber == nextSequence)
            let appended = LogEntry.command(["SET", "after-cut", "\(length)"], at: 1_800_000_000_000)
            #expect(try writer.append(appended) == nextSequence)
            let range = try writer.append(contentsOf: [appended, appended], transaction: true)
            #expect(range == (nextSequence + 1)...(nextSequence + 4))
            try writer.close()
            let after = fixture.read(.absolute)
            #expect(after.error == nil, "cut at \(length): \(String(describing: after.error))")
            #expect(after.reported.isEmpty)
            #expect(Array(after.entries.prefix(before.count)) == before)
            #expect(after.entries.map(\.sequence) == Array(1...(nextSequence + 4)))
            #expect(after.entries.last?.kind == .transactionEnd)
        }
    }

    @Test("A last segment cut inside its header is a bad segment header, never silently empty", arguments: [false, true])
    func cutInsideTheLastSegmentHeader(reopen: Bool) throws {
        let fixture = try LogFixture.standard()
        let last = fixture.lastSegmentFileName
        let lastIndex = fixture.manifest.segments.count - 1
        let earlier = fixture.entries.filter { $0.sequence < fixture.manifest.segments[lastIndex].firstSequence }
        for length in 0..<LogFormat.segmentHeaderByteCount {
            try fixture.restore()
            try fixture.truncate(last, to: length)
            if reopen {
                #expect(throws: LogError.self) { try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions) }
                continue
            }
            for mode in RecoveryMode.allCases {
                let outcome = fixture.read(mode)
                let damage = try #require(outcome.reported.first, "cut at \(length), \(mode)")
                #expect(outcome.reported.count == 1)
                #expect(damage.kind == .badSegmentHeader)
                #expect(damage.segmentFileName == last)
                #expect(damage.byteOffset == 0)
                #expect(damage.byteCount == length)
                switch mode {
                case .absolute, .tolerateTail:
                    #expect(outcome.logError?.code == .damaged)
                    #expect(outcome.logError?.damage == damage)
                case .pointInTime, .skipDamaged:
                    #expect(outcome.error == nil)
                    #expect(entryDifference(outcome.entries, earlier) == nil)
                    #expect(outcome.summary?.stoppedAtDamage == (mode == .pointInTime))
                }
            }
        }
    }

    @Test("An earlier segment cut short (header or record) loses exactly its own tail, reported with the range")
    func cutInAnEarlierSegment() throws {
        let fixture = try LogFixture.standard()
        let segment = fixture.manifest.segments[1]
        let sequences = try #require(fixture.sequences(ofSegment: 1))
        let records = fixture.records(in: segment.fileName)
        let fileSize = fixture.original[segment.fileName]!.count
        for length in Array(0..<LogFormat.segmentHeaderByteCount) + Array(records[records.count - 2].byteOffset..<fileSize) {
            try fixture.restore()
            try fixture.truncate(segment.fileName, to: length)
            let skip = fixture.read(.skipDamaged)
            #expect(skip.error == nil)
            let damage = try #require(skip.reported.first, "cut at \(length)")
            #expect(skip.reported.count == 1)
            if length < LogFormat.segmentHeaderByteCount {
                #expect(damage.kind == .badSegmentHeader)
                #expect(damage.segmentFileName == segment.fileName)
                #expect(damage.byteOffset == 0)
                #expect(damage.byteCount == length)
                #expect(damage.lostSequences == sequences)
            } else if let torn = records.first(where: { $0.byteOffset < length && length < $0.byteOffset + $0.recordByteCount }) {
                #expect(damage.kind == .truncatedSegment)
                #expect(damage.segmentFileName == segment.fileName)
                #expect(damage.byteOffset == torn.byteOffset)
                #expect(damage.byteCount == length - torn.byteOffset)
                #expect(damage.lostSequences == torn.firstSequence...sequences.upperBound)
            } else {
                // On a boundary: the missing records show as a gap at the next segment.
                let next = fixture.manifest.segments[2]
                #expect(damage.kind == .sequenceGap)
                #expect(damage.segmentFileName == next.fileName)
                #expect(damage.byteCount == 0)
                let kept = records.filter { $0.byteOffset + $0.recordByteCount <= length }.last.map { $0.firstSequence + UInt64($0.entryCount) } ?? segment.firstSequence
                #expect(damage.lostSequences == kept...sequences.upperBound)
            }
            #expect(entryDifference(skip.entries, fixture.entries(excluding: [damage.lostSequences!])) == nil)
            for mode in [RecoveryMode.tolerateTail, .absolute] {
                #expect(fixture.read(mode).logError?.code == .damaged, "cut at \(length), \(mode)")
            }
            let pointInTime = fixture.read(.pointInTime)
            #expect(entryDifference(pointInTime.entries, fixture.entries.filter { $0.sequence < damage.lostSequences!.lowerBound }) == nil)
            #expect(pointInTime.summary?.stoppedAtDamage == true)
        }
    }

    @Test("An intact log reads with no damage in every mode")
    func intactLogHasNoDamage() throws {
        let fixture = try LogFixture.standard()
        for mode in RecoveryMode.allCases {
            let outcome = fixture.read(mode)
            #expect(outcome.error == nil)
            #expect(outcome.reported.isEmpty)
            #expect(entryDifference(outcome.entries, fixture.entries) == nil)
            #expect(outcome.summary?.stoppedAtDamage == false)
            #expect(outcome.summary?.recordCount == fixture.records.count)
            #expect(outcome.summary?.entryCount == fixture.entries.count)
        }
        let writer = try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions)
        #expect(writer.recoveredDamage == nil)
        #expect(writer.nextSequenceNumber == fixture.entries.last!.sequence + 1)
        try writer.close()
    }
}
