import Foundation
import RewindEngine
import RewindRESP
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Reply notation")
struct ReplyNotationTests {
    /// Commands run in both redis-server 7.0 (through `redis-cli --no-raw`) and the engine; the
    /// engine's reply formatted by ReplyNotation must read exactly as redis-cli printed Redis's.
    @Test("formats replies exactly as redis-cli --no-raw prints them", .enabled(if: RedisProcess.isAvailable))
    func matchesRedisCLI() throws {
        let scratch = try TemporaryDirectory(prefix: "rewind-notation")
        let server = try RedisProcess(directory: scratch.path)
        defer { server.stop() }
        let setup: [[String]] = [
            ["SET", "s", "alice"], ["SET", "bin", "a\u{1}\"b\\\n\u{7f}é"], ["HSET", "h", "name", "alice"],
            ["RPUSH", "l"] + (1...12).map { "item \($0)" }, ["ZADD", "z", "1.5", "a", "2", "b"], ["SADD", "one", "x"],
        ]
        let probes: [[String]] = [
            ["GET", "s"], ["GET", "bin"], ["GET", "missing"], ["INCR", "h"], ["HGET", "h", "name"],
            ["LRANGE", "l", "0", "-1"], ["LRANGE", "nothing", "0", "-1"], ["ZSCORE", "z", "a"],
            ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["LMPOP", "1", "l", "LEFT", "COUNT", "2"], ["SMEMBERS", "one"],
            ["PING"], ["EXISTS", "s", "h", "missing"], ["HGETALL", "h"], ["HMGET", "h", "name", "nope"],
        ]
        let keyspace = Keyspace(randomSeed: 0)
        var session = ClientSession()
        for command in setup {
            _ = try server.cli(command)
            _ = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: 1_700_000_000_000)
        }
        for command in probes {
            let printed = try server.cli(["--no-raw"] + command)
            let reply = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: 1_700_000_000_000).reply
            #expect(ReplyNotation.format(reply) == printed, "\(command)")
            #expect(Expectation.notation(printed).matches(reply), "\(command)")
        }
    }

    @Test("expectations: notation with loose spacing, JSON, error text, nil")
    func expectations() {
        let array = RESPValue.array([.bulk("a"), .array([.integer(1), .null])])
        #expect(ReplyNotation.format(array) == "1) \"a\"\n2) 1) (integer) 1\n   2) (nil)")
        #expect(Expectation.notation("  1) \"a\"\n2) 1) (integer) 1\n     2) (nil)\n").matches(array))
        #expect(!Expectation.notation("1) \"a\"").matches(array))
        #expect(Expectation.json(#"["a",[1,null]]"#).matches(array))
        #expect(!Expectation.json(#"["a",[2,null]]"#).matches(array))
        #expect(Expectation.json(#"{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}"#)
            .matches(.error("WRONGTYPE Operation against a key holding the wrong kind of value")))
        #expect(Expectation.error(nil).matches(.error("ERR x")))
        #expect(Expectation.error("WRONGTYPE").matches(.error("WRONGTYPE Operation")))
        #expect(!Expectation.error("WRONGTYPE").matches(.error("ERR value is not an integer")))
        #expect(!Expectation.error(nil).matches(.bulk("x")))
        #expect(Expectation.null.matches(.null))
        #expect(Expectation.null.matches(.nullArray))
        #expect(!Expectation.null.matches(.bulk("")))
        #expect(Expectation.notation("(integer) 3").matches(.integer(3)))
        #expect(Expectation.notation("OK").matches(.ok))
        #expect(Expectation.notation("\"1.5\"").matches(.double(1.5)))
    }

    @Test("probes must be known read commands")
    func probeValidation() {
        #expect(throws: BisectError.self) { try Probe(command: "SET k v", expectation: .null) }
        #expect(throws: BisectError.self) { try Probe(command: "NOSUCH k", expectation: .null) }
        #expect(throws: BisectError.self) { try Probe(command: "", expectation: .null) }
        #expect(throws: BisectError.self) { try Probe(command: "GET k", expectation: .json("{nope")) }
        #expect((try? Probe(command: "HGET \"user:42\" name", expectation: .null))?.arguments == [Array("HGET".utf8), Array("user:42".utf8), Array("name".utf8)])
    }
}
