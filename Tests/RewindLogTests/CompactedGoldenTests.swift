import Foundation
import Testing
@testable import RewindLog

/// fixtures/format-v1/compacted.rwlog: valid.rwlog after `rewind compact --keep-entries 10` (see
/// fixtures/format-v1/README.md). Never updated: it pins the bytes of a base segment.
@Suite("Golden fixture, a compacted log")
struct CompactedGoldenTests {
    static let log = GoldenFixtureTests.directory + "/compacted.rwlog"

    @Test("The base's snapshot entries all carry #20, a checkpoint ends them, and #21-#30 are valid.rwlog's entries")
    func entries() throws {
        let reader = try LogReader(directory: Self.log)
        #expect(reader.manifest.segments.map(\.kind) == [.base])
        #expect(reader.manifest.segments[0].firstSequence == 20)
        let (entries, summary) = try reader.readAll(recovery: .absolute)
        #expect(summary.damages.isEmpty && summary.lastSequence == 30)
        let base = entries.prefix { $0.sequence == 20 }
        #expect(base.count == 13)
        #expect(base.last?.kind == .checkpoint && base.last?.arguments.first?.count == 20)
        #expect(base.dropLast().allSatisfy { $0.kind == .command && $0.timestampMilliseconds == 1_700_000_000_403 })
        #expect(base.first?.arguments.map { String(decoding: $0, as: UTF8.self) } == ["SET", "user:1", "alice", "PXAT", "1700003600305"])
        #expect(Array(entries.dropFirst(13)) == Array(GoldenFixtureTests.validEntries.dropFirst(20)))
    }

    @Test("One snapshot record, then valid.rwlog's records #21-#30 byte for byte")
    func records() throws {
        var infos: [LogReader.RecordInfo] = []
        try LogReader(directory: Self.log).forEachRecord(recovery: .absolute) { infos.append($0) }
        #expect(infos.first?.isSnapshot == true && infos.first?.entryCount == 13 && infos.first?.lastSequence == 20)
        #expect(infos.dropFirst().allSatisfy { !$0.isSnapshot })
        var original: [UInt64: [UInt8]] = [:]
        let valid = GoldenFixtureTests.directory + "/valid.rwlog"
        try LogReader(directory: valid).forEachRecord { info in
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: valid + "/" + info.segmentFileName)))
            original[info.firstSequence] = Array(bytes[info.byteOffset..<(info.byteOffset + info.recordByteCount)])
        }
        let compacted = try Array(Data(contentsOf: URL(fileURLWithPath: Self.log + "/" + infos[0].segmentFileName)))
        for info in infos.dropFirst() {
            #expect(Array(compacted[info.byteOffset..<(info.byteOffset + info.recordByteCount)]) == original[info.firstSequence])
        }
        #expect(infos.dropFirst().map(\.firstSequence) == Array(21...30))
    }

    @Test("A snapshot record outside the start of a base segment is a bad record header")
    func snapshotElsewhereRefused() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/rewind-snapshot-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Self.log, toPath: directory)
        // The same bytes named as an `incr` segment: its snapshot record no longer fits.
        var manifest = try ManifestStore.load(directory: directory)
        manifest.segments[0].kind = .incr
        try ManifestStore.replace(manifest, directory: directory)
        #expect { try LogReader(directory: directory).readAll(recovery: .absolute) } throws: {
            ($0 as? LogError)?.damage?.kind == .badRecordHeader
        }
        let salvaged = try LogReader(directory: directory).readAll(recovery: .skipDamaged)
        #expect(salvaged.entries.map(\.sequence) == Array(21...30))
    }
}
