import Testing

@testable import RewindEngine

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The obviously correct model: an array kept sorted by (score, member bytes).
private struct NaiveSortedSet {
    var elements: [SortedSet.Element] = []

    func sorted() -> [SortedSet.Element] {
        elements.sorted { SortedSet.precedes($0, $1) }
    }
    func score(of member: [UInt8]) -> Double? { elements.first { $0.member == member }?.score }
    mutating func set(_ member: [UInt8], _ score: Double) {
        elements.removeAll { $0.member == member }
        elements.append(.init(member: member, score: score))
    }
    mutating func remove(_ member: [UInt8]) { elements.removeAll { $0.member == member } }
}

/// Scores that exercise ties, infinities and signed zero.
private let scorePool: [Double] = [-.infinity, -2.5, -1, -0.0, 0, 0.5, 1, 1, 3, 1e300, .infinity]

private func randomMember(_ random: inout TestRandom) -> [UInt8] {
    // Short members over a tiny alphabet, so prefixes and equal-score ties are common.
    let length = Int.random(in: 0...3, using: &random)
    return (0..<length).map { _ in [UInt8(ascii: "a"), UInt8(ascii: "b"), 0, 0xFF].randomElement(using: &random)! }
}

private func randomScoreBound(_ random: inout TestRandom) -> [UInt8] {
    let options = ["-inf", "+inf", "(1", "1", "0", "(0", "-0", "(-1", "2.5", "(3", "inf", "(-inf", "1e300", "(1e300"]
    return b(options.randomElement(using: &random)!)
}

private func randomLexBound(_ random: inout TestRandom) -> [UInt8] {
    switch Int.random(in: 0..<6, using: &random) {
    case 0: return b("-")
    case 1: return b("+")
    case 2, 3: return [UInt8(ascii: "[")] + randomMember(&random)
    default: return [UInt8(ascii: "(")] + randomMember(&random)
    }
}

