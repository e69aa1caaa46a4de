// Replies to a RESP3 client have Redis 7.0's RESP3 shapes: member/score and field/value pairs
// where RESP2 is flat. Checked against redis-server after HELLO 3.

@_spi(Testing) import RewindEngine
import RewindRESP
import Testing

@Suite("RESP3 reply shapes against redis-server", .serialized)
struct RESP3ShapeTests {
    private static let setup = [
        "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h", "ZADD w 1 a 10 x", "HSET h f v g w", "RPUSH l x y", "SADD s 1 2 3",
    ]

    /// Deterministic commands whose replies must be identical, value for value.
    private static let exact = [
        "ZRANGE z 0 2 WITHSCORES", "ZRANGE z 0 2", "ZRANGE z (1 5 BYSCORE LIMIT 1 2 WITHSCORES", "ZREVRANGE z 0 1 WITHSCORES",
        "ZRANGEBYSCORE z -inf +inf WITHSCORES", "ZREVRANGEBYSCORE z +inf 3 WITHSCORES LIMIT 0 2", "ZUNION 2 z w WITHSCORES",
        "ZINTER 2 z w WITHSCORES", "ZDIFF 2 z w WITHSCORES", "ZUNION 2 z w", "ZPOPMIN z", "ZPOPMIN z 1", "ZPOPMAX z 2",
        "ZPOPMIN nosuch", "ZPOPMIN nosuch 2", "ZMPOP 1 z MIN COUNT 2", "ZSCORE z c", "ZMSCORE z c nosuch", "ZINCRBY z 1 c",
        "ZADD z INCR 1 c", "ZRANK z c", "HGETALL h", "HGETALL nosuch", "ZSCAN z 0", "HRANDFIELD nosuch 2 WITHVALUES",
        "ZRANDMEMBER nosuch 2 WITHSCORES", "LRANGE l 0 -1", "ZRANGESTORE d z 0 -1", "ZRANGE d 0 -1 WITHSCORES",
    ]

    /// Random picks: the shape (pairs, and how many) must match.
    private static let shaped = [
        "ZRANDMEMBER z 3 WITHSCORES", "ZRANDMEMBER z -4 WITHSCORES", "HRANDFIELD h 5 WITHVALUES", "HRANDFIELD h -3 WITHVALUES",
        "ZRANDMEMBER z 2",
    ]

    private static func words(_ line: String) -> [[UInt8]] { line.split(separator: " ").map { Array($0.utf8) } }

    private static func shape(_ value: RESPValue) -> String {
        switch value {
        case .array(let elements): return "[" + elements.map(shape).joined(separator: ",") + "]"
        case .double: return "d"
        case .bulkString: return "b"
        default: return "\(value)"
        }
    }

    @Test("Pairs in RESP3, flat in RESP2, as redis-server 7.0 replies")
    func shapes() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        guard case .map = try client.send(["HELLO", "3"]) else {
            Issue.record("HELLO 3 did not switch redis-server to RESP3")
            return
        }
        let keyspace = Keyspace(randomSeed: 3)
        var session = ClientSession()
        session.protocolVersion = .resp3
        let now: Int64 = 1_700_000_000_000
        for line in Self.setup {
            _ = try client.send(Self.words(line))
            _ = keyspace.execute(Self.words(line), session: &session, nowMilliseconds: now)
        }
        for line in Self.exact {
            let expected = try client.send(Self.words(line))
            let got = keyspace.execute(Self.words(line), session: &session, nowMilliseconds: now).reply
            #expect(got == expected, "\(line)")
        }
        for line in Self.shaped {
            let expected = try client.send(Self.words(line))
            let got = keyspace.execute(Self.words(line), session: &session, nowMilliseconds: now).reply
            #expect(Self.shape(got) == Self.shape(expected), "\(line)")
        }
    }

    @Test("resp2Shaped flattens exactly the RESP3 pair replies, so reply hashes do not depend on the protocol")
    func resp2Shaped() {
        let keyspace = Keyspace(randomSeed: 1)
        var resp2 = ClientSession()
        var resp3 = ClientSession()
        resp3.protocolVersion = .resp3
        let now: Int64 = 1_700_000_000_000
        for line in ["ZADD z 1 a 2 b 3 c", "ZADD y 1 a 2 b 3 c"] {
            _ = keyspace.execute(Self.words(line), session: &resp2, nowMilliseconds: now)
        }
        for (flat, paired) in [("ZPOPMIN z 2", "ZPOPMIN y 2"), ("ZRANGE z 0 -1 WITHSCORES", "ZRANGE y 0 -1 WITHSCORES")] {
            let two = keyspace.execute(Self.words(flat), session: &resp2, nowMilliseconds: now).reply
            let three = keyspace.execute(Self.words(paired), session: &resp3, nowMilliseconds: now).reply
            #expect(two != three)
            #expect(Keyspace.resp2Shaped(three, command: Array("zpopmin".utf8)) == two)
            #expect(Keyspace.resp2Shaped(two, command: Array("ZPOPMIN".utf8)) == two)
        }
        // ZMPOP nests in both protocols: left alone.
        let zmpop = RESPValue.array([.bulkString(Array("z".utf8)), .array([.array([.bulkString([97]), .double(1)])])])
        #expect(Keyspace.resp2Shaped(zmpop, command: Array("ZMPOP".utf8)) == zmpop)
    }
}
