import Foundation
import RewindEngine
import RewindLog
import RewindReplay
import RewindRESP
import RewindTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// BGREWRITEAOF, the automatic trigger and INFO persistence on the built `rewind serve`.
@Suite("rewind serve online compaction", .serialized, .enabled(if: RewindBinary.path != nil))
struct OnlineCompactionServerTests {
    /// One command of a seeded workload over a few dozen keys of every type, rewritten often so
    /// that the state is much smaller than its history. TTLs are long: nothing expires during a test.
    static func workloadCommand(_ generator: inout SeededGenerator, prefix: String = "") -> [String] {
        let key = prefix + String(generator.next() % 40)
        let value = String(generator.next() % 1000)
        switch generator.next() % 10 {
        case 0, 1: return ["SET", "s:" + key, "value-" + value + String(repeating: "x", count: Int(generator.next() % 40))]
        case 2: return ["INCRBY", "n:" + key, value]
        case 3: return ["RPUSH", "l:" + key, value]
        case 4: return ["LPOP", "l:" + key]
        case 5: return ["HSET", "h:" + key, "f" + String(generator.next() % 8), value]
        case 6: return ["SADD", "set:" + key, value]
        case 7: return ["ZADD", "z:" + key, String(generator.next() % 100) + ".5", "m" + value]
        case 8: return ["EXPIRE", "s:" + key, "3600"]
        default: return ["DEL", "n:" + key]
        }
    }

    /// Sends `count` workload commands pipelined in batches, reading every reply.
    static func runWorkload(_ client: RESPClient, count: Int, generator: inout SeededGenerator) throws {
        var sent = 0
        while sent < count {
            let batch = min(100, count - sent)
            for _ in 0..<batch { try client.send(workloadCommand(&generator)) }
            for _ in 0..<batch { _ = try client.readReply() }
            sent += batch
        }
    }

