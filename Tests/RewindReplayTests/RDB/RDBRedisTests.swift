import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// RDB files written by a real redis-server 7.0.15, started by each test: imported and compared
/// with DEBUG DIGEST, and exported back into redis-server.
@Suite("RDB against redis-server 7.0", .enabled(if: RedisProcess.isAvailable))
struct RDBRedisTests {
    /// 2100-01-01: TTLs that never pass while the tests run.
    static let future: Int64 = 4_102_444_800_000

    /// Starts a server with `limits`, loads the data set and returns it (the caller stops it).
    static func loadedServer(in directory: String, limits: [String], extra: [String] = [], seed: UInt64 = 8) throws -> RedisProcess {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let server = try RedisProcess(directory: directory, arguments: limits + extra)
        // Elements of 1000 bytes or more get plain (unpacked) quicklist nodes.
        _ = try server.cli(["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"])
        try server.pipe(RDBDataSet.commands(seed: seed, expireAtMilliseconds: future))
        return server
    }

    /// Replays `log` and returns its DEBUG DIGEST-compatible digest.
    static func digest(ofLog log: String) throws -> String {
        let state = try ReplayedState(log: log)
        return StateDigest.digest(of: state.keyspace)
    }

    @Test("A SAVEd RDB imports to the state redis-server holds (same DEBUG DIGEST), low and high encoding limits",
          arguments: ["low", "high"])
    func savedRDBImports(limits: String) throws {
        let directory = try TemporaryDirectory()
        let server = try Self.loadedServer(in: directory.appending("redis"), limits: limits == "low" ? RDBDataSet.lowLimits : RDBDataSet.highLimits)
        defer { server.stop() }
        let expected = try server.digest()
        #expect(try server.cli(["DBSIZE"]) != "0")
        #expect(try server.cli(["SAVE"]) == "OK")
        let rdb = directory.appending("redis/dump.rdb")

        let file = try RDBReader.read(path: rdb) { _ in }
        #expect(file.version == 10)
        #expect(file.checksumVerified)
        #expect(file.creationSeconds != nil)
        let counts = file.encodingCounts
        // Every encoding this data set makes Redis 7.0 write, per limit setting.
        var wanted = ["string", "list (quicklist of listpacks)", "set (intset)", "set (hashtable)", "LZF-compressed string", "plain quicklist node"]
        wanted += limits == "low" ? ["hash (hashtable)", "sorted set (skiplist)"] : ["hash (listpack)", "sorted set (listpack)"]
        for encoding in wanted { #expect(counts[encoding, default: 0] > 0, "no \(encoding) in \(counts)") }

        let log = directory.appending("imported.rwlog")
        let summary = try RDBImporter.importRDB(from: rdb, to: log)
        #expect(summary.rdbKeyCount == file.keyCount)
        #expect(summary.skippedCount == 0)
        #expect(try Self.digest(ofLog: log) == expected)
        // Every entry is stamped with the RDB's ctime; big collections were cut into chunks.
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.allSatisfy { $0.timestampMilliseconds == file.creationSeconds! * 1000 })
        #expect(Set(entries.map(\.db)) == [0, 1, 2])
        #expect(entries.contains { String(decoding: $0.arguments[0], as: UTF8.self) == "PEXPIREAT" })
    }

