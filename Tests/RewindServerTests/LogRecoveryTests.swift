import Foundation
import RewindEngine
import RewindLog
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

/// Startup replay under each recovery mode, on logs damaged on purpose.
@Suite("Crash recovery at start")
struct LogRecoveryTests {
    /// A log of `count` records, one `SET k<i> v<i>` each, and the path of its (only) segment.
    private func makeLog(_ directory: TemporaryDirectory, count: Int) throws -> (log: String, segment: String) {
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false, flushIntervalMilliseconds: 0))
        for index in 0..<count {
            try writer.append(.command(["SET", "k\(index)", "value-\(index)-" + String(repeating: "x", count: 100)], at: 1_000 + Int64(index)))
            try writer.sync()
        }
        try writer.close()
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: log).first { $0.hasSuffix(".rwseg") })
        return (log, log + "/" + segment)
    }

    private func configuration(_ log: String, _ mode: RecoveryMode) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.directory = log
        configuration.recovery = mode
        return configuration
    }

    private func keyCount(_ keyspace: Keyspace) -> Int { keyspace.keyCount(db: 0) }

    private func corrupt(_ path: String, at offset: UInt64) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
        try handle.close()
    }

    private func truncate(_ path: String, by byteCount: UInt64) throws {
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: size - byteCount)
        try handle.close()
    }

    @Test("A clean log replays every entry at its own time")
    func clean() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let (log, _) = try makeLog(directory, count: 20)
        let keyspace = Keyspace(randomSeed: 1)
        let (writer, report) = try LogRecovery.open(configuration(log, .tolerateTail), into: keyspace) { _ in }
        #expect(report.entriesReplayed == 20)
        #expect(report.damages.isEmpty)
        #expect(keyCount(keyspace) == 20)
        #expect(writer.nextSequenceNumber == 21)
        try writer.close()
    }

    @Test("tolerate-tail cuts a torn final record, reports it, and appends after it")
    func tornTail() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let (log, segment) = try makeLog(directory, count: 20)
        try truncate(segment, by: 10)
        let keyspace = Keyspace(randomSeed: 1)
        var reported: [LogDamage] = []
        let (writer, report) = try LogRecovery.open(configuration(log, .tolerateTail), into: keyspace) { reported.append($0) }
        #expect(report.entriesReplayed == 19)
        #expect(reported.map(\.kind) == [.tornTail])
        #expect(keyCount(keyspace) == 19)
        try writer.append(.command(["SET", "after", "crash"], at: 5_000))
        try writer.close()
        let reread = Keyspace(randomSeed: 1)
        let (again, second) = try LogRecovery.open(configuration(log, .absolute), into: reread) { _ in }
        #expect(second.entriesReplayed == 20)
        #expect(second.damages.isEmpty)
        try again.close()
    }

    @Test("absolute refuses a torn tail and leaves the log untouched")
    func absoluteRefusesTornTail() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let (log, segment) = try makeLog(directory, count: 10)
        try truncate(segment, by: 10)
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as? UInt64
        #expect(throws: ServerStartupError.self) {
            _ = try LogRecovery.open(configuration(log, .absolute), into: Keyspace(randomSeed: 1)) { _ in }
        }
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? UInt64 == size)
    }

    @Test("Damage in the middle refuses the start under tolerate-tail and absolute, naming what to run",
          arguments: [RecoveryMode.tolerateTail, .absolute])
    func middleDamageRefused(mode: RecoveryMode) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let (log, segment) = try makeLog(directory, count: 20)
        try corrupt(segment, at: 600)
        do {
            _ = try LogRecovery.open(configuration(log, mode), into: Keyspace(randomSeed: 1)) { _ in }
            Issue.record("the start was not refused")
        } catch let error as ServerStartupError {
            #expect(error.description.contains("rewind verify"))
            #expect(error.description.contains("rewind repair"))
            #expect(error.description.contains(".rwseg"))
        }
    }

    @Test("skip-damaged drops the damaged records, reports them and replays the rest")
    func skipDamaged() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let (log, segment) = try makeLog(directory, count: 20)
        try corrupt(segment, at: 600)
        let keyspace = Keyspace(randomSeed: 1)
        var reported: [LogDamage] = []
        let (writer, report) = try LogRecovery.open(configuration(log, .skipDamaged), into: keyspace) { reported.append($0) }
        #expect(!reported.isEmpty)
        #expect(report.entriesReplayed > 0 && report.entriesReplayed < 20)
        #expect(keyCount(keyspace) == report.entriesReplayed)
        try writer.close()
        let (again, second) = try LogRecovery.open(configuration(log, .tolerateTail), into: Keyspace(randomSeed: 1)) { _ in }
        #expect(second.entriesReplayed == report.entriesReplayed)
        try again.close()
    }

    @Test("Replay judges expiry by each entry's time, not the wall clock")
    func expiryByEntryTime() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recovery")
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log)
        try writer.append(.command(["SET", "short", "v", "PXAT", "2000"], at: 1_000))
        try writer.append(.command(["SET", "long", "v", "PXAT", "99999999999999"], at: 1_000))
        try writer.close()
        let keyspace = Keyspace(randomSeed: 1)
        let (reopened, report) = try LogRecovery.open(configuration(log, .tolerateTail), into: keyspace) { _ in }
        #expect(report.entriesReplayed == 2)
        var session = ClientSession()
        #expect(keyspace.execute([Array("GET".utf8), Array("long".utf8)], session: &session, nowMilliseconds: 1_500).reply
            == .bulkString(Array("v".utf8)))
        try reopened.close()
    }
}