    static func text(_ value: RESPValue) -> String? {
        switch value {
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .simpleString(let string): return string
        case .verbatimString(_, let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// Writes now and then until the log's manifest names a dictionary (at most 20 s).
    static func waitForDictionary(_ client: RESPClient, log: String) throws {
        for _ in 0..<400 {
            if !(try ManifestStore.load(directory: log)).dictionaries.isEmpty { return }
            _ = try client.command(["SET", "dictionary-probe", "x"])
            usleep(50_000)
        }
        throw TestFailure("the log's dictionary was not in use after 20 s")
    }

    static func persistence(_ client: RESPClient) throws -> [String: String] {
        let reply = try client.command(["INFO", "persistence"])
        guard let text = text(reply) else { throw TestFailure("INFO replied \(reply)") }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\r\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// Polls INFO until no rewrite runs (at most 60 s); returns the last fields.
    static func waitForRewrite(_ client: RESPClient, count: Int) throws -> [String: String] {
        var fields: [String: String] = [:]
        for _ in 0..<3000 {
            fields = try persistence(client)
            if fields["aof_rewrite_in_progress"] == "0", Int(fields["aof_rewrites"] ?? "") ?? 0 >= count { return fields }
            usleep(20_000)
        }
        throw TestFailure("the rewrite did not finish: \(fields)")
    }

    static func digest(_ client: RESPClient) throws -> String {
        try text(try client.command(["DEBUG", "DIGEST"])).orThrow("DEBUG DIGEST")
    }

    /// The digest the log replays to, in-process.
    static func replayDigest(_ log: String) throws -> String {
        let keyspace = Keyspace(randomSeed: 0)
        _ = try Replayer(log: log).replay(into: keyspace, options: ReplayOptions())
        return StateDigest.digest(of: keyspace)
    }

    static func files(_ log: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: log)).subtracting(["LOCK"])
    }

    static func manifestFiles(_ log: String) throws -> Set<String> {
        let manifest = try ManifestStore.load(directory: log)
        return Set(manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName) + ["MANIFEST"])
    }

    @Test("BGREWRITEAOF mid-workload: Redis's replies, writes go on, INFO reports it, the smaller log replays to the live digest")
    func bgrewriteaof() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-online")
        let log = directory.appending("log")
        let server = try ServerProcess(directory: log, arguments: ["--auto-compact-percentage", "0"])
        let client = try RESPClient(port: server.port)
        let other = try RESPClient(port: server.port)
        var generator = SeededGenerator(seed: 7)
        var fields = try Self.persistence(client)
        #expect(fields["aof_enabled"] == "1")
        #expect(fields["aof_rewrite_in_progress"] == "0")
        #expect(fields["aof_rewrites"] == "0")
        #expect(fields["aof_last_rewrite_time_sec"] == "-1")
        #expect(fields["aof_last_bgrewrite_status"] == "ok")

        try Self.runWorkload(client, count: 6000, generator: &generator)
        // The server trains the log's dictionary in the background and switches to it at the next
        // write after: sizes compare only once it is in use.
        try Self.waitForDictionary(client, log: log)
        let sizeBefore = try Int(Self.persistence(client)["aof_current_size"] ?? "").orThrow("aof_current_size")
        #expect(sizeBefore > 0)
        // Two in one read: the second arrives while the first runs (its end is queued behind them).
        try client.send(["BGREWRITEAOF"])
        try client.send(["BGREWRITEAOF"])
        #expect(try client.readReply() == .simpleString("Background append only file rewriting started"))
        #expect(try client.readReply() == .error("ERR Background append only file rewriting already in progress"))
        // Writes from another client while the base is written.
        var otherGenerator = SeededGenerator(seed: 8)
        try Self.runWorkload(other, count: 3000, generator: &otherGenerator)
        fields = try Self.waitForRewrite(client, count: 1)
        #expect(fields["aof_last_bgrewrite_status"] == "ok")
        #expect(fields["aof_rewrites"] == "1")
        #expect(fields["aof_rewrites_consecutive_failures"] == "0")
        #expect(fields["aof_current_rewrite_time_sec"] == "-1")
        #expect(Int(fields["aof_last_rewrite_time_sec"] ?? "") ?? -1 >= 0)
        let baseBytes = try Int(fields["rewind_last_rewrite_base_bytes"] ?? "").orThrow("base bytes")
        #expect(baseBytes > 0 && baseBytes < sizeBefore / 2, "base \(baseBytes) bytes, log before \(sizeBefore)")
        #expect(Int(fields["aof_base_size"] ?? "") ?? 0 >= baseBytes)
        try Self.runWorkload(client, count: 1000, generator: &generator)

        let manifest = try ManifestStore.load(directory: log)
        #expect(manifest.segments.first?.kind == .base)
        #expect(try Self.files(log) == Self.manifestFiles(log), "files the manifest does not name were left behind")
        let live = try Self.digest(client)
        let sizeAfter = try Int(Self.persistence(client)["aof_current_size"] ?? "").orThrow("aof_current_size")
        #expect(server.terminate() == 0)
        #expect(try Self.replayDigest(log) == live)
        // 10000 commands' history in less than the 6000 before the rewrite took.
        #expect(sizeAfter < sizeBefore, "\(sizeAfter) bytes after, \(sizeBefore) before")

        let restarted = try ServerProcess(directory: log)
        let again = try RESPClient(port: restarted.port)
        #expect(try Self.digest(again) == live)
        #expect(restarted.terminate() == 0)
    }

