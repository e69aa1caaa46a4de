// Sorted-set commands: focused cases, a seeded differential run against redis-server 7.0 (which
// also drives HyperLogLog, DEBUG DIGEST-VALUE and OBJECT ENCODING), and replay determinism.
// Mirrors redis tests/unit/type/zset.tcl.

import Foundation
@testable import RewindEngine
import RewindRESP
import Testing

/// Runs commands on one keyspace at a fixed time and keeps what they logged.
struct EngineDriver {
    let keyspace = Keyspace(randomSeed: 7)
    var session = ClientSession()
    var propagated: [LoggedEntry] = []

    @discardableResult
    mutating func run(_ words: String...) -> RESPValue {
        run(words)
    }

    @discardableResult
    mutating func run(_ words: [String]) -> RESPValue {
        let result = keyspace.execute(words.map { Array($0.utf8) }, session: &session, nowMilliseconds: 1_700_000_000_000)
        propagated += result.propagated
        return SortedSetDifferentialRunner.resp2(result.reply)
    }

    /// The logged command lines, as text.
    var loggedLines: [String] {
        propagated.flatMap(\.commands).map { $0.arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") }
    }
}


@Suite("Sorted-set commands")
struct SortedSetCommandTests {
    @Test("ZADD flags, CH and INCR reply as Redis does")
    func zaddOptions() {
        var engine = EngineDriver()
        #expect(engine.run("ZADD", "z", "1", "a", "2", "b") == .integer(2))
        #expect(engine.run("ZADD", "z", "CH", "5", "a", "2", "b", "3", "c") == .integer(2))
        #expect(engine.run("ZADD", "z", "NX", "INCR", "1", "a") == .null)
        #expect(engine.run("ZADD", "z", "INCR", "1.5", "a") == bulk("6.5"))
        #expect(engine.run("ZADD", "z", "GT", "CH", "1", "a") == .integer(0))
        #expect(engine.run("ZADD", "z", "NX", "XX", "1", "a") == .error("ERR XX and NX options at the same time are not compatible"))
        #expect(engine.run("ZADD", "z", "GT", "LT", "1", "a") == .error("ERR GT, LT, and/or NX options at the same time are not compatible"))
        #expect(engine.run("ZADD", "z", "INCR", "1", "a", "2", "b") == .error("ERR INCR option supports a single increment-element pair"))
        #expect(engine.run("ZADD", "z", "nan", "a") == .error("ERR value is not a valid float"))
        #expect(engine.run("ZADD", "z", "1", "a", "2") == .error("ERR syntax error"))
        #expect(engine.run("ZADD", "z", "inf", "x") == .integer(1))
        #expect(engine.run("ZINCRBY", "z", "-inf", "x") == .error("ERR resulting score is not a number (NaN)"))
        #expect(engine.run("ZSCORE", "z", "b") == bulk("2"))
        #expect(engine.run("ZINCRBY", "z", "0.1", "b") == bulk("2.1000000000000001"))
    }

