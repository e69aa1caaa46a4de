import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// LevelDB `log_test.cc` in Rewind's terms: one mutation of one record through the fixture's
/// mutators, and the exact damage it must produce (kind, place, bytes, lost range).
@Suite("Record mutations")
struct RecordMutationTests {
    static func place(_ damage: LogDamage) -> String { BitFlipTests.placeOf(damage) }

    static func damage(
        _ kind: LogDamage.Kind, _ record: LogReader.RecordInfo, byteCount: Int? = nil, lost: ClosedRange<UInt64>?
    ) -> String {
        place(LogDamage(
            kind: kind, segmentFileName: record.segmentFileName, byteOffset: record.byteOffset,
            byteCount: byteCount ?? record.recordByteCount, recordIndex: record.recordIndex, lostSequences: lost, reason: ""))
    }

    static func range(_ record: LogReader.RecordInfo) -> ClosedRange<UInt64> {
        record.firstSequence...(record.firstSequence + UInt64(record.entryCount) - 1)
    }

    /// A middle record of the segment before the last, with single-entry neighbours.
    static func middle(_ fixture: LogFixture) -> (LogReader.RecordInfo, LogReader.RecordInfo, LogReader.RecordInfo) {
        let records = fixture.records(in: fixture.segmentFileNames[fixture.segmentFileNames.count - 2])
        let index = records.indices.dropFirst().dropLast().first { records[$0 - 1].entryCount == 1 && records[$0].entryCount == 1 && records[$0 + 1].entryCount == 1 }!
        return (records[index - 1], records[index], records[index + 1])
    }

