// What Redis's own TCL test suite needs from a server beyond the commands themselves (OBJECT,
// DEBUG, CONFIG aliases, SYNC's stream, blocked clients woken into an error), checked
// differentially: the same requests go to `rewind serve` and to a redis-server 7.0, and the
// replies must match. See docs/REDIS-SUITE.md.

import Foundation
import RewindRESP
import RewindTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension RedisReference {
    /// A redis-server 7.0 of one test with DEBUG enabled and no replica pings in SYNC's stream.
    static func withDebug() throws -> RedisReference {
        try RedisReference(arguments: ["--enable-debug-command", "yes", "--repl-ping-replica-period", "3600"])
    }
}

/// One client on each server: every request goes to both.
struct ServerPair {
    let rewind: RESPClient
    let redis: RESPClient
    /// The port of the `rewind serve` under test, for connections of a test's own.
    let rewindPort: Int

    /// Sends `arguments` to both servers and returns both replies.
    func both(_ arguments: [String]) throws -> (rewind: RESPValue, redis: RESPValue) {
        (try rewind.command(arguments), try redis.command(arguments))
    }

    /// Sends `arguments` to both; records a failure naming the request when the replies differ.
    func expectSame(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (ours, theirs) = try both(arguments)
        #expect(ours == theirs, "\(arguments.joined(separator: " ")): rewind \(ours), redis-server \(theirs)",
                sourceLocation: sourceLocation)
    }
}

@Suite("Redis test-suite support, against redis-server", .serialized,
       .enabled(if: RewindBinary.path != nil && RedisReference.isAvailable))
struct RedisSuiteCompatibilityTests {
    private func withServers(_ body: (ServerPair) throws -> Void) throws {
        let directory = try TemporaryDirectory(prefix: "rewind-suite")
        let rewind = try ServerProcess(directory: directory.appending("log"), arguments: ["--appendfsync", "no"])
        defer { _ = rewind.terminate() }
        let redis = try RedisReference.withDebug()
        try body(ServerPair(rewind: try RESPClient(port: rewind.port), redis: try RESPClient(port: redis.port), rewindPort: rewind.port))
    }

    @Test("OBJECT ENCODING follows Redis 7.0's names and the CONFIG thresholds (ziplist names are aliases)")
    func objectEncoding() throws {
        try withServers { pair in
            let setup: [[String]] = [
                ["SET", "int", "12345"], ["SET", "negative", "-17"], ["SET", "short", "hello"],
                ["SET", "long", String(repeating: "x", count: 45)], ["SET", "padded", "007"],
                ["RPUSH", "list", "a", "b"],
                ["SADD", "strings", "foo"], ["SADD", "integers", "1", "2", "3"],
                ["SADD", "huge", "213244124402402314402033402"],
                ["HSET", "hash", "f", "v"], ["HSET", "bighash", "f", String(repeating: "v", count: 65)],
                ["ZADD", "zset", "1", "a"], ["ZADD", "bigzset", "1", String(repeating: "m", count: 65)],
            ]
            for request in setup { _ = try pair.both(request) }
            for key in ["int", "negative", "short", "long", "padded", "list", "strings", "integers", "huge",
                        "hash", "bighash", "zset", "bigzset", "missing"] {
                try pair.expectSame(["OBJECT", "ENCODING", key])
            }
            // Thresholds set under their 6.x names apply to the 7.0 parameters.
            try pair.expectSame(["CONFIG", "SET", "zset-max-ziplist-entries", "2"])
            try pair.expectSame(["CONFIG", "GET", "zset-max-listpack-entries"])
            try pair.expectSame(["CONFIG", "SET", "set-max-intset-entries", "2"])
            for request in [["ZADD", "z3", "1", "a", "2", "b", "3", "c"], ["SADD", "s3", "1", "2", "3"]] {
                _ = try pair.both(request)
            }
            try pair.expectSame(["OBJECT", "ENCODING", "z3"])
            try pair.expectSame(["OBJECT", "ENCODING", "s3"])
        }
    }

