// Sorted-set commands, checked against replies recorded from redis-server 7.0.15.

import RewindEngine
import RewindRESP
import Testing

@Suite("Sorted-set commands")
struct SortedSetCommandTests {
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