    @Test("Chunked import: collections cut into entries of a few elements still rebuild the same state")
    func smallChunks() throws {
        let directory = try TemporaryDirectory()
        let server = try Self.loadedServer(in: directory.appending("redis"), limits: RDBDataSet.lowLimits, seed: 9)
        defer { server.stop() }
        let expected = try server.digest()
        _ = try server.cli(["SAVE"])
        let log = directory.appending("chunked.rwlog")
        _ = try RDBImporter.importRDB(from: directory.appending("redis/dump.rdb"), to: log, options: .init(chunkElementCountMax: 7, chunkByteCountMax: 200))
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.allSatisfy { $0.arguments.count <= 2 + 14 })
        #expect(try Self.digest(ofLog: log) == expected)
    }

    @Test("Exported RDB loads in redis-server 7.0 to the same DEBUG DIGEST")
    func exportLoadsInRedis() throws {
        let directory = try TemporaryDirectory()
        let server = try Self.loadedServer(in: directory.appending("redis"), limits: RDBDataSet.lowLimits, seed: 10)
        let expected = try server.digest()
        _ = try server.cli(["SAVE"])
        server.stop()
        let log = directory.appending("imported.rwlog")
        _ = try RDBImporter.importRDB(from: directory.appending("redis/dump.rdb"), to: log)
        let loadDirectory = directory.appending("load")
        try FileManager.default.createDirectory(atPath: loadDirectory, withIntermediateDirectories: true)
        let summary = try RDBExporter.export(log: log, to: loadDirectory + "/dump.rdb")
        #expect(summary.databaseCount == 3)
        #expect(!FileManager.default.fileExists(atPath: loadDirectory + "/dump.rdb.tmp-\(getpid())"))
        // Our own reader accepts what we wrote, checksum included.
        let file = try RDBReader.read(path: loadDirectory + "/dump.rdb") { _ in }
        #expect(file.checksumVerified && file.version == 10 && file.keyCount == summary.keyCount)
        let loaded = try RedisProcess(directory: loadDirectory)
        defer { loaded.stop() }
        #expect(try loaded.cli(["DBSIZE"]) != "0")
        #expect(try loaded.digest() == expected)
        #expect(try loaded.cli(["PEXPIRETIME", "r0:d0:zset:big"]) == String(Self.future))
    }

    @Test("Export --until writes the state at that sequence number")
    func exportUntil() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("small.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        let commands = [["SET", "a", "1"], ["RPUSH", "l", "x", "y"], ["SET", "a", "2"], ["DEL", "l"]]
        for command in commands {
            try writer.append(LogEntry(timestampMilliseconds: 1_800_000_000_000, db: 0, arguments: command.map { Array($0.utf8) }))
        }
        try writer.close()
        let file = directory.appending("until.rdb")
        let summary = try RDBExporter.export(log: log, to: file, until: 2)
        #expect(summary.lastSequence == 2 && summary.keyCount == 2)
        var keys: [String: StateValue] = [:]
        let read = try RDBReader.read(path: file) { keys[String(decoding: $0.key, as: UTF8.self)] = $0.value }
        #expect(keys["a"] == .string(Array("1".utf8)))
        #expect(keys["l"] == .list([Array("x".utf8), Array("y".utf8)]))
        #expect(read.creationSeconds == 1_800_000_000)
        let loadDirectory = directory.appending("load")
        try FileManager.default.createDirectory(atPath: loadDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: file, toPath: loadDirectory + "/dump.rdb")
        let loaded = try RedisProcess(directory: loadDirectory)
        defer { loaded.stop() }
        #expect(try loaded.cli(["GET", "a"]) == "1")
        #expect(try loaded.cli(["LRANGE", "l", "0", "-1"]) == "x\ny")
    }

    @Test("An appenddir with an RDB base (aof-use-rdb-preamble yes) imports base then incr entries")
    func rdbPreambleAppendDirectory() throws {
        let directory = try TemporaryDirectory()
        let redisDirectory = directory.appending("redis")
        let server = try Self.loadedServer(in: redisDirectory, limits: RDBDataSet.highLimits,
            extra: ["--appendonly", "yes", "--aof-use-rdb-preamble", "yes", "--appenddirname", "appendonlydir"], seed: 11)
        defer { server.stop() }
        _ = try server.cli(["BGREWRITEAOF"])
        for _ in 0..<400 {
            let info = try server.cli(["INFO", "persistence"])
            if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") { break }
            usleep(25_000)
        }
        // Incremental commands after the rewrite, in two databases.
        try server.pipe([["SET", "after", "rewrite"], ["INCR", "r0:d0:int:3"], ["SELECT", "2"], ["DEL", "r0:d2:list:long"],
                         ["ZADD", "r0:d2:zset:small", "9", "new"], ["SELECT", "0"]].map { $0.map { Array($0.utf8) } })
        let expected = try server.digest()
        let appendDirectory = redisDirectory + "/appendonlydir"
        let names = try FileManager.default.contentsOfDirectory(atPath: appendDirectory)
        #expect(names.contains { $0.hasSuffix(".base.rdb") })
        let log = directory.appending("aof.rwlog")
        let summary = try AOFImporter.importAOF(from: appendDirectory, to: log)
        #expect(summary.files.first?.hasSuffix(".base.rdb") == true)
        #expect((summary.rdbKeyCount ?? 0) > 0)
        #expect(try Self.digest(ofLog: log) == expected)
        let entries = try LogReader(directory: log).readAll().entries
        #expect(String(decoding: entries.last!.arguments[0], as: UTF8.self).uppercased() == "ZADD")
        #expect(entries.last!.db == 2)
    }

    @Test("A single-file AOF with an RDB preamble (Redis 4-6 layout) imports the RDB then its commands")
    func rdbPreambleSingleFile() throws {
        let directory = try TemporaryDirectory()
        let server = try Self.loadedServer(in: directory.appending("redis"), limits: RDBDataSet.lowLimits, seed: 12)
        _ = try server.cli(["SAVE"])
        server.stop()
        var bytes = Array(FileManager.default.contents(atPath: directory.appending("redis/dump.rdb"))!)
        let tail = "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$4\r\nnewk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$12\r\nr0:d1:binary\r\n"
        bytes += Array(tail.utf8)
        let aof = directory.appending("appendonly.aof")
        FileManager.default.createFile(atPath: aof, contents: Data(bytes))
        let expected = try RedisProcess.digestOfLoading(aofFile: aof, in: directory.path)
        let log = directory.appending("preamble.rwlog")
        _ = try AOFImporter.importAOF(from: aof, to: log)
        #expect(try Self.digest(ofLog: log) == expected)
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.suffix(2).map { String(decoding: $0.arguments[0], as: UTF8.self) } == ["SET", "DEL"])
        #expect(entries.suffix(2).allSatisfy { $0.db == 1 })
    }

    @Test("A stream is an error naming its key and offset; --skip-streams imports the rest and lists it")
    func streams() throws {
        let directory = try TemporaryDirectory()
        let redisDirectory = directory.appending("redis")
        try FileManager.default.createDirectory(atPath: redisDirectory, withIntermediateDirectories: true)
        let server = try RedisProcess(directory: redisDirectory)
        _ = try server.cli(["XADD", "events", "1-1", "a", "1"])
        _ = try server.cli(["XADD", "events", "2-1", "b", "2"])
        _ = try server.cli(["XGROUP", "CREATE", "events", "g", "0"])
        _ = try server.cli(["XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "events", ">"])
        _ = try server.cli(["SET", "plain", "value"])
        _ = try server.cli(["SAVE"])
        server.stop()
        let rdb = redisDirectory + "/dump.rdb"
        let log = directory.appending("s.rwlog")
        #expect {
            try RDBImporter.importRDB(from: rdb, to: log)
        } throws: { error in
            guard let error = error as? RDBError else { return false }
            return error.code == .unsupported && error.key == Array("events".utf8) && error.byteOffset > 9
                && error.description.contains("(key \"events\")")
        }
        #expect(!FileManager.default.fileExists(atPath: log))
        let summary = try RDBImporter.importRDB(from: rdb, to: log, options: .init(skipsStreams: true))
        #expect(summary.commandCount == 1)
        #expect(summary.notes.contains { $0.contains("skipped stream \"events\"") })
    }
}
