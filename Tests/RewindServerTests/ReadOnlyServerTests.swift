import Foundation
import Logging
import RewindEngine
import RewindLog
import RewindReplay
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

/// `RedisServer.startReadOnly`: a replayed state served on a loopback port, no log.
@Suite("Read-only server over a replayed keyspace", .serialized)
struct ReadOnlyServerTests {
    static let t0: Int64 = 1_700_000_000_000

    /// A log of a few writes, replayed into a keyspace; the clock is the last entry's time.
    private func replayedState(in directory: TemporaryDirectory) throws -> (Keyspace, ReplaySummary) {
        let path = directory.appending("log")
        let writer = try LogWriter.open(directory: path, options: .init(durability: .no, trainsDictionary: false))
        let t0 = Self.t0
        try writer.append(.command(["SET", "greeting", "hello"], at: t0))
        try writer.append(.command(["RPUSH", "list", "a", "b", "c"], at: t0 + 1))
        try writer.append(.command(["HSET", "h", "f", "v"], at: t0 + 2, db: 1))
        // Expires 5 s after the frozen point, and one already past it at that point.
        try writer.append(.command(["SET", "session", "s", "PXAT", String(t0 + 10 + 5000)], at: t0 + 3))
        try writer.append(.command(["SET", "stale", "x", "PXAT", String(t0 + 5)], at: t0 + 4))
        try writer.append(contentsOf: [LogEntry.command(["INCR", "n"], at: t0 + 10), LogEntry.command(["INCR", "n"], at: t0 + 10)],
                          transaction: true)
        try writer.close()
        let keyspace = Keyspace(randomSeed: 0)
        var summary = try Replayer(log: path).replay(into: keyspace)
        Replayer.summarizeState(of: keyspace, into: &summary)
        return (keyspace, summary)
    }