    @Test("Ranges by rank, score and lex, reversed and limited")
    func ranges() {
        var engine = EngineDriver()
        engine.run("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
        #expect(engine.run("ZRANGE", "z", "0", "-1") == .array(["a", "b", "c", "d"].map(bulk)))
        #expect(engine.run("ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES") == .array(["b", "2", "c", "3"].map(bulk)))
        #expect(engine.run("ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2") == .array(["c", "b"].map(bulk)))
        #expect(engine.run("ZRANGE", "z", "[b", "(d", "BYLEX") == .array(["b", "c"].map(bulk)))
        #expect(engine.run("ZRANGE", "z", "0", "1", "LIMIT", "0", "1")
            == .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"))
        #expect(engine.run("ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")
            == .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX"))
        #expect(engine.run("ZREVRANGEBYSCORE", "z", "3", "x") == .error("ERR min or max is not a float"))
        #expect(engine.run("ZCOUNT", "z", "-inf", "(3") == .integer(2))
        #expect(engine.run("ZRANGESTORE", "dst", "z", "1", "2") == .integer(2))
        #expect(engine.run("ZRANGE", "dst", "0", "-1") == .array(["b", "c"].map(bulk)))
        #expect(engine.run("ZREMRANGEBYSCORE", "z", "-inf", "2") == .integer(2))
        #expect(engine.run("ZRANK", "z", "d") == .integer(1))
        #expect(engine.run("ZRANGEBYLEX", "z", "-", "+", "LIMIT", "9223372036854775807", "1") == .array([]))
        #expect(engine.run("ZRANGE", "z", "-inf", "inf", "BYSCORE", "REV", "LIMIT", "9223372036854775807", "-1") == .array([]))
        #expect(engine.run("ZRANGE", "z", "-9223372036854775808", "9223372036854775807") == .array(["c", "d"].map(bulk)))
    }

    @Test("Pops are logged deterministically: BZPOPMIN as ZPOPMIN, ZMPOP as ZPOPMAX with its count")
    func popPropagation() {
        var engine = EngineDriver()
        engine.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        #expect(engine.run("BZPOPMIN", "none", "z", "0") == .array(["z", "a", "1"].map(bulk)))
        #expect(engine.run("ZMPOP", "1", "z", "MAX", "COUNT", "10") == .array([bulk("z"), .array([.array([bulk("c"), bulk("3")]), .array([bulk("b"), bulk("2")])])]))
        #expect(engine.run("ZMPOP", "1", "z", "MAX") == .nullArray)
        #expect(engine.run("ZRANDMEMBER", "z", "5") == .array([]))
        #expect(engine.loggedLines == ["ZADD z 1 a 2 b 3 c", "ZPOPMIN z", "ZPOPMAX z 2"])
    }

    @Test("ZRANDMEMBER: distinct members for a positive count, repeats for a negative one, all for a large one")
    func randomMembers() {
        var engine = EngineDriver()
        engine.run("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d")
        guard case .array(let distinct) = engine.run("ZRANDMEMBER", "z", "3") else { Issue.record("not an array"); return }
        #expect(distinct.count == 3 && Set(distinct).count == 3)
        guard case .array(let repeated) = engine.run("ZRANDMEMBER", "z", "-10", "WITHSCORES") else { Issue.record("not an array"); return }
        #expect(repeated.count == 20)
        #expect(engine.run("ZRANDMEMBER", "z", "10", "WITHSCORES") == .array(["d", "4", "c", "3", "b", "2", "a", "1"].map(bulk)))
        #expect(engine.run("ZRANDMEMBER", "z", "1", "WITHSCORES", "x") == .error("ERR syntax error"))
        #expect(engine.loggedLines == ["ZADD z 1 a 2 b 3 c 4 d"])
    }

    @Test("What is logged matches the AOF redis-server 7.0.15 wrote for the same commands")
    func loggedLikeTheAOF() {
        var engine = EngineHarness()
        let lines = [
            "ZADD z 1 a 2 b 3 c 4 d", "ZADD z XX 5 nosuch", "ZADD missing XX 1 a", "ZADD z INCR 1.5 a", "ZREM z nosuch",
            "ZPOPMIN z 10", "ZADD z 1 a 2 b", "ZRANGESTORE dst nokey 0 -1", "ZRANGESTORE dst z 0 0", "ZRANGESTORE dst z 5 9",
            "ZUNIONSTORE u 2 z nokey WEIGHTS 2 3", "ZINTERSTORE u 1 nokey", "ZINTERSTORE u 1 nokey", "ZDIFFSTORE d 1 z",
            "ZREMRANGEBYSCORE z 10 20", "ZREMRANGEBYRANK z 0 0", "ZINCRBY z 1 b", "ZPOPMAX nokey", "ZMPOP 1 nokey MIN",
            "MULTI", "BZPOPMIN nokey z 0", "BZMPOP 0 1 d MAX COUNT 7", "EXEC",
        ]
        for line in lines { engine.run(line) }
        // Recorded from appendonlydir/*.incr.aof (appendfsync always) after the same commands.
        #expect(engine.log.flatMap(\.commands).map { $0.arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") } == [
            "ZADD z 1 a 2 b 3 c 4 d", "ZADD z INCR 1.5 a", "ZPOPMIN z 10", "ZADD z 1 a 2 b", "ZRANGESTORE dst z 0 0",
            "ZRANGESTORE dst z 5 9", "ZUNIONSTORE u 2 z nokey WEIGHTS 2 3", "ZINTERSTORE u 1 nokey", "ZDIFFSTORE d 1 z",
            "ZREMRANGEBYRANK z 0 0", "ZINCRBY z 1 b", "ZPOPMIN z", "ZPOPMAX d 2",
        ])
        if case .transaction(let commands)? = engine.log.last { #expect(commands.count == 2) } else { Issue.record("EXEC not one transaction") }
    }

