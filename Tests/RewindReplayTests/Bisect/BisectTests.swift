import Foundation
import RewindEngine
import RewindLog
import RewindRESP
@testable import RewindReplay
import RewindTestSupport
import Testing

/// A check given as a closure over the state and the point, for the search tests.
final class ClosureCheck: StateCheck {
    let body: (Keyspace, UInt64) -> Verdict
    var runCount = 0
    init(_ body: @escaping (Keyspace, UInt64) -> Verdict) { self.body = body }
    var summary: String { "closure" }
    func judge(_ keyspace: Keyspace, after sequence: UInt64, timestampMilliseconds: Int64) -> CheckAnswer {
        runCount += 1
        return CheckAnswer(verdict: body(keyspace, sequence), lines: [])
    }
}

/// Noise units around planted ones: `SET noise:i i`, one record each.
func noise(_ range: Range<Int>, at time: Int64 = 1_700_000_000_000) -> [TestUnit] {
    range.map { .command(["SET", "noise:\($0 % 37)", "\($0)"], at: time + Int64($0)) }
}

func flagProbe() throws -> ProbeCheck {
    ProbeCheck(probes: [try Probe(command: "EXISTS flag", expectation: .notation("(integer) 0"))])
}

/// Sequence numbers at which each unit ends, in order (transactions take two markers).
func unitEnds(_ units: [TestUnit]) -> [UInt64] {
    var sequence: UInt64 = 0
    return units.map { unit in
        switch unit {
        case .command: sequence += 1
        case .transaction(let commands, _, _): sequence += UInt64(commands.count + 2)
        }
        return sequence
    }
}

@Suite("Bisect")
struct BisectTests {
    enum Place: String, CaseIterable { case first, middle, last, insideTransaction }

    @Test("finds a planted divergence at the first, a middle and the last entry and inside a transaction, in one pass and by binary search",
          arguments: Place.allCases)
    func planted(_ place: Place) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        var units = noise(0..<300)
        let index: Int
        switch place {
        case .first: index = 0; units.insert(.command(["SET", "flag", "1"]), at: 0)
        case .middle: index = 137; units.insert(.command(["SET", "flag", "1"]), at: 137)
        case .last: index = units.count; units.append(.command(["SET", "flag", "1"]))
        case .insideTransaction:
            index = 211
            units.insert(.transaction([["INCR", "counter"], ["SET", "flag", "1"], ["INCR", "counter"]]), at: 211)
        }
        try writeTestLog(at: directory.path, units)
        let expected = unitEnds(units)[index]
        let pass = try Bisector.forwardPass(log: directory.path, check: try flagProbe(), options: BisectOptions())
        #expect(pass.firstBad == expected)
        #expect(pass.lastGood == (index == 0 ? 0 : unitEnds(units)[index - 1]))
        #expect(pass.after?.lines == ["EXISTS \"flag\" -> (integer) 1"])
        #expect(pass.before?.lines == ["EXISTS \"flag\" -> (integer) 0"])
        #expect(pass.decisive?.commands.contains { $0.arguments == [Array("SET".utf8), Array("flag".utf8), Array("1".utf8)] } == true)
        // Only entries naming the probe's key re-run it: the start, the planted unit, nothing else.
        #expect(pass.checkRunCount == 2)

        let check = try flagProbe()
        let search = try Bisector.binarySearch(log: directory.path, check: check, options: BisectOptions())
        #expect(search.firstBad == expected)
        #expect(search.lastGood == pass.lastGood)
        let pointCount = Double(units.count + 1)
        #expect(check.runCount <= Int(log2(pointCount).rounded(.up)) + 3)
        #expect(check.runCount == search.checkRunCount)
        if place == .insideTransaction { #expect(search.decisive?.isTransaction == true) }
    }

