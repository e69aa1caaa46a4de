// DEBUG DIGEST, DEBUG DIGEST-VALUE and Keyspace.digest() over every type, database and expiry,
// against redis-server 7.0 (the value-level digest tests are in DigestTests.swift).

import RewindEngine
import RewindRESP
import Testing

@Suite("DEBUG DIGEST commands", .serialized)
struct DigestCommandTests {
    /// Writes of every type in three databases, with and without TTLs, including sorted sets in
    /// both encodings with -0 scores and HyperLogLogs.
    static let dataset: [String] = [
        "SET s hello", "SET n 12345", "SET big " + String(repeating: "x", count: 100),
        "RPUSH l a b c", "HSET h f1 v1 f2 v2", "SADD st 1 2 3", "SADD sx a b",
        "ZADD zc 1 a 2.5 b -0 c inf d", "ZADD zs 1 " + String(repeating: "m", count: 70), "ZADD zs -0 neg 0.1 tenth",
        "PFADD hll a b c", "PFCOUNT hll", "PEXPIREAT s 4102444800000", "PEXPIREAT zs 4102444800000",
        "SELECT 2", "ZADD other 3 x", "SET s2 v", "SELECT 5", "PFADD hll2 z", "HSET h2 a 1", "SELECT 0",
    ]

    @Test("An empty keyspace digests to forty zeros")
    func empty() {
        var engine = EngineHarness()
        #expect(engine.keyspace.digest() == String(repeating: "0", count: 40))
        #expect(engine.run("DEBUG DIGEST") == .simpleString(String(repeating: "0", count: 40)))
        #expect(engine.run("DEBUG DIGEST-VALUE nothing") == .array([.simpleString(String(repeating: "0", count: 40))]))
    }

    @Test("DEBUG DIGEST and DIGEST-VALUE equal redis-server's for every type, database and TTL")
    func matchesRedis() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        var engine = EngineHarness()
        for command in Self.dataset {
            let words = command.split(separator: " ").map(String.init)
            #expect(try client.send(words) == engine.run(command), "\(command)")
        }
        let digest = try client.send(["DEBUG", "DIGEST"])
        #expect(digest == engine.run("DEBUG DIGEST"))
        #expect(digest == .simpleString(engine.keyspace.digest()))
        let keys = ["s", "n", "big", "l", "h", "st", "sx", "zc", "zs", "hll", "missing"]
        #expect(try client.send(["DEBUG", "DIGEST-VALUE"] + keys) == engine.run("DEBUG DIGEST-VALUE " + keys.joined(separator: " ")))
        for key in ["zc", "zs", "st", "h", "l", "hll", "n"] {
            #expect(try client.send(["OBJECT", "ENCODING", key]) == engine.run("OBJECT ENCODING \(key)"), "encoding of \(key)")
        }
        // A change anywhere changes both digests the same way.
        for command in ["ZADD zs 0 neg", "ZINCRBY zc 1 a", "SELECT 2", "ZREM other x", "SELECT 0"] {
            _ = try client.send(command.split(separator: " ").map(String.init))
            engine.run(command)
        }
        #expect(try client.send(["DEBUG", "DIGEST"]) == .simpleString(engine.keyspace.digest()))
    }

    @Test("Replaying the logged entries of the dataset gives the same digest")
    func replay() {
        var engine = EngineHarness()
        for command in Self.dataset { engine.run(command) }
        let replayed = Keyspace(randomSeed: 1)
        for entry in engine.log { replayed.apply(entry, nowMilliseconds: engine.nowMilliseconds) }
        #expect(replayed.digest() == engine.keyspace.digest())
        #expect(replayed.digest() != String(repeating: "0", count: 40))
    }
}
