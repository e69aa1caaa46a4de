import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

@Suite("Manifest")
struct ManifestTests {
    static let sample = Manifest(
        segments: [
            .init(id: 1, kind: .base, fileName: "seg-000000000001.rwseg", firstSequence: 1),
            .init(id: 2, fileName: "seg-000000000002.rwseg", firstSequence: 4097),
            .init(id: 5, fileName: "seg-000000000005.rwseg", firstSequence: 4097),
        ],
        dictionaries: [.init(id: 1, fileName: "dict-000001.zdict"), .init(id: 2, fileName: "dict-000002.zdict")])

    /// A manifest text with a correct checksum line, whatever the lines say.
    static func signed(_ lines: [String]) -> [UInt8] {
        var bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        bytes += Array("crc32c \(String(CRC32C.checksum(bytes), radix: 16))\n".utf8)
        return bytes
    }

    static func parseError(_ bytes: [UInt8]) -> LogError? {
        do {
            _ = try Manifest.parse(bytes, path: "MANIFEST")
            return nil
        } catch {
            return error as? LogError
        }
    }

    @Test("encode then parse gives the same manifest; the text is as documented")
    func roundTrip() throws {
        for manifest in [Self.sample, Manifest(), Manifest(segments: [.init(id: 1, fileName: "a", firstSequence: 1)])] {
            #expect(try Manifest.parse(manifest.encoded(), path: "m") == manifest)
        }
        let text = String(decoding: Self.sample.encoded(), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(Array(lines.dropLast()) == [
            "rewind-log 1",
            "dictionary 1 dict-000001.zdict",
            "dictionary 2 dict-000002.zdict",
            "segment 1 base seg-000000000001.rwseg 1",
            "segment 2 incr seg-000000000002.rwseg 4097",
            "segment 5 incr seg-000000000005.rwseg 4097",
        ])
        #expect(lines.last!.hasPrefix("crc32c "))
        #expect(text.hasSuffix("\n"))
        // Built by hand, the same bytes.
        #expect(Self.signed(Array(lines.dropLast())) == Self.sample.encoded())
    }

    @Test("A manifest cut short at any length is rejected")
    func cutShort() {
        let bytes = Self.sample.encoded()
        for length in 0..<bytes.count {
            #expect(Self.parseError(Array(bytes.prefix(length)))?.code == .badManifest, "cut at \(length)")
        }
    }

    @Test("A manifest edited without its checksum is rejected: every byte changed to every other printable byte")
    func edited() {
        let bytes = Self.sample.encoded()
        for offset in bytes.indices {
            for replacement in UInt8(9)...UInt8(126) where replacement != bytes[offset] {
                var edited = bytes
                edited[offset] = replacement
                #expect(Self.parseError(edited)?.code == .badManifest, "byte \(offset) set to \(replacement)")
            }
        }
        // Lines added or dropped, even with the checksum fixed up, are still refused when malformed.
        #expect(Self.parseError(Self.sample.encoded() + Array("segment 9 incr x 9\n".utf8))?.code == .badManifest)
    }

    @Test("Malformed lines are rejected even with a valid checksum", arguments: [
        ["rewind-log 2"],
        ["rewind-log 1", "segment 1 incr ../etc/passwd 1"],
        ["rewind-log 1", "segment 1 incr dir/seg 1"],
        ["rewind-log 1", "segment 1 incr .. 1"],
        ["rewind-log 1", "segment 1 incr . 1"],
        ["rewind-log 1", "dictionary 1 a/b"],
        ["rewind-log 1", "dictionary 0 dict"],
        ["rewind-log 1", "dictionary 4294967296 dict"],
        ["rewind-log 1", "segment 1 incr seg 0"],
        ["rewind-log 1", "segment 1 full seg 1"],
        ["rewind-log 1", "segment 1 incr seg"],
        ["rewind-log 1", "segment 1 incr seg 1 extra"],
        ["rewind-log 1", "segment -1 incr seg 1"],
        ["rewind-log 1", "segment 1 incr seg 18446744073709551616"],
        ["rewind-log 1", "compaction 1"],
        ["rewind-log 1", ""],
        // Out of order: ids must rise, first sequence numbers must not fall.
        ["rewind-log 1", "segment 2 incr b 1", "segment 1 incr a 10"],
        ["rewind-log 1", "segment 1 incr a 1", "segment 1 incr b 10"],
        ["rewind-log 1", "segment 1 incr a 10", "segment 2 incr b 9"],
    ])
    func malformedLines(lines: [String]) {
        #expect(Self.parseError(Self.signed(lines))?.code == .badManifest, "\(lines)")
    }

    @Test("Non-UTF-8 bytes and a missing checksum line are rejected")
    func notText() {
        #expect(Self.parseError([0xFF, 0xFE] + Self.sample.encoded())?.code == .badManifest)
        #expect(Self.parseError(Array("rewind-log 1\nsegment 1 incr a 1\n".utf8))?.code == .badManifest)
        #expect(Self.parseError(Array("crc32c 0\n".utf8))?.code == .badManifest)
    }

    @Test("A directory without a manifest is not a log; a bad manifest is refused by reader and writer")
    func loadErrors() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: LogError.self) { try LogReader(directory: directory.path) }
        do {
            _ = try LogReader(directory: directory.path)
        } catch let error as LogError {
            #expect(error.code == .notALog)
        }
        // A writer refuses a non-empty directory that holds no manifest.
        FileManager.default.createFile(atPath: directory.appending("stray"), contents: Data([1]))
        #expect(throws: LogError.self) { try LogWriter.open(directory: directory.path) }
        let fixture = try LogFixture.standard()
        try fixture.write(Array(try fixture.bytes(of: "MANIFEST").dropLast(3)), to: "MANIFEST")
        #expect(fixture.read(.tolerateTail).logError?.code == .badManifest)
        do {
            _ = try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions)
            Issue.record("writer opened a log with a bad manifest")
        } catch let error as LogError {
            #expect(error.code == .badManifest)
        }
    }

    @Test("A manifest swap interrupted after each step leaves the old or the new manifest, and a readable log",
          arguments: ManifestStore.ReplaceStep.allCases)
    func interruptedSwap(step: ManifestStore.ReplaceStep) throws {
        let fixture = try LogFixture.standard()
        let old = fixture.manifest
        // As rotation does: the new segment exists, whole, before the manifest names it.
        let last = old.segments.last!
        let nextSequence = fixture.entries.last!.sequence + 1
        let writer = try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions)
        try writer.close()
        var new = old
        let fileName = LogFormat.segmentFileName(id: last.id + 1)
        let header = SegmentHeader(dictionaryID: 1, segmentID: last.id + 1, firstSequence: nextSequence, createdMilliseconds: 0)
        try fixture.write(header.encoded(), to: fileName)
        new.segments.append(.init(id: last.id + 1, fileName: fileName, firstSequence: nextSequence))
        try ManifestStore.replace(new, directory: fixture.path, stopAfter: step)
        let reader = try LogReader(directory: fixture.path)
        switch step {
        case .partiallyWroteTemporary, .wroteTemporary: #expect(reader.manifest == old)
        case .renamed, .syncedDirectory: #expect(reader.manifest == new)
        }
        let outcome = fixture.read(.absolute)
        #expect(outcome.error == nil)
        #expect(outcome.reported.isEmpty)
        #expect(entryDifference(outcome.entries, fixture.entries) == nil)
        // A writer opens it (a stray temporary file is no obstacle) and appends after it.
        let reopened = try LogWriter.open(directory: fixture.path, options: LogFixture.smallOptions)
        #expect(reopened.recoveredDamage == nil)
        #expect(try reopened.append(.command(["SET", "k", "v"], at: 1)) == nextSequence)
        try reopened.close()
        let after = fixture.read(.absolute)
        #expect(after.reported.isEmpty)
        #expect(after.entries.map(\.sequence) == Array(1...nextSequence))
        // The temporary file of an interrupted swap is not taken for the manifest.
        if step == .partiallyWroteTemporary || step == .wroteTemporary {
            #expect(FileManager.default.fileExists(atPath: fixture.filePath(LogFormat.manifestTemporaryFileName)))
        }
    }

    @Test("A segment the manifest names but is missing is reported with the sequence range it held")
    func missingSegment() throws {
        let fixture = try LogFixture.standard()
        for index in fixture.manifest.segments.indices {
            try fixture.restore()
            let segment = fixture.manifest.segments[index]
            try fixture.remove(segment.fileName)
            let isLast = index == fixture.manifest.segments.count - 1
            let range = try #require(fixture.sequences(ofSegment: index))
            let skip = fixture.read(.skipDamaged)
            #expect(skip.error == nil)
            #expect(skip.reported.count == 1)
            let damage = try #require(skip.reported.first)
            #expect(damage.kind == .missingSegment)
            #expect(damage.segmentFileName == segment.fileName)
            #expect(damage.byteOffset == 0)
            #expect(damage.byteCount == 0)
            #expect(damage.lostSequences == (isLast ? nil : range), "segment \(index)")
            #expect(entryDifference(skip.entries, fixture.entries(excluding: [range])) == nil)
            for mode in [RecoveryMode.tolerateTail, .absolute] {
                let outcome = fixture.read(mode)
                #expect(outcome.logError?.code == .damaged)
                #expect(outcome.logError?.damage?.kind == .missingSegment)
            }
            let pointInTime = fixture.read(.pointInTime)
            #expect(entryDifference(pointInTime.entries, fixture.entries.filter { $0.sequence < range.lowerBound }) == nil)
            // Reading from a sequence after the missing segment does not even notice it.
            if !isLast {
                let later = fixture.read(.absolute, from: range.upperBound + 1)
                #expect(later.error == nil)
                #expect(later.reported.isEmpty)
                #expect(entryDifference(later.entries, fixture.entries.filter { $0.sequence > range.upperBound }) == nil)
            }
        }
    }

    @Test("A missing or unnamed dictionary loses the segments compressed with it")
    func missingDictionary() throws {
        let fixture = try LogFixture.standard()
        let usesDictionary = fixture.manifest.segments.indices.filter { index in
            fixture.records(in: fixture.manifest.segments[index].fileName).contains { $0.compression == .zstdDictionary }
        }
        try #require(usesDictionary.count >= 2)
        let lastIndex = fixture.manifest.segments.count - 1
        func check(_ context: String) throws {
            let skip = fixture.read(.skipDamaged)
            #expect(skip.error == nil)
            #expect(skip.reported.map(\.kind) == usesDictionary.map { _ in .missingDictionary }, "\(context)")
            for (damage, index) in zip(skip.reported, usesDictionary) {
                let segment = fixture.manifest.segments[index]
                #expect(damage.segmentFileName == segment.fileName)
                #expect(damage.byteOffset == 0)
                #expect(damage.byteCount == fixture.original[segment.fileName]!.count)
                #expect(damage.lostSequences == (index == lastIndex ? nil : fixture.sequences(ofSegment: index)))
            }
            let lost = usesDictionary.compactMap { fixture.sequences(ofSegment: $0) }
            #expect(entryDifference(skip.entries, fixture.entries(excluding: lost)) == nil)
            #expect(fixture.read(.tolerateTail).logError?.damage?.kind == .missingDictionary)
        }
        try fixture.remove(fixture.dictionaryFileNames[0])
        try check("file removed")
        try fixture.restore()
        // The manifest no longer lists the dictionary (checksum fixed): the same loss.
        var edited = fixture.manifest
        edited.dictionaries = []
        try fixture.write(edited.encoded(), to: LogFormat.manifestFileName)
        try check("not in the manifest")
        try fixture.restore()
        // A dictionary file of another id.
        try fixture.write(StoredDictionary.encode(id: 9, dictionary: Array(try fixture.bytes(of: fixture.dictionaryFileNames[0]).dropFirst(24))), to: fixture.dictionaryFileNames[0])
        try check("wrong id")
    }
}
