// Hash and set commands, checked against replies recorded from redis-server 7.0.15.

@_spi(Testing) import RewindEngine
import RewindRESP
import Testing

@Suite("Hash commands")
struct HashCommandTests {
    @Test("HINCRBY overflow and HINCRBYFLOAT logged as HSET")
    func increments() {
        var engine = EngineHarness()
        #expect(engine.run("HSET h a 1 b 2") == .integer(2))
        #expect(engine.run("HINCRBY h a 9223372036854775807") == .error("ERR increment or decrement would overflow"))
        #expect(engine.run("HINCRBYFLOAT h b 0.5") == bulk("2.5"))
        #expect(engine.loggedLines() == ["HSET h b 2.5"])
        #expect(engine.run("HINCRBYFLOAT h b inf") == .error("ERR value is NaN or Infinity"))
        #expect(engine.run("HSET h a") == .error("ERR wrong number of arguments for 'hset' command"))
    }

    @Test("HRANDFIELD: negative counts repeat, positive counts are distinct")
    func randomFields() {
        var engine = EngineHarness()
        engine.run("HSET h a 1 b 2")
        guard case .array(let repeated) = engine.run("HRANDFIELD h -5") else { Issue.record("not an array"); return }
        #expect(repeated.count == 5)
        guard case .array(let distinct) = engine.run("HRANDFIELD h 5 WITHVALUES") else { Issue.record("not an array"); return }
        #expect(distinct.count == 4)
        #expect(engine.run("HRANDFIELD h -9223372036854775808") == .error(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"))
    }

    @Test("A repeated-pick count too big to reply with is an error, never a trap (Redis would stream until out of memory)")
    func hugeNegativeCounts() {
        var engine = EngineHarness()
        engine.run("HSET h a 1")
        engine.run("SADD s a")
        engine.run("ZADD z 1 a")
        let refused = RESPValue.error("ERR count is out of range: Rewind replies at most 16777216 repeated random elements")
        for line in ["HRANDFIELD h -9223372036854775807", "SRANDMEMBER s -9223372036854775807", "ZRANDMEMBER z -9223372036854775807",
                     "HRANDFIELD h -16777217", "ZRANDMEMBER z -4611686018427387903 WITHSCORES"] {
            #expect(engine.run(line) == refused, "\(line)")
        }
        guard case .array(let many) = engine.run("SRANDMEMBER s -1000") else { Issue.record("not an array"); return }
        #expect(many.count == 1_000)
    }
}

@Suite("Set commands")
struct SetCommandTests {
    @Test("Set algebra, SINTERCARD limits and SMOVE onto itself")
    func algebra() {
        var engine = EngineHarness()
        engine.run("SADD s a b c")
        engine.run("SADD t 1 2 3")
        #expect(engine.run("SINTERCARD 1 s LIMIT 2") == .integer(2))
        #expect(engine.run("SINTERCARD 2 s") == .error("ERR Number of keys can't be greater than number of args"))
        #expect(engine.run("SMOVE s s a") == .integer(1))
        #expect(engine.run("SINTERSTORE d s t") == .integer(0))
        #expect(engine.run("EXISTS d") == .integer(0))
        #expect(engine.run("SUNIONSTORE d s t") == .integer(6))
        #expect(engine.run("SDIFF s s") == .array([]))
    }

    @Test("SPOP is logged as the SREMs of what it popped, or DEL when it takes everything")
    func spopLogging() {
        var engine = EngineHarness()
        engine.run("SADD s a b c d e f")
        guard case .bulkString(let popped) = engine.run("SPOP s") else { Issue.record("no member"); return }
        #expect(engine.loggedLines() == ["SREM s " + String(decoding: popped, as: UTF8.self)])
        engine.run("SPOP s 2")
        guard case .transaction(let commands)? = engine.log.last else { Issue.record("no transaction"); return }
        #expect(commands.count == 2 && commands.allSatisfy { $0.arguments.first == Array("SREM".utf8) })
        engine.run("SPOP s 10")
        #expect(engine.loggedLines() == ["DEL s"])
        #expect(engine.run("SPOP s -1") == .error("ERR value is out of range, must be positive"))
    }

    @Test("The same seed makes the same random choices")
    func seededRandomness() {
        var first = EngineHarness()
        var second = EngineHarness()
        for engine in [0, 1] {
            if engine == 0 { first.run("SADD s a b c d e f g h") } else { second.run("SADD s a b c d e f g h") }
        }
        #expect(first.run("SPOP s 3") == second.run("SPOP s 3"))
        #expect(first.run("SRANDMEMBER s -10") == second.run("SRANDMEMBER s -10"))
    }
}
