// Seeded random sorted-set and HyperLogLog command lines for the differential tests, and the
// runner that sends them to redis-server and to a Keyspace.

@testable import RewindEngine
import RewindRESP

/// Random ZSET/HLL command lines over a small key pool that also holds other types, so commands
/// collide, hit WRONGTYPE, and reach edge values (inf, -0, NaN, huge counts, bad floats).
struct SortedSetCommandGenerator {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    static let keys = ["z1", "z2", "z3", "zbig", "str", "lst", "st", "h1", "h2", "missing"]
    static let members = ["a", "b", "c", "d", "e", "f", "", "aa", "ab", "b\u{0}x", "1", "-1", "0.5",
                          String(repeating: "m", count: 70)]
    static let scores = ["0", "1", "-1", "2", "2.5", "-0", "0.1", "1e308", "-1e308", "inf", "-inf", "+inf",
                         "3", "10", "-2.25", "5e-324", "1e3", "nan", "x", "", " 1", "0x10", "(1"]
    static let bounds = ["-inf", "+inf", "0", "1", "(1", "(2", "2.5", "(-inf", "-1", "3", "x", "(", "10", "nan"]
    static let lexBounds = ["-", "+", "[a", "(a", "[b", "(c", "[aa", "[", "(", "a", "[z", "(b\u{0}x"]
    static let integers = ["0", "1", "-1", "2", "-2", "3", "5", "100", "-100", "9223372036854775807",
                           "-9223372036854775808", "x", "1.5", ""]

    mutating func chance(_ percent: UInt64) -> Bool { random.next(below: 100) < percent }
    mutating func pick(_ items: [String]) -> String { items[Int(random.next(below: UInt64(items.count)))] }
    mutating func key() -> String { pick(Self.keys) }
    /// Keys for lex-range commands. Lex ranges over unequal scores are answered by a skiplist
    /// descent whose path depends on Redis's random node levels, so only a set whose scores are
    /// all equal ("zlex", always added with score 0), a string no other command writes
    /// ("lexstring", for WRONGTYPE) and a key never written give answers that can be compared.
    mutating func lexKey() -> String { pick(["zlex", "zlex", "zlex", "zlex", "lexstring", "nokey"]) }
    mutating func member() -> String { pick(Self.members) }
    mutating func score() -> String {
        chance(40) ? String(Int64(random.next(below: 21)) - 10) : pick(Self.scores)
    }
    mutating func integer() -> String { chance(70) ? String(Int64(random.next(below: 13)) - 6) : pick(Self.integers) }

    /// One command line, and whether its reply is random (compare only its shape).
    mutating func next() -> (arguments: [String], isRandom: Bool) {
        var (arguments, isRandom) = wellFormed()
        if chance(2) && arguments.count > 1 { arguments.removeLast() }
        if chance(1) { arguments.append(member()) }
        return (arguments, isRandom)
    }

    private mutating func keysWithCount(_ maximum: UInt64) -> [String] {
        let count = 1 + Int(random.next(below: maximum))
        return [chance(5) ? pick(["0", "-1", "x", "9"]) : String(count)] + (0..<count).map { _ in key() }
    }

    private mutating func algebraOptions(weights count: Int, store: Bool) -> [String] {
        var options: [String] = []
        if chance(30) { options += ["WEIGHTS"] + (0..<count).map { _ in chance(80) ? pick(["1", "2", "-1", "0", "0.5", "inf"]) : score() } }
        if chance(30) { options += ["AGGREGATE", pick(["SUM", "MIN", "MAX", "sum", "avg"])] }
        if !store && chance(40) { options.append("WITHSCORES") }
        return options
    }

