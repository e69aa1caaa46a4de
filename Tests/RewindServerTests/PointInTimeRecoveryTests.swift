import Foundation
import RewindEngine
import RewindLog
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

/// `--recovery point-in-time` at start on a log damaged in the middle: the server serves the
/// state before the damage, the log is cut there, the cut bytes are kept and reported, and new
/// writes continue the sequence.
@Suite("Point-in-time recovery at start")
struct PointInTimeRecoveryTests {
    /// A log of `count` entries `SET k<i> value-<i>...`, one record each, over several segments.
    struct DamagedLog {
        let log: String
        /// Every segment file's bytes before the damage, by name, in log order.
        let segmentNames: [String]
        let originalBytes: [String: [UInt8]]
        /// The damaged record: its segment, its offset, and the entries before it.
        let damagedSegment: String
        let damagedOffset: Int
        let keptEntryCount: Int
        let entryCount: Int
    }

    static func makeDamagedLog(_ directory: TemporaryDirectory, count: Int = 240) throws -> DamagedLog {
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(
            durability: .no, segmentByteCountTarget: 2048, trainsDictionary: false, flushIntervalMilliseconds: 0))
        for index in 0..<count {
            try writer.append(.command(["SET", "k\(index)", "value-\(index)-" + String(repeating: "x", count: 100)],
                                       at: 1_000 + Int64(index)))
            try writer.sync()
        }
        try writer.close()
        let reader = try LogReader(directory: log)
        let names = reader.manifest.segments.map(\.fileName)
        var records: [LogReader.RecordInfo] = []
        try reader.forEachRecord { records.append($0) }
        // A record in the middle of the third segment (never its last): damage with whole
        // records after it in the same segment and whole segments after that one.
        let third = records.filter { $0.segmentIndex == 2 }
        let victim = third[third.count / 2]
        var originals: [String: [UInt8]] = [:]
        for name in names { originals[name] = Array(try Data(contentsOf: URL(fileURLWithPath: log + "/" + name))) }
        let handle = try #require(FileHandle(forUpdatingAtPath: log + "/" + victim.segmentFileName))
        try handle.seek(toOffset: UInt64(victim.byteOffset + 44))
        try handle.write(contentsOf: [0xFF, 0x00, 0xFF, 0x00])
        try handle.close()
        return DamagedLog(log: log, segmentNames: names, originalBytes: originals, damagedSegment: victim.segmentFileName,
                          damagedOffset: victim.byteOffset, keptEntryCount: Int(victim.firstSequence) - 1, entryCount: count)
    }

    /// The directory the cut bytes were moved to.
    static func cutDirectory(in log: String) throws -> String {
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: log).first { $0.hasPrefix("point-in-time-cut-") })
        return log + "/" + name
    }

    /// Checks that every byte cut from the log is in the cut directory, as it was.
    static func expectCutBytesPreserved(_ damaged: DamagedLog) throws {
        let aside = try cutDirectory(in: damaged.log)
        let tailIndex = try #require(damaged.segmentNames.firstIndex(of: damaged.damagedSegment))
        let tailCopy = Array(try Data(contentsOf: URL(fileURLWithPath: aside + "/" + damaged.damagedSegment)))
        var original = try #require(damaged.originalBytes[damaged.damagedSegment])
        original.replaceSubrange((damaged.damagedOffset + 44)..<(damaged.damagedOffset + 48), with: [0xFF, 0x00, 0xFF, 0x00])
        #expect(tailCopy == original, "the tail segment is kept whole, damage included")
        let kept = Array(try Data(contentsOf: URL(fileURLWithPath: damaged.log + "/" + damaged.damagedSegment)))
        // The log keeps the bytes before the damaged record (new writes may follow them).
        #expect(kept.count >= damaged.damagedOffset)
        #expect(kept.prefix(damaged.damagedOffset) == original[..<damaged.damagedOffset])
        for name in damaged.segmentNames[(tailIndex + 1)...] {
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: aside + "/" + name))) == damaged.originalBytes[name])
            #expect(!FileManager.default.fileExists(atPath: damaged.log + "/" + name))
        }
        let readme = try String(contentsOfFile: aside + "/README.txt", encoding: .utf8)
        #expect(readme.contains("cut after entry #\(damaged.keptEntryCount)"))
        #expect(readme.contains(damaged.damagedSegment))
        #expect(readme.contains("up to #\(damaged.entryCount)"))
    }

    @Test("The prefix before the damage is replayed, the log is cut there and the cut bytes are kept and reported")
    func inProcess() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-pit")
        let damaged = try Self.makeDamagedLog(directory)
        #expect(damaged.segmentNames.count >= 5, "\(damaged.segmentNames)")
        var configuration = ServerConfiguration()
        configuration.directory = damaged.log
        configuration.recovery = .pointInTime
        let keyspace = Keyspace(randomSeed: 1)
        var reported: [LogDamage] = []
        let (writer, report) = try LogRecovery.open(configuration, into: keyspace) { reported.append($0) }
        #expect(report.entriesReplayed == damaged.keptEntryCount)
        #expect(keyspace.keyCount(db: 0) == damaged.keptEntryCount)
        #expect(writer.nextSequenceNumber == UInt64(damaged.keptEntryCount + 1))
        let cut = try #require(report.pointInTimeCut)
        #expect(reported.map(\.kind) == [.checksumMismatch])
        #expect(cut.damage.segmentFileName == damaged.damagedSegment && cut.damage.byteOffset == damaged.damagedOffset)
        #expect(cut.lastKeptSequence == UInt64(damaged.keptEntryCount))
        #expect(cut.lastCutSequence == UInt64(damaged.entryCount))
        #expect(cut.cutEntryCount == damaged.entryCount - damaged.keptEntryCount - 1, "every whole record but the damaged one")
        let tailIndex = try #require(damaged.segmentNames.firstIndex(of: damaged.damagedSegment))
        #expect(cut.droppedSegmentFileNames == Array(damaged.segmentNames[(tailIndex + 1)...]))
        let cutByteCount = damaged.segmentNames[tailIndex...].reduce(0) { $0 + damaged.originalBytes[$1]!.count } - damaged.damagedOffset
        #expect(cut.bytesCut == cutByteCount)
        #expect(cut.description.contains("#\(damaged.keptEntryCount)") && cut.description.contains(cut.preservedDirectory))
        // New writes continue the sequence after the kept prefix.
        #expect(try writer.append(.command(["SET", "after", "cut"], at: 9_000)) == UInt64(damaged.keptEntryCount + 1))
        try writer.close()
        try Self.expectCutBytesPreserved(damaged)
        // The log is clean now, strictly: the next start needs no recovery and cuts nothing.
        var strict = configuration
        strict.recovery = .absolute
        let again = Keyspace(randomSeed: 1)
        let (reopened, second) = try LogRecovery.open(strict, into: again) { _ in }
        #expect(second.entriesReplayed == damaged.keptEntryCount + 1)
        #expect(second.pointInTimeCut == nil)
        try reopened.close()
    }

    @Test("A clean log or a torn tail under point-in-time: nothing is set aside")
    func nothingToCut() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-pit")
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        for index in 0..<10 { try writer.append(.command(["SET", "k\(index)", "v"], at: 1_000)) }
        try writer.close()
        let segment = try #require(try LogReader(directory: log).manifest.segments.last?.fileName)
        let handle = try #require(FileHandle(forUpdatingAtPath: log + "/" + segment))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 5)
        try handle.close()
        var configuration = ServerConfiguration()
        configuration.directory = log
        configuration.recovery = .pointInTime
        let keyspace = Keyspace(randomSeed: 1)
        let (reopened, report) = try LogRecovery.open(configuration, into: keyspace) { _ in }
        #expect(report.pointInTimeCut == nil)
        #expect(report.damages.map(\.kind) == [.tornTail])
        #expect(report.entriesReplayed == keyspace.keyCount(db: 0))
        #expect(reopened.nextSequenceNumber == UInt64(report.entriesReplayed + 1))
        try reopened.close()
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: log).contains { $0.hasPrefix("point-in-time-cut-") }))
    }

    @Test("rewind serve --recovery point-in-time starts on mid-log damage, serves the prefix and says what it cut",
          .enabled(if: RewindBinary.path != nil))
    func endToEnd() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-pit")
        let damaged = try Self.makeDamagedLog(directory)
        // The default mode still refuses it, changing nothing.
        let refused = try runProgram(try RewindBinary.path.orThrow("rewind"),
                                     ["serve", "--dir", damaged.log, "--port", String(ServerProcess.freePort())], timeout: 120)
        #expect(refused.status == 1)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: damaged.log).contains { $0.hasPrefix("point-in-time-cut-") }))

        let server = try ServerProcess(directory: damaged.log, arguments: ["--recovery", "point-in-time"])
        let client = try RESPClient(port: server.port)
        let last = damaged.keptEntryCount - 1
        #expect(try client.command(["DBSIZE"]) == .integer(Int64(damaged.keptEntryCount)))
        #expect(try client.command(["EXISTS", "k\(last)"]) == .integer(1))
        #expect(try client.command(["EXISTS", "k\(last + 1)", "k\(damaged.entryCount - 1)"]) == .integer(0))
        #expect(try client.command(["SET", "after", "cut"]) == .ok)
        guard case .bulkString(let persistence) = try client.command(["INFO", "persistence"]) else { throw TestFailure("INFO") }
        #expect(String(decoding: persistence, as: UTF8.self).contains("rewind_point_in_time_cut:\(damaged.log)/point-in-time-cut-"))
        #expect(server.terminate() == 0)
        let output = server.standardError
        #expect(output.contains("point-in-time recovery"))
        #expect(output.contains("\(damaged.damagedSegment) @\(damaged.damagedOffset)"))
        #expect(output.contains("new writes continue at #\(damaged.keptEntryCount + 1)"))
        #expect(output.contains("point-in-time-cut-"))

        let (entries, _) = try LogReader(directory: damaged.log).readAll(recovery: .absolute)
        let commands = entries.filter { $0.kind == .command }
        #expect(commands.count == damaged.keptEntryCount + 1)
        #expect(commands.last?.sequence == UInt64(damaged.keptEntryCount + 1))
        #expect(commands.last?.arguments == [Array("SET".utf8), Array("after".utf8), Array("cut".utf8)])
        try Self.expectCutBytesPreserved(damaged)

        // And the next start, in the default mode, finds a clean log with the new write.
        let restarted = try ServerProcess(directory: damaged.log)
        let again = try RESPClient(port: restarted.port)
        #expect(try again.command(["DBSIZE"]) == .integer(Int64(damaged.keptEntryCount + 1)))
        #expect(try again.command(["GET", "after"]) == .bulkString(Array("cut".utf8)))
        #expect(restarted.terminate() == 0)
    }
}