    @Test("A compact set stores -0 as 0; a skiplist keeps -0, as Redis's encodings do")
    func negativeZero() {
        var engine = EngineDriver()
        engine.run("ZADD", "small", "-0", "a")
        #expect(engine.run("ZSCORE", "small", "a") == bulk("0"))
        #expect(engine.run("OBJECT", "ENCODING", "small") == bulk("listpack"))
        engine.run(["ZADD", "big"] + (0..<130).flatMap { ["-0", "m\($0)"] })
        #expect(engine.run("OBJECT", "ENCODING", "big") == bulk("skiplist"))
        #expect(engine.run("ZSCORE", "big", "m129") == bulk("-0"))
        #expect(engine.run("ZSCORE", "big", "m0") == bulk("0"))
        // ZRANGESTORE by rank sizes the destination first: 131 elements start as a skiplist.
        engine.run(["ZADD", "long", "1", String(repeating: "x", count: 70)])
        engine.run(["ZADD", "long"] + (0..<130).flatMap { ["-0", "m\($0)"] })
        #expect(engine.run("ZRANGESTORE", "byrank", "long", "0", "-1") == .integer(131))
        #expect(engine.run("ZSCORE", "byrank", "m0") == bulk("-0"))
        #expect(engine.run("ZRANGESTORE", "byscore", "long", "-inf", "inf", "BYSCORE") == .integer(131))
        #expect(engine.run("ZSCORE", "byscore", "m0") == bulk("0"))
    }

    @Test("COMMAND GETKEYS finds the keys of sorted-set commands as redis-server does")
    func keyExtraction() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        var engine = EngineDriver()
        let lines = [
            "ZUNIONSTORE dst 2 a b WEIGHTS 1 2", "ZINTERSTORE dst 1 a", "ZDIFFSTORE dst 3 a b c", "ZDIFFSTORE dst 4 a b c",
            "ZUNION 2 a b WITHSCORES", "ZINTERCARD 2 a b LIMIT 1", "ZMPOP 2 a b MIN", "BZMPOP 0 1 a MAX COUNT 2",
            "BZPOPMIN a b 0", "ZRANGESTORE dst src 0 -1", "ZADD k 1 m", "PFCOUNT a b c", "PFMERGE d a b",
        ]
        for line in lines {
            let words = ["COMMAND", "GETKEYS"] + line.split(separator: " ").map(String.init)
            #expect(try client.send(words) == engine.run(words), "\(line)")
        }
    }

    @Test("Seeded random sorted-set and HyperLogLog commands match redis-server 7.0, digest included")
    func differential() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        var total = 0
        var divergences: [String] = []
        // REWIND_ZSET_DIFF_SEEDS / REWIND_ZSET_DIFF_OPS scale the run up from the shell.
        let environment = ProcessInfo.processInfo.environment
        let seedCount = environment["REWIND_ZSET_DIFF_SEEDS"].flatMap { UInt64($0) } ?? 5
        let operations = environment["REWIND_ZSET_DIFF_OPS"].flatMap { Int($0) } ?? 1500
        for seed in 11..<(11 + seedCount) {
            let runner = try SortedSetDifferentialRunner(client: client, seed: seed)
            try runner.run(operations: operations)
            total += runner.operationCount
            divergences += runner.divergences
            if runner.divergenceCount > runner.divergences.count {
                divergences.append("seed \(seed): \(runner.divergenceCount - runner.divergences.count) more")
            }
            // Determinism: replaying what the engine logged rebuilds the same state.
            let replayed = Keyspace(randomSeed: 999)
            for entry in runner.propagated { replayed.apply(entry, nowMilliseconds: runner.startMilliseconds) }
            #expect(replayed.digest() == runner.keyspace.digest(), "replay digest, seed \(seed)")
        }
        print("sorted-set/HLL differential: \(total) operations, \(divergences.count) divergences")
        #expect(divergences.isEmpty, "\(divergences.joined(separator: "\n"))")
    }
}

