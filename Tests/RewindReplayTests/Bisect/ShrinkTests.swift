import Foundation
import RewindEngine
import RewindLog
import RewindRESP
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Shrink")
struct ShrinkTests {
    /// A log where the check fails only once three entries (one inside a transaction) are all
    /// there: a member common to three sets, amid noise on the same keys.
    static func makeLog(at path: String, noiseCount: Int, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var units: [TestUnit] = []
        let causes = Set((0..<3).map { _ in Int.random(in: 0..<noiseCount, using: &random) })
        var planted = 0
        for index in 0..<noiseCount {
            let set = "s\(Int.random(in: 1...3, using: &random))"
            if Int.random(in: 0..<40, using: &random) == 0 {
                units.append(.transaction([["SADD", set, "n\(index)"], ["INCR", "count"]], at: 1_700_000_000_000 + Int64(index)))
            } else {
                units.append(.command(["SADD", set, "n\(index)", "spare\(index)"], at: 1_700_000_000_000 + Int64(index)))
            }
            if causes.contains(index) || (index == noiseCount - 1 && planted < 3) {
                while planted < 3 && (causes.contains(index) ? true : index == noiseCount - 1) {
                    planted += 1
                    let command = ["SADD", "s\(planted)", "common", "extra\(planted)"]
                    units.append(planted == 2 ? .transaction([command, ["INCR", "count"]]) : .command(command))
                    if causes.contains(index) { break }
                }
            }
        }
        try writeTestLog(at: path, units)
    }

    static func check() throws -> ProbeCheck {
        ProbeCheck(probes: [try Probe(command: "SINTERCARD 3 s1 s2 s3", expectation: .notation("(integer) 0"))])
    }

    /// Replays units in order: the check must be good before the last and bad after it.
    static func fails(_ units: [LogUnit], _ check: StateCheck) throws -> Bool {
        let keyspace = Keyspace(randomSeed: 0)
        var verdicts: [Verdict] = []
        for (index, unit) in units.enumerated() {
            if index == units.count - 1 { verdicts.append(try check.judge(keyspace, after: 0, timestampMilliseconds: 0).verdict) }
            for entry in unit.commands {
                keyspace.apply(LoggedCommand(db: entry.place.db, arguments: entry.arguments), nowMilliseconds: entry.place.timestampMilliseconds)
            }
        }
        verdicts.append(try check.judge(keyspace, after: 0, timestampMilliseconds: 0).verdict)
        return verdicts == [.good, .bad]
    }

    @Test("shrinks to the three causes, keeps the transaction whole, still fails and is 1-minimal; the written log fails too",
          arguments: [UInt64(1), 2, 3])
    func shrink(seed: UInt64) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-shrink")
        let log = directory.appending("log")
        try Self.makeLog(at: log, noiseCount: 400, seed: seed)
        let found = try Bisector.forwardPass(log: log, check: try Self.check(), options: BisectOptions())
        let firstBad = try #require(found.firstBad)
        let result = try Shrinker.shrink(log: log, upTo: firstBad, check: try Self.check(), recovery: .tolerateTail)
        #expect(result.units.count == 3)
        #expect(result.units.contains { $0.isTransaction })
        #expect(try Self.fails(result.units, Self.check()))
        for index in result.units.indices {
            var fewer = result.units
            fewer.remove(at: index)
            #expect(try !Self.fails(fewer, Self.check()), "removing unit \(index) still fails: not 1-minimal")
        }
        // Arguments: the extra members and the transaction's INCR are not needed.
        let commands = result.units.flatMap(\.commands).map { $0.arguments.map { String(decoding: $0, as: UTF8.self) } }
        #expect(commands.filter { $0[0] == "SADD" }.allSatisfy { $0.count == 3 && $0[2] == "common" })
        #expect(result.checkRunCount < 400)
        // The shrunk log on disk: the check is bad at its end, good at its start.
        let written = directory.appending("shrunk")
        try result.write(to: written)
        let again = try Bisector.forwardPass(log: written, check: try Self.check(), options: BisectOptions())
        #expect(again.firstBad == (try LogReader(directory: written).readAll().summary.lastSequence))
        #expect { try result.write(to: written) } throws: { ($0 as? BisectError)?.code == .badBounds }
    }

    @Test("--anonymize renames keys and values, probes too, and the renamed log still fails")
    func anonymize() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-shrink")
        let log = directory.appending("log")
        try writeTestLog(at: log, [
            .command(["HSET", "user:42", "name", "alice", "city", "Paris"]), .command(["SET", "unrelated", "x"]),
            .command(["SET", "session:9", "token-abc", "PXAT", "1700000100000"]), .command(["HDEL", "user:42", "name"]),
        ])
        let check = ProbeCheck(probes: [try Probe(command: "HGET user:42 name", expectation: .notation("\"alice\""))])
        var options = BisectOptions()
        options.lastGood = 1
        let found = try Bisector.forwardPass(log: log, check: check, options: options)
        #expect(found.firstBad == 4)
        let result = try Shrinker.shrink(log: log, upTo: 4, check: check, recovery: .tolerateTail, anonymize: true)
        let text = result.units.flatMap(\.commands).map { ReplayRun.text($0.arguments) }.joined(separator: "\n")
        #expect(!text.contains("user:42") && !text.contains("alice") && !text.contains("Paris"))
        #expect(text.contains("key:1"))
        #expect(result.anonymizedCheck?.contains("key:1") == true)
        #expect(result.anonymizeNote == nil)
        #expect(result.units.count == 2)
    }

    @Test("ddmin over numbers finds a 1-minimal failing subset")
    func ddminNumbers() throws {
        var runs = 0
        let result = try Shrinker.ddmin(Array(0..<1000)) { items in
            runs += 1
            return Set(items).isSuperset(of: [17, 500, 999])
        }
        #expect(result == [17, 500, 999])
        #expect(runs < 200)
    }
}
