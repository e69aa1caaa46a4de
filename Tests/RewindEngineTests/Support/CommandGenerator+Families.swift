// The per-family command lines of CommandGenerator.

import RewindEngine

private func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }

extension CommandGenerator {
    mutating func stringCommand() -> [[UInt8]] {
        let k = key()
        switch random.next(below: 27) {
        case 0, 1: return words("GET") + [k]
        case 2, 3, 4: return words("SET") + [k, value()] + setOptions()
        case 5: return words("SETNX") + [k, value()]
        case 6: return words("SETEX") + [k, relativeExpiry(milliseconds: false), value()]
        case 7: return words("PSETEX") + [k, relativeExpiry(milliseconds: true), value()]
        case 8: return words("GETSET") + [k, value()]
        case 9: return words("GETDEL") + [k]
        case 10:
            let options: [[UInt8]] = pick([[], words("PERSIST"), words("EX") + [relativeExpiry(milliseconds: false)],
                                           words("PXAT") + [absoluteExpiry(milliseconds: true)],
                                           words("EXAT") + [absoluteExpiry(milliseconds: false)], words("PERSIST EX 10")])
            return words("GETEX") + [k] + options
        case 11: return words("MGET") + keys(4)
        case 12: return words("MSET") + keys(3).flatMap { [$0, value()] }
        case 13: return words("MSETNX") + keys(3).flatMap { [$0, value()] }
        case 14: return words("APPEND") + [k, value()]
        case 15: return words("STRLEN") + [k]
        case 16: return words("SETRANGE") + [k, pick([integer(), Array("1000".utf8), Array("536870912".utf8)]), value()]
        case 17: return words("GETRANGE") + [k, integer(), integer()]
        case 18: return words("SUBSTR") + [k, integer(), integer()]
        case 19, 20: return words("INCR") + [k]
        case 21: return words("DECR") + [k]
        case 22: return words("INCRBY") + [k, integer()]
        case 23: return words("DECRBY") + [k, integer()]
        case 24, 25: return words("INCRBYFLOAT") + [k, value()]
        default:
            let options: [[UInt8]] = pick([[], words("LEN"), words("IDX"), words("IDX WITHMATCHLEN"),
                                           words("IDX MINMATCHLEN 2"), words("LEN IDX"), words("IDX MINMATCHLEN x")])
            return words("LCS") + [k, key()] + options
        }
    }

    mutating func keyCommand() -> ([[UInt8]], ReplyComparison) {
        let k = key()
        switch random.next(below: 17) {
        case 0, 1: return (words("DEL") + keys(3), .exact)
        case 2: return (words("UNLINK") + keys(2), .exact)
        case 3: return (words("EXISTS") + keys(3), .exact)
        case 4: return (words("TYPE") + [k], .exact)
        case 5: return (words("RENAME") + [k, key()], .exact)
        case 6: return (words("RENAMENX") + [k, key()], .exact)
        case 7:
            let options: [[UInt8]] = pick([[], words("REPLACE"), words("DB 1"), words("DB 2 REPLACE"), words("DB 99"), words("DB x")])
            return (words("COPY") + [k, key()] + options, .exact)
        case 8: return (words("MOVE") + [k, Array(pick(["0", "1", "2", "16", "x"]).utf8)], .exact)
        case 9: return (words("KEYS") + [Array(pick(["*", "?", "[a-c]", "*e*", "l*", "[^a]*", "\\*", "[z-a]", ""]).utf8)], .unordered)
        case 10: return (words("RANDOMKEY"), .shapeOnly)
        case 11: return (words("DBSIZE"), .exact)
        case 12: return (words("SELECT") + [Array(pick(["0", "1", "2", "0", "16", "-1", "x"]).utf8)], .exact)
        case 13: return (words("SWAPDB") + [Array(pick(["0", "1", "2", "x"]).utf8), Array(pick(["0", "1", "2", "16"]).utf8)], .exact)
        case 14: return (chance(15) ? words(pick(["FLUSHDB", "FLUSHALL", "FLUSHDB ASYNC", "FLUSHDB foo"])) : words("PING"), .exact)
        case 15: return (words("TOUCH") + keys(2), .exact)
        default: return (words("ECHO") + [value()], .exact)
        }
    }

