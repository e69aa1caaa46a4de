import Foundation
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer
#if canImport(Glibc)
import Glibc
#endif

/// `client-output-buffer-limit`: the CONFIG round trip and the disconnection of a client that
/// does not read, against redis-server 7.0.15 and the built `rewind serve`.
@Suite("Client output buffer limits", .serialized,
       .enabled(if: RewindBinary.path != nil && RedisReference.isAvailable))
struct OutputBufferLimitTests {
    /// CONFIG SET values redis-server accepts or refuses in every way its parser can.
    static let configValues = [
        "pubsub 1mb 512kb 10", "normal 1 2", "master 1 2 3", "foo 1 2 3", "pubsub x 2 3", "pubsub 1 2 -3",
        "pubsub 1 2 x", "replica 1k 2k 3", "", "normal 0 0 0 pubsub 1 1 1 normal 5 5 5", "PUBSUB 1 1 1",
        "pubsub 1g 1gb 1", "pubsub 99999999999999999999 1 1", "pubsub -1 1 1", "pubsub 1 1 99999999999999999999999",
        "pubsub 1K 1KB 1", "pubsub 1 1 1.5", "pubsub +1 1 1", "pubsub 01 1 1", "pubsub 1b 1 1", "  pubsub   2 2 2  ",
        "pubsub 1 1 0x10", "pubsub 1.5mb 1 1", "pubsub 1 1 +5", "pubsub 1 1 9223372036854775807", "slave 1 1 1",
        "pubsub 1 1 -0", "pubsub 5mB 1 1", "pubsub 1tb 1 1", "pubsub k 1 1", "pubsub 99999999999999999999kb 1 1",
        "pubsub 1 1 2147483647", "pubsub 1 1 2147483648", "pubsub 1 1 4294967296", "pubsub 1 1 ", "pubsub 1 1  5",
        "pubsub 1 1 5x", "pubsub 1 1 -1", "pubsub 1 1 +", "Normal 7 8 9 SLAVE 1 2 3",
    ]

