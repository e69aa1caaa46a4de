// Keyspace.executeUsualWrite (a server's common writes on the packed path) against
// Keyspace.execute: the same replies, the same entries logged, the same state, encodings and
// WATCH outcomes, over random command streams with keys that expire while the stream runs.

@_spi(Testing) import RewindEngine
import RewindRESP
import RewindTestSupport
import Testing

@Suite("Keyspace.executeUsualWrite answers, logs and changes exactly as execute does")
struct UsualWritesTests {
    private static let now: Int64 = 1_700_000_000_000

    /// The entry point under test: the arrays one, or the packed one a server's parser feeds.
    private static func usualWrite(_ keyspace: Keyspace, _ arguments: [[UInt8]], db: Int, packed: Bool) -> Keyspace.UsualWriteResult? {
        guard packed else { return keyspace.executeUsualWrite(arguments, db: db) }
        let bytes = arguments.flatMap { $0 }
        var ends: [Int] = []
        for argument in arguments { ends.append((ends.last ?? 0) + argument.count) }
        return bytes.withUnsafeBytes { bytes in
            ends.withUnsafeBufferPointer { keyspace.executeUsualWrite(packedBytes: bytes, ends: $0, db: db) }
        }
    }

    @Test("Random streams: same replies, same logged entries, same state, encodings and EXEC outcomes",
          arguments: [1 as UInt64, 2, 3], [false, true])
    func randomStreams(seed: UInt64, packed: Bool) {
        var random = SeededRandom(seed: seed)
        let plain = Keyspace(randomSeed: seed, databaseCount: 4)
        let usual = Keyspace(randomSeed: seed, databaseCount: 4)
        var plainSession = ClientSession()
        var usualSession = ClientSession()
        // A second client WATCHes a key in each keyspace; its EXEC outcomes must agree.
        var plainWatcher = ClientSession()
        var usualWatcher = ClientSession()
        var fastRuns = 0
        for step in 0..<6_000 {
            let time = Self.now + Int64(step)
            var arguments = PackedApplyTests.command(&random).map { Array($0.utf8) }
            if random.next() % 12 == 0 {
                // A TTL that runs out a few steps later: the key then expires on access.
                arguments = [Array("PEXPIREAT".utf8), Array(["k1", "k2", "set", "hash", "list", "n"][Int(random.next() % 6)].utf8),
                             Array(String(time + Int64(random.next() % 20)).utf8)]
            }
            if random.next() % 15 == 0 {
                // ZADDs that often change nothing (the same score again): not logged.
                arguments = [Array("ZADD".utf8), Array("zz".utf8), Array(["1", "2"][Int(random.next() % 2)].utf8),
                             Array(["a", "b"][Int(random.next() % 2)].utf8)]
            }
            if step % 300 == 0 {
                for (keyspace, watcher) in [(plain, 0), (usual, 1)] {
                    var session = watcher == 0 ? plainWatcher : usualWatcher
                    _ = keyspace.execute([Array("WATCH".utf8), Array("k1".utf8), Array("set".utf8)], session: &session, nowMilliseconds: time)
                    _ = keyspace.execute([Array("MULTI".utf8)], session: &session, nowMilliseconds: time)
                    _ = keyspace.execute([Array("INCR".utf8), Array("watched".utf8)], session: &session, nowMilliseconds: time)
                    if watcher == 0 { plainWatcher = session } else { usualWatcher = session }
                }
            }
            let expected = plain.execute(arguments, session: &plainSession, nowMilliseconds: time)
            let got: CommandResult
            if !usualSession.isInTransaction, let result = Self.usualWrite(usual, arguments, db: usualSession.databaseIndex, packed: packed) {
                fastRuns += 1
                got = CommandResult(reply: result.reply, propagated: result.changed
                                    ? [.command(LoggedCommand(db: usualSession.databaseIndex, arguments: arguments))] : [])
            } else {
                got = usual.execute(arguments, session: &usualSession, nowMilliseconds: time)
            }
            let shown = arguments.map { String(decoding: $0, as: UTF8.self) }
            #expect(got.reply == expected.reply, "step \(step): \(shown)")
            #expect(got.propagated == expected.propagated, "step \(step): \(shown) logged differently")
            if got.reply != expected.reply || got.propagated != expected.propagated { return }
            if step % 300 == 150 {
                let plainExec = plain.execute([Array("EXEC".utf8)], session: &plainWatcher, nowMilliseconds: time)
                let usualExec = usual.execute([Array("EXEC".utf8)], session: &usualWatcher, nowMilliseconds: time)
                #expect(plainExec.reply == usualExec.reply, "EXEC after step \(step)")
            }
            if step % 25 == 0 {
                #expect(usual.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true), "state after step \(step)")
                if usual.snapshot(inSlotOrder: true) != plain.snapshot(inSlotOrder: true) { return }
            }
        }
        #expect(usual.digest() == plain.digest())
        #expect(fastRuns > 500, "the usual path ran \(fastRuns) times")
        PackedApplyTests.expectSameEncodings(usual, plain)
    }

    @Test("Keys with a TTL, other commands and other forms are left to execute", arguments: [false, true])
    func refusals(packed: Bool) {
        let keyspace = Keyspace(randomSeed: 1)
        var session = ClientSession()
        func run(_ command: [String]) -> Keyspace.UsualWriteResult? {
            Self.usualWrite(keyspace, command.map { Array($0.utf8) }, db: 0, packed: packed)
        }
        _ = keyspace.execute(["SET", "ttl", "1", "PX", "100000"].map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
        #expect(run(["SET", "ttl", "2"]) == nil)
        #expect(run(["SET", "k", "v", "NX"]) == nil)
        #expect(run(["GET", "k"]) == nil)
        #expect(run(["ZADD", "z", "NX", "1", "m"]) == nil)
        #expect(run(["ZADD", "z", "CH", "1", "m", "2", "n"]) == nil)
        #expect(run(["ZADD", "z", "1", "m"])?.reply == .integer(1))
        #expect(run(["ZADD", "z", "1", "m"])?.changed == false)
        #expect(run(["ZADD", "z", "2", "m"])?.changed == true)
        #expect(run(["ZADD", "z", "2", "m"])?.reply == .integer(0))
        #expect(run(["ZADD", "z", "nan", "m"]) == nil)
        #expect(run(["INCR", "k", "extra"]) == nil)
        #expect(run(["HSET", "h", "f"]) == nil)
        #expect(run(["SADD", "s", "a"])?.changed == true)
        #expect(run(["SADD", "s", "a"])?.changed == false)
        #expect(run(["SADD", "s", "a"])?.reply == .integer(0))
        #expect(run(["INCR", "s"]) == nil)  // another type: the dispatcher's WRONGTYPE
        #expect(run(["lpush", "l", "x", "y"])?.reply == .integer(2))
        #expect(run(["HMSET", "h", "f", "v"])?.reply == .ok)
        #expect(run(["SET", "big", String(repeating: "x", count: 64 * 1024 + 1)]) == nil)  // big values: the dispatcher
        #expect(run(["SET", "k", "v"])?.reply == .ok)
        #expect(Self.usualWrite(keyspace, [Array("SET".utf8), Array("k".utf8), Array("v".utf8)], db: 16, packed: packed) == nil)
    }
}
