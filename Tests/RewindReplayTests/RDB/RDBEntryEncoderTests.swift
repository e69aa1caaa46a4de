import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// The import's direct encoding (`RDBEntryEncoder`, from the mapped file into the log's entry
/// bytes) writes exactly the entries the reference path builds: `RDBReader` values turned into
/// commands by `RebuildCommands`, with the same keys skipped.
@Suite("RDB import's direct encoding")
struct RDBEntryEncoderTests {
    static func b(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The entries of the reference path, in order.
    static func referenceEntries(_ bytes: [UInt8], chunkElementCountMax: Int, chunkByteCountMax: Int) throws -> [LogEntry] {
        var timestamp: Int64 = 0
        var builder = RebuildCommands(chunkElementCountMax: chunkElementCountMax, chunkByteCountMax: chunkByteCountMax)
        var entries: [LogEntry] = []
        _ = try bytes.withUnsafeBufferPointer { buffer in
            try RDBReader.read(buffer, fileName: "test.rdb", options: .init(skipsStreams: true), { item in
                if let expiresAt = item.expiresAtMilliseconds, timestamp > 0, expiresAt < timestamp { return }
                _ = try builder.append(item) { entries.append(LogEntry(timestampMilliseconds: timestamp, db: item.db, arguments: $0)) }
            }, onAux: { name, value in
                if name == "ctime", let seconds = Int64(String(decoding: value, as: UTF8.self)), seconds > 0 { timestamp = seconds * 1000 }
            })
        }
        return entries
    }

    /// Imports `bytes` and checks the log's entries against the reference path's.
    static func expectSameEntries(_ bytes: [UInt8], chunkElementCountMax: Int = 1024, chunkByteCountMax: Int = 1 << 20,
                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let directory = try TemporaryDirectory()
        let source = directory.appending("test.rdb")
        FileManager.default.createFile(atPath: source, contents: Data(bytes))
        let log = directory.appending("imported.rwlog")
        let options = RDBImporter.Options(skipsStreams: true, chunkElementCountMax: chunkElementCountMax, chunkByteCountMax: chunkByteCountMax)
        let summary = try RDBImporter.importRDB(from: source, to: log, options: options)
        let expected = try referenceEntries(bytes, chunkElementCountMax: chunkElementCountMax, chunkByteCountMax: chunkByteCountMax)
        let got = try LogReader(directory: log).readAll(recovery: .absolute).entries.map { entry -> LogEntry in
            var entry = entry
            entry.sequence = 0
            return entry
        }
        #expect(summary.entryCount == expected.count, sourceLocation: sourceLocation)
        #expect(got.count == expected.count, sourceLocation: sourceLocation)
        for (index, (entry, want)) in zip(got, expected).enumerated() where entry != want {
            Issue.record("entry #\(index + 1): \(entry.arguments.prefix(4).map { String(decoding: $0, as: UTF8.self) }) != \(want.arguments.prefix(4).map { String(decoding: $0, as: UTF8.self) })",
                         sourceLocation: sourceLocation)
            break
        }
    }

    /// Cases the direct encoding handles apart: empty collections of each encoding, a key whose
    /// TTL had passed, LZF-compressed listpacks and keys, integer keys and members, a sorted set
    /// stored as a skiplist (sorted by score first), collections long enough to be cut into chunks.
    static func edgeCasesFile() -> [UInt8] {
        typealias B = RDBFixtureBuilder
        var file = B(version: 10)
        file.aux("ctime", "1800000000")
        file.opcode(0xFE); file.length(0)
        file.opcode(1); file.string("empty:plain:list"); file.length(0)
        file.opcode(18); file.string("empty:quicklist"); file.length(0)
        file.opcode(11); file.string("empty:intset"); file.string(B.intset([], width: 2))
        file.opcode(16); file.string("empty:hash"); file.string(B.listpack([]))
        file.opcode(17); file.string("empty:zset"); file.string(B.listpack([]))
        // Expired at ctime: left out.
        file.opcode(0xFC); file.littleEndian(1_700_000_000_000, byteCount: 8)
        file.opcode(0); file.string("expired"); file.string("gone")
        // An integer-encoded key, an LZF key, both with TTLs.
        file.opcode(0xFC); file.littleEndian(4_102_444_800_123, byteCount: 8)
        file.opcode(0); file.bytes += [0xC1] + B.le(UInt64(bitPattern: -12_345), 2); file.string("int key")
        file.opcode(0xFC); file.littleEndian(4_102_444_800_456, byteCount: 8)
        file.opcode(17); file.lzfString(b(String(repeating: "lzf-key-", count: 10)))
        // An LZF-compressed listpack of integer members and scores, and text scores.
        file.lzfString(B.listpack([.integer(7), .integer(-3), .text("m"), .text("2.5"), .integer(-4096), .text("1e300"),
                                   .text("neg"), .text("-0.0"), .text("big"), .integer(Int64.max)]))
        // A sorted set as a skiplist, binary scores in hash order (the reference sorts them).
        file.opcode(5); file.string("skiplist"); file.length(4)
        for (member, score) in [("d", 4.0), ("a", -1.5), ("c", 1e-300), ("b", 3)] {
            file.string(member); file.littleEndian(score.bitPattern, byteCount: 8)
        }
        // Long collections: a quicklist of listpacks with a plain node between, a plain hash, a
        // listpack set, a ziplist sorted set.
        file.opcode(18); file.string("long:list"); file.length(3)
        file.length(2); file.string(B.listpack((0..<40).map { .text("e\($0)") }))
        file.length(1); file.string(String(repeating: "P", count: 1500))
        file.length(2); file.lzfString(B.listpack((0..<40).map { .integer(Int64($0) * 1000) }))
        file.opcode(4); file.string("long:hash"); file.length(30)
        for index in 0..<30 { file.string("field\(index)"); file.string(String(repeating: "v", count: index)) }
        file.opcode(20); file.string("long:set"); file.string(B.listpack((0..<50).map { .integer(Int64($0) - 25) }))
        file.opcode(12); file.string("long:zset"); file.string(B.ziplist((0..<25).flatMap { [.text("z\($0)"), .integer(Int64($0))] }))
        file.opcode(0xFE); file.length(5)
        file.opcode(0); file.string("in db 5"); file.lzfString(b(String(repeating: "xyz", count: 100)))
        return file.finish()
    }

    @Test("Hand-built files of every encoding: the same entries as the reference path, whole and in small chunks",
          arguments: [(1024, 1 << 20), (3, 50), (1, 1)])
    func handBuilt(chunkElementCountMax: Int, chunkByteCountMax: Int) throws {
        for file in [RDBFormatTests.olderEncodingsFile(), Self.edgeCasesFile()] {
            try Self.expectSameEntries(file, chunkElementCountMax: chunkElementCountMax, chunkByteCountMax: chunkByteCountMax)
        }
    }

    @Test("Empty collections and expired keys are skipped and noted")
    func skippedKeys() throws {
        let directory = try TemporaryDirectory()
        let source = directory.appending("edge.rdb")
        FileManager.default.createFile(atPath: source, contents: Data(Self.edgeCasesFile()))
        let summary = try RDBImporter.importRDB(from: source, to: directory.appending("edge.rwlog"))
        #expect(summary.skippedCount == 6)
        #expect(summary.notes.contains { $0.contains("skipped empty list \"empty:quicklist\"") })
        #expect(summary.notes.contains { $0.contains("skipped empty zset \"empty:zset\"") })
        #expect(summary.notes.contains { $0.contains("skipped key \"expired\": its TTL had passed") })
    }

    @Test("A redis-server 7.0 RDB of every encoding: the same entries as the reference path",
          .enabled(if: RedisProcess.isAvailable), arguments: ["low", "high"])
    func redisWritten(limits: String) throws {
        let directory = try TemporaryDirectory()
        let server = try RDBRedisTests.loadedServer(in: directory.appending("redis"), limits: limits == "low" ? RDBDataSet.lowLimits : RDBDataSet.highLimits,
                                                    seed: 31)
        _ = try server.cli(["SAVE"])
        server.stop()
        let file = Array(FileManager.default.contents(atPath: directory.appending("redis/dump.rdb"))!)
        try Self.expectSameEntries(file)
        try Self.expectSameEntries(file, chunkElementCountMax: 5, chunkByteCountMax: 100)
    }
}