@Suite("SortedSet against a naive model")
struct SortedSetModelTests {
    @Test("Random operations agree with a sorted array, across encodings and conversions",
          arguments: [(UInt64(1), 4), (2, 16), (3, 128), (4, 0)])
    func randomOperations(seed: UInt64, compactEntryCountMax: Int) {
        var random = TestRandom(seed: seed)
        var set = SortedSet(encoding: compactEntryCountMax == 0 ? .skiplist : .compact, compactEntryCountMax: compactEntryCountMax)
        var model = NaiveSortedSet()
        for step in 0..<3000 {
            let member = randomMember(&random)
            switch Int.random(in: 0..<10, using: &random) {
            case 0...3:
                let score = scorePool.randomElement(using: &random)!
                let outcome = set.add(member, score: score)
                if let current = model.score(of: member) {
                    #expect(outcome == (current == score ? .unchanged(score: score) : .updated(score: score)))
                    if current != score { model.set(member, score) }
                } else {
                    #expect(outcome == .added(score: score))
                    model.set(member, score)
                }
            case 4:
                let score = scorePool.randomElement(using: &random)!
                let outcome = set.add(member, score: score, options: .increment)
                if let current = model.score(of: member) {
                    let sum = current + score
                    if sum.isNaN { #expect(outcome == .notANumber) } else if sum != current { model.set(member, sum) }
                } else {
                    model.set(member, score)
                }
            case 5:
                #expect(set.remove(member) == model.score(of: member))
                model.remove(member)
            case 6:
                guard let range = SortedSetScoreRange.parse(min: randomScoreBound(&random), max: randomScoreBound(&random)) else {
                    Issue.record("bounds must parse")
                    continue
                }
                let expected = model.sorted().filter { range.satisfiesMin($0.score) && range.satisfiesMax($0.score) }
                let offset = Int.random(in: -1...3, using: &random)
                let limit: Int? = [nil, -1, 0, 1, 2, 5].randomElement(using: &random)!
                let reverse = Bool.random(using: &random)
                var window = reverse ? Array(expected.reversed()) : expected
                window = offset < 0 ? [] : Array(window.dropFirst(offset))
                if let limit, limit >= 0 { window = Array(window.prefix(limit)) }
                #expect(set.elements(inScoreRange: range, reverse: reverse, offset: offset, limit: limit) == window)
                #expect(set.count(inScoreRange: range) == expected.count)
                if Int.random(in: 0..<8, using: &random) == 0 {
                    #expect(set.removeElements(inScoreRange: range) == expected)
                    for element in expected { model.remove(element.member) }
                }
            case 7:
                let start = Int64.random(in: -8...8, using: &random)
                let stop = Int64.random(in: -8...8, using: &random)
                let sorted = model.sorted()
                let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: sorted.count)
                let reverse = Bool.random(using: &random)
                let source = reverse ? Array(sorted.reversed()) : sorted
                let expected = ranks.map { Array(source[$0]) } ?? []
                #expect(ranks.map { set.elements(inRankRange: $0, reverse: reverse) } ?? [] == expected)
                if let ranks, !reverse, Int.random(in: 0..<6, using: &random) == 0 {
                    #expect(set.removeElements(inRankRange: ranks) == expected)
                    for element in expected { model.remove(element.member) }
                }
            case 8:
                let sorted = model.sorted()
                let expectedRank = sorted.firstIndex { $0.member == member }
                #expect(set.rank(of: member) == expectedRank)
                #expect(set.reverseRank(of: member) == expectedRank.map { sorted.count - 1 - $0 })
                #expect(set.score(of: member) == model.score(of: member))
            default:
                let sorted = model.sorted()
                let rank = Int.random(in: -1...(sorted.count), using: &random)
                #expect(set.element(atRank: rank) == (sorted.indices.contains(rank) ? sorted[rank] : nil))
            }
            if step % 97 == 0 {
                set._checkInvariants()
                #expect(set.elements == model.sorted(), "step \(step)")
            }
            #expect(set.count == model.elements.count)
        }
        set._checkInvariants()
        #expect(set.elements == model.sorted())
        if compactEntryCountMax == 4 { #expect(set.encoding == .skiplist) }
    }

    @Test("Lex ranges over equal scores agree with the model, both encodings", arguments: [UInt64(5), 6])
    func lexRanges(seed: UInt64) {
        var random = TestRandom(seed: seed)
        for encoding in [SortedSet.Encoding.compact, .skiplist] {
            var set = SortedSet(encoding: encoding)
            var model = NaiveSortedSet()
            for _ in 0..<40 {
                let member = randomMember(&random)
                _ = set.add(member, score: 0)
                model.set(member, 0)
            }
            for _ in 0..<500 {
                guard let range = SortedSetLexRange.parse(min: randomLexBound(&random), max: randomLexBound(&random)) else {
                    Issue.record("bounds must parse")
                    continue
                }
                let expected = model.sorted().filter { range.satisfiesMin($0.member) && range.satisfiesMax($0.member) }
                let reverse = Bool.random(using: &random)
                let offset = Int.random(in: 0...2, using: &random)
                var window = Array((reverse ? Array(expected.reversed()) : expected).dropFirst(offset))
                let limit: Int? = [nil, 1, 3].randomElement(using: &random)!
                if let limit { window = Array(window.prefix(limit)) }
                #expect(set.elements(inLexRange: range, reverse: reverse, offset: offset, limit: limit) == window)
                #expect(set.count(inLexRange: range) == expected.count)
            }
            var copy = set
            let range = SortedSetLexRange(min: .inclusive(b("a")), max: .plusInfinity)
            let removed = copy.removeElements(inLexRange: range)
            #expect(removed == set.elements(inLexRange: range))
            #expect(copy.count == set.count - removed.count, "copy-on-write leaves the original intact")
            copy._checkInvariants()
        }
    }

    @Test("ZADD options follow Redis's order of checks")
    func addOptions() {
        var set = SortedSet()
        #expect(set.add(b("a"), score: .nan) == .notANumber)
        #expect(set.add(b("a"), score: 1, options: .onlyExisting) == .skipped)
        #expect(set.add(b("a"), score: 1, options: .onlyNew) == .added(score: 1))
        #expect(set.add(b("a"), score: 5, options: .onlyNew) == .skipped)
        #expect(set.add(b("a"), score: 0, options: .onlyGreater) == .skipped)
        #expect(set.add(b("a"), score: 2, options: .onlyGreater) == .updated(score: 2))
        #expect(set.add(b("a"), score: 3, options: .onlyLess) == .skipped)
        #expect(set.add(b("a"), score: 1, options: [.increment, .onlyGreater]) == .updated(score: 3))
        #expect(set.add(b("a"), score: .infinity, options: .increment) == .updated(score: .infinity))
        #expect(set.add(b("a"), score: -.infinity, options: .increment) == .notANumber)
        #expect(set.add(b("a"), score: .infinity) == .unchanged(score: .infinity))
    }

    @Test("Members longer than the compact limit convert to a skiplist, and back only on request")
    func encodingConversion() {
        var set = SortedSet()
        for index in 0..<128 { _ = set.add(b("m\(index)"), score: Double(index)) }
        #expect(set.encoding == .compact)
        _ = set.add(b("one more"), score: 0)
        #expect(set.encoding == .skiplist)
        set.remove(b("one more"))
        #expect(set.encoding == .skiplist)
        set.convertToCompactIfFits()
        #expect(set.encoding == .compact)
        _ = set.add([UInt8](repeating: 1, count: 65), score: 0)
        #expect(set.encoding == .skiplist)
        set._checkInvariants()
    }

    @Test("Score and lex bounds parse as Redis parses them")
    func boundParsing() {
        #expect(SortedSetScoreRange.parse(min: b("(1.5"), max: b("+inf")) == SortedSetScoreRange(min: 1.5, minIsExclusive: true, max: .infinity))
        #expect(SortedSetScoreRange.parse(min: b(" 1"), max: b("")) == SortedSetScoreRange(min: 1, max: 0))
        #expect(SortedSetScoreRange.parse(min: b("nan"), max: b("1")) == nil)
        #expect(SortedSetScoreRange.parse(min: b("1x"), max: b("1")) == nil)
        #expect(SortedSetScoreRange.parse(min: b("(") , max: b("1")) == SortedSetScoreRange(min: 0, minIsExclusive: true, max: 1))
        #expect(SortedSetLexRange.parse(min: b("-"), max: b("+")) == SortedSetLexRange(min: .minusInfinity, max: .plusInfinity))
        #expect(SortedSetLexRange.parse(min: b("a"), max: b("+")) == nil)
        #expect(SortedSetLexRange.parse(min: b(""), max: b("+")) == nil)
        #expect(SortedSetLexRange.parse(min: b("-x"), max: b("+")) == nil)
        #expect(SortedSetLexRange.parse(min: b("[a"), max: b("(")) == SortedSetLexRange(min: .inclusive(b("a")), max: .exclusive([])))
        #expect(SortedSet.normalizedRankRange(start: .min, stop: .max, count: 3) == 0...2)
        #expect(SortedSet.normalizedRankRange(start: 2, stop: 1, count: 3) == nil)
    }
}

@Suite("SortedSet against redis-server", .serialized, .enabled(if: RedisTestServer.isAvailable))
struct SortedSetRedisTests {
    typealias Reply = RedisTestServer.Reply