// Focused cases written on the engine branch, with replies recorded from redis-server 7.0.15.
@Suite("Sorted-set commands: recorded replies")
struct SortedSetRecordedReplyTests {
    @Test("ZADD options, their conflicts and INCR")
    func zadd() {
        var engine = EngineHarness()
        #expect(engine.run("ZADD z 1 a 2 b") == .integer(2))
        #expect(engine.run("ZADD z CH 3 a 2 b 1 c") == .integer(2))
        #expect(engine.run("ZADD z GT 1 a") == .integer(0))
        #expect(engine.run("ZADD z XX INCR 0.5 a") == bulk("3.5"))
        #expect(engine.run("ZADD z NX INCR 1 a") == .null)
        #expect(engine.run("ZADD z NX XX 1 a") == .error("ERR XX and NX options at the same time are not compatible"))
        #expect(engine.run("ZADD z GT LT 1 a") == .error("ERR GT, LT, and/or NX options at the same time are not compatible"))
        #expect(engine.run("ZADD z INCR 1 a 2 b") == .error("ERR INCR option supports a single increment-element pair"))
        #expect(engine.run("ZADD z 1 a 2") == .error("ERR syntax error"))
        #expect(engine.run("ZADD z x a") == .error("ERR value is not a valid float"))
        engine.run("ZADD z inf i")
        #expect(engine.run("ZINCRBY z -inf i") == .error("ERR resulting score is not a number (NaN)"))
        #expect(engine.run("ZSCORE z i") == bulk("inf"))
        engine.run("ZADD z 0.1 t")
        #expect(engine.run("ZSCORE z t") == bulk("0.10000000000000001"))
    }

    @Test("ZRANGE by rank, score and lex, reversed and limited")
    func ranges() {
        var engine = EngineHarness()
        engine.run("ZADD z 1 a 2 b 3 c 4 d")
        #expect(engine.run("ZRANGE z 0 -1") == bulks("a", "b", "c", "d"))
        #expect(engine.run("ZRANGE z (1 3 BYSCORE WITHSCORES") == bulks("b", "2", "c", "3"))
        #expect(engine.run("ZRANGE z 3 (1 BYSCORE REV LIMIT 0 1") == bulks("c"))
        #expect(engine.run("ZREVRANGE z 0 1") == bulks("d", "c"))
        #expect(engine.run("ZRANGE z 0 1 LIMIT 0 1") == .error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"))
        #expect(engine.run("ZRANGE z - + BYLEX WITHSCORES") == .error(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX"))
        #expect(engine.run("ZRANGEBYSCORE z x 1") == .error("ERR min or max is not a float"))
        engine.run("ZADD l 0 a 0 b 0 c")
        #expect(engine.run("ZRANGEBYLEX l [b +") == bulks("b", "c"))
        #expect(engine.run("ZREVRANGEBYLEX l + (a") == bulks("c", "b"))
        #expect(engine.run("ZLEXCOUNT l a +") == .error("ERR min or max not valid string range item"))
        #expect(engine.run("ZRANGEBYSCORE z -inf +inf LIMIT 0 9223372036854775807") == bulks("a", "b", "c", "d"))
    }

    @Test("Pops: ZPOPMIN/ZPOPMAX counts, ZMPOP and blocking forms logged as plain pops")
    func pops() {
        var engine = EngineHarness()
        engine.run("ZADD z 1 a 2 b 3 c")
        #expect(engine.run("ZPOPMAX z") == bulks("c", "3"))
        #expect(engine.run("ZPOPMIN z 0") == .array([]))
        #expect(engine.run("ZMPOP 1 z MIN COUNT 5") == .array([bulk("z"), .array([bulks("a", "1"), bulks("b", "2")])]))
        #expect(engine.loggedLines() == ["ZPOPMIN z 2"])
        #expect(engine.run("EXISTS z") == .integer(0))
        engine.run("ZADD z 1 a")
        #expect(engine.run("BZPOPMIN nokey z 0") == bulks("z", "a", "1"))
        #expect(engine.loggedLines() == ["ZPOPMIN z"])
        #expect(engine.run("BZPOPMIN z 0") == .nullArray)
    }

    @Test("ZRANGESTORE stores a range or deletes the destination")
    func rangestore() {
        var engine = EngineHarness()
        engine.run("ZADD z 1 a 2 b 3 c")
        #expect(engine.run("ZRANGESTORE d z 1 -1") == .integer(2))
        #expect(engine.run("ZRANGE d 0 -1 WITHSCORES") == bulks("b", "2", "c", "3"))
        #expect(engine.run("ZRANGESTORE d z 5 10") == .integer(0))
        #expect(engine.run("EXISTS d") == .integer(0))
    }
}