    mutating func expiryCommand() -> ([[UInt8]], ReplyComparison) {
        let k = key()
        let condition: [[UInt8]] = chance(30) ? [Array(pick(["NX", "XX", "GT", "LT", "nx", "foo"]).utf8)] : []
        switch random.next(below: 10) {
        case 0: return (words("EXPIRE") + [k, relativeExpiry(milliseconds: false)] + condition, .exact)
        case 1: return (words("PEXPIRE") + [k, relativeExpiry(milliseconds: true)] + condition, .exact)
        case 2: return (words("EXPIREAT") + [k, absoluteExpiry(milliseconds: false)] + condition, .exact)
        case 3: return (words("PEXPIREAT") + [k, absoluteExpiry(milliseconds: true)] + condition, .exact)
        case 4: return (words("TTL") + [k], .drifting(tolerance: 1))
        case 5: return (words("PTTL") + [k], .drifting(tolerance: 1000))
        case 6: return (words("EXPIRETIME") + [k], .drifting(tolerance: 1))
        case 7: return (words("PEXPIRETIME") + [k], .drifting(tolerance: 1000))
        default: return (words("PERSIST") + [k], .exact)
        }
    }

    mutating func listCommand() -> [[UInt8]] {
        let k = chance(60) ? Array("list".utf8) : key()
        switch random.next(below: 22) {
        case 0, 1, 2: return words(pick(["LPUSH", "RPUSH"])) + [k] + (0...random.next(below: 3)).map { _ in value() }
        case 3: return words(pick(["LPUSHX", "RPUSHX"])) + [k, value()]
        case 4, 5: return words(pick(["LPOP", "RPOP"])) + [k] + (chance(40) ? [integer()] : [])
        case 6: return words("LLEN") + [k]
        case 7, 8: return words("LRANGE") + [k, integer(), integer()]
        case 9: return words("LINDEX") + [k, integer()]
        case 10: return words("LSET") + [k, integer(), value()]
        case 11: return words("LINSERT") + [k, Array(pick(["BEFORE", "AFTER", "middle"]).utf8), value(), value()]
        case 12: return words("LREM") + [k, integer(), value()]
        case 13: return words("LTRIM") + [k, integer(), integer()]
        case 14:
            var options: [[UInt8]] = []
            if chance(40) { options += words("RANK") + [integer()] }
            if chance(40) { options += words("COUNT") + [integer()] }
            if chance(30) { options += words("MAXLEN") + [integer()] }
            return words("LPOS") + [k, value()] + options
        case 15, 16:
            return words("LMOVE") + [k, key(), Array(pick(["LEFT", "RIGHT", "up"]).utf8), Array(pick(["LEFT", "RIGHT"]).utf8)]
        case 17: return words("RPOPLPUSH") + [k, key()]
        case 18, 19:
            let numkeys = pick(["1", "2", "0", "x", "5"])
            let options: [[UInt8]] = chance(40) ? words("COUNT") + [integer()] : []
            return words("LMPOP") + [Array(numkeys.utf8), k, key(), Array(pick(["LEFT", "RIGHT", "MID"]).utf8)] + options
        default: return words("LRANGE") + [k] + words("0 -1")
        }
    }

    mutating func hashCommand() -> ([[UInt8]], ReplyComparison) {
        let k = chance(60) ? Array("hash".utf8) : key()
        switch random.next(below: 17) {
        case 0, 1, 2: return (words(pick(["HSET", "HMSET"])) + [k] + (0...random.next(below: 2)).flatMap { _ in [field(), value()] }, .exact)
        case 3: return (words("HSETNX") + [k, field(), value()], .exact)
        case 4: return (words("HGET") + [k, field()], .exact)
        case 5: return (words("HMGET") + [k, field(), field()], .exact)
        case 6: return (words("HDEL") + [k, field(), field()], .exact)
        case 7: return (words("HLEN") + [k], .exact)
        case 8: return (words("HEXISTS") + [k, field()], .exact)
        case 9: return (words(pick(["HKEYS", "HVALS"])) + [k], .unordered)
        case 10: return (words("HGETALL") + [k], .unorderedPairs)
        case 11, 12: return (words("HINCRBY") + [k, field(), integer()], .exact)
        case 13: return (words("HINCRBYFLOAT") + [k, field(), value()], .exact)
        case 14: return (words("HSTRLEN") + [k, field()], .exact)
        default:
            let options: [[UInt8]] = pick([[], [integer()], [integer(), Array("WITHVALUES".utf8)], [integer(), Array("foo".utf8)]])
            return (words("HRANDFIELD") + [k] + options, .shapeOnly)
        }
    }