    private mutating func wellFormed() -> ([String], Bool) {
        let key = key()
        switch random.next(below: 54) {
        case 0..<6:
            var options: [String] = []
            for _ in 0..<random.next(below: 3) { options.append(pick(["NX", "XX", "GT", "LT", "CH", "INCR", "ch"])) }
            var pairs: [String] = []
            for _ in 0..<(1 + random.next(below: options.contains("INCR") ? 1 : 4)) { pairs += [score(), member()] }
            return (["ZADD", key] + options + pairs, false)
        case 6: return (["ZINCRBY", key, score(), member()], false)
        case 7: return (["ZSCORE", key, member()], false)
        case 8: return (["ZMSCORE", key, member(), member()], false)
        case 9: return (["ZCARD", key], false)
        case 10: return (["ZCOUNT", key, pick(Self.bounds), pick(Self.bounds)], false)
        case 11: return (["ZLEXCOUNT", lexKey(), pick(Self.lexBounds), pick(Self.lexBounds)], false)
        case 12: return ([pick(["ZRANK", "ZREVRANK"]), key, member()], false)
        case 13..<16:
            var kind = "rank"
            if chance(35) { kind = "score" } else if chance(30) { kind = "lex" }
            var arguments = ["ZRANGE", kind == "lex" ? lexKey() : key]
            switch kind {
            case "score": arguments += [pick(Self.bounds), pick(Self.bounds), "BYSCORE"]
            case "lex": arguments += [pick(Self.lexBounds), pick(Self.lexBounds), "BYLEX"]
            default: arguments += [integer(), integer()]
            }
            if chance(30) { arguments.append("REV") }
            if chance(25) { arguments += ["LIMIT", integer(), integer()] }
            if chance(35) { arguments.append("WITHSCORES") }
            return (arguments, false)
        case 16:
            var arguments = ["ZRANGESTORE", pick(["dst", key]), key, integer(), integer()]
            if chance(40) { arguments = ["ZRANGESTORE", "dst", key, pick(Self.bounds), pick(Self.bounds), "BYSCORE"] }
            else if chance(30) { arguments = ["ZRANGESTORE", "dst", lexKey(), pick(Self.lexBounds), pick(Self.lexBounds), "BYLEX"] }
            if chance(20) { arguments.append("REV") }
            if chance(20) { arguments += ["LIMIT", integer(), integer()] }
            return (arguments, false)
        case 17: return ([pick(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), key, pick(Self.bounds), pick(Self.bounds)]
                         + (chance(30) ? ["WITHSCORES"] : []) + (chance(30) ? ["LIMIT", integer(), integer()] : []), false)
        case 18: return ([pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), lexKey(), pick(Self.lexBounds), pick(Self.lexBounds)]
                         + (chance(30) ? ["LIMIT", integer(), integer()] : []) + (chance(5) ? ["WITHSCORES"] : []), false)
        case 19: return (["ZREVRANGE", key, integer(), integer()] + (chance(40) ? ["WITHSCORES"] : []), false)
        case 20, 21: return (["ZREM", key, member(), member()], false)
        case 22: return (["ZREMRANGEBYRANK", key, integer(), integer()], false)
        case 23: return (["ZREMRANGEBYSCORE", key, pick(Self.bounds), pick(Self.bounds)], false)
        case 24: return (["ZREMRANGEBYLEX", lexKey(), pick(Self.lexBounds), pick(Self.lexBounds)], false)
        case 25: return ([pick(["ZPOPMIN", "ZPOPMAX"]), key] + (chance(50) ? [integer()] : []), false)
        case 26: return (["ZMPOP"] + keysWithCount(3) + [pick(["MIN", "MAX", "min", "left"])]
                         + (chance(50) ? ["COUNT", integer()] : []), false)
        case 27: return (["ZRANDMEMBER", key] + (chance(70) ? [integer()] : []) + (chance(30) ? ["WITHSCORES"] : []), true)
        case 28, 29:
            let operation = pick(["ZUNION", "ZINTER", "ZDIFF"])
            let keys = keysWithCount(3)
            return ([operation] + keys + algebraOptions(weights: keys.count - 1, store: false), false)
        case 30, 31:
            let operation = pick(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
            let keys = keysWithCount(3)
            return ([operation, pick(["dst", key])] + keys + algebraOptions(weights: keys.count - 1, store: true), false)
        case 32: return (["ZINTERCARD"] + keysWithCount(3) + (chance(40) ? ["LIMIT", integer()] : []), false)
        case 33: return (["ZSCAN", key, "0", "COUNT", "100000"] + (chance(30) ? ["MATCH", pick(["*", "a*", "?"])] : []), false)
        case 34: return (["PFADD", pick(["hll1", "hll2", key])] + (0..<random.next(below: 5)).map { _ in member() + String(random.next(below: 200)) }, false)
        case 35: return (["PFCOUNT", pick(["hll1", "hll2", key])] + (chance(30) ? [pick(["hll1", "hll2", key])] : []), false)
        case 36: return (["PFMERGE", pick(["hll3", "hll1", key]), pick(["hll1", "hll2", key])], false)
        case 37: return (["TYPE", key], false)
        case 38: return (["OBJECT", "ENCODING", key], false)
        case 39: return (["DEBUG", "DIGEST-VALUE", key, pick(["hll1", "z1"])], false)
        case 40: return ([pick(["SET", "RPUSH", "SADD", "HSET"]), key] + (chance(50) ? ["f", member()] : [member()]), false)
        case 41: return (["SADD", pick(["st", "z3"]), member(), member()], false)
        case 48: return ([pick(["BZPOPMIN", "BZPOPMAX"]), key, self.key(), pick(["0", "0.5", "-1", "x"])], false)
        case 49: return (["BZMPOP", pick(["0", "1", "-1"])] + keysWithCount(2) + [pick(["MIN", "MAX"])]
                         + (chance(50) ? ["COUNT", integer()] : []), false)
        case 50: return (["ZADD", "znew"] + (0..<(100 + random.next(below: 60))).flatMap { index in [pick(["-0", "0", "1"]), "n\(index)"] }, false)
        case 51: return (["DEL", "znew"], false)
        case 52: return (["PEXPIRE", pick(["z1", "z2", "dst", "zbig", "hll1"]), pick(["100000000", "200000000"])], false)
        case 53: return (["FULLZSCAN", pick(["zbig", "znew", "z1", "dst"]), pick(["1", "5", "20"])], false)
        case 44..<48: return (["ZADD", "zlex"] + (0..<(1 + random.next(below: 4))).flatMap { _ in ["0", member()] }, false)
        case 42: return (["ZADD", "zbig"] + (0..<(60 + random.next(below: 100))).flatMap { index in [score(), "m\(index)"] }, false)
        default: return (["DEL", key], false)
        }
    }
}

