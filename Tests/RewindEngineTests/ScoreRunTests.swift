// SortedSetScoreRun (a replay's run of plain ZADDs to one key, each member placed once) against
// the same commands applied one by one: the same replies for what is not gathered, the same state
// in slot order, the same encodings, the same digest.

import Foundation
@_spi(Testing) import RewindEngine
import RewindRESP
import RewindTestSupport
import Testing

@Suite("SortedSetScoreRun replays a run of ZADDs exactly as one by one")
struct ScoreRunTests {
    private static let now: Int64 = 1_700_000_000_000

    /// Mostly `ZADD key score member` to a few keys, with every form that must end a run: options,
    /// several pairs, invalid scores, other commands on the same key (a type change, a delete).
    static func command(_ random: inout SeededRandom, key: String, memberCount: Int) -> [String] {
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        // Zeros of both signs and spellings, so runs move members away from and back to 0.
        let score = random.next() % 12 == 0
            ? pick(["nan", "abc", "", " 1", "1e400", "NX"])
            : pick(["0", "-0", "+0", "0.0", "-0.0", "1", "2", "-1", "1.5", "inf", "-inf", "+inf", "7", "1e3", "-2.5",
                    String(random.next() % 50), String(random.next() % 50)])
        // A long member makes the set a skiplist (runs open only on those).
        let member = random.next() % 15 == 0 ? String(repeating: "long", count: 20) : "m\(random.next() % UInt64(memberCount))"
        switch random.next() % 40 {
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

    /// Applies `arguments` through the run as a replay does; returns the reply when the command
    /// was not gathered (a gathered one's reply is not known until the run is applied).
    static func applyThroughRun(_ arguments: [[UInt8]], db: Int, sharedName: Bool, to keyspace: Keyspace,
                                run: inout SortedSetScoreRun) -> RESPValue? {
        if PackedApplyTests.withPacked(arguments, sharedName: sharedName, { run.take($0, db: db) }) { return nil }
        keyspace.applyScoreRun(&run)
        let reply = PackedApplyTests.withPacked(arguments, sharedName: sharedName) { keyspace.applyPacked($0, db: db, nowMilliseconds: now) }
        PackedApplyTests.withPacked(arguments, sharedName: sharedName) { keyspace.openScoreRun(&run, after: $0, db: db, reply: reply) }
        return reply
    }

    @Test("Random runs: same replies, same state in slot order, same encodings, same digest",
          arguments: [(1 as UInt64, 20), (2, 60), (3, 300), (4, 300), (5, 2_000)])
    func randomRuns(seed: UInt64, memberCount: Int) {
        var random = SeededRandom(seed: seed)
        let plain = Keyspace(randomSeed: seed, databaseCount: 4)
        let coalesced = Keyspace(randomSeed: seed, databaseCount: 4)
        var run = SortedSetScoreRun()
        var forks: [(Keyspace, KeyspaceSnapshot)] = []
        var gathered = 0
        var key = "zset", db = 0
        for step in 0..<12_000 {
            // Runs: the key and the database change now and then.
            if random.next() % 25 == 0 { key = ["zset", "zset", "z2", "other"][Int(random.next() % 4)] }
            if random.next() % 40 == 0 { db = 1 - db }
            let arguments = Self.command(&random, key: key, memberCount: memberCount).map { Array($0.utf8) }
            let expected = plain.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: Self.now)
            if let reply = Self.applyThroughRun(arguments, db: db, sharedName: random.next() % 2 == 0, to: coalesced, run: &run) {
                #expect(reply == expected, "step \(step): \(arguments.map { String(decoding: $0, as: UTF8.self) }) in db \(db)")
                if reply != expected { return }
            } else {
                gathered += 1
            }
            // What a replay does before a checkpoint or another kind of entry: apply the run,
            // sometimes closing it.
            if random.next() % 500 == 0 {
                coalesced.applyScoreRun(&run)
                if random.next() % 2 == 0 { run.close() }
                #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true), "state after step \(step)")
                if coalesced.snapshot(inSlotOrder: true) != plain.snapshot(inSlotOrder: true) { return }
                if random.next() % 4 == 0 {
                    let fork = coalesced.fork()
                    forks.append((fork, fork.snapshot(inSlotOrder: true)))
                }
            }
        }
        coalesced.applyScoreRun(&run)
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
            var run = SortedSetScoreRun()
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
            coalesced.applyScoreRun(&run)
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

    @Test("Only a plain ZADD that succeeded on a skiplist opens a run; a run takes only its own key and database")
    func opening() {
        let keyspace = Keyspace(randomSeed: 1, databaseCount: 2)
        var run = SortedSetScoreRun()
        func through(_ command: [String], db: Int = 0) -> RESPValue? {
            Self.applyThroughRun(command.map { Array($0.utf8) }, db: db, sharedName: false, to: keyspace, run: &run)
        }
        _ = through(["SET", "s", "x"])
        #expect(!run.isOpen)
        #expect(through(["ZADD", "s", "1", "m"]) == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(!run.isOpen, "a failed ZADD opens nothing")
        #expect(through(["ZADD", "z", "1", "m"]) == .integer(1))
        #expect(!run.isOpen, "a compact set opens nothing")
        #expect(through(["ZADD", "z", "1", "m2"]) == .integer(1), "not gathered")
        #expect(through(["ZADD", "z", "1", Self.long]) == .integer(1))
        #expect(run.isOpen, "the set is a skiplist now")
        #expect(through(["ZADD", "z", "2", "m"]) == nil, "gathered")
        #expect(through(["ZADD", "z", "3", "n"]) == nil, "gathered")
        #expect(run.pendingCount == 2)
        #expect(through(["ZADD", "z", "nan", "m"]) != nil, "an invalid score is not gathered")
        #expect(run.pendingCount == 0, "the run was applied before it")
        #expect(through(["ZADD", "z", "4", "m"]) == .integer(0), "a ZADD after a failure applies as usual, and reopens")
        #expect(through(["ZADD", "z", "5", "m"]) == nil)
        #expect(through(["ZADD", "z", "5", Self.long], db: 1) == .integer(1), "another database ends the run")
        #expect(run.isOpen)
        #expect(through(["ZADD", "y", "5", Self.long], db: 1) == .integer(1), "another key ends the run")
        #expect(through(["ZADD", "y", "XX", "6", "m"], db: 1) == .integer(0), "options end the run")
        #expect(!run.isOpen)
        var session = ClientSession()
        let score = keyspace.execute(["ZSCORE", "z", "m"].map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now).reply
        #expect(score == .double(5))
    }

    @Test("A set that converts to a skiplist where a run would be: the scores of the members before keep their zero sign",
          arguments: [0, 1])
    func conversionInsideAWouldBeRun(way: Int) {
        // A compact set stores -0 as 0, a skiplist keeps it: `a`'s last score must land in the
        // skiplist, as one by one (the converting member comes between `a`'s scores).
        var commands: [[String]] = way == 0 ? [] : (0..<127).map { ["ZADD", "z", "1", "filler\($0)"] }
        commands += [["ZADD", "z", "1", "a"], ["ZADD", "z", "2", "a"], ["ZADD", "z", "1", way == 0 ? Self.long : "new"],
                     ["ZADD", "z", "-0", "a"], ["ZADD", "z", "-0.0", "a"]]
        let plain = Keyspace(randomSeed: 1), coalesced = Keyspace(randomSeed: 1)
        var run = SortedSetScoreRun()
        for command in commands {
            let arguments = command.map { Array($0.utf8) }
            _ = plain.apply(LoggedCommand(db: 0, arguments: arguments), nowMilliseconds: Self.now)
            _ = Self.applyThroughRun(arguments, db: 0, sharedName: false, to: coalesced, run: &run)
        }
        coalesced.applyScoreRun(&run)
        #expect(coalesced.digest() == plain.digest())
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
    }

    @Test("A run holding its most members is applied and goes on")
    func pendingLimit() {
        let plain = Keyspace(randomSeed: 1), coalesced = Keyspace(randomSeed: 1)
        var run = SortedSetScoreRun(pendingCountMax: 3)
        var random = SeededRandom(seed: 7)
        var gathered = 0
        var commands: [[String]] = [["ZADD", "z", "1", Self.long]]
        for _ in 0..<400 { commands.append(["ZADD", "z", String(random.next() % 5), "m\(random.next() % 10)"]) }
        for command in commands {
            let arguments = command.map { Array($0.utf8) }
            _ = plain.apply(LoggedCommand(db: 0, arguments: arguments), nowMilliseconds: Self.now)
            if Self.applyThroughRun(arguments, db: 0, sharedName: false, to: coalesced, run: &run) == nil { gathered += 1 }
            #expect(run.pendingCount <= 3)
        }
        coalesced.applyScoreRun(&run)
        #expect(gathered > 300)
        #expect(coalesced.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
    }

    @Test("Applying a run signals a WATCHed key, so the watcher's EXEC aborts")
    func watched() {
        let keyspace = Keyspace(randomSeed: 1)
        var session = ClientSession()
        var run = SortedSetScoreRun()
        _ = Self.applyThroughRun(["ZADD", "z", "1", Self.long].map { Array($0.utf8) }, db: 0, sharedName: false, to: keyspace, run: &run)
        #expect(run.isOpen)
        for command in [["WATCH", "z"], ["MULTI"], ["ZCARD", "z"]] {
            _ = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
        }
        #expect(Self.applyThroughRun(["ZADD", "z", "2", "n"].map { Array($0.utf8) }, db: 0, sharedName: false, to: keyspace, run: &run) == nil)
        keyspace.applyScoreRun(&run)
        #expect(keyspace.execute([Array("EXEC".utf8)], session: &session, nowMilliseconds: Self.now).reply == .nullArray)
    }
}
