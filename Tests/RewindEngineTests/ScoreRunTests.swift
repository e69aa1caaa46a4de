// SortedSetScoreRuns (a replay's runs of plain ZADDs, one per sorted set, each member placed once)
// against the same commands applied one by one: the same replies for what is not gathered, the
// same state in slot order, the same encodings, the same digest.

import Foundation
@_spi(Testing) import RewindEngine
import RewindRESP
import RewindTestSupport
import Testing

@Suite("SortedSetScoreRuns replays runs of ZADDs exactly as one by one")
struct ScoreRunTests {
    private static let now: Int64 = 1_700_000_000_000

    /// Mostly `ZADD key score member` to a few keys, with every form that must place a run:
    /// options, several pairs, invalid scores, other commands on the same key (a type change, a
    /// delete), and commands that touch keys other than their first argument, or every key.
    static func command(_ random: inout SeededRandom, key: String, memberCount: Int) -> [String] {
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        // Zeros of both signs and spellings, so runs move members away from and back to 0.
        let score = random.next() % 12 == 0
            ? pick(["nan", "abc", "", " 1", "1e400", "NX"])
            : pick(["0", "-0", "+0", "0.0", "-0.0", "1", "2", "-1", "1.5", "inf", "-inf", "+inf", "7", "1e3", "-2.5",
                    String(random.next() % 50), String(random.next() % 50)])
        // A long member makes the set a skiplist (runs open only on those).
        let member = random.next() % 15 == 0 ? String(repeating: "long", count: 20) : "m\(random.next() % UInt64(memberCount))"
        switch random.next() % 48 {
        case 40: return pick([["RENAME", key, pick(["zset", "z2", "other"])], ["MOVE", key, "1"], ["SWAPDB", "0", "1"],
                              ["COPY", key, pick(["zset", "z2"]), "DB", "1", "REPLACE"], ["ZUNIONSTORE", pick(["zset", "z2"]), "1", key],
                              ["SORT", key, "BY", "nosort", "STORE", "z2"]])
        case 41: return random.next() % 6 == 0 ? [pick(["FLUSHDB", "FLUSHALL"])] : ["ZSCORE", key, member]
        case 42: return ["DEL", pick(["zset", "z2", "other", "nokey"]), key]
        case 43: return [pick(["EXPIRE", "PERSIST"]), key] + (random.next() % 2 == 0 ? ["100"] : [])
        case 44: return ["SADD", pick(["zset", "s", "other"]), member]
        case 45: return ["ZINCRBY", key, "1", member]
        case 0: return ["ZADD", key, pick(["NX", "XX", "CH", "GT", "LT", "INCR"]), score, member]
        case 1: return ["ZADD", key, score, member, pick(["1", "-0", "0"]), "m\(random.next() % UInt64(memberCount))"]
        case 2: return ["ZREM", key, member]
        case 3: return ["ZINCRBY", key, pick(["1", "-1", "0"]), member]
        case 4: return random.next() % 3 == 0 ? [pick(["DEL", "UNLINK"]), key] : ["ZSCORE", key, member]
        case 5: return random.next() % 4 == 0 ? ["SET", key, "string"] : ["ZCARD", key]
        case 6: return ["ZADD", key, score]
        case 7: return ["zadd", key, score, member]
        default: return ["ZADD", key, score, member]
        }
    }

    /// Applies `arguments` through the runs as a replay does; returns the reply when the command
    /// was not gathered (a gathered one's reply is not known until its run is placed).
    static func applyThroughRun(_ arguments: [[UInt8]], db: Int, sharedName: Bool, to keyspace: Keyspace,
                                run runs: inout SortedSetScoreRuns) -> RESPValue? {
        PackedApplyTests.withPacked(arguments, sharedName: sharedName) { keyspace.applyPacked($0, db: db, nowMilliseconds: now, through: &runs) }
    }