    mutating func setCommand() -> ([[UInt8]], ReplyComparison) {
        let k = chance(60) ? Array("set".utf8) : key()
        let member = chance(50) ? field() : value()
        switch random.next(below: 19) {
        case 0, 1, 2: return (words("SADD") + [k] + (0...random.next(below: 3)).map { _ in chance(50) ? field() : value() }, .exact)
        case 3: return (words("SREM") + [k, member, field()], .exact)
        case 4: return (words("SISMEMBER") + [k, member], .exact)
        case 5: return (words("SMISMEMBER") + [k, member, field()], .exact)
        case 6: return (words("SCARD") + [k], .exact)
        case 7: return (words("SMEMBERS") + [k], .unordered)
        case 8: return (words("SPOP") + [k] + (chance(50) ? [integer()] : []), .shapeOnly)
        case 9: return (words("SRANDMEMBER") + [k] + (chance(60) ? [integer()] : []), .shapeOnly)
        case 10: return (words("SMOVE") + [k, key(), member], .exact)
        case 11: return (words(pick(["SINTER", "SUNION", "SDIFF"])) + [k] + keys(2), .unordered)
        case 12, 13: return (words(pick(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])) + [key(), k] + keys(2), .exact)
        case 14:
            let limit: [[UInt8]] = chance(40) ? words("LIMIT") + [integer()] : []
            return (words("SINTERCARD") + [Array(pick(["1", "2", "3", "0", "x"]).utf8), k, key()] + limit, .exact)
        default: return (words("SADD") + [Array("set".utf8)] + (0...random.next(below: 5)).map { _ in value() }, .exact)
        }
    }

    mutating func bitCommand() -> [[UInt8]] {
        let k = chance(30) ? Array("a".utf8) : key()
        let offset = Array(pick(["0", "1", "7", "8", "15", "100", "-1", "8000", "4294967296", "x"]).utf8)
        switch random.next(below: 9) {
        case 0, 1: return words("SETBIT") + [k, offset, Array(pick(["0", "1", "2", "x"]).utf8)]
        case 2: return words("GETBIT") + [k, offset]
        case 3:
            let range: [[UInt8]] = pick([[], [integer(), integer()], [integer(), integer(), Array(pick(["BIT", "BYTE", "bits"]).utf8)], [integer()]])
            return words("BITCOUNT") + [k] + range
        case 4:
            let range: [[UInt8]] = pick([[], [integer()], [integer(), integer()], [integer(), integer(), Array(pick(["BIT", "BYTE", "x"]).utf8)]])
            return words("BITPOS") + [k, Array(pick(["0", "1", "2"]).utf8)] + range
        case 5: return words("BITOP") + [Array(pick(["AND", "OR", "XOR", "NOT", "NAND"]).utf8), key()] + keys(2)
        default:
            var operations: [[UInt8]] = []
            for _ in 0...random.next(below: 3) {
                let type = Array(pick(["u8", "i8", "u1", "i64", "u63", "u64", "i5", "x3", "u0"]).utf8)
                let at = Array(pick(["0", "3", "#1", "#2", "100", "-1", "x"]).utf8)
                switch random.next(below: 4) {
                case 0: operations += words("GET") + [type, at]
                case 1: operations += words("SET") + [type, at, integer()]
                case 2: operations += words("INCRBY") + [type, at, integer()]
                default: operations += words("OVERFLOW") + [Array(pick(["WRAP", "SAT", "FAIL", "NONE"]).utf8)]
                }
            }
            return words(pick(["BITFIELD", "BITFIELD", "BITFIELD_RO"])) + [k] + operations
        }
    }

    mutating func hyperLogLogCommand() -> [[UInt8]] {
        let k = chance(70) ? Array("hll".utf8) : key()
        switch random.next(below: 7) {
        case 0, 1, 2:
            let count = chance(10) ? 400 : Int(random.next(below: 6))
            return words("PFADD") + [k] + (0..<count).map { _ in Array(String(random.next(below: 5000)).utf8) }
        case 3: return words("PFCOUNT") + [k]
        case 4: return words("PFCOUNT") + [k, Array("hll2".utf8)] + (chance(30) ? [key()] : [])
        case 5: return words("PFMERGE") + [Array(pick(["hll2", "hll", "a"]).utf8), k] + (chance(50) ? [key()] : [])
        default: return words("DEBUG DIGEST-VALUE") + keys(2)
        }
    }

    mutating func score() -> [UInt8] {
        chance(30) ? Array(String(Int64(random.next(below: 20)) - 10).utf8)
            : Array(pick(["1", "2", "-1", "0", "-0", "1.5", "inf", "-inf", "+inf", "nan", "1e308", "x", "(1", "0.1", "3", " 1"]).utf8)
    }

    mutating func scoreBound() -> [UInt8] { Array(pick(["-inf", "+inf", "(1", "1", "2", "(2", "x", "0", "-1", "(-inf", "5", "inf"]).utf8) }
    mutating func lexBound() -> [UInt8] { Array(pick(["-", "+", "[a", "(a", "[f1", "(m", "a", "[", "(", "[z", "[1"]).utf8) }

    /// Sorted-set commands. Lex ranges go only to "zlex", whose scores are all 0: over mixed
    /// scores Redis documents their result as unspecified.
    mutating func sortedSetCommand() -> [[UInt8]] {
        let k = chance(65) ? Array("zset".utf8) : key()
        let lexKey = Array("zlex".utf8)
        let member = chance(50) ? field() : value()
        let limit: [[UInt8]] = chance(30) ? words("LIMIT") + [integer(), integer()] : []
        let withScores: [[UInt8]] = chance(40) ? words("WITHSCORES") : []
        switch random.next(below: 28) {
        case 25, 26:
            let sources: [[UInt8]] = (0...random.next(below: 2)).map { _ in Array(pick(["zset", "zlex", "set", "a", "zset"]).utf8) }
            let operation = pick(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
            var options: [[UInt8]] = []
            if chance(30) { options += words("WEIGHTS") + sources.map { _ in Array(pick(["1", "2", "0", "-1", "0.5", "inf", "x"]).utf8) } }
            if chance(30) { options += words("AGGREGATE") + [Array(pick(["SUM", "MIN", "MAX", "AVG"]).utf8)] }
            if chance(30) { options += words("WITHSCORES") }
            let count = Array(pick([String(sources.count), String(sources.count), "0", "x", "9"]).utf8)
            let destination: [[UInt8]] = operation.hasSuffix("STORE") ? [key()] : []
            return words(operation) + destination + [count] + sources + options
        case 27:
            let limit: [[UInt8]] = chance(40) ? words("LIMIT") + [integer()] : []
            return words("ZINTERCARD") + [Array(pick(["1", "2", "0", "3"]).utf8), k, Array("set".utf8)] + limit
        case 22:
            let options: [[UInt8]] = pick([[], words("BYSCORE"), words("REV"), words("BYSCORE REV LIMIT 1 2"), words("WITHSCORES")])
            return words("ZRANGESTORE") + [key(), k, integer(), integer()] + options
        case 23:
            let options: [[UInt8]] = chance(40) ? words("COUNT") + [integer()] : []
            return words("ZMPOP") + [Array(pick(["1", "2", "0", "x"]).utf8), k, key(), Array(pick(["MIN", "MAX", "MID"]).utf8)] + options
        case 24:
            let options: [[UInt8]] = pick([[], [integer()], [integer(), Array("WITHSCORES".utf8)], [integer(), Array("foo".utf8)]])
            return words("ZRANDMEMBER") + [k] + options
        case 0, 1, 2, 3:
            var options: [[UInt8]] = []
            for _ in 0..<random.next(below: 3) { options.append(Array(pick(["NX", "XX", "GT", "LT", "CH", "INCR", "ch"]).utf8)) }
            let pairs = (0...random.next(below: 3)).flatMap { _ in [score(), chance(50) ? field() : value()] }
            return words("ZADD") + [k] + options + pairs
        case 4: return words("ZINCRBY") + [k, score(), member]
        case 5: return words("ZSCORE") + [k, member]
        case 6: return words("ZMSCORE") + [k, member, field()]
        case 7: return words("ZCARD") + [k]
        case 8: return words(pick(["ZRANK", "ZREVRANK"])) + [k, member]
        case 9: return words("ZCOUNT") + [k, scoreBound(), scoreBound()]
        case 10: return words("ZLEXCOUNT") + [lexKey, lexBound(), lexBound()]
        case 11: return words("ZREM") + [k, member, field()]
        case 12: return words(pick(["ZPOPMIN", "ZPOPMAX"])) + [k] + (chance(50) ? [integer()] : [])
        case 13, 14:
            var options: [[UInt8]] = []
            let kind = random.next(below: 3)
            let bounds: [[UInt8]] = kind == 0 ? [integer(), integer()] : kind == 1 ? [scoreBound(), scoreBound()] : [lexBound(), lexBound()]
            if kind == 1 { options.append(Array("BYSCORE".utf8)) }
            if kind == 2 { options.append(Array("BYLEX".utf8)) }
            if chance(40) { options.append(Array("REV".utf8)) }
            return words("ZRANGE") + [kind == 2 ? lexKey : k] + bounds + options + limit + withScores
        case 15: return words(pick(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])) + [k, scoreBound(), scoreBound()] + withScores + limit
        case 16: return words(pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX"])) + [lexKey, lexBound(), lexBound()] + limit
        case 17: return words("ZREVRANGE") + [k, integer(), integer()] + withScores
        case 18: return words("ZREMRANGEBYRANK") + [k, integer(), integer()]
        case 19: return words("ZREMRANGEBYSCORE") + [k, scoreBound(), scoreBound()]
        case 20: return words("ZREMRANGEBYLEX") + [lexKey, lexBound(), lexBound()]
        default: return words("ZADD") + [lexKey] + (0...random.next(below: 3)).flatMap { _ in [Array("0".utf8), chance(50) ? field() : value()] }
        }
    }
}
