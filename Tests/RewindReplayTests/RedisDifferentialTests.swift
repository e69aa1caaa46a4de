import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// A seeded random workload sent to a real redis-server 7.0 writing a multi-part AOF (rewritten
/// half-way), then imported, exported and loaded into another redis-server: the digests must match.
/// Part of the serialized redis-backed suite.
extension RedisRoundTripTests {
    @Test("Seeded random workload with a mid-way BGREWRITEAOF: import, export, load gives the live server's digest", arguments: [UInt64(1), 2])
    func randomWorkload(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        let serverDirectory = directory.appending("server")
        try FileManager.default.createDirectory(atPath: serverDirectory, withIntermediateDirectories: true)
        let server = try RedisProcess(directory: serverDirectory, arguments: [
            "--appendonly", "yes", "--appendfsync", "no", "--aof-use-rdb-preamble", "no",
            "--aof-timestamp-enabled", "yes", "--aof-disable-auto-gc", "no",
        ])
        defer { server.stop() }
        var generator = SeededRandom(seed: seed)
        try server.pipe(Self.workload(count: 1500, using: &generator))
        _ = try server.cli(["BGREWRITEAOF"])
        for _ in 0..<200 {
            let info = try server.cli(["INFO", "persistence"])
            if !info.contains("aof_rewrite_in_progress:1") && !info.contains("aof_rewrite_scheduled:1") { break }
            usleep(20_000)
        }
        try server.pipe(Self.workload(count: 1500, using: &generator))
        let digest = try server.digest()
        #expect(digest != "0000000000000000000000000000000000000000")
        let appendDirectory = serverDirectory + "/appendonlydir"
        let files = try AOFImporter.sourceFiles(at: appendDirectory)
        #expect(files.first?.kind == .base)
        let log = directory.appending("log")
        let summary = try AOFImporter.importAOF(from: appendDirectory, to: log)
        #expect(summary.commandCount > 1000)
        let exported = directory.appending("export.aof")
        _ = try AOFExporter.export(log: log, to: exported, options: .init(writesTimestamps: true))
        #expect(try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path) == digest)
    }

    /// RESP requests of a mixed workload: strings, counters, hashes, lists, sets, sorted sets,
    /// far-future expiry, SPOP, binary values, SELECT and MULTI/EXEC.
    static func workload(count: Int, using generator: inout SeededRandom) -> [UInt8] {
        var out: [UInt8] = []
        func command(_ arguments: [[UInt8]]) {
            out += Array("*\(arguments.count)\r\n".utf8)
            for argument in arguments { out += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10] }
        }
        func text(_ words: String...) -> [[UInt8]] { words.map { Array($0.utf8) } }
        for _ in 0..<count {
            let key = "k\(Int.random(in: 0..<60, using: &generator))"
            let value = generator.bytes(count: Int.random(in: 0...12, using: &generator))
            switch Int.random(in: 0..<14, using: &generator) {
            case 0: command([Array("SET".utf8), Array("s:\(key)".utf8), value])
            case 1: command(text("INCRBY", "n:\(key)", String(Int.random(in: -5...5, using: &generator))))
            case 2: command([Array("HSET".utf8), Array("h:\(key)".utf8), Array("f\(Int.random(in: 0..<5, using: &generator))".utf8), value])
            case 3: command([Array("RPUSH".utf8), Array("l:\(key)".utf8), value])
            case 4: command(text("LPOP", "l:\(key)"))
            case 5: command([Array("SADD".utf8), Array("t:\(key)".utf8), value])
            case 6: command(text("SPOP", "t:\(key)"))
            case 7: command([Array("ZADD".utf8), Array("z:\(key)".utf8), Array(String(Int.random(in: 0...100, using: &generator)).utf8), value])
            case 8: command(text("DEL", "s:\(key)", "h:\(key)"))
            case 9: command(text("EXPIRE", "s:\(key)", "900000000"))
            case 10: command(text("SELECT", String(Int.random(in: 0..<4, using: &generator))))
            case 11:
                command(text("MULTI"))
                command([Array("SET".utf8), Array("x:\(key)".utf8), value])
                command(text("INCR", "n:\(key)"))
                command(text("EXEC"))
            case 12: command([Array("APPEND".utf8), Array("s:\(key)".utf8), value])
            default: command(text("HINCRBY", "h:\(key)", "c", "1"))
            }
        }
        return out
    }
}

extension RedisProcess {
    /// Sends raw RESP requests with `redis-cli --pipe` (error replies, such as WRONGTYPE, are
    /// expected in a random workload and ignored: Redis does not log failed commands).
    func pipe(_ bytes: [UInt8]) throws {
        _ = try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port), "--pipe"], input: .bytes(bytes), timeout: 600)
    }
}