    @Test("A changed payload byte is a checksum mismatch of exactly that record")
    func payloadByteIncremented() throws {
        let fixture = try LogFixture.standard()
        let (_, record, _) = Self.middle(fixture)
        try fixture.increment(byteAt: record.byteOffset + LogFormat.recordHeaderByteCount + 2, by: 1, in: record.segmentFileName)
        let skip = fixture.read(.skipDamaged)
        #expect(skip.reported.map(Self.place) == [Self.damage(.checksumMismatch, record, lost: Self.range(record))])
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [Self.range(record)])) == nil)
    }

    @Test("A changed length field is not trusted: the damage ends at the next real record", arguments: [1, 0x10, 0xF0] as [UInt8])
    func lengthIncremented(delta: UInt8) throws {
        let fixture = try LogFixture.standard()
        let (_, record, _) = Self.middle(fixture)
        try fixture.increment(byteAt: record.byteOffset + 8, by: delta, in: record.segmentFileName)
        let skip = fixture.read(.skipDamaged)
        let stored = (record.storedPayloadByteCount & ~0xFF) | Int(UInt8(truncatingIfNeeded: record.storedPayloadByteCount) &+ delta)
        let fits = stored <= fixture.original[record.segmentFileName]!.count - record.byteOffset - LogFormat.recordHeaderByteCount
        #expect(skip.reported.map(Self.place) == [Self.damage(fits ? .checksumMismatch : .badRecordHeader, record, lost: Self.range(record))])
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [Self.range(record)])) == nil)
    }

    @Test("One byte cut off the end is a torn tail one byte short of the last record")
    func truncatedByOne() throws {
        let fixture = try LogFixture.standard()
        let last = fixture.records.last!
        try fixture.truncate(fixture.lastSegmentFileName, by: 1)
        let outcome = fixture.read(.tolerateTail)
        #expect(outcome.error == nil)
        #expect(outcome.reported.map(Self.place) == [Self.damage(.tornTail, last, byteCount: last.recordByteCount - 1, lost: nil)])
        #expect(entryDifference(outcome.entries, fixture.entries(excluding: [Self.range(last)])) == nil)
    }

    @Test("A record whose sequence number was moved forward (checksum fixed) shows a gap, then the next record regresses")
    func sequenceMovedForward() throws {
        let fixture = try LogFixture.standard()
        let (_, record, next) = Self.middle(fixture)
        try fixture.increment(byteAt: record.byteOffset + 16, by: 1, in: record.segmentFileName)
        try fixture.fixChecksum(recordAt: record.byteOffset, in: record.segmentFileName)
        let skip = fixture.read(.skipDamaged)
        let gap = LogDamage(
            kind: .sequenceGap, segmentFileName: record.segmentFileName, byteOffset: record.byteOffset, byteCount: 0,
            recordIndex: record.recordIndex, lostSequences: record.firstSequence...record.firstSequence, reason: "")
        #expect(skip.reported.map(Self.place) == [Self.place(gap), Self.damage(.sequenceRegression, next, lost: nil)])
        #expect(fixture.read(.tolerateTail).logError?.damage?.kind == .sequenceGap)
        // The forged record's entry is read under the number it claims; the one it displaced is
        // dropped as a regression.
        #expect(skip.entries.count == fixture.entries.count - 1)
        #expect(skip.entries.map(\.sequence) == fixture.entries.map(\.sequence).filter { $0 != record.firstSequence })
    }

    @Test("A record whose sequence number was moved back (checksum fixed) is dropped as a regression, leaving a gap")
    func sequenceMovedBack() throws {
        let fixture = try LogFixture.standard()
        let (_, record, next) = Self.middle(fixture)
        try fixture.store(record.firstSequence - 1, at: record.byteOffset + 16, in: record.segmentFileName)
        try fixture.fixChecksum(recordAt: record.byteOffset, in: record.segmentFileName)
        let skip = fixture.read(.skipDamaged)
        let gap = LogDamage(
            kind: .sequenceGap, segmentFileName: next.segmentFileName, byteOffset: next.byteOffset, byteCount: 0,
            recordIndex: next.recordIndex, lostSequences: Self.range(record), reason: "")
        #expect(skip.reported.map(Self.place) == [Self.damage(.sequenceRegression, record, lost: nil), Self.place(gap)])
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [Self.range(record)])) == nil)
    }

    @Test("A record written twice: the copy is a sequence regression and nothing is read twice")
    func duplicatedRecord() throws {
        let fixture = try LogFixture.standard()
        let last = fixture.records.last!
        let bytes = fixture.original[last.segmentFileName]!
        try fixture.overwrite(Array(bytes[last.byteOffset...]), at: bytes.count, in: last.segmentFileName)
        var copy = last
        copy.byteOffset = bytes.count
        copy.recordIndex += 1
        for mode in [RecoveryMode.skipDamaged, .pointInTime] {
            let outcome = fixture.read(mode)
            #expect(outcome.reported.map(Self.place) == [Self.damage(.sequenceRegression, copy, lost: nil)])
            #expect(entryDifference(outcome.entries, fixture.entries) == nil)
        }
        #expect(fixture.read(.tolerateTail).logError?.damage?.kind == .sequenceRegression)
    }

    @Test("Damage followed at once by a regressing record: both are reported, in order")
    func damageThenRegression() throws {
        let fixture = try LogFixture.standard()
        let (_, record, next) = Self.middle(fixture)
        try fixture.increment(byteAt: record.byteOffset + LogFormat.recordHeaderByteCount, by: 1, in: record.segmentFileName)
        try fixture.store(record.firstSequence - 1, at: next.byteOffset + 16, in: next.segmentFileName)
        try fixture.fixChecksum(recordAt: next.byteOffset, in: next.segmentFileName)
        let skip = fixture.read(.skipDamaged)
        let kinds = skip.reported.map(\.kind)
        #expect(kinds.first == .checksumMismatch, "\(skip.reported)")
        #expect(kinds.contains(.sequenceRegression))
        // What was lost is reported somewhere: #first and #first+1.
        let lost = skip.reported.compactMap(\.lostSequences)
        #expect(lost.contains { $0.contains(record.firstSequence) } && lost.contains { $0.contains(next.firstSequence) }, "\(skip.reported)")
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [Self.range(record), Self.range(next)])) == nil)
    }

    @Test("A segment header that disagrees with the manifest loses the segment")
    func segmentHeaderDisagrees() throws {
        let fixture = try LogFixture.standard()
        let index = 1
        let segment = fixture.manifest.segments[index]
        let header = SegmentHeader(dictionaryID: 0, segmentID: segment.id, firstSequence: segment.firstSequence + 1, createdMilliseconds: 0)
        try fixture.overwrite(header.encoded(), at: 0, in: segment.fileName)
        let skip = fixture.read(.skipDamaged)
        #expect(skip.reported.map(\.kind) == [.badSegmentHeader])
        #expect(skip.reported.first?.lostSequences == fixture.sequences(ofSegment: index))
        #expect(skip.reported.first?.byteCount == fixture.original[segment.fileName]!.count)
        #expect(entryDifference(skip.entries, fixture.entries(excluding: [fixture.sequences(ofSegment: index)!])) == nil)
    }
}