    private func startServer(_ keyspace: Keyspace, clock: Int64) throws -> RedisServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        var logger = Logger(label: "test.readonly")
        logger.logLevel = .warning
        return try RedisServer.startReadOnly(keyspace: keyspace, clockMilliseconds: clock, configuration: configuration, logger: logger)
    }

    private func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }

    @Test("Reads return the replayed values; DEBUG DIGEST equals StateDigest; writes get Redis's READONLY error")
    func readsAndRefusedWrites() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-readonly")
        let (keyspace, summary) = try replayedState(in: directory)
        #expect(summary.lastTimestampMilliseconds == Self.t0 + 10)
        let digest = StateDigest.digest(of: keyspace)
        var session = ClientSession(databaseIndex: 0)
        _ = keyspace.execute([Array("SELECT".utf8), Array("1".utf8)], session: &session, nowMilliseconds: Self.t0)
        let valueDigest = try #require(keyspace.execute([Array("DEBUG".utf8), Array("DIGEST-VALUE".utf8), Array("h".utf8)],
                                                        session: &session, nowMilliseconds: Self.t0).reply.firstSimpleString)
        #expect(digest == summary.digest)
        #expect(digest != String(repeating: "0", count: 40))
        let server = try startServer(keyspace, clock: summary.lastTimestampMilliseconds)
        #expect(server.port > 0)
        let client = try RESPClient(port: server.port)
        #expect(try client.command(["PING"]) == .simpleString("PONG"))
        #expect(try client.command(["DEBUG", "DIGEST"]) == .simpleString(digest))
        #expect(try client.command(["GET", "greeting"]) == bulk("hello"))
        #expect(try client.command(["GET", "n"]) == bulk("2"))
        #expect(try client.command(["LRANGE", "list", "0", "-1"]) == .array([bulk("a"), bulk("b"), bulk("c")]))
        #expect(try client.command(["TYPE", "list"]) == .simpleString("list"))
        let readOnly = RESPValue.error("READONLY You can't write against a read only replica.")
        #expect(try client.command(["SET", "greeting", "bye"]) == readOnly)
        #expect(try client.command(["FLUSHALL"]) == readOnly)
        #expect(try client.command(["BLPOP", "list", "1"]) == readOnly)
        #expect(try client.command(["del", "list"]) == readOnly)
        // Inside MULTI a refused write dooms EXEC, as on a Redis replica.
        #expect(try client.command(["MULTI"]) == .ok)
        #expect(try client.command(["GET", "greeting"]) == .simpleString("QUEUED"))
        #expect(try client.command(["INCR", "n"]) == readOnly)
        #expect(try client.command(["EXEC"]) == .error("EXECABORT Transaction discarded because of previous errors."))
        #expect(try client.command(["MULTI"]) == .ok)
        #expect(try client.command(["GET", "n"]) == .simpleString("QUEUED"))
        #expect(try client.command(["EXEC"]) == .array([bulk("2")]))
        // Nothing changed: same values, same digest.
        #expect(try client.command(["GET", "greeting"]) == bulk("hello"))
        #expect(try client.command(["DEBUG", "DIGEST"]) == .simpleString(digest))
        #expect(try client.command(["SELECT", "1"]) == .ok)
        #expect(try client.command(["HGET", "h", "f"]) == bulk("v"))
        #expect(try client.command(["DEBUG", "DIGEST-VALUE", "h"]) == .array([.simpleString(valueDigest)]))
        #expect(try client.command(["SELECT", "0"]) == .ok)
        guard case .array(let scan) = try client.command(["SCAN", "0", "COUNT", "100"]), scan.count == 2,
              case .array(let keys) = scan[1] else {
            Issue.record("SCAN")
            return
        }
        #expect(Set(keys.compactMap(\.text)) == ["greeting", "list", "session", "n"], "SCAN skips a key past its TTL at the frozen time")
        guard case .bulkString(let info) = try client.command(["INFO", "replication"]) else {
            Issue.record("INFO")
            return
        }
        #expect(String(decoding: info, as: UTF8.self).contains("role:slave"))
        #expect(try client.command(["CLIENT", "ID"]) != .null)
        #expect(try client.command(["QUIT"]) == .ok)
        server.stop()
        try server.waitUntilStopped()
    }

    @Test("The clock is frozen at the replayed point: TTLs count from it, TIME answers it, nothing expires while served")
    func frozenClock() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-readonly")
        let (keyspace, summary) = try replayedState(in: directory)
        let clock = summary.lastTimestampMilliseconds
        let server = try startServer(keyspace, clock: clock)
        let client = try RESPClient(port: server.port)
        #expect(try client.command(["PTTL", "session"]) == .integer(5000))
        #expect(try client.command(["TIME"]) == .array([bulk(String(clock / 1000)), bulk(String(clock % 1000 * 1000))]))
        // Past its TTL at the frozen time: gone for a reader, as on the original server then.
        #expect(try client.command(["GET", "stale"]) == .null)
        usleep(300_000) // several cron ticks: no active expiry, no clock movement
        #expect(try client.command(["PTTL", "session"]) == .integer(5000))
        #expect(try client.command(["GET", "session"]) == bulk("s"))
        try client.send(["SHUTDOWN"])
        try server.waitUntilStopped()
        #expect(throws: (any Error).self) { try RESPClient(port: server.port).command(["PING"]) }
    }

    @Test("A port in use is a clear startup error")
    func portInUse() throws {
        let keyspace = Keyspace(randomSeed: 0)
        let first = try startServer(keyspace, clock: 0)
        var configuration = ServerConfiguration()
        configuration.port = first.port
        #expect(throws: ServerStartupError.self) {
            _ = try RedisServer.startReadOnly(keyspace: Keyspace(randomSeed: 0), clockMilliseconds: 0, configuration: configuration)
        }
        first.stop()
        try first.waitUntilStopped()
    }
}

private extension RESPValue {
    var text: String? {
        if case .bulkString(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var firstSimpleString: String? {
        if case .array(let values) = self, case .simpleString(let text)? = values.first { return text }
        return nil
    }
}
