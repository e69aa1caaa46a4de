// Replaying what the engine logs rebuilds the state it logged it from.

@_spi(Testing) import RewindEngine
import RewindRESP
import Testing

@Suite("Logged entries replay to the same state")
struct DeterminismTests {
    /// One logged entry with the time it was produced at.
    struct TimedEntry {
        var entry: LoggedEntry
        var nowMilliseconds: Int64
    }

    /// Runs a seeded workload with advancing time, short TTLs, active expiry, SPOP, MULTI/EXEC
    /// and blocking pops, and returns the keyspace and what it logged.
    static func runWorkload(seed: UInt64, operations: Int) -> (Keyspace, [TimedEntry]) {
        let keyspace = Keyspace(randomSeed: seed)
        var session = ClientSession()
        var generator = CommandGenerator(seed: seed)
        generator.allowsShortExpiry = true
        var now: Int64 = 1_700_000_000_000
        var log: [TimedEntry] = []
        func run(_ arguments: [[UInt8]]) {
            let result = keyspace.execute(arguments, session: &session, nowMilliseconds: now)
            log += result.propagated.map { TimedEntry(entry: $0, nowMilliseconds: now) }
        }
        for index in 0..<operations {
            now += Int64(generator.random.next(below: 40))
            generator.nowMilliseconds = now
            if index % 50 == 49 {
                log += keyspace.activeExpireCycle(nowMilliseconds: now).map { TimedEntry(entry: $0, nowMilliseconds: now) }
            }
            switch generator.random.next(below: 100) {
            case 0..<3: run([Array("MULTI".utf8)])
            case 3..<8: run([Array(generator.pick(["EXEC", "EXEC", "DISCARD"]).utf8)])
            case 8..<10: run([Array("BLPOP".utf8), Array("list".utf8), generator.key(), Array("0".utf8)])
            case 10..<12: run([Array("BLMOVE".utf8), Array("list".utf8), generator.key(), Array("RIGHT".utf8), Array("LEFT".utf8), Array("1".utf8)])
            case 12..<16: run([Array("SPOP".utf8), Array("set".utf8)] + (generator.chance(50) ? [generator.integer()] : []))
            case 16..<18: run([Array("SELECT".utf8), Array(generator.pick(["0", "1", "2"]).utf8)])
            default: run(generator.next().arguments)
            }
        }
        run([Array("EXEC".utf8)])
        return (keyspace, log)
    }

    static func replay(_ log: [TimedEntry], seed: UInt64) -> Keyspace {
        let keyspace = Keyspace(randomSeed: seed)
        for timed in log { keyspace.apply(timed.entry, nowMilliseconds: timed.nowMilliseconds) }
        return keyspace
    }

    @Test("Replaying the propagated entries gives the same data", arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func replayMatchesOriginal(seed: UInt64) {
        let (original, log) = Self.runWorkload(seed: seed, operations: 3000)
        // A different seed proves replay draws no random numbers.
        let replayed = Self.replay(log, seed: seed &+ 1000)
        #expect(original.snapshot().databases.contains { !$0.isEmpty })
        #expect(replayed.snapshot() == original.snapshot())
        #expect(log.contains { $0.entry.commands.contains { $0.arguments.first == Array("SREM".utf8) } }
                || seed > 3, "the workload should exercise SPOP's SREM rewrite")
    }

    @Test("Two replays of one log agree in every observable order", arguments: [7, 8] as [UInt64])
    func replayIsDeterministic(seed: UInt64) {
        let (_, log) = Self.runWorkload(seed: seed, operations: 2000)
        #expect(Self.replay(log, seed: 1).snapshot(inSlotOrder: true) == Self.replay(log, seed: 2).snapshot(inSlotOrder: true))
    }

    @Test("Logged entries use only deterministic commands")
    func loggedCommandsAreDeterministic() {
        let (_, log) = Self.runWorkload(seed: 11, operations: 3000)
        let forbidden: Set<String> = ["SPOP", "SRANDMEMBER", "EXPIRE", "PEXPIRE", "EXPIREAT", "SETEX", "PSETEX",
                                      "GETEX", "INCRBYFLOAT", "HINCRBYFLOAT", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH",
                                      "BLMPOP", "GETSET", "GETDEL", "RANDOMKEY"]
        for timed in log {
            for command in timed.entry.commands {
                let name = String(decoding: command.arguments[0], as: UTF8.self).uppercased()
                #expect(!forbidden.contains(name), "logged \(name)")
                if name == "SET" {
                    let options = command.arguments.dropFirst(3).map { String(decoding: $0, as: UTF8.self).uppercased() }
                    #expect(!options.contains("EX") && !options.contains("PX") && !options.contains("EXAT"))
                }
            }
        }
    }
}