/// Sends the same sorted-set/HLL commands to redis-server and to a Keyspace and compares replies.
final class SortedSetDifferentialRunner {
    let client: RESPTestClient
    let keyspace: Keyspace
    var session = ClientSession()
    var generator: SortedSetCommandGenerator
    let seed: UInt64
    let startMilliseconds: Int64 = 1_700_000_000_000
    private(set) var operationCount = 0
    private(set) var divergenceCount = 0
    private(set) var divergences: [String] = []
    private(set) var propagated: [LoggedEntry] = []

    init(client: RESPTestClient, seed: UInt64) throws {
        self.client = client
        self.seed = seed
        keyspace = Keyspace(randomSeed: seed)
        generator = SortedSetCommandGenerator(seed: seed)
        _ = try client.send(["FLUSHALL"])
        try both(["SET", "lexstring", "not a zset"])
    }

    /// The engine's reply as a RESP2 client sees it: doubles as `%.17g` bulk strings.
    static func resp2(_ value: RESPValue) -> RESPValue {
        switch value {
        case .double(let score): return .bulkString(DigestMixer.formatPercent17g(score))
        case .array(let items): return .array(items.map(resp2))
        default: return value.asRESP2
        }
    }

    private func record(_ arguments: [String], _ redis: RESPValue, _ engine: RESPValue) {
        divergenceCount += 1
        guard divergences.count < 25 else { return }
        let line = arguments.map { RESPValue.bulk($0).rendered }.joined(separator: " ")
        divergences.append("seed \(seed) op \(operationCount): \(line)\n    redis:  \(redis.rendered)\n    engine: \(engine.rendered)")
    }

