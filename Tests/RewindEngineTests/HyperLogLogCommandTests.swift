// HyperLogLog commands at the keyspace level: what they log, and their bytes against redis-server
// 7.0 (the engine's HyperLogLog command tests are in BitAndHyperLogLogCommandTests.swift).
// Mirrors redis tests/unit/hyperloglog.tcl.

import RewindEngine
import RewindRESP
import Testing

@Suite("HyperLogLog commands: logging, errors and stored bytes")
struct HyperLogLogCommandEdgeTests {
    @Test("PFCOUNT that writes the cache is logged; a cached PFCOUNT and a PFADD that changed nothing are not")
    func propagation() {
        var engine = EngineHarness()
        engine.run("PFADD h a b c")
        #expect(engine.run("PFCOUNT h") == .integer(3))
        #expect(engine.loggedLines(last: 2) == ["PFADD h a b c", "PFCOUNT h"])
        let logged = engine.log.count
        #expect(engine.run("PFCOUNT h") == .integer(3))
        #expect(engine.run("PFADD h a") == .integer(0))
        #expect(engine.run("PFCOUNT h other") == .integer(3))
        #expect(engine.log.count == logged)
        #expect(engine.run("PFMERGE h") == .ok)
        #expect(engine.loggedLines() == ["PFMERGE h"])
    }

    @Test("Errors come in key order: WRONGTYPE for other types, the HLL error for foreign strings")
    func errors() {
        var engine = EngineHarness()
        engine.run("RPUSH l x")
        engine.run("SET s 12345")
        #expect(engine.run("PFCOUNT s l") == .error("WRONGTYPE Key is not a valid HyperLogLog string value."))
        #expect(engine.run("PFCOUNT l s") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(engine.run("PFMERGE d l") == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(engine.run("EXISTS d") == .integer(0))
        #expect(engine.run("PFADD") == .error("ERR wrong number of arguments for 'pfadd' command"))
    }

    @Test("PFADD, PFCOUNT and PFMERGE leave the same bytes and TTL as redis-server 7.0")
    func bytesMatchRedis() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        var engine = EngineHarness()
        var commands: [String] = ["PFADD small a b c", "PFCOUNT small", "PEXPIREAT small 4102444800000",
                                  "PFADD small d", "PFMERGE merged small"]
        let many = (0..<3000).map { "e\($0)" }.joined(separator: " ")
        commands += ["PFADD dense " + many, "PFCOUNT dense", "PFMERGE merged dense", "PFCOUNT merged", "PFCOUNT small dense"]
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            #expect(try client.send(words) == engine.run(command), "\(command)")
        }
        for key in ["small", "dense", "merged"] {
            #expect(try client.send(["GET", key]) == engine.run("GET \(key)"), "bytes of \(key)")
            #expect(try client.send(["PEXPIRETIME", key]) == engine.run("PEXPIRETIME \(key)"), "expiry of \(key)")
        }
        #expect(try client.send(["DEBUG", "DIGEST"]) == .simpleString(engine.keyspace.digest()))
    }
}
