import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// Import, export and load into a real redis-server 7.0: the data set must be the one Redis
/// loads from the original AOF, compared with DEBUG DIGEST. Each test starts its own servers on
/// free loopback ports and stops them; the suite is serialized to keep the two cores calm.
@Suite("Round trips through redis-server", .serialized, .enabled(if: RedisProcess.isAvailable))
struct RedisRoundTripTests {
    @Test("Single-file AOF: import, export, load gives the digest of loading the original")
    func singleFileRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let original = try RedisProcess.digestOfLoading(aofFile: Fixtures.singleAOF, in: directory.path)
        #expect(original == (try Fixtures.recordedDigest("appendonly.aof")))
        let log = directory.appending("single.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        for timestamps in [false, true] {
            let exported = directory.appending("export-\(timestamps).aof")
            let summary = try AOFExporter.export(log: log, to: exported, options: .init(writesTimestamps: timestamps))
            #expect(summary.commandCount == 24)
            #expect(try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path) == original)
        }
        // With annotations, the export is the original file byte for byte.
        let again = try Data(contentsOf: URL(fileURLWithPath: directory.appending("export-true.aof")))
        #expect(again == (try Data(contentsOf: URL(fileURLWithPath: Fixtures.singleAOF))))
    }

    @Test("Multi-part appenddir: import, export, load gives the digest of loading the appenddir")
    func appendDirectoryRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let original = try RedisProcess.digestOfLoading(appendDirectory: Fixtures.appendDirectory, in: directory.path)
        #expect(original == (try Fixtures.recordedDigest("appendonlydir")))
        let log = directory.appending("dir.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: log)
        let exported = directory.appending("export.aof")
        _ = try AOFExporter.export(log: log, to: exported, options: .init(writesTimestamps: true))
        #expect(try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path) == original)
    }

    @Test("MONITOR capture: import, export, load gives the digest of the server it was captured from")
    func monitorRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("monitor.rwlog")
        _ = try MonitorImporter.importMonitor(from: Fixtures.monitorCapture, to: log)
        let exported = directory.appending("export.aof")
        _ = try AOFExporter.export(log: log, to: exported)
        #expect(try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path) == (try Fixtures.recordedDigest("monitor")))
    }

    @Test("Export --until gives the state Redis has after the same prefix of commands")
    func untilPrefix() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("single.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        // #23 is DEL c: the original AOF up to that command, SELECTs and MULTI/EXEC included.
        let exported = directory.appending("until.aof")
        let summary = try AOFExporter.export(log: log, to: exported, options: .init(until: 23))
        #expect(summary.lastSequence == 23)
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.singleAOF)))
        let del = Array("*2\r\n$3\r\nDEL\r\n$1\r\nc\r\n".utf8)
        let end = try #require(AOFImportTests.lastIndex(of: del, in: bytes)) + del.count
        let prefix = directory.appending("prefix.aof")
        try Data(bytes[0..<end]).write(to: URL(fileURLWithPath: prefix))
        #expect(try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path)
            == (try RedisProcess.digestOfLoading(aofFile: prefix, in: directory.path)))
    }
}
