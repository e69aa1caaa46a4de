import CSHA1
import Foundation
import Testing

@testable import RewindEngine

#if canImport(Glibc)
import Glibc
#endif

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

    @Test("The SHA-extensions path and the portable path compute the same blocks")
    func hardwareMatchesPortable() {
        var random = TestRandom(seed: 11)
        for blockCount in [1, 2, 3, 7, 64] {
            let message = (0..<(64 * blockCount)).map { _ in UInt8.random(in: 0...255, using: &random) }
            var hardware: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
            var portable = hardware
            message.withUnsafeBufferPointer { bytes in
                rewind_sha1_compress(&hardware, bytes.baseAddress, blockCount)
                rewind_sha1_compress_portable(&portable, bytes.baseAddress, blockCount)
            }
            #expect(hardware == portable, "\(blockCount) blocks")
        }
        // Say which path ran, so a machine without SHA-NI is visible in the log.
        print("SHA-1 path: \(SHA1.usesHardware ? "x86 SHA extensions" : "portable C")")
    }
}

// MARK: - Digests against redis-server

@Suite("DEBUG DIGEST against redis-server", .serialized, .enabled(if: OwnedRedisServer.isAvailable))
struct DigestRedisTests {
    /// A dataset built in Redis and described to Rewind, one key at a time.
    struct Dataset {
        var databases: [Int: [DigestKeyEntry]] = [:]
        var commands: [(dbIndex: Int, arguments: [[UInt8]])] = []

        mutating func add(db: Int, _ entry: DigestKeyEntry, via arguments: [[UInt8]]...) {
            databases[db, default: []].append(entry)
            for argument in arguments { commands.append((db, argument)) }
        }

        func load(into server: OwnedRedisServer) throws {
            for (dbIndex, arguments) in commands {
                try server.command("SELECT", String(dbIndex))
                let reply = try server.command(arguments)
                if case .error(let message) = reply { throw OwnedRedisServer.ClientError(description: message) }
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
        let server = try OwnedRedisServer()
        #expect(try server.command("DEBUG", "DIGEST") == .simple(RedisDigest.zero.hexString))
        #expect(RedisDigest.datasetDigest(databases: []).hexString == String(repeating: "0", count: 40))
        #expect(try server.command("DEBUG", "DIGEST-VALUE", "missing") == .array([.simple(RedisDigest.zero.hexString)]))
    }

    @Test("Every type, expiring keys and several databases digest as Redis does")
    func datasetMatchesRedis() throws {
        let server = try OwnedRedisServer()
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
        let server = try OwnedRedisServer(extraArguments: [
            "--list-max-listpack-size", "1", "--set-max-intset-entries", "0",
            "--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0",
        ])
        try data.load(into: server)
        #expect(try server.command("DEBUG", "DIGEST") == .simple(expected))
    }

    @Test("A -0 score digests as -0 in a skiplist and as 0 in a listpack")
    func negativeZeroScore() throws {
        let server = try OwnedRedisServer()
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
