// Zeros written ahead of the records (LogWriter.Options.preallocationByteCount): readers take them
// as the end of the log, in every recovery mode; the writer cuts them when it seals, closes, or
// opens a log a crash left with them; a record torn inside them is still a torn tail.

import Foundation
@testable import RewindLog
import RewindTestSupport
import Testing

@Suite("Segment preallocation")
struct PreallocationTests {
    private static func command(_ index: Int) -> LogEntry {
        .command(["SET", "key:\(index)", String(repeating: "v", count: index % 50)], at: 1_700_000_000_000 + Int64(index))
    }

    private static func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    private static func lastSegmentPath(_ directory: String) throws -> String {
        directory + "/" + (try ManifestStore.load(directory: directory).segments.last!.fileName)
    }

    /// What a crash leaves: the files as they are while the writer is open.
    private static func crashCopy(of directory: String, into parent: TemporaryDirectory) throws -> String {
        let copy = parent.appending("crashed-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != "LOCK" {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: copy + "/" + name)
        }
        return copy
    }

    /// A writer under `always` with 4 KiB of zeros ahead and small segments (some are sealed
    /// along the way), holding ``command(_:)`` 1...120.
    private static func writerOf120Commands(at log: String) throws -> LogWriter {
        let writer = try LogWriter.open(directory: log, options: .init(
            durability: .always, segmentByteCountTarget: 3000, trainsDictionary: false, preallocationByteCount: 4096))
        for index in 1...120 { try writer.append(command(index)) }
        return writer
    }

    /// Damages a segment file: flips every bit of the byte at `offset`.
    private static func flipByte(in path: String, at offset: Int) throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[offset] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    private static func read(_ directory: String, _ recovery: RecoveryMode) throws -> (entries: [LogEntry], summary: LogReader.Summary) {
        var entries: [LogEntry] = []
        let summary = try LogReader(directory: directory).forEachEntry(recovery: recovery) { entries.append($0.materialize()) }
        return (entries, summary)
    }

    @Test("Zeros ahead of the records are the end of the log for every reader, and are cut on seal, close and reopen")
    func zerosAreTheEnd() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try Self.writerOf120Commands(at: log)
        let manifest = try ManifestStore.load(directory: log)
        #expect(manifest.segments.count > 2)

        let last = try Self.lastSegmentPath(log)
        let crashed = try Self.crashCopy(of: log, into: directory)
        for recovery in RecoveryMode.allCases {
            let (entries, summary) = try Self.read(crashed, recovery)
            #expect(entries.map(\.arguments) == (1...120).map { Self.command($0).arguments }, "\(recovery)")
            #expect(summary.damages.isEmpty, "\(recovery)")
            #expect(summary.preallocatedByteCount > 0)
            // Sealed segments were cut to their last record: only the open one has zeros.
            #expect(Self.size(last) == summary.tail!.byteOffset + summary.preallocatedByteCount)
            #expect(Self.size(last) % 4096 == 0)
        }

        // A writer opening what the crash left cuts the zeros and goes on after the last entry.
        let reopened = try LogWriter.open(directory: crashed, options: .init(durability: .always, trainsDictionary: false,
                                                                            preallocationByteCount: 4096))
        #expect(reopened.recoveredDamage == nil)
        #expect(reopened.nextSequenceNumber == 121)
        for index in 121...130 { try reopened.append(Self.command(index)) }
        try reopened.close()
        let (entries, summary) = try Self.read(crashed, .absolute)
        #expect(entries.count == 130 && summary.preallocatedByteCount == 0)
        #expect(Self.size(try Self.lastSegmentPath(crashed)) == summary.tail!.byteOffset)