    static func text(_ score: Double) -> [UInt8] { DigestMixer.formatPercent17g(score) }

    static func withScores(_ elements: [SortedSet.Element]) -> Reply {
        .array(elements.flatMap { [Reply.bulk($0.member), .bulk(text($0.score))] })
    }

    static let scoreTexts = ["-inf", "-2.5", "-1", "-0", "0", "0.5", "1", "3", "1e300", "+inf", "0.1"]

    /// Runs seeded random sorted-set commands on Redis and on `SortedSet`, comparing every reply.
    @Test("Seeded random ZADD/ZINCRBY/ZREM/ranges/removals give Redis's replies", arguments: [
        (UInt64(11), 128), (12, 8), (13, 0),
    ])
    func differential(seed: UInt64, listpackEntries: Int) throws {
        let server = try RedisTestServer(extraArguments: ["--zset-max-listpack-entries", String(listpackEntries)])
        var random = TestRandom(seed: seed)
        var set: SortedSet? = nil
        let key = b("z")
        var commands: [[[UInt8]]] = []
        var expected: [Reply] = []
        func expect(_ command: [[UInt8]], _ reply: Reply) {
            commands.append(command)
            expected.append(reply)
        }
        for step in 0..<4000 {
            let member = randomMember(&random)
            let scoreText = Self.scoreTexts.randomElement(using: &random)!
            let score = Double(scoreText.replacingOccurrences(of: "+", with: ""))!
            let current = set ?? SortedSet(encoding: SortedSet.preferredEncoding(
                firstMemberByteCount: member.count, compactEntryCountMax: listpackEntries), compactEntryCountMax: listpackEntries)
            var working = current
            switch Int.random(in: 0..<12, using: &random) {
            case 0...3:
                let flags: [(String, SortedSet.AddOptions)] = [("", []), ("NX", .onlyNew), ("XX", .onlyExisting), ("GT", .onlyGreater), ("LT", .onlyLess)]
                let (flag, options) = flags.randomElement(using: &random)!
                let increment = Int.random(in: 0..<4, using: &random) == 0
                let outcome = working.add(member, score: score, options: increment ? options.union(.increment) : options)
                let command = [b("ZADD"), key] + (flag.isEmpty ? [] : [b(flag)]) + (increment ? [b("INCR")] : []) + [b(scoreText), member]
                switch outcome {
                case .added(let newScore), .updated(let newScore), .unchanged(let newScore):
                    expect(command, increment ? .bulk(Self.text(newScore)) : .integer(outcome == .added(score: newScore) ? 1 : 0))
                case .skipped: expect(command, increment ? .bulk(nil) : .integer(0))
                case .notANumber: expect(command, .error("ERR resulting score is not a number (NaN)"))
                }
                if set == nil, case .skipped = outcome { continue }  // XX on a missing key creates nothing
                if set == nil, case .notANumber = outcome { continue }
                set = working
            case 4:
                guard set != nil else { continue }
                let removed = working.remove(member) != nil
                expect([b("ZREM"), key, member], .integer(removed ? 1 : 0))
                set = working.isEmpty ? nil : working
            case 5, 6:
                let min = randomScoreBound(&random), max = randomScoreBound(&random)
                let range = try #require(SortedSetScoreRange.parse(min: min, max: max))
                let reverse = Bool.random(using: &random)
                let offset = Int.random(in: -1...3, using: &random), limit = Int.random(in: -1...4, using: &random)
                let result = current.elements(inScoreRange: range, reverse: reverse, offset: offset, limit: limit)
                expect([b(reverse ? "ZREVRANGEBYSCORE" : "ZRANGEBYSCORE"), key] + (reverse ? [max, min] : [min, max])
                       + [b("WITHSCORES"), b("LIMIT"), b(String(offset)), b(String(limit))], Self.withScores(result))
                expect([b("ZCOUNT"), key, min, max], .integer(Int64(current.count(inScoreRange: range))))
            case 7:
                // Lex ranges over mixed scores are only deterministic in Redis's listpack.
                guard current.encoding == .compact else { continue }
                let min = randomLexBound(&random), max = randomLexBound(&random)
                let range = try #require(SortedSetLexRange.parse(min: min, max: max))
                let reverse = Bool.random(using: &random)
                let result = current.elements(inLexRange: range, reverse: reverse, offset: 0, limit: nil)
                expect([b(reverse ? "ZREVRANGEBYLEX" : "ZRANGEBYLEX"), key] + (reverse ? [max, min] : [min, max]),
                       .array(result.map { .bulk($0.member) }))
                expect([b("ZLEXCOUNT"), key, min, max], .integer(Int64(current.count(inLexRange: range))))
                if Int.random(in: 0..<5, using: &random) == 0, set != nil {
                    let removed = working.removeElements(inLexRange: range)
                    expect([b("ZREMRANGEBYLEX"), key, min, max], .integer(Int64(removed.count)))
                    set = working.isEmpty ? nil : working
                }
            case 8:
                guard set != nil, Int.random(in: 0..<3, using: &random) == 0 else { continue }
                let min = randomScoreBound(&random), max = randomScoreBound(&random)
                let removed = working.removeElements(inScoreRange: try #require(SortedSetScoreRange.parse(min: min, max: max)))
                expect([b("ZREMRANGEBYSCORE"), key, min, max], .integer(Int64(removed.count)))
                set = working.isEmpty ? nil : working
            case 9:
                let start = Int64.random(in: -6...6, using: &random), stop = Int64.random(in: -6...6, using: &random)
                let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: current.count)
                let reverse = Bool.random(using: &random)
                expect([b(reverse ? "ZREVRANGE" : "ZRANGE"), key, b(String(start)), b(String(stop)), b("WITHSCORES")],
                       Self.withScores(ranks.map { current.elements(inRankRange: $0, reverse: reverse) } ?? []))
                if set != nil, Int.random(in: 0..<4, using: &random) == 0 {
                    let removed = ranks.map { working.removeElements(inRankRange: $0) } ?? []
                    expect([b("ZREMRANGEBYRANK"), key, b(String(start)), b(String(stop))], .integer(Int64(removed.count)))
                    set = working.isEmpty ? nil : working
                }
            default:
                expect([b("ZRANK"), key, member], current.rank(of: member).map { .integer(Int64($0)) } ?? .bulk(nil))
                expect([b("ZREVRANK"), key, member], current.reverseRank(of: member).map { .integer(Int64($0)) } ?? .bulk(nil))
                expect([b("ZSCORE"), key, member], .bulk(current.score(of: member).map(Self.text)))
            }
            if step % 50 == 0 {
                expect([b("ZRANGE"), key, b("0"), b("-1"), b("WITHSCORES")], Self.withScores(set?.elements ?? []))
                if let set { expect([b("OBJECT"), b("ENCODING"), key], .bulk(b(set.encoding.rawValue))) }
            }
        }
        let replies = try server.pipeline(commands)
        #expect(replies.count == expected.count)
        var mismatches = 0
        for (index, reply) in replies.enumerated() where reply != expected[index] && mismatches < 5 {
            mismatches += 1
            Issue.record("command \(commands[index].map { String(decoding: $0, as: UTF8.self) }): redis \(reply), rewind \(expected[index])")
        }
        set?._checkInvariants()
    }

    @Test("-0 reads back as 0 from a listpack and as -0 from a skiplist, as in Redis")
    func negativeZero() throws {
        let server = try RedisTestServer()
        var compact = SortedSet()
        _ = compact.add(b("a"), score: -0.0)
        var skiplist = SortedSet(encoding: .skiplist)
        _ = skiplist.add(b("a"), score: -0.0)
        _ = skiplist.add(b("a"), score: 0)  // 0 == -0: unchanged, the -0 stays
        try server.command("ZADD", "small", "-0", "a")
        try server.command("CONFIG", "SET", "zset-max-listpack-entries", "0")
        try server.command("ZADD", "big", "-0", "a")
        try server.command("ZADD", "big", "0", "a")
        #expect(try server.command("ZSCORE", "small", "a") == .bulk(Self.text(compact.score(of: b("a"))!)))
        #expect(try server.command("ZSCORE", "big", "a") == .bulk(Self.text(skiplist.score(of: b("a"))!)))
        #expect(Self.text(skiplist.score(of: b("a"))!) == b("-0"))
    }
}