    @Test("CONFIG GET and SET client-output-buffer-limit answer byte for byte as redis-server")
    func configRoundTrip() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-obuf")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        var commands: [[String]] = [["CONFIG", "GET", "client-output-buffer-limit"]]
        for value in Self.configValues {
            commands.append(["CONFIG", "SET", "client-output-buffer-limit", value])
            commands.append(["CONFIG", "GET", "client-output-buffer-limit"])
        }
        commands.append(["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0", "client-output-buffer-limit", "pubsub 1 1 1"])
        // (No pattern GET: redis-server lists matches in its hash table's randomly seeded order.)
        commands.append(["CONFIG", "GET", "client-output-buffer-limit"])
        let expected = try RESPClient(port: redis.port).exchange(commands)
        let actual = try RESPClient(port: server.port).exchange(commands)
        #expect(String(decoding: actual, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(String(decoding: expected, as: UTF8.self).contains("Invalid client class"), "the oracle saw the errors")
    }

    /// A subscriber that never reads, with a small receive buffer so the kernel holds little.
    private func idleSubscriber(port: Int) throws -> RESPClient {
        let subscriber = try RESPClient(port: port)
        var size: Int32 = 4096
        setsockopt(subscriber.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        #expect(try subscriber.command(["SUBSCRIBE", "news"]) == .array([.bulk("subscribe"), .bulk("news"), .integer(1)]))
        return subscriber
    }

    /// PUBLISHes `count` messages of 1 MB to `news`, one at a time; the last reply.
    private func publish(_ count: Int, port: Int) throws -> RESPValue {
        let publisher = try RESPClient(port: port)
        let message = String(repeating: "m", count: 1 << 20)
        var last = RESPValue.null
        for _ in 0..<count { last = try publisher.command(["PUBLISH", "news", message]) }
        return last
    }

    private func subscriberCount(port: Int) throws -> RESPValue {
        try RESPClient(port: port).command(["PUBSUB", "NUMSUB", "news"])
    }

    @Test("A subscriber that never reads is dropped at the pubsub hard limit; the server lives and its memory stays bounded")
    func hardLimitDropsIdleSubscriber() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-obuf")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        for port in [redis.port, server.port] {
            let subscriber = try idleSubscriber(port: port)
            #expect(try subscriberCount(port: port) == .array([.bulk("news"), .integer(1)]))
            let peakBefore = port == server.port ? peakResidentBytes(of: server.process.pid) : 0
            // 256 MB published: eight times the default hard limit of 32 MB.
            #expect(try publish(256, port: port) == .integer(0), "the subscriber was dropped before the last message")
            #expect(try subscriberCount(port: port) == .array([.bulk("news"), .integer(0)]))
            // Gone from the server, not only from the channel (the bytes the kernel still holds
            // for it are left unread: through its small window they would take minutes).
            guard case .bulkString(let list) = try RESPClient(port: port).command(["CLIENT", "LIST"]) else {
                throw TestFailure("CLIENT LIST")
            }
            #expect(!String(decoding: list, as: UTF8.self).contains("flags=P"))
            _ = subscriber
            #expect(try RESPClient(port: port).command(["PING"]) == .simpleString("PONG"))
            guard port == server.port else { continue }
            let peakAfter = peakResidentBytes(of: server.process.pid)
            #expect(peakBefore > 0)
            #expect(peakAfter - peakBefore < 128 << 20, "peak RSS grew by \(peakAfter - peakBefore) bytes for 256 MB published")
            guard case .bulkString(let stats) = try RESPClient(port: port).command(["INFO", "stats"]) else {
                throw TestFailure("INFO stats")
            }
            #expect(String(decoding: stats, as: UTF8.self).contains("client_output_buffer_limit_disconnections:1\r\n"))
            #expect(server.standardError.contains("scheduled to be closed ASAP for overcoming of output buffer limits."))
            #expect(server.standardError.contains("flags=P"))
        }
    }

    @Test("Past the soft limit a subscriber survives for the soft seconds, then the server's cron drops it")
    func softLimit() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-obuf")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        for port in [redis.port, server.port] {
            #expect(try RESPClient(port: port).command(["CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 1mb 1"]) == .ok)
            let subscriber = try idleSubscriber(port: port)
            // 24 MB: far past what the kernel buffers hold, far past the soft limit; no hard limit.
            #expect(try publish(24, port: port) == .integer(1))
            #expect(try subscriberCount(port: port) == .array([.bulk("news"), .integer(1)]))
            // Redis compares whole seconds (more than 1 must pass), and checks every client about
            // once a second from its cron, message or not.
            usleep(300_000)
            #expect(try subscriberCount(port: port) == .array([.bulk("news"), .integer(1)]), "port \(port), redis \(redis.port)")
            var count = RESPValue.null
            for _ in 0..<40 {
                usleep(100_000)
                count = try subscriberCount(port: port)
                if count == .array([.bulk("news"), .integer(0)]) { break }
            }
            #expect(count == .array([.bulk("news"), .integer(0)]), "port \(port), redis \(redis.port)")
            _ = subscriber
        }
    }

    @Test("Normal clients have no limit by default; a normal limit applies to them, not to subscribers")
    func normalClass() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-obuf")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        for port in [redis.port, server.port] {
            let writer = try RESPClient(port: port)
            #expect(try writer.command(["SET", "big", String(repeating: "b", count: 1 << 20)]) == .ok)
            // A pipeline of 32 GETs of 1 MB, not read: fine under `normal 0 0 0`.
            let reader = try RESPClient(port: port)
            var pipeline: [UInt8] = []
            for _ in 0..<32 { RESPEncoder.encodeCommand([Array("GET".utf8), Array("big".utf8)], into: &pipeline) }
            try reader.sendRaw(pipeline)
            usleep(300_000)
            #expect(try writer.command(["PING"]) == .simpleString("PONG"))
            for _ in 0..<32 { #expect(try reader.readReply() == .bulkString(Array(repeating: UInt8(ascii: "b"), count: 1 << 20))) }
            // With a normal hard limit of 4 MB the same pipeline drops the client.
            #expect(try writer.command(["CONFIG", "SET", "client-output-buffer-limit", "normal 4mb 0 0"]) == .ok)
            let dropped = try RESPClient(port: port)
            try dropped.sendRaw(pipeline)
            let received = dropped.readUntilClosed()
            #expect(received.count < 32 << 20, "the connection closed before every reply was sent")
            #expect(try writer.command(["PING"]) == .simpleString("PONG"))
        }
    }
}
