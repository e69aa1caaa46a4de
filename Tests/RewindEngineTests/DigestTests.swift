import Foundation
import Testing

@testable import RewindEngine

#if canImport(Glibc)
import Glibc
#endif

// MARK: - A redis-server for differential tests

/// A private redis-server 7.0 on a free loopback port, with a minimal RESP2 client.
///
/// Each test starts its own server and stops it when done, so tests never share state and the
/// process never outlives the test that started it. Shared by the HyperLogLog and sorted-set tests.
final class RedisTestServer {
    enum Reply: Equatable {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk([UInt8]?)
        case array([Reply]?)

        var bytes: [UInt8]? { if case .bulk(let value) = self { return value } else { return nil } }
        var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
        var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }
    }

    struct ClientError: Error, CustomStringConvertible { var description: String }

    static let executablePath = "/usr/bin/redis-server"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executablePath) }

    let port: UInt16
    private let process: Process
    private var socketDescriptor: Int32 = -1
    private var inbox: [UInt8] = []
    private var inboxOffset = 0

    init(extraArguments: [String] = []) throws {
        port = try Self.freeLoopbackPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executablePath)
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", "--daemonize", "no", "--logfile", "/dev/null",
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if try connectOnce() { return }
            usleep(10_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw ClientError(description: "redis-server did not accept connections on port \(port)")
    }

    deinit {
        // SIGKILL, because a child spawned from a test thread inherits that thread's blocked
        // signals, so redis-server may never see a SIGTERM.
        if socketDescriptor >= 0 { close(socketDescriptor) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private static func freeLoopbackPort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw ClientError(description: "no free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    private func connectOnce() throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            close(descriptor)
            return false
        }
        socketDescriptor = descriptor
        return true
    }

    /// Sends one command and reads its reply.
    @discardableResult
    func command(_ arguments: [UInt8]...) throws -> Reply {
        try command(arguments)
    }

    @discardableResult
    func command(_ arguments: [[UInt8]]) throws -> Reply {
        try send(arguments)
        return try readReply()
    }

    @discardableResult
    func command(_ text: String...) throws -> Reply {
        try command(text.map { Array($0.utf8) })
    }

    /// Sends many commands, then reads all replies: pipelining keeps big streams fast.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [Reply] {
        var encoded: [UInt8] = []
        for arguments in commands { encoded.append(contentsOf: Self.encode(arguments)) }
        try write(encoded)
        return try commands.map { _ in try readReply() }
    }

    private static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var encoded = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            encoded.append(contentsOf: Array("$\(argument.count)\r\n".utf8))
            encoded.append(contentsOf: argument)
            encoded.append(contentsOf: [13, 10])
        }
        return encoded
    }

    private func send(_ arguments: [[UInt8]]) throws {
        try write(Self.encode(arguments))
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw ClientError(description: "send failed") }
            offset += written
        }
    }

    private func fill() throws {
        if inboxOffset > 0 && inboxOffset == inbox.count {
            inbox.removeAll(keepingCapacity: true)
            inboxOffset = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(socketDescriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { throw ClientError(description: "connection closed") }
        inbox.append(contentsOf: chunk[0..<received])
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = inbox[inboxOffset...].firstIndex(of: 10), end > inboxOffset, inbox[end - 1] == 13 {
                let line = Array(inbox[inboxOffset..<(end - 1)])
                inboxOffset = end + 1
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while inbox.count - inboxOffset < count + 2 { try fill() }
        let bytes = Array(inbox[inboxOffset..<(inboxOffset + count)])
        inboxOffset += count + 2
        return bytes
    }

    private func readReply() throws -> Reply {
        let line = try readLine()
        guard let kind = line.first else { throw ClientError(description: "empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int64(rest) ?? 0)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            return .bulk(try readBytes(length))
        case UInt8(ascii: "*"):
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            return .array(try (0..<count).map { _ in try readReply() })
        default:
            throw ClientError(description: "unexpected reply type \(kind)")
        }
    }
}

/// A small deterministic generator for test streams (SplitMix64), independent of Swift's seeds.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}

// MARK: - SHA-1

@Suite("SHA-1")
struct SHA1Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("FIPS 180 and NIST example vectors", arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func knownAnswers(input: String, expected: String) {
        #expect(Self.hex(SHA1.hash(Array(input.utf8))) == expected)
    }

    @Test("One million 'a' bytes (FIPS 180 long message)")
    func millionA() {
        var hasher = SHA1()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(Self.hex(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("Streaming in uneven chunks equals hashing at once, across block boundaries")
    func streamingMatchesOneShot() {
        var random = TestRandom(seed: 7)
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var hasher = SHA1()
            var offset = 0
            while offset < length {
                let step = Int.random(in: 0...17, using: &random)
                let end = Swift.min(length, offset + step)
                hasher.update(message[offset..<end])
                offset = end
            }
            #expect(hasher.finalize() == SHA1.hash(message), "length \(length)")
        }
    }
}

// MARK: - Digests against redis-server

@Suite("DEBUG DIGEST against redis-server", .serialized, .enabled(if: RedisTestServer.isAvailable))
struct DigestRedisTests {
    /// A dataset built in Redis and described to Rewind, one key at a time.
    struct Dataset {
        var databases: [Int: [DigestKeyEntry]] = [:]
        var commands: [(dbIndex: Int, arguments: [[UInt8]])] = []

        mutating func add(db: Int, _ entry: DigestKeyEntry, via arguments: [[UInt8]]...) {
            databases[db, default: []].append(entry)
            for argument in arguments { commands.append((db, argument)) }
        }

        func load(into server: RedisTestServer) throws {
            for (dbIndex, arguments) in commands {
                try server.command("SELECT", String(dbIndex))
                let reply = try server.command(arguments)
                if case .error(let message) = reply { throw RedisTestServer.ClientError(description: message) }
            }
            try server.command("SELECT", "0")
        }

        var all: [(dbIndex: Int, keys: [DigestKeyEntry])] { databases.map { ($0.key, $0.value) } }
    }

    static func makeDataset() -> Dataset {
        var random = TestRandom(seed: 42)
        var data = Dataset()
        func b(_ text: String) -> [UInt8] { Array(text.utf8) }
        // Strings, including integer-encoded ones and binary bytes.
        data.add(db: 0, DigestKeyEntry(key: b("s:text"), value: .string(b("hello"))), via: [b("SET"), b("s:text"), b("hello")])
        data.add(db: 0, DigestKeyEntry(key: b("s:int"), value: .string(b("-12345"))), via: [b("SET"), b("s:int"), b("-12345")])
        data.add(db: 0, DigestKeyEntry(key: b("s:empty"), value: .string([])), via: [b("SET"), b("s:empty"), []])
        let binary: [UInt8] = [0, 255, 13, 10, 0x80]
        data.add(db: 0, DigestKeyEntry(key: binary, value: .string(binary)), via: [b("SET"), binary, binary])
        data.add(db: 0, DigestKeyEntry(key: b("s:ttl"), value: .string(b("v")), expireAtMilliseconds: 4_000_000_000_000),
                 via: [b("SET"), b("s:ttl"), b("v"), b("PXAT"), b("4000000000000")])
        // Lists: small (listpack) and large (quicklist).
        for (name, count) in [("l:small", 5), ("l:large", 300)] {
            let items = (0..<count).map { index in index % 3 == 0 ? b("\(index)") : b("item-\(index)-\(random.next() % 1000)") }
            data.add(db: 0, DigestKeyEntry(key: b(name), value: .list(items)), via: [b("RPUSH"), b(name)] + items)
        }
        // Sets: intset, and hashtable.
        let intMembers = (0..<20).map { b("\($0 * 7 - 30)") }
        data.add(db: 1, DigestKeyEntry(key: b("set:int"), value: .set(intMembers)), via: [b("SADD"), b("set:int")] + intMembers)
        let textMembers = (0..<200).map { b("m\($0)") }
        data.add(db: 1, DigestKeyEntry(key: b("set:text"), value: .set(textMembers), expireAtMilliseconds: 4_000_000_000_000),
                 via: [b("SADD"), b("set:text")] + textMembers, [b("PEXPIREAT"), b("set:text"), b("4000000000000")])
        // Hashes: listpack and hashtable.
        for (name, count) in [("h:small", 4), ("h:large", 200)] {
            let pairs = (0..<count).map { (field: b("f\($0)"), value: b("\($0 * 3)")) }
            data.add(db: 1, DigestKeyEntry(key: b(name), value: .hash(pairs)), via: [b("HSET"), b(name)] + pairs.flatMap { [$0.field, $0.value] })
        }
        // Sorted sets: listpack and skiplist, with awkward scores.
        let scores: [Double] = [0.1, 1.5, -2, 1e300, -.infinity, .infinity, 3, 123456789012345680, 1.0 / 3]
        for (name, count) in [("z:small", scores.count), ("z:large", 300)] {
            let pairs = (0..<count).map { (member: b("z\($0)"), score: scores[$0 % scores.count]) }
            let arguments = pairs.flatMap { [b(String(format: "%.17g", $0.score)), $0.member] }
            data.add(db: 3, DigestKeyEntry(key: b(name), value: .sortedSet(pairs)), via: [b("ZADD"), b(name)] + arguments)
        }
        // HyperLogLog: a string holding its bytes, checked after it is read back from Redis.
        data.add(db: 3, DigestKeyEntry(key: b("hll"), value: .string(hllBytes())), via: [b("SET"), b("hll"), hllBytes()])
        return data
    }

    static func hllBytes() -> [UInt8] {
        var value: [UInt8]? = nil
        _ = try? HyperLogLog.pfadd((0..<50).map { Array("e\($0)".utf8) }, to: &value)
        return value ?? []
    }

    @Test("Empty dataset digests to 40 zeros")
    func emptyDataset() throws {
        let server = try RedisTestServer()
        #expect(try server.command("DEBUG", "DIGEST") == .simple(RedisDigest.zero.hexString))
        #expect(RedisDigest.datasetDigest(databases: []).hexString == String(repeating: "0", count: 40))
        #expect(try server.command("DEBUG", "DIGEST-VALUE", "missing") == .array([.simple(RedisDigest.zero.hexString)]))
    }

    @Test("Every type, expiring keys and several databases digest as Redis does")
    func datasetMatchesRedis() throws {
        let server = try RedisTestServer()
        let data = Self.makeDataset()
        try data.load(into: server)
        #expect(try server.command("DEBUG", "DIGEST") == .simple(RedisDigest.datasetDigest(databases: data.all).hexString))
        for (dbIndex, entries) in data.databases {
            try server.command("SELECT", String(dbIndex))
            for entry in entries {
                let expected = RedisDigest.digestOfValue(entry.value, hasExpiry: entry.expireAtMilliseconds != nil)
                let reply = try server.command([Array("DEBUG".utf8), Array("DIGEST-VALUE".utf8), entry.key])
                #expect(reply == .array([.simple(expected.hexString)]), "key \(String(decoding: entry.key, as: UTF8.self))")
            }
        }
    }

    @Test("Encodings do not change the digest: list, set, hash and zset converted by config")
    func encodingIndependence() throws {
        let data = Self.makeDataset()
        let expected = RedisDigest.datasetDigest(databases: data.all).hexString
        let server = try RedisTestServer(extraArguments: [
            "--list-max-listpack-size", "1", "--set-max-intset-entries", "0",
            "--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0",
        ])
        try data.load(into: server)
        #expect(try server.command("DEBUG", "DIGEST") == .simple(expected))
    }

    @Test("A -0 score digests as -0 in a skiplist and as 0 in a listpack")
    func negativeZeroScore() throws {
        let server = try RedisTestServer()
        try server.command("ZADD", "small", "-0", "a")
        try server.command("CONFIG", "SET", "zset-max-listpack-entries", "0")
        try server.command("ZADD", "big", "-0", "a")
        let small = RedisDigest.digestOfSortedSet([(member: Array("a".utf8), score: 0.0)])
        let big = RedisDigest.digestOfSortedSet([(member: Array("a".utf8), score: -0.0)])
        #expect(small != big)
        var compactSet = SortedSet()
        _ = compactSet.add(Array("a".utf8), score: -0.0)
        var skiplistSet = SortedSet(encoding: .skiplist)
        _ = skiplistSet.add(Array("a".utf8), score: -0.0)
        var fromCompact = DigestMixer.forValue(type: .sortedSet)
        fromCompact.addSortedSet(compactSet)
        var fromSkiplist = DigestMixer.forValue(type: .sortedSet)
        fromSkiplist.addSortedSet(skiplistSet)
        #expect(fromCompact.finish(hasExpiry: false) == small)
        #expect(fromSkiplist.finish(hasExpiry: false) == big)
        #expect(try server.command("DEBUG", "DIGEST-VALUE", "small", "big") == .array([.simple(small.hexString), .simple(big.hexString)]))
    }
}