    @Test("The automatic trigger fires past the percentage and the minimum size; CONFIG GET/SET map to it as Redis names it")
    func automaticTrigger() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-online")
        let log = directory.appending("log")
        let server = try ServerProcess(directory: log, arguments: ["--auto-compact-percentage", "0", "--auto-compact-min-size", "8kb"])
        let client = try RESPClient(port: server.port)
        #expect(try client.command(["CONFIG", "GET", "auto-aof-rewrite-percentage"])
            == .array([.bulkString(Array("auto-aof-rewrite-percentage".utf8)), .bulkString(Array("0".utf8))]))
        #expect(try client.command(["CONFIG", "GET", "auto-aof-rewrite-min-size"])
            == .array([.bulkString(Array("auto-aof-rewrite-min-size".utf8)), .bulkString(Array("8192".utf8))]))
        #expect(try client.command(["CONFIG", "SET", "auto-aof-rewrite-percentage", "-1"])
            == .error("ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-percentage') - argument must be between 0 and 2147483647 inclusive"))
        #expect(try client.command(["CONFIG", "SET", "auto-aof-rewrite-min-size", "lots"])
            == .error("ERR CONFIG SET failed (possibly related to argument 'auto-aof-rewrite-min-size') - argument must be a memory value"))

        var generator = SeededGenerator(seed: 21)
        try Self.runWorkload(client, count: 4000, generator: &generator)
        usleep(300_000)  // three cron runs: disabled, nothing may start
        var fields = try Self.persistence(client)
        #expect(fields["aof_rewrites"] == "0")
        let size = try Int(fields["aof_current_size"] ?? "").orThrow("aof_current_size")
        #expect(size > 8192)

        // Enabled: the log is past the minimum and grew from nothing at start, so it fires.
        #expect(try client.command(["CONFIG", "SET", "auto-aof-rewrite-percentage", "100"]) == .ok)
        fields = try Self.waitForRewrite(client, count: 1)
        #expect(fields["aof_last_bgrewrite_status"] == "ok")
        let base = try Int(fields["aof_base_size"] ?? "").orThrow("aof_base_size")
        #expect(base < size)
        // Below the percentage it does not fire, however large the log is past the minimum...
        #expect(try client.command(["CONFIG", "SET", "auto-aof-rewrite-min-size", "1kb", "auto-aof-rewrite-percentage", "100000"]) == .ok)
        #expect(try client.command(["CONFIG", "GET", "auto-aof-rewrite-min-size"])
            == .array([.bulkString(Array("auto-aof-rewrite-min-size".utf8)), .bulkString(Array("1024".utf8))]))
        for _ in 0..<10 {
            try Self.runWorkload(client, count: 1000, generator: &generator)
            if Int(try Self.persistence(client)["aof_current_size"] ?? "") ?? 0 >= 2 * base { break }
        }
        usleep(300_000)
        fields = try Self.persistence(client)
        #expect(fields["aof_rewrites"] == "1")
        #expect(Int(fields["aof_current_size"] ?? "") ?? 0 >= 2 * base)
        // ...and past it (the log more than doubled: 100%), it does.
        #expect(try client.command(["CONFIG", "SET", "auto-aof-rewrite-percentage", "100"]) == .ok)
        _ = try Self.waitForRewrite(client, count: 2)
        let live = try Self.digest(client)
        #expect(server.terminate() == 0)
        #expect(try Self.replayDigest(log) == live)
    }

    @Test("Killed with SIGKILL at each step of BGREWRITEAOF, the log restarts to every acknowledged write; the next rewrite removes the leftovers",
          arguments: LogCompaction.Step.allCases)
    func killedAt(step: LogCompaction.Step) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-online-crash")
        let log = directory.appending("log")
        let server = try ServerProcess(directory: log, arguments: ["--appendfsync", "always", "--auto-compact-percentage", "0"],
                                       environment: ["REWIND_COMPACT_CRASH_AT": step.rawValue])
        let client = try RESPClient(port: server.port)
        var generator = SeededGenerator(seed: 99)
        try Self.runWorkload(client, count: 3000, generator: &generator)
        let before = try Self.digest(client)
        // The kill may come before the reply leaves (it races the event loop's flush).
        try client.send(["BGREWRITEAOF"])
        let started = try? client.readReply()
        #expect(started == nil || started == .simpleString("Background append only file rewriting started"))
        // Appends during the compaction until the kill; every reply read was acknowledged.
        var acknowledged = 0
        sending: for round in 0..<100_000 {
            for offset in 0..<10 { try? client.send(["RPUSH", "seq", String(round * 10 + offset)]) }
            for _ in 0..<10 {
                guard case .integer(let length)? = try? client.readReply() else { break sending }
                acknowledged = Int(length)
            }
        }
        #expect(server.waitForExit(timeout: 60) != nil)

        let restarted = try ServerProcess(directory: log, arguments: ["--auto-compact-percentage", "0"])
        let again = try RESPClient(port: restarted.port)
        guard case .array(let items) = try again.command(["LRANGE", "seq", "0", "-1"]) else { throw TestFailure("LRANGE") }
        let values = items.compactMap { Self.text($0).flatMap { Int($0) } }
        #expect(values == Array(0..<values.count), "the list is not a prefix")
        #expect(values.count >= acknowledged, "\(acknowledged - values.count) acknowledged writes lost")
        // The kill may land before the first RPUSH was logged: then there is no list to delete.
        #expect(try again.command(["DEL", "seq"]) == .integer(values.isEmpty ? 0 : 1))
        #expect(try Self.digest(again) == before, "the state before the rewrite is not what the log rebuilds")
        // The log is whole, and a new rewrite works and leaves only the files the manifest names.
        #expect(try again.command(["BGREWRITEAOF"]) == .simpleString("Background append only file rewriting started"))
        let fields = try Self.waitForRewrite(again, count: 1)
        #expect(fields["aof_last_bgrewrite_status"] == "ok")
        #expect(try Self.files(log) == Self.manifestFiles(log))
        let live = try Self.digest(again)
        #expect(restarted.terminate() == 0)
        #expect(try Self.replayDigest(log) == live)
        #expect(try runProgram(try RewindBinary.path.orThrow("rewind"), ["verify", log]).status == 0)
    }
}
