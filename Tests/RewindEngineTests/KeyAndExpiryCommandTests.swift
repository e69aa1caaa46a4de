// Keys, databases, expiry and transactions, checked against redis-server 7.0.15's replies.

@_spi(Testing) import RewindEngine
import RewindRESP
import Testing

@Suite("Key and expiry commands")
struct KeyAndExpiryCommandTests {
    @Test("EXPIRE conditions and the past-time DEL rewrite")
    func expireConditions() {
        var engine = EngineHarness()
        engine.run("SET k v")
        #expect(engine.run("EXPIRE k 100 XX") == .integer(0))
        #expect(engine.run("EXPIRE k 100 NX") == .integer(1))
        #expect(engine.loggedLines() == ["PEXPIREAT k 1700000100000 NX"])
        #expect(engine.run("EXPIRE k 50 GT") == .integer(0))
        #expect(engine.run("EXPIRE k 50 LT") == .integer(1))
        #expect(engine.run("EXPIRE k 1 NX XX") == .error("ERR NX and XX, GT or LT options at the same time are not compatible"))
        #expect(engine.run("EXPIRE k 1 GT LT") == .error("ERR GT and LT options at the same time are not compatible"))
        #expect(engine.run("EXPIRE k 1 foo") == .error("ERR Unsupported option foo"))
        #expect(engine.run("EXPIRE k 99999999999999999") == .error("ERR invalid expire time in 'expire' command"))
        #expect(engine.run("EXPIRE k -1") == .integer(1))
        #expect(engine.loggedLines() == ["DEL k"])
    }

    @Test("Lazy expiry deletes on access, logs a DEL, and TTL rounds like Redis")
    func lazyExpiry() {
        var engine = EngineHarness()
        engine.run("SET k v PX 1500")
        #expect(engine.run("TTL k") == .integer(2))
        #expect(engine.run("PTTL k") == .integer(1500))
        #expect(engine.run("EXPIRETIME k") == .integer(1_700_000_002))
        engine.nowMilliseconds += 1500
        #expect(engine.run("EXISTS k") == .integer(1))
        engine.nowMilliseconds += 1
        #expect(engine.run("GET k") == .null)
        #expect(engine.loggedLines() == ["DEL k"])
        #expect(engine.run("TTL k") == .integer(-2))
    }

    @Test("Active expiry deletes sampled expired keys and returns their DELs")
    func activeExpiry() {
        var engine = EngineHarness()
        for index in 0..<100 { engine.run("SET k\(index) v PX \(index < 50 ? 10 : 100000)") }
        let deleted = engine.keyspace.activeExpireCycle(nowMilliseconds: engine.nowMilliseconds + 20)
        #expect(deleted.count > 0 && deleted.count <= 50)
        #expect(deleted.allSatisfy { $0.commands.first?.arguments.first == Array("DEL".utf8) })
        #expect(engine.keyspace.keyCount(db: 0) == 100 - deleted.count)
    }

    @Test("Unknown commands and wrong arity get Redis's exact texts")
    func dispatcherErrors() {
        var engine = EngineHarness()
        #expect(engine.run("foo a b") == .error("ERR unknown command 'foo', with args beginning with: 'a' 'b' "))
        #expect(engine.run("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(engine.run("COMMAND GETKEYS") == .error("ERR wrong number of arguments for 'command|getkeys' command"))
        #expect(engine.run("COMMAND GETKEYS LMPOP 2 a b LEFT") == bulks("a", "b"))
        #expect(engine.run("COMMAND GETKEYS PING x") == .error("ERR The command has no key arguments"))
        #expect(engine.run("COMMAND FOO") == .error("ERR unknown subcommand 'FOO'. Try COMMAND HELP."))
    }

    @Test("Glob matching follows Redis stringmatchlen", arguments: [
        ("*", "anything", true), ("h?llo", "hello", true), ("h[ae]llo", "hallo", true), ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true), ("h[b-a]llo", "hallo", true), ("\\*", "*", true), ("[abc", "a", true),
        ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("", "", true), ("*e*", "", false),
    ])
    func glob(pattern: String, string: String, matches: Bool) {
        var engine = EngineHarness()
        engine.run([Array("SET".utf8), Array(string.utf8), Array("v".utf8)])
        let reply = engine.run([Array("KEYS".utf8), Array(pattern.utf8)])
        #expect(reply == (matches ? .array([.bulkString(Array(string.utf8))]) : .array([])))
    }

    @Test("MULTI/EXEC is logged as one transaction; queueing errors abort EXEC")
    func transactions() {
        var engine = EngineHarness()
        engine.run("MULTI")
        #expect(engine.run("SET a 1") == .simpleString("QUEUED"))
        #expect(engine.run("INCR a") == .simpleString("QUEUED"))
        #expect(engine.run("EXEC") == .array([.ok, .integer(2)]))
        guard case .transaction(let commands)? = engine.log.last else { Issue.record("no transaction"); return }
        #expect(commands.count == 2)
        engine.run("MULTI")
        engine.run("GET")
        #expect(engine.run("EXEC") == .error("EXECABORT Transaction discarded because of previous errors."))
        #expect(engine.run("EXEC") == .error("ERR EXEC without MULTI"))
    }

    @Test("WATCH sees writes from another session and expiry")
    func watch() {
        var first = EngineHarness()
        let keyspace = first.keyspace
        var other = ClientSession()
        first.run("WATCH k")
        _ = keyspace.execute([Array("SET".utf8), Array("k".utf8), Array("v".utf8)], session: &other,
                             nowMilliseconds: first.nowMilliseconds)
        first.run("MULTI")
        first.run("GET k")
        #expect(first.run("EXEC") == .nullArray)
        first.run("SET e v PX 10")
        first.run("WATCH e")
        first.nowMilliseconds += 20
        first.run("MULTI")
        first.run("PING")
        #expect(first.run("EXEC") == .nullArray)
    }
}