    @Test("OBJECT REFCOUNT and DEBUG OBJECT show Redis's shared integers 0-9999")
    func sharedIntegers() throws {
        try withServers { pair in
            for value in ["0", "9999", "10000", "-1", "hello"] {
                _ = try pair.both(["SET", "k", value])
                try pair.expectSame(["OBJECT", "REFCOUNT", "k"])
                let (ours, theirs) = try pair.both(["DEBUG", "OBJECT", "k"])
                #expect(Self.field("refcount", of: ours) == Self.field("refcount", of: theirs))
                #expect(Self.field("encoding", of: ours) == Self.field("encoding", of: theirs))
            }
            // INCR of an unshared integer keeps the object where it is (the suite compares addresses).
            _ = try pair.rewind.command(["SET", "n", "20000"])
            let before = Self.field("at", of: try pair.rewind.command(["DEBUG", "OBJECT", "n"]))
            _ = try pair.rewind.command(["INCR", "n"])
            let after = Self.field("at", of: try pair.rewind.command(["DEBUG", "OBJECT", "n"]))
            #expect(before != nil && before == after)
            try pair.expectSame(["DEBUG", "OBJECT", "missing"])
        }
    }

    @Test("DEBUG PROTOCOL answers each type as redis-server does, in RESP2 and RESP3")
    func debugProtocol() throws {
        try withServers { pair in
            let types = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "push", "verbatim",
                         "true", "false", "nonsense"]
            for type in types { try pair.expectSame(["DEBUG", "PROTOCOL", type]) }
            _ = try pair.both(["HELLO", "3"])
            // RESP3 attributes have no RESPValue case; the rest must match exactly.
            for type in types where type != "push" { try pair.expectSame(["DEBUG", "PROTOCOL", type]) }
        }
    }

    @Test("Numbers at the edges: SORT LIMIT near Int.max as redis-server, DEBUG SLEEP of nan/inf/1e300 never traps")
    func numbersAtTheEdges() throws {
        try withServers { pair in
            _ = try pair.both(["RPUSH", "l", "3", "1", "2"])
            let max = String(Int.max)
            for limit in [["1", max], [max, max], ["0", max], [String(Int.min), max], ["-1", String(Int.min)]] {
                try pair.expectSame(["SORT", "l", "LIMIT"] + limit)
            }
            // Redis would stall on these; the server delays only the caller's reply, so these go
            // on a connection of their own, and the server must keep answering everyone else.
            let sleeper = try RESPClient(port: pair.rewindPort)
            for seconds in ["nan", "inf", "-inf", "1e300", "-5"] { try sleeper.send(["DEBUG", "SLEEP", seconds]) }
            #expect(try pair.rewind.command(["PING"]) == .simpleString("PONG"))
            #expect(try pair.rewind.command(["LLEN", "l"]) == .integer(3))
        }
    }

    @Test("DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys to lazy expiry")
    func activeExpireSwitch() throws {
        try withServers { pair in
            try pair.expectSame(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
            for key in ["a", "b", "c"] { _ = try pair.both(["PSETEX", key, "100", "v"]) }
            usleep(400_000)  // several active-expiry cycles at hz 10
            try pair.expectSame(["DBSIZE"])
            try pair.expectSame(["MGET", "a", "b", "c"])
            try pair.expectSame(["DBSIZE"])
            try pair.expectSame(["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
        }
    }

    @Test("A client blocked in BRPOPLPUSH gets WRONGTYPE when a push wakes it into a wrong-type destination")
    func wokenIntoWrongType() throws {
        try withServers { pair in
            let blockedOnRewind = try RESPClient(port: try Self.port(of: pair.rewind))
            let blockedOnRedis = try RESPClient(port: try Self.port(of: pair.redis))
            _ = try pair.both(["SET", "target", "nolist"])
            try blockedOnRewind.send(["BRPOPLPUSH", "source", "target", "0"])
            try blockedOnRedis.send(["BRPOPLPUSH", "source", "target", "0"])
            usleep(200_000)
            try pair.expectSame(["RPUSH", "source", "foo"])
            let (ours, theirs) = (try blockedOnRewind.readReply(), try blockedOnRedis.readReply())
            #expect(ours == theirs)
            #expect(ours.errorText?.hasPrefix("WRONGTYPE") == true)
            try pair.expectSame(["LRANGE", "source", "0", "-1"])
        }
    }

    @Test("SYNC streams what each write propagates, with SELECT and MULTI/EXEC, as redis-server does")
    func replicationStream() throws {
        try withServers { pair in
            try pair.expectSame(["CONFIG", "SET", "repl-ping-replica-period", "3600"])
            let streams = try [pair.rewind, pair.redis].map { client in
                let stream = try RESPClient(port: try Self.port(of: client))
                try stream.send(["SYNC"])
                try Self.skipSnapshot(stream)
                return stream
            }
            let writes: [[String]] = [
                ["SET", "a", "1"], ["INCR", "a"], ["SET", "a", "1", "NX"], ["SELECT", "3"], ["SADD", "s", "x", "y"],
                ["DEL", "a", "missing"], ["MULTI"], ["LPUSH", "l", "v"], ["RPOP", "l"], ["EXEC"], ["GETDEL", "nothing"],
                ["SELECT", "0"], ["DEL", "a"], ["MULTI"], ["SET", "single", "1"], ["GET", "single"], ["EXEC"],
            ]
            for request in writes { try pair.expectSame(request) }
            // The last write on both; each stream must then hold the same commands (a transaction
            // that propagates one command is not wrapped in MULTI/EXEC).
            let expected = 12
            let received = try streams.map { stream in try (0..<expected).map { _ in try Self.command(stream.readReply()) } }
            #expect(received[0] == received[1], "rewind \(received[0])\nredis-server \(received[1])")
        }
    }

    @Test("INFO's rdb_changes_since_last_save counts the writes that changed something")
    func dirtyCounter() throws {
        try withServers { pair in
            func dirty(_ client: RESPClient) throws -> Int {
                let text = try client.command(["INFO", "persistence"]).replyText ?? ""
                let line = text.split(separator: "\r\n").first { $0.hasPrefix("rdb_changes_since_last_save:") } ?? ""
                return Int(line.split(separator: ":").last ?? "") ?? -1
            }
            let start = (try dirty(pair.rewind), try dirty(pair.redis))
            _ = try pair.both(["SETBIT", "foo", "0", "0"])
            _ = try pair.both(["BITFIELD", "foo2", "SET", "i5", "0", "0"])
            #expect(try dirty(pair.rewind) - start.0 == 2)
            #expect(try dirty(pair.redis) - start.1 == 2)
            _ = try pair.both(["SETBIT", "foo", "0", "0"])
            #expect(try dirty(pair.rewind) - start.0 == 2)
            #expect(try dirty(pair.redis) - start.1 == 2)
            try pair.expectSame(["MEMORY", "USAGE", "missing"])
            if case .integer(let bytes) = try pair.rewind.command(["MEMORY", "USAGE", "foo"]) {
                #expect(bytes > 0)
            } else {
                Issue.record("MEMORY USAGE of a key is not an integer")
            }
        }
    }

    @Test("CLIENT REPLY OFF/SKIP/ON hold back replies but not pub/sub notifications")
    func clientReply() throws {
        try withServers { pair in
            var transcripts: [[RESPValue]] = []
            for client in [pair.rewind, pair.redis] {
                for request in [["CLIENT", "REPLY", "OFF"], ["SET", "a", "1"], ["INCR", "a"], ["CLIENT", "REPLY", "ON"],
                                ["CLIENT", "REPLY", "SKIP"], ["INCR", "a"], ["GET", "a"],
                                ["CLIENT", "REPLY", "OFF"], ["SUBSCRIBE", "channel"]] {
                    try client.send(request)
                }
                transcripts.append([try client.readReply(), try client.readReply(), try client.readReply()])
            }
            #expect(transcripts[0] == transcripts[1], "rewind \(transcripts[0]), redis-server \(transcripts[1])")
            #expect(transcripts[0].first == .simpleString("OK"))
        }
    }

    @Test("SWAPDB wakes a client blocked on a key that has expired: it stays blocked, the key is deleted")
    func swapDatabaseIntoExpiredKey() throws {
        try withServers { pair in
            var observed: [[RESPValue]] = []
            for client in [pair.rewind, pair.redis] {
                let port = try Self.port(of: client)
                let blocked = try RESPClient(port: port)
                _ = try client.command(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
                _ = try client.command(["SELECT", "1"])
                _ = try client.command(["RPUSH", "k", "hello"])
                _ = try client.command(["PEXPIRE", "k", "100"])
                _ = try blocked.command(["SELECT", "9"])
                guard case .integer(let id) = try blocked.command(["CLIENT", "ID"]) else { throw TestFailure("CLIENT ID") }
                try blocked.send(["BRPOP", "k", "0"])
                usleep(250_000)
                _ = try client.command(["SWAPDB", "1", "9"])
                let listed = try client.command(["CLIENT", "LIST", "ID", String(id)]).replyText ?? ""
                let lines = listed.split(separator: "\n")
                let stillBlocked: RESPValue = .integer(lines.count == 1 && listed.contains("flags=b") ? 1 : 0)
                _ = try client.command(["CLIENT", "UNBLOCK", String(id)])
                let unblockedReply = try blocked.readReply()
                _ = try client.command(["SELECT", "9"])
                observed.append([stillBlocked, unblockedReply, try client.command(["DBSIZE"])])
                _ = try client.command(["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
            }
            #expect(observed[0] == observed[1], "rewind \(observed[0]), redis-server \(observed[1])")
            #expect(observed[0].first == .integer(1))
        }
    }

    @Test("SORT and SORT_RO: BY, GET (#, keys, hash fields), LIMIT, ALPHA, DESC, STORE, errors, as redis-server")
    func sort() throws {
        try withServers { pair in
            let setup: [[String]] = [
                ["RPUSH", "l", "3", "1", "2", "10", "-5", "2.5"], ["RPUSH", "words", "pear", "apple", "fig", "Apple"],
                ["SADD", "s", "5", "3", "9", "1"], ["ZADD", "z", "1", "c", "2", "a", "3", "b"],
                ["MSET", "w_3", "30", "w_1", "10", "w_2", "5", "w_10", "5", "name_1", "one"],
                ["HSET", "h_2", "f", "two", "n", "7"], ["SET", "str", "x"],
            ]
            for request in setup { _ = try pair.both(request) }
            let requests: [[String]] = [
                ["SORT", "l"], ["SORT", "l", "DESC"], ["SORT", "l", "LIMIT", "1", "3"], ["SORT", "l", "LIMIT", "-2", "2"],
                ["SORT", "l", "LIMIT", "10", "5"], ["SORT", "l", "LIMIT", "0", "-1"], ["SORT", "words"],
                ["SORT", "words", "ALPHA"], ["SORT", "words", "ALPHA", "DESC", "LIMIT", "0", "2"],
                ["SORT", "s"], ["SORT", "z"], ["SORT", "z", "BY", "nosort"], ["SORT", "z", "BY", "nosort", "DESC"],
                ["SORT", "z", "ALPHA"], ["SORT", "l", "BY", "nosort"], ["SORT", "l", "BY", "w_*"],
                ["SORT", "l", "BY", "w_*", "ALPHA"], ["SORT", "l", "BY", "h_*->n", "GET", "#", "GET", "name_*", "GET", "h_*->f"],
                ["SORT", "l", "GET", "nostar"], ["SORT", "missing"], ["SORT", "str"], ["SORT", "l", "LIMIT", "x", "1"],
                ["SORT", "l", "BOGUS"], ["SORT_RO", "l", "STORE", "dst"], ["SORT_RO", "l", "DESC"],
                ["SORT", "l", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
                ["SORT", "l", "GET", "name_*", "STORE", "dst2"], ["LRANGE", "dst2", "0", "-1"],
                ["SORT", "s", "BY", "nosort", "STORE", "dst3"], ["LRANGE", "dst3", "0", "-1"],
                ["EXPIRE", "dst", "100"], ["SORT", "missing", "STORE", "dst"], ["EXISTS", "dst"],
            ]
            for request in requests { try pair.expectSame(request) }
            // A STORE that empties a WATCHed key makes EXEC fail, even with an empty result.
            for client in [pair.rewind, pair.redis] {
                _ = try client.command(["LPUSH", "watched", "bar"])
                _ = try client.command(["WATCH", "watched"])
            }
            try pair.expectSame(["SORT", "missing", "STORE", "watched"])
            try pair.expectSame(["MULTI"])
            try pair.expectSame(["PING"])
            try pair.expectSame(["EXEC"])
        }
    }

    @Test("FLUSHDB and SWAPDB leave EXEC alone when a watched key was already expired and stays so",
          arguments: [
            // (setup in db 0 and db 1, the command, whether EXEC runs)
            "flushdb-stale", "swapdb-stale-for-none", "swapdb-none-for-stale", "swapdb-stale-for-stale", "swapdb-live",
          ])
    func watchedStaleKeys(scenario: String) throws {
        try withServers { pair in
            var replies: [RESPValue] = []
            for client in [pair.rewind, pair.redis] {
                func run(_ arguments: String...) throws { _ = try client.command(arguments) }
                try run("FLUSHALL")
                try run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
                try run("SELECT", "0")
                switch scenario {
                case "flushdb-stale", "swapdb-stale-for-none": try run("SET", "x", "foo", "PX", "1")
                case "swapdb-none-for-stale":
                    try run("SELECT", "1"); try run("SET", "x", "foo", "PX", "1"); try run("SELECT", "0")
                case "swapdb-stale-for-stale":
                    try run("SET", "x", "foo", "PX", "1"); try run("SELECT", "1"); try run("SET", "x", "bar", "PX", "1")
                    try run("SELECT", "0")
                default:
                    try run("SET", "x", "foo", "PX", "1"); try run("SELECT", "1"); try run("SET", "x", "bar"); try run("SELECT", "0")
                }
                usleep(5_000)
                try run("WATCH", "x")
                if scenario == "flushdb-stale" { try run("FLUSHDB") } else { try run("SWAPDB", "0", "1") }
                try run("MULTI")
                try run("PING")
                replies.append(try client.command(["EXEC"]))
                try run("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            }
            #expect(replies[0] == replies[1], "\(scenario): rewind \(replies[0]), redis-server \(replies[1])")
        }
    }

    @Test("DEBUG SLEEP inside MULTI answers inside EXEC's reply, and nothing arrives after it")
    func debugSleepInTransaction() throws {
        try withServers { pair in
            for request in [["MULTI"], ["SET", "k", "v"], ["DEBUG", "SLEEP", "0.1"], ["EXEC"]] {
                try pair.expectSame(request)
            }
            usleep(300_000)
            // Had a late +OK been sent, it would be read here instead of PONG.
            try pair.expectSame(["PING"])
        }
    }

    @Test("SCAN's lazy-expiry DELs reach the replication stream one by one, not in MULTI/EXEC")
    func lazyExpiryStream() throws {
        try withServers { pair in
            var received: [[String]] = []
            for client in [pair.rewind, pair.redis] {
                _ = try client.command(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
                _ = try client.command(["SET", "foo1", "bar", "PX", "1"])
                _ = try client.command(["SET", "foo2", "bar", "PX", "1"])
                usleep(5_000)
                let stream = try RESPClient(port: try Self.port(of: client))
                try stream.send(["SYNC"])
                try Self.skipSnapshot(stream)
                _ = try client.command(["SCAN", "0"])
                _ = try client.command(["SET", "after", "1"])
                var commands: [String] = []
                for _ in 0..<4 { commands.append(Self.command(try stream.readReply())) }
                // Which key expires first depends on hash order: compare the set of commands.
                received.append(commands.sorted())
                _ = try client.command(["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
            }
            #expect(received[0] == received[1], "rewind \(received[0]), redis-server \(received[1])")
            #expect(!received[0].contains("multi"))
        }
    }

    @Test("PFDEBUG ENCODING, DECODE, GETREG and TODENSE answer as redis-server, converting sparse to dense")
    func pfdebug() throws {
        try withServers { pair in
            let elements = (0..<200).map { "element-\($0)" }
            _ = try pair.both(["PFADD", "hll"] + elements)
            _ = try pair.both(["PFADD", "other", "a", "b", "c"])
            _ = try pair.both(["SET", "text", "not an hll"])
            _ = try pair.both(["EXPIRE", "other", "1000"])
            for request in [
                ["PFDEBUG", "ENCODING", "hll"], ["PFDEBUG", "DECODE", "hll"], ["PFDEBUG", "GETREG", "hll"],
                ["PFDEBUG", "ENCODING", "hll"], ["PFDEBUG", "TODENSE", "hll"], ["PFDEBUG", "DECODE", "hll"],
                ["PFDEBUG", "TODENSE", "other"], ["PFDEBUG", "ENCODING", "other"], ["TTL", "other"],
                ["PFCOUNT", "hll"], ["PFCOUNT", "other"], ["GET", "other"],
                ["PFDEBUG", "ENCODING", "missing"], ["PFDEBUG", "ENCODING", "text"], ["PFDEBUG", "BOGUS", "hll"],
            ] {
                try pair.expectSame(request)
            }
        }
    }

    @Test("DEBUG PROTOCOL ATTRIB sends the RESP3 attribute before the reply, byte for byte as redis-server")
    func debugProtocolAttribute() throws {
        try withServers { pair in
            var raw: [[UInt8]] = []
            for client in [pair.rewind, pair.redis] {
                _ = try client.command(["HELLO", "3"])
                try client.send(["DEBUG", "PROTOCOL", "ATTRIB"])
                var bytes: [UInt8] = []
                let end = Array("attribute\r\n".utf8)
                while !bytes.suffix(end.count).elementsEqual(end) {
                    var chunk = [UInt8](repeating: 0, count: 4096)
                    let count = chunk.withUnsafeMutableBytes { recv(client.descriptor, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { throw TestFailure("connection ended") }
                    bytes += chunk[0..<count]
                }
                raw.append(bytes)
            }
            #expect(raw[0] == raw[1], "rewind \(String(decoding: raw[0], as: UTF8.self)), redis-server \(String(decoding: raw[1], as: UTF8.self))")
        }
    }

    // MARK: - Helpers

    private static func field(_ name: String, of reply: RESPValue) -> String? {
        guard let text = reply.replyText else { return nil }
        for part in text.split(separator: " ") where part.hasPrefix(name + ":") {
            return String(part.dropFirst(name.count + 1))
        }
        return nil
    }

    private static func port(of client: RESPClient) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(client.descriptor, $0, &length) }
        }
        guard result == 0 else { throw TestFailure("getpeername failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Reads SYNC's `$<length>\r\n` and the snapshot's bytes (Redis may send newlines first).
    private static func skipSnapshot(_ stream: RESPClient) throws {
        func byte() throws -> UInt8 {
            var value: UInt8 = 0
            guard recv(stream.descriptor, &value, 1, 0) == 1 else { throw TestFailure("SYNC: connection ended") }
            return value
        }
        var first = try byte()
        while first == UInt8(ascii: "\n") { first = try byte() }
        guard first == UInt8(ascii: "$") else { throw TestFailure("SYNC: no snapshot header") }
        var digits = ""
        while true {
            let next = try byte()
            if next == UInt8(ascii: "\r") { continue }
            if next == UInt8(ascii: "\n") { break }
            digits.append(Character(UnicodeScalar(next)))
        }
        guard var remaining = Int(digits) else { throw TestFailure("SYNC: bad length \(digits)") }
        while remaining > 0 {
            _ = try byte()
            remaining -= 1
        }
    }

    /// A streamed command as text, its name lowercased.
    private static func command(_ value: RESPValue) -> String {
        guard case .array(let parts) = value else { return "\(value)" }
        return parts.enumerated().map { index, part in
            let text = part.replyText ?? "\(part)"
            return index == 0 ? text.lowercased() : text
        }.joined(separator: " ")
    }
}

private extension RESPValue {
    /// The text of a simple, bulk or verbatim string reply.
    var replyText: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    var errorText: String? { if case .error(let text) = self { return text } else { return nil } }
}