    @Test("Random runs: same replies, same state in slot order, same encodings, same digest",
          arguments: [(1 as UInt64, 20), (2, 60), (3, 300), (4, 300), (5, 2_000)])
    func randomRuns(seed: UInt64, memberCount: Int) {
        var random = SeededRandom(seed: seed)
        let plain = Keyspace(randomSeed: seed, databaseCount: 4)
        let coalesced = Keyspace(randomSeed: seed, databaseCount: 4)
        var run = SortedSetScoreRuns()
        var forks: [(Keyspace, KeyspaceSnapshot)] = []
        var gathered = 0
        var key = "zset", db = 0
        for step in 0..<12_000 {
            // Runs, one set at a time or several in turn: the key and the database change now
            // and then, or at every command for a while.
            if random.next() % (step % 3_000 < 1_500 ? 25 : 2) == 0 { key = ["zset", "zset", "z2", "other"][Int(random.next() % 4)] }
            if random.next() % 40 == 0 { db = 1 - db }
            let arguments = Self.command(&random, key: key, memberCount: memberCount).map { Array($0.utf8) }
            let expected = plain.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: Self.now)
            if let reply = Self.applyThroughRun(arguments, db: db, sharedName: random.next() % 2 == 0, to: coalesced, run: &run) {
                #expect(reply == expected, "step \(step): \(arguments.map { String(decoding: $0, as: UTF8.self) }) in db \(db)")
                if reply != expected { return }
            } else {
                gathered += 1
            }
            // A fork while members wait: placing them later must not reach it.
            if random.next() % 700 == 0 {
                let fork = coalesced.fork()
                forks.append((fork, fork.snapshot(inSlotOrder: true)))
            }
            // What a replay does before a checkpoint or another kind of entry: place every run.
            if random.next() % 500 == 0 {
                coalesced.applyScoreRuns(&run)
                #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true), "state after step \(step)")
                if coalesced.snapshot(inSlotOrder: true) != plain.snapshot(inSlotOrder: true) { return }
                if random.next() % 4 == 0 {
                    let fork = coalesced.fork()
                    forks.append((fork, fork.snapshot(inSlotOrder: true)))
                }
            }
        }
        coalesced.applyScoreRuns(&run)
        #expect(gathered > 2_000, "the runs gathered many of the ZADDs (\(gathered) of 12,000 commands)")
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
        #expect(coalesced.digest() == plain.digest())
        for db in 0..<2 {
            for key in ["zset", "z2", "other"] {
                var one = ClientSession(), two = ClientSession()
                for session in [0, 1] {
                    let select = [Array("SELECT".utf8), Array(String(db).utf8)]
                    if session == 0 { _ = plain.execute(select, session: &one, nowMilliseconds: Self.now) }
                    else { _ = coalesced.execute(select, session: &two, nowMilliseconds: Self.now) }
                }
                for command in [["OBJECT", "ENCODING", key], ["ZRANGE", key, "0", "-1", "WITHSCORES"], ["ZSCAN", key, "0", "COUNT", "1000"]] {
                    let arguments = command.map { Array($0.utf8) }
                    #expect(coalesced.execute(arguments, session: &two, nowMilliseconds: Self.now).reply
                            == plain.execute(arguments, session: &one, nowMilliseconds: Self.now).reply, "\(command) in db \(db)")
                }
            }
        }
        for (fork, atFork) in forks {
            #expect(fork.snapshot(inSlotOrder: true) == atFork, "a fork saw a run applied after it")
        }
    }

    @Test("A member moved away and back to zero keeps the sign of the run's zero, as one by one")
    func zeroSigns() {
        let cases: [(before: String?, run: [String])] = [
            ("-0", ["5", "0"]), ("0", ["5", "-0"]), ("-0", ["0"]), ("0", ["-0", "-0"]), (nil, ["0", "-0"]),
            (nil, ["-0", "3", "0", "-0"]), ("7", ["0", "7", "-0"]), (nil, ["-0"]),
            ("-0.0", ["5", "0"]), ("0", ["5", "-0.0"]), ("-0.0", ["0"]), ("0", ["-0.0", "-0.0"]), (nil, ["0", "-0.0"]),
            (nil, ["-0.0", "3", "0", "-0.0"]), ("7", ["0", "7", "-0.0"]), (nil, ["-0.0"]), ("-0.0", ["1", "-0.0", "0"]),
        ]
        // A compact set stores -0 as 0 (as Redis's listpack), a skiplist keeps it: both encodings.
        for fillerCount in [0, 200] {
          for (before, scores) in cases {
            let plain = Keyspace(randomSeed: 1), coalesced = Keyspace(randomSeed: 1)
            var run = SortedSetScoreRuns()
            var commands: [[String]] = [["ZADD", "z", "1", "anchor"] + (0..<fillerCount).flatMap { ["1", "filler\($0)"] }]
            if let before { commands.append(["ZADD", "z", before, "m"]) }
            // ZCARD ends the run, so `m` is in the set before the next run; ZADD anchor opens that
            // run, which then gathers every score of `m`.
            commands += [["ZCARD", "z"], ["ZADD", "z", "9", "anchor"]]
            commands += scores.map { ["ZADD", "z", $0, "m"] }
            for command in commands {
                let arguments = command.map { Array($0.utf8) }
                _ = plain.apply(LoggedCommand(db: 0, arguments: arguments), nowMilliseconds: Self.now)
                _ = Self.applyThroughRun(arguments, db: 0, sharedName: false, to: coalesced, run: &run)
            }
            coalesced.applyScoreRuns(&run)
            let score = [Array("ZSCORE".utf8), Array("z".utf8), Array("m".utf8)]
            var one = ClientSession(), two = ClientSession()
            // Compared as bits: 0 == -0 for Double.
            func bits(_ reply: RESPValue) -> UInt64? { if case .double(let value) = reply { return value.bitPattern } else { return nil } }
            let expected = bits(plain.execute(score, session: &one, nowMilliseconds: Self.now).reply)
            #expect(expected != nil)
            #expect(bits(coalesced.execute(score, session: &two, nowMilliseconds: Self.now).reply) == expected, "\(before ?? "absent") then \(scores), \(fillerCount) others")
            #expect(coalesced.digest() == plain.digest(), "\(before ?? "absent") then \(scores), \(fillerCount) others")
          }
        }
    }

    /// A member over 64 bytes: the set holding it is a skiplist.
    static let long = String(repeating: "long", count: 20)

    @Test("Only a plain ZADD that succeeded on a skiplist opens a run; a run lasts until a command may touch its set")
    func opening() {
        let keyspace = Keyspace(randomSeed: 1, databaseCount: 2)
        var run = SortedSetScoreRuns()
        func through(_ command: [String], db: Int = 0) -> RESPValue? {
            Self.applyThroughRun(command.map { Array($0.utf8) }, db: db, sharedName: false, to: keyspace, run: &run)
        }
        func score(_ key: String, _ member: String, db: Int = 0) -> RESPValue {
            var session = ClientSession()
            _ = keyspace.execute(["SELECT", String(db)].map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
            return keyspace.execute(["ZSCORE", key, member].map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now).reply
        }
        _ = through(["SET", "s", "x"])
        #expect(!run.hasOpenRuns)
        #expect(through(["ZADD", "s", "1", "m"]) == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(!run.hasOpenRuns, "a failed ZADD opens nothing")
        #expect(through(["ZADD", "z", "1", "m"]) == .integer(1))
        #expect(!run.hasOpenRuns, "a compact set opens nothing")
        #expect(through(["ZADD", "z", "1", "m2"]) == .integer(1), "not gathered")
        #expect(through(["ZADD", "z", "1", Self.long]) == .integer(1))
        #expect(run.runCount == 1, "the set is a skiplist now")
        #expect(through(["ZADD", "z", "2", "m"]) == nil, "gathered")
        #expect(through(["ZADD", "z", "3", "n"]) == nil, "gathered")
        #expect(run.pendingCount == 2)
        #expect(through(["ZADD", "z", "nan", "m"]) != nil, "an invalid score is not gathered")
        #expect(run.pendingCount == 0 && !run.hasOpenRuns, "the run was placed and closed before it")
        #expect(score("z", "m") == .double(2))
        #expect(through(["ZADD", "z", "4", "m"]) == .integer(0), "a ZADD after a failure applies as usual, and reopens")
        #expect(through(["ZADD", "z", "5", "m"]) == nil)
        #expect(through(["ZADD", "z", "5", Self.long], db: 1) == .integer(1), "the same key in another database is another set")
        #expect(run.runCount == 2)
        #expect(through(["ZADD", "z", "6", "m"], db: 1) == nil)
        #expect(through(["SET", "other", "x"]) == .ok, "a write to another key leaves the runs open")
        #expect(through(["DEL", "nokey", "other"]) == .integer(1))
        #expect(run.runCount == 2 && run.pendingCount == 2)
        #expect(score("z", "m") == .double(4), "not placed yet")
        #expect(through(["ZINCRBY", "z", "1", "m"]) == .double(6), "a command on the set places its run first")
        #expect(run.runCount == 1)
        #expect(through(["ZADD", "z", "XX", "6", "m"], db: 1) == .integer(0), "options place the run")
        #expect(!run.hasOpenRuns)
        #expect(score("z", "m", db: 1) == .double(6))
        #expect(through(["ZADD", "z", "7", "m"]) == .integer(0))
        #expect(through(["ZADD", "z", "8", "m"]) == nil)
        #expect(through(["FLUSHDB"], db: 1) == .ok, "a command whose keys are not its arguments places every run")
        #expect(!run.hasOpenRuns)
        #expect(score("z", "m") == .double(8))
    }

    /// Applies `commands` (database 0) one by one to one keyspace and through `runs` to another,
    /// calling `check` after each; places the runs at the end. Returns both keyspaces and how many
    /// commands the runs gathered.
    static func bothWays(_ commands: [[String]], runs: inout SortedSetScoreRuns,
                         check: (SortedSetScoreRuns) -> Void = { _ in }) -> (plain: Keyspace, coalesced: Keyspace, gathered: Int) {
        let plain = Keyspace(randomSeed: 1), coalesced = Keyspace(randomSeed: 1)
        var gathered = 0
        for command in commands {
            let arguments = command.map { Array($0.utf8) }
            _ = plain.apply(LoggedCommand(db: 0, arguments: arguments), nowMilliseconds: now)
            if applyThroughRun(arguments, db: 0, sharedName: false, to: coalesced, run: &runs) == nil { gathered += 1 }
            check(runs)
        }
        coalesced.applyScoreRuns(&runs)
        return (plain, coalesced, gathered)
    }

    @Test("At most runCountMax runs are open; the others' ZADDs apply as usual")
    func runLimit() {
        var run = SortedSetScoreRuns(runCountMax: 2)
        var random = SeededRandom(seed: 11)
        var commands: [[String]] = (0..<5).map { ["ZADD", "z\($0)", "1", Self.long] }
        for _ in 0..<600 { commands.append(["ZADD", "z\(random.next() % 5)", String(random.next() % 5), "m\(random.next() % 10)"]) }
        let (plain, coalesced, gathered) = Self.bothWays(commands, runs: &run) { #expect($0.runCount <= 2) }
        #expect(gathered > 100)
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
    }

    @Test("A set that converts to a skiplist where a run would be: the scores of the members before keep their zero sign",
          arguments: [0, 1])
    func conversionInsideAWouldBeRun(way: Int) {
        // A compact set stores -0 as 0, a skiplist keeps it: `a`'s last score must land in the
        // skiplist, as one by one (the converting member comes between `a`'s scores).
        var commands: [[String]] = way == 0 ? [] : (0..<127).map { ["ZADD", "z", "1", "filler\($0)"] }
        commands += [["ZADD", "z", "1", "a"], ["ZADD", "z", "2", "a"], ["ZADD", "z", "1", way == 0 ? Self.long : "new"],
                     ["ZADD", "z", "-0", "a"], ["ZADD", "z", "-0.0", "a"]]
        var run = SortedSetScoreRuns()
        let (plain, coalesced, _) = Self.bothWays(commands, runs: &run)
        #expect(coalesced.digest() == plain.digest())
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
    }

    @Test("A run holding its most members is applied and goes on")
    func pendingLimit() {
        var run = SortedSetScoreRuns(pendingCountMax: 3)
        var random = SeededRandom(seed: 7)
        var commands: [[String]] = [["ZADD", "z", "1", Self.long]]
        for _ in 0..<400 { commands.append(["ZADD", "z", String(random.next() % 5), "m\(random.next() % 10)"]) }
        let (plain, coalesced, gathered) = Self.bothWays(commands, runs: &run) { #expect($0.pendingCount <= 3) }
        #expect(gathered > 300)
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
    }

    @Test("Applying a run signals a WATCHed key, so the watcher's EXEC aborts")
    func watched() {
        let keyspace = Keyspace(randomSeed: 1)
        var session = ClientSession()
        var run = SortedSetScoreRuns()
        _ = Self.applyThroughRun(["ZADD", "z", "1", Self.long].map { Array($0.utf8) }, db: 0, sharedName: false, to: keyspace, run: &run)
        #expect(run.hasOpenRuns)
        for command in [["WATCH", "z"], ["MULTI"], ["ZCARD", "z"]] {
            _ = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
        }
        #expect(Self.applyThroughRun(["ZADD", "z", "2", "n"].map { Array($0.utf8) }, db: 0, sharedName: false, to: keyspace, run: &run) == nil)
        keyspace.applyScoreRuns(&run)
        #expect(keyspace.execute([Array("EXEC".utf8)], session: &session, nowMilliseconds: Self.now).reply == .nullArray)
    }
}