        // A clean close cuts them too.
        try writer.close()
        let closed = try Self.read(log, .absolute)
        #expect(closed.entries.count == 120 && closed.summary.preallocatedByteCount == 0)
        #expect(Self.size(last) == closed.summary.tail!.byteOffset)
    }

    @Test("A record torn inside the zeros is a torn tail: reported, refused by absolute, cut by the writer")
    func tornRecordInsideTheZeros() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, trainsDictionary: false,
                                                                      preallocationByteCount: 8192))
        for index in 1...20 { try writer.append(Self.command(index)) }
        let crashed = try Self.crashCopy(of: log, into: directory)
        try writer.close()
        let path = try Self.lastSegmentPath(crashed)
        let end = try Self.read(crashed, .absolute).summary.tail!.byteOffset
        // The first bytes of a record that was being written: its magic and a few more.
        let bytes = try FileIO.readFile(path, byteCountMax: 1 << 20)
        let firstRecord = LogFormat.segmentHeaderByteCount
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(end))
        try handle.write(contentsOf: Data(bytes[firstRecord..<firstRecord + 12]))
        try handle.close()
        #expect(Self.size(path) > end + 12)  // zeros still follow

        let (entries, summary) = try Self.read(crashed, .tolerateTail)
        #expect(entries.count == 20)
        #expect(summary.damages.map(\.kind) == [.tornTail])
        #expect(summary.damages.first?.byteOffset == end)
        #expect(throws: LogError.self) { try Self.read(crashed, .absolute) }
        let reopened = try LogWriter.open(directory: crashed, options: .init(durability: .always, trainsDictionary: false))
        #expect(reopened.recoveredDamage?.kind == .tornTail)
        #expect(reopened.nextSequenceNumber == 21)
        try reopened.close()
        #expect(Self.size(path) == end)
    }

    @Test("Over preallocated zeros every record is synced before the next is written, whatever the policy")
    func everyRecordSyncedOverZeros() throws {
        let directory = try TemporaryDirectory()
        // everysec: left alone, the writer would write every millisecond and sync once a second.
        let writer = try LogWriter.open(directory: directory.appending("log"), options: .init(
            durability: .everysec, trainsDictionary: false, flushIntervalMilliseconds: 1, preallocationByteCount: 4096))
        for index in 1...60 {
            let sequence = try writer.append(Self.command(index))
            try writer.waitUntilWritten(sequence)
            // Written means synced: no two records are ever unsynced together over the zeros.
            #expect(writer.durableSequenceNumber >= sequence)
        }
        try writer.close()
        // Without preallocation, the same writer leaves records written and not yet synced.
        let plain = try LogWriter.open(directory: directory.appending("plain"), options: .init(
            durability: .everysec, trainsDictionary: false, flushIntervalMilliseconds: 1, preallocationByteCount: 0))
        var unsynced = 0
        for index in 1...60 {
            let sequence = try plain.append(Self.command(index))
            try plain.waitUntilWritten(sequence)
            if plain.durableSequenceNumber < sequence { unsynced += 1 }
        }
        #expect(unsynced > 0)
        try plain.close()
    }

    @Test("Only under always by default, and never with 0")
    func defaults() throws {
        #expect(LogWriter.Options(durability: .always).effectivePreallocationByteCount == 256 * 1024)
        #expect(LogWriter.Options(durability: .everysec).effectivePreallocationByteCount == 0)
        #expect(LogWriter.Options(durability: .no).effectivePreallocationByteCount == 0)
        #expect(LogWriter.Options(durability: .everysec, preallocationByteCount: 4096).effectivePreallocationByteCount == 4096)
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, trainsDictionary: false,
                                                                      preallocationByteCount: 0))
        for index in 1...20 { try writer.append(Self.command(index)) }
        let summary = try Self.read(log, .absolute).summary
        #expect(summary.preallocatedByteCount == 0)
        #expect(Self.size(try Self.lastSegmentPath(log)) == summary.tail!.byteOffset)
        try writer.close()
    }

    @Test("Reports tell the zeros apart: a point-in-time cut's zero bytes, a compaction's sizes before and after")
    func reportsLeaveOutTheZeros() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try Self.writerOf120Commands(at: log)
        let crashed = try Self.crashCopy(of: log, into: directory)
        try writer.close()
        let zeros = try Self.read(crashed, .absolute).summary.preallocatedByteCount
        #expect(zeros > 0)

        // A compaction's size before counts the files' bytes without the zeros.
        let manifest = try ManifestStore.load(directory: crashed)
        let fileBytes = (manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName))
            .map { Self.size(crashed + "/" + $0) }.reduce(0, +)
        let compaction = try LogCompaction(directory: crashed, recovery: .tolerateTail)
        #expect(compaction.totalByteCount == fileBytes - zeros)
        #expect(compaction.preallocatedByteCount == zeros)
        // A candidate that keeps the last segment whole leaves its zeros out the same way, so the
        // sizes before and after compare. (Written elsewhere: the crashed copy is damaged next.)
        let cut = compaction.cut(keepingEntryCount: 60)
        let builder = try compaction.makeBaseBuilder(cut: cut, outputDirectory: directory.appending("compacted"))
        try builder.append(Self.command(0))
        let candidate = try builder.finish()
        #expect(candidate.manifest.segments.last?.fileName == manifest.segments.last?.fileName)
        let candidateBytes = (candidate.manifest.segments.map(\.fileName) + candidate.manifest.dictionaries.map(\.fileName))
            .map { Self.size(candidate.directory + "/" + $0) }.reduce(0, +)
        #expect(candidate.totalByteCount == candidateBytes - zeros)
        compaction.close()

        // Damage in the first segment: the cut drops every later segment, the zeros with the last.
        try Self.flipByte(in: crashed + "/" + manifest.segments[0].fileName, at: LogFormat.segmentHeaderByteCount + 60)
        let pointInTime = try #require(try LogRepair.cutAtFirstDamage(directory: crashed))
        #expect(!pointInTime.droppedSegmentFileNames.isEmpty)
        #expect(pointInTime.zeroBytesCut == zeros)
        #expect(pointInTime.bytesCut > zeros)
        #expect(pointInTime.description.contains("\(zeros) of them zeros"))
        let readme = try String(contentsOfFile: pointInTime.preservedDirectory + "/README.txt", encoding: .utf8)
        #expect(readme.contains("The last \(zeros) bytes"))
    }

    @Test("A record whose last bytes are zeros is not counted as preallocated zeros when the log is cut")
    func trailingZeroBytesOfARecordAreNotPreallocation() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        // No preallocation; stored as is (no dictionary, and zstd cannot shrink 3 bytes of
        // payload tail), each record's payload ends with the value's zero bytes.
        let writer = try LogWriter.open(directory: log, options: .init(
            durability: .always, segmentByteCountTarget: 600, trainsDictionary: false, preallocationByteCount: 0))
        for index in 1...40 {
            try writer.append(.command(["SET", "k\(index)", "\u{0}\u{0}\u{0}"], at: 1_700_000_000_000 + Int64(index)))
        }
        try writer.close()
        let manifest = try ManifestStore.load(directory: log)
        #expect(manifest.segments.count > 2)
        // Damage in the second segment: the first one's records are kept, the rest is cut.
        try Self.flipByte(in: log + "/" + manifest.segments[1].fileName, at: LogFormat.segmentHeaderByteCount + 10)
        let cut = try #require(try LogRepair.cutAtFirstDamage(directory: log))
        #expect(cut.zeroBytesCut == 0)
        #expect(!cut.description.contains("zeros written ahead"))
    }
}