    @discardableResult
    func both(_ arguments: [String], isRandom: Bool = false) throws -> RESPValue {
        operationCount += 1
        let redisReply = try client.send(arguments)
        let result = keyspace.execute(arguments.map { Array($0.utf8) }, session: &session,
                                      nowMilliseconds: startMilliseconds + Int64(operationCount))
        propagated += result.propagated
        checkSortedSetInvariants()
        let engineReply = Self.resp2(result.reply)
        let matches: Bool
        if isRandom {
            matches = DifferentialRunner.matches(redisReply, engineReply, .shapeOnly)
        } else if arguments[0] == "ZSCAN", case .array(let redisParts) = redisReply, case .array(let engineParts) = engineReply,
                  redisParts.count == 2, engineParts.count == 2 {
            // Redis scans a skiplist-encoded set in hash order: compare member/score pairs.
            matches = redisParts[0] == engineParts[0]
                && DifferentialRunner.matches(redisParts[1], engineParts[1], .unorderedPairs)
        } else if arguments[0] == "OBJECT", arguments.count == 3,
                  try client.send(["TYPE", arguments[2]]) != .simpleString("zset") {
            // Only sorted sets track their encoding history (a hash that once held a long
            // value stays a hashtable in Redis); other types' answers are approximations.
            matches = true
        } else if arguments[0] == "PTTL" {
            // The engine's clock is synthetic (1 ms per operation): TTLs agree on presence and
            // roughly on size.
            matches = DifferentialRunner.matches(redisReply, engineReply, .drifting(tolerance: 60_000))
        } else {
            matches = redisReply == engineReply
        }
        if !matches { record(arguments, redisReply, engineReply) }
        return redisReply
    }

    /// A whole ZSCAN iteration with a small COUNT on both sides: the member/score pairs seen
    /// must be the same (Redis walks a skiplist-encoded set in hash order, the engine in rank order).
    private func fullScan(key: String, count: String) throws {
        operationCount += 1
        func pairs(_ next: (String) throws -> RESPValue) throws -> [String] {
            var seen: [String] = []
            var cursor = "0"
            for _ in 0..<10_000 {
                guard case .array(let parts) = try next(cursor), parts.count == 2, case .bulkString(let nextCursor) = parts[0],
                      case .array(let items) = parts[1] else { return ["error"] }
                seen += stride(from: 0, to: items.count - 1, by: 2).map { items[$0].rendered + "=" + items[$0 + 1].rendered }
                cursor = String(decoding: nextCursor, as: UTF8.self)
                if cursor == "0" { break }
            }
            return seen.sorted()
        }
        let redisPairs = try pairs { try self.client.send(["ZSCAN", key, $0, "COUNT", count]) }
        let enginePairs = try pairs { cursor in
            Self.resp2(self.keyspace.execute(["ZSCAN", key, cursor, "COUNT", count].map { Array($0.utf8) }, session: &self.session,
                                             nowMilliseconds: self.startMilliseconds + Int64(self.operationCount)).reply)
        }
        if Set(redisPairs) != Set(enginePairs) {
            record(["ZSCAN", key, "(full)", "COUNT", count], .array(redisPairs.map { .bulk($0) }), .array(enginePairs.map { .bulk($0) }))
        }
    }

    /// Structural checks of every sorted set (no-ops unless built with REWIND_INTERNAL_CHECKS).
    private func checkSortedSetInvariants() {
        for slot in keyspace.databases[session.databaseIndex].entries.occupied {
            if case .sortedSet(let sortedSet) = slot.value { sortedSet.elements._checkInvariants() }
        }
    }

    func run(operations: Int) throws {
        for _ in 0..<operations {
            let (arguments, isRandom) = generator.next()
            if arguments[0] == "FULLZSCAN" {
                // A pseudo-command; next() may have cut or extended it.
                if arguments.count >= 3 { try fullScan(key: arguments[1], count: arguments[2]) }
            } else if arguments[0].hasPrefix("BZ") {
                // Blocking pops run inside MULTI, where Redis never blocks.
                try both(["MULTI"])
                try both(arguments)
                try both(["EXEC"])
            } else {
                try both(arguments, isRandom: isRandom)
            }
        }
        for key in SortedSetCommandGenerator.keys + ["dst", "zlex", "znew", "hll1", "hll2", "hll3"] {
            try both(["ZRANGE", key, "0", "-1", "WITHSCORES"])
            try both(["OBJECT", "ENCODING", key])
            try both(["PTTL", key])
        }
        try both(["DEBUG", "DIGEST"])
    }
}