    @Test("a key that expired is judged by its logged DEL, not by the clock: probes do not expire keys")
    func expiry() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        let start: Int64 = 1_700_000_000_000
        var units: [TestUnit] = [.command(["SET", "session:1", "x", "PXAT", String(start + 1_000)], at: start)]
        units += noise(1..<100, at: start)                          // before the expiry time
        units += noise(100..<200, at: start + 5_000)                // after it: the key is logically expired
        units.append(.command(["DEL", "session:1"], at: start + 5_300))  // the DEL Redis propagated
        units += noise(200..<260, at: start + 6_000)
        try writeTestLog(at: directory.path, units)
        let check = ProbeCheck(probes: [try Probe(command: "EXISTS session:1", expectation: .notation("(integer) 1"))])
        var options = BisectOptions()
        options.lastGood = 1
        let result = try Bisector.forwardPass(log: directory.path, check: check, options: options)
        #expect(result.firstBad == 201)
        #expect(result.lastGood == 200)
    }

    @Test("writes without keys (FLUSHDB, SWAPDB, MOVE across databases) re-run the probes in the one pass")
    func keylessWrites() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        try writeTestLog(at: directory.path, [.command(["SET", "flag", "1"])] + noise(0..<30) + [.command(["flushdb"])] + noise(30..<40))
        let check = ProbeCheck(probes: [try Probe(command: "EXISTS flag", expectation: .notation("(integer) 1"))])
        var options = BisectOptions()
        options.lastGood = 1
        #expect(try Bisector.forwardPass(log: directory.path, check: check, options: options).firstBad == 32)
        try writeTestLog(at: directory.appending("swap"), [.command(["SET", "flag", "1"])] + noise(0..<10) + [.command(["SWAPDB", "0", "1"])])
        #expect(try Bisector.forwardPass(log: directory.appending("swap"), check: check, options: options).firstBad == 12)
        try writeTestLog(at: directory.appending("move"), [.command(["SET", "flag", "1"], db: 2)] + noise(0..<10) + [.command(["MOVE", "flag", "0"], db: 2)])
        let inZero = ProbeCheck(probes: [try Probe(command: "EXISTS flag", expectation: .notation("(integer) 0"))])
        #expect(try Bisector.forwardPass(log: directory.appending("move"), check: inZero, options: BisectOptions()).firstBad == 12)
    }

    @Test("bad at the start, good at the end, and bounds that miss the log are errors with their own codes")
    func badBounds() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        try writeTestLog(at: directory.path, [.command(["SET", "flag", "1"])] + noise(0..<20))
        let flagSet = ProbeCheck(probes: [try Probe(command: "EXISTS flag", expectation: .notation("(integer) 1"))])
        #expect { try Bisector.forwardPass(log: directory.path, check: flagSet, options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .badAtStart
        }
        #expect { try Bisector.binarySearch(log: directory.path, check: flagSet, options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .badAtStart
        }
        let never = ProbeCheck(probes: [try Probe(command: "EXISTS nothing", expectation: .notation("(integer) 0"))])
        #expect { try Bisector.forwardPass(log: directory.path, check: never, options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .goodAtEnd
        }
        #expect { try Bisector.binarySearch(log: directory.path, check: never, options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .goodAtEnd
        }
        var beyond = BisectOptions()
        beyond.firstBad = 500
        #expect { try Bisector.binarySearch(log: directory.path, check: never, options: beyond) } throws: {
            ($0 as? BisectError)?.code == .badBounds
        }
        #expect { try Bisector.forwardPass(log: directory.path, check: never, options: beyond) } throws: {
            ($0 as? BisectError)?.code == .badBounds
        }
    }

    @Test("--last-good and --first-bad pick one flip of a check that flips more than once; several probes must all hold")
    func boundsAndCombinedProbes() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        let units: [TestUnit] = noise(0..<50) + [.command(["SET", "flag", "1"])] + noise(50..<100) + [.command(["DEL", "flag"])]
            + noise(100..<150) + [.command(["SET", "flag", "2"])] + noise(150..<200) + [.command(["SET", "other", "x"])] + noise(200..<210)
        try writeTestLog(at: directory.path, units)
        let first = try Bisector.forwardPass(log: directory.path, check: try flagProbe(), options: BisectOptions())
        #expect(first.firstBad == 51)
        #expect(first.goodAgainAt == 102)
        var options = BisectOptions()
        options.lastGood = 120
        let second = try Bisector.forwardPass(log: directory.path, check: try flagProbe(), options: options)
        #expect(second.firstBad == 153)
        let searched = try Bisector.binarySearch(log: directory.path, check: try flagProbe(), options: options)
        #expect(searched.firstBad == 153)
        options.lastGood = 0
        options.firstBad = 100
        #expect(try Bisector.binarySearch(log: directory.path, check: try flagProbe(), options: options).firstBad == 51)
        // Two probes: bad as soon as either fails.
        let both = ProbeCheck(probes: [try Probe(command: "EXISTS flag", expectation: .notation("(integer) 0")),
                                       try Probe(command: "GET other", expectation: .null)])
        var late = BisectOptions()
        late.lastGood = 120
        #expect(try Bisector.forwardPass(log: directory.path, check: both, options: late).firstBad == 153)
        let onlyOther = ProbeCheck(probes: [try Probe(command: "GET other", expectation: .null),
                                            try Probe(command: "EXISTS noise:1", expectation: .notation("(integer) 1"))])
        late.lastGood = 20
        #expect(try Bisector.forwardPass(log: directory.path, check: onlyOther, options: late).firstBad == 204)
    }

    @Test("skipped points are worked around as git does; when they hide the answer, the candidates are listed")
    func skips() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        let units = noise(0..<99) + [.command(["SET", "flag", "1"])] + noise(99..<200)
        try writeTestLog(at: directory.path, units)
        func flag(_ keyspace: Keyspace) -> Bool { StateReader(keyspace: keyspace).read(Array("flag".utf8), db: 0) != nil }
        // Points 40 to 60 and 120 to 140, where the search first looks, cannot be judged.
        let check = ClosureCheck { keyspace, sequence in
            (40...60).contains(sequence) || (120...140).contains(sequence) ? .skip : flag(keyspace) ? .bad : .good
        }
        let result = try Bisector.binarySearch(log: directory.path, check: check, options: BisectOptions())
        #expect(result.firstBad == 100)
        #expect(result.lastGood == 99)
        #expect(result.steps.contains { $0.verdict == .skip })
        // The last good point and the answer's neighbours skipped: the answer is a range.
        let hiding = ClosureCheck { keyspace, sequence in
            (96...100).contains(sequence) ? .skip : flag(keyspace) ? .bad : .good
        }
        let open = try Bisector.binarySearch(log: directory.path, check: hiding, options: BisectOptions())
        #expect(open.firstBad == nil)
        #expect(open.candidates == [96, 97, 98, 99, 100, 101])
        #expect(open.lastGood == 95)
    }

    @Test("a check that deletes a key while reading (lazy expiry on the served state) does not leak into later points")
    func mutatingCheck() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        try writeTestLog(at: directory.path, [.command(["SET", "victim", "1"])] + noise(0..<150) + [.command(["SET", "flag", "1"])] + noise(150..<300))
        let check = ClosureCheck { keyspace, _ in
            let reader = StateReader(keyspace: keyspace)
            let bad = reader.read(Array("flag".utf8), db: 0) != nil || reader.read(Array("victim".utf8), db: 0) == nil
            keyspace.apply(LoggedCommand(db: 0, arguments: [Array("DEL".utf8), Array("victim".utf8)]), nowMilliseconds: 0)
            return bad ? .bad : .good
        }
        var options = BisectOptions()
        options.lastGood = 1
        let result = try Bisector.binarySearch(log: directory.path, check: check, options: options)
        #expect(result.firstBad == 152)
    }

    @Test("with --retries N a flaky check finds the true entry: a point is bad only if it fails N times of N")
    func flaky() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        try writeTestLog(at: directory.path, noise(0..<700) + [.command(["SET", "flag", "1"])] + noise(700..<1000))
        var random = SeededGenerator(seed: 7)
        // Good states fail a third of the time; bad states always fail.
        let check = ClosureCheck { keyspace, _ in
            if StateReader(keyspace: keyspace).read(Array("flag".utf8), db: 0) != nil { return .bad }
            return Int.random(in: 0..<3, using: &random) == 0 ? .bad : .good
        }
        var options = BisectOptions()
        options.retries = 8
        let result = try Bisector.binarySearch(log: directory.path, check: check, options: options)
        #expect(result.firstBad == 701)
        #expect(result.checkRunCount == check.runCount)
        #expect(result.checkRunCount > result.steps.count)  // retried
    }

    @Test("saved verdicts are reused, not judged again")
    func knownVerdicts() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        try writeTestLog(at: directory.path, noise(0..<40) + [.command(["SET", "flag", "1"])] + noise(40..<80))
        let first = try Bisector.binarySearch(log: directory.path, check: try flagProbe(), options: BisectOptions())
        var options = BisectOptions()
        for step in first.steps { options.knownVerdicts[step.sequence] = step.verdict }
        let check = try flagProbe()
        let again = try Bisector.binarySearch(log: directory.path, check: check, options: options)
        #expect(again.firstBad == first.firstBad)
        #expect(check.runCount == 0)
        #expect(again.steps.allSatisfy { $0.replayed })
        let session = BisectSession(arguments: ["log", "--probe", "EXISTS flag"], steps: first.steps, firstBad: first.firstBad)
        let file = directory.appending("session")
        try session.write(to: file)
        let read = try BisectSession.read(from: file)
        #expect(read.arguments == session.arguments)
        #expect(read.steps.map(\.sequence) == first.steps.map(\.sequence))
        try Data("good #1\nmaybe #2\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect { try BisectSession.read(from: file) } throws: { ($0 as? BisectError)?.code == .badSession }
    }

    @Test("the report names the decisive entry, the keys' history oldest first, the answers before and after")
    func report() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-bisect")
        let units: [TestUnit] = [.command(["HSET", "user:42", "name", "alice", "visits", "0"])] + noise(0..<10)
            + [.command(["HINCRBY", "user:42", "visits", "1"])] + noise(10..<20) + [.command(["HDEL", "user:42", "name"])] + noise(20..<30)
        try writeTestLog(at: directory.path, units)
        let check = ProbeCheck(probes: [try Probe(command: "HGET user:42 name", expectation: .notation("\"alice\""))])
        var options = BisectOptions()
        options.lastGood = 1
        let result = try Bisector.forwardPass(log: directory.path, check: check, options: options)
        #expect(result.firstBad == 23)
        let history = try KeyHistory.before(result.decisive!, log: directory.path, recovery: .tolerateTail)
        #expect(history.entries.map(\.place.sequence) == [1, 12])
        let text = result.report(check: check.summary, history: history).rendered(.text)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("Check flipped at entry #23 (segment 1, byte "))
        #expect(lines[1] == "History of \"user:42\", oldest first:")
        #expect(lines[2].hasPrefix("  #1 ") && lines[2].hasSuffix("HSET \"user:42\" \"name\" \"alice\" \"visits\" \"0\""))
        #expect(lines[3].contains("HINCRBY"))
        #expect(lines[4].contains("HDEL \"user:42\" \"name\"") && lines[4].hasSuffix("<- check is bad from here"))
        #expect(lines[5] == "Check: HGET \"user:42\" \"name\" == \"alice\"")
        #expect(lines[6] == "  before #23 (at #22): HGET \"user:42\" \"name\" -> \"alice\"")
        #expect(lines[7] == "  after  #23: HGET \"user:42\" \"name\" -> (nil)")
        let json = result.report(check: check.summary, history: history).rendered(.json)
        let object = try #require(ReplyNotation.parseJSON(json) as? [String: Any])
        #expect(object["first_bad_seq"] as? Int == 23)
        #expect(object["last_good_seq"] as? Int == 22)
        #expect(object["probes"] as? Int == result.checkRunCount)
        #expect(object["seconds"] is Double || object["seconds"] is Int)
    }
}
