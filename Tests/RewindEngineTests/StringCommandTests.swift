// String commands, checked against replies recorded from redis-server 7.0.15.

import RewindEngine
import RewindRESP
import Testing

@Suite("String commands")
struct StringCommandTests {
    @Test("SET options: NX, XX, GET and their conflicts")
    func setOptions() {
        var engine = EngineHarness()
        #expect(engine.run("SET k v NX") == .ok)
        #expect(engine.run("SET k w NX") == .null)
        #expect(engine.run("SET k w XX GET") == bulk("v"))
        #expect(engine.run("SET missing v XX") == .null)
        #expect(engine.run("SET k v NX XX") == .error("ERR syntax error"))
        #expect(engine.run("SET k v EX 1 PX 1") == .error("ERR syntax error"))
        #expect(engine.run("SET k v EX 10 EX 20") == .ok)
        #expect(engine.run("TTL k") == .integer(20))
        #expect(engine.run("SET k v KEEPTTL EX 1") == .error("ERR syntax error"))
    }

    @Test("SET rejects bad expiry times with Redis's texts", arguments: [
        ("SET k v EX 0", "ERR invalid expire time in 'set' command"),
        ("SET k v EX -1", "ERR invalid expire time in 'set' command"),
        ("SET k v EX 99999999999999999", "ERR invalid expire time in 'set' command"),
        ("SET k v PX x", "ERR value is not an integer or out of range"),
        ("SETEX k 0 v", "ERR invalid expire time in 'setex' command"),
        ("GETEX k EX 0", "ERR invalid expire time in 'getex' command"),
    ])
    func setExpiryErrors(line: String, error: String) {
        var engine = EngineHarness()
        engine.run("SET k v")
        #expect(engine.run(line) == .error(error))
    }

    @Test("SET with a relative expiry is logged with an absolute PXAT")
    func setLogsPXAT() {
        var engine = EngineHarness()
        engine.run("SET k v EX 10 GET")
        #expect(engine.loggedLines() == ["SET k v PXAT 1700000010000"])
        engine.run("SET k w GET")
        #expect(engine.loggedLines() == ["SET k w"])
        engine.run("SETEX k 5 x")
        #expect(engine.loggedLines() == ["SET k x PXAT 1700000005000"])
    }

    @Test("INCR family: integer rules and overflow")
    func increments() {
        var engine = EngineHarness()
        #expect(engine.run("INCR n") == .integer(1))
        #expect(engine.run("INCRBY n 9223372036854775806") == .integer(9223372036854775807))
        #expect(engine.run("INCR n") == .error("ERR increment or decrement would overflow"))
        #expect(engine.run("DECRBY n -9223372036854775808") == .error("ERR decrement would overflow"))
        engine.run("SET s 01")
        #expect(engine.run("INCR s") == .error("ERR value is not an integer or out of range"))
        #expect(engine.run("INCRBY n +1") == .error("ERR value is not an integer or out of range"))
    }

    @Test("INCRBYFLOAT prints like Redis's %.17Lf and is logged as SET KEEPTTL")
    func incrbyfloat() {
        var engine = EngineHarness()
        #expect(engine.run("INCRBYFLOAT f 1.10") == bulk("1.1"))
        #expect(engine.run("INCRBYFLOAT f 0.1") == bulk("1.2"))
        #expect(engine.loggedLines() == ["SET f 1.2 KEEPTTL"])
        engine.run("SET g 5.0e3")
        #expect(engine.run("INCRBYFLOAT g 0") == bulk("5000"))
        #expect(engine.run("INCRBYFLOAT g inf") == .error("ERR increment would produce NaN or Infinity"))
        #expect(engine.run("INCRBYFLOAT g x") == .error("ERR value is not a valid float"))
        #expect(engine.run("INCRBYFLOAT z -0.0") == bulk("0"))
    }

    @Test("GETRANGE follows Redis 7.0's clamping", arguments: [
        ("0 -1", "abc"), ("-100 -50", "a"), ("5 1", ""), ("0 -100", "a"), ("-2 -1", "bc"), ("1 100", "bc"),
    ])
    func getrange(range: String, expected: String) {
        var engine = EngineHarness()
        engine.run("SET s abc")
        #expect(engine.run("GETRANGE s " + range) == bulk(expected))
    }

    @Test("SETRANGE and APPEND refuse to pass 512 MB")
    func stringLimits() {
        var engine = EngineHarness()
        engine.run("SET s abc")
        #expect(engine.run("SETRANGE s 536870912 x") == .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
        #expect(engine.run("SETRANGE s -1 x") == .error("ERR offset is out of range"))
        #expect(engine.run("SETRANGE s 5 x") == .integer(6))
        #expect(engine.run("GET s") == .bulkString(Array("abc".utf8) + [0, 0] + Array("x".utf8)))
        #expect(engine.run("SETRANGE missing 3 ") == .error("ERR wrong number of arguments for 'setrange' command"))
    }

    @Test("GETEX rewrites and GETDEL deletes")
    func getexAndGetdel() {
        var engine = EngineHarness()
        engine.run("SET k v")
        #expect(engine.run("GETEX k PX 500") == bulk("v"))
        #expect(engine.loggedLines() == ["PEXPIREAT k 1700000000500"])
        #expect(engine.run("GETEX k PERSIST") == bulk("v"))
        #expect(engine.loggedLines() == ["PERSIST k"])
        #expect(engine.run("GETEX k EXAT 1") == bulk("v"))
        #expect(engine.loggedLines() == ["DEL k"])
        #expect(engine.run("EXISTS k") == .integer(0))
        engine.run("SET d v")
        #expect(engine.run("GETDEL d") == bulk("v"))
        #expect(engine.loggedLines() == ["DEL d"])
    }

    @Test("LCS with IDX, MINMATCHLEN and WITHMATCHLEN")
    func lcs() {
        var engine = EngineHarness()
        engine.run("MSET a ohmytext b mynewtext")
        #expect(engine.run("LCS a b") == bulk("mytext"))
        #expect(engine.run("LCS a b LEN") == .integer(6))
        let expected: RESPValue = .array([
            bulk("matches"),
            .array([.array([.array([.integer(4), .integer(7)]), .array([.integer(5), .integer(8)]), .integer(4)]),
                    .array([.array([.integer(2), .integer(3)]), .array([.integer(0), .integer(1)]), .integer(2)])]),
            bulk("len"), .integer(6),
        ])
        #expect(engine.run("LCS a b IDX MINMATCHLEN 2 WITHMATCHLEN") == expected)
        #expect(engine.run("LCS a b IDX LEN") == .error("ERR If you want both the length and indexes, please just use IDX."))
    }
}
