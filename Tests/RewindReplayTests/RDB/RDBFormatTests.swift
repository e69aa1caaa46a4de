import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("RDB format")
struct RDBFormatTests {
    static func b(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// An RDB version 9 file with every encoding only older Redis versions write, plus expiry in
    /// seconds, LRU/LFU fields, a second database and an LZF string. Redis 7.0 loads it (and
    /// converts each value); the test below compares.
    static func olderEncodingsFile() -> [UInt8] {
        typealias B = RDBFixtureBuilder
        var file = B(version: 9)
        file.aux("redis-ver", "5.0.14")
        file.aux("ctime", "1800000000")
        file.opcode(0xFE); file.length(0)
        file.opcode(0xFB); file.length(9); file.length(1)
        // LIST_ZIPLIST (10) with every integer width and string lengths of each form.
        file.opcode(10); file.string("zl:list")
        file.string(B.ziplist([.text("a"), .integer(0), .integer(12), .integer(13), .integer(-100), .integer(1000),
                               .integer(-5_000_000), .integer(100_000_000), .integer(-9_000_000_000_000_000),
                               .bytes(Array(repeating: 120, count: 300)), .text("end")]))
        // QUICKLIST (14) of two ziplist nodes.
        file.opcode(14); file.string("ql:list"); file.length(2)
        file.string(B.ziplist([.text("n1a"), .integer(7)]))
        file.string(B.ziplist([.text("n2a"), .text("n2b")]))
        // HASH_ZIPMAP (9), HASH_ZIPLIST (13).
        file.opcode(9); file.string("zm:hash"); file.string(B.zipmap([("name", "alice"), ("age", "42")]))
        file.opcode(13); file.string("zl:hash"); file.string(B.ziplist([.text("f"), .text("v"), .text("n"), .integer(-3)]))
        // ZSET_ZIPLIST (12): member, score pairs in score order (scores as integers or text).
        file.opcode(12); file.string("zl:zset"); file.string(B.ziplist([.text("low"), .integer(-2), .text("mid"), .text("1.5"), .text("top"), .integer(1000)]))
        // ZSET (3) with text scores, inf and -inf.
        file.opcode(3); file.string("text:zset"); file.length(3)
        file.string("a"); file.bytes.append(3); file.bytes += b("2.5")
        file.string("b"); file.bytes.append(254)
        file.string("c"); file.bytes.append(255)
        // SET_INTSET (11) in 2-byte width, plain SET (2), plain LIST (1), plain HASH (4).
        file.opcode(11); file.string("is:set"); file.string(B.intset([5, -3, 300], width: 2))
        file.opcode(2); file.string("plain:set"); file.length(2); file.string("x"); file.string("y")
        file.opcode(1); file.string("plain:list"); file.length(2); file.string("p"); file.string("q")
        // An expiry in seconds, an LRU idle time and an LFU frequency before a key.
        file.opcode(0xFD); file.littleEndian(2_000_000_000, byteCount: 4)
        file.opcode(0xF8); file.length(12345)
        file.opcode(4); file.string("plain:hash"); file.length(1); file.string("k"); file.string("v")
        // Database 3: an LZF string and an int-encoded one with an ms expiry and LFU.
        file.opcode(0xFE); file.length(3)
        file.opcode(0xFC); file.littleEndian(4_102_444_800_123, byteCount: 8)
        file.opcode(0xF9); file.bytes.append(5)
        file.opcode(0); file.string("lzf"); file.lzfString(b(String(repeating: "abc", count: 200) + "tail"))
        file.opcode(0); file.string("int"); file.bytes += [0xC2] + RDBFixtureBuilder.le(UInt64(bitPattern: -123_456), 4)
        return file.finish()
    }

    static func read(_ bytes: [UInt8], options: RDBReader.Options = .init()) throws -> (RDBFileSummary, [RDBKeyValue]) {
        var keys: [RDBKeyValue] = []
        let summary = try bytes.withUnsafeBufferPointer { try RDBReader.read($0, fileName: "test.rdb", options: options) { keys.append($0) } }
        return (summary, keys)
    }

    @Test("CRC-64 (Jones) matches Redis's known answer")
    func crc64KnownAnswer() {
        #expect(CRC64.checksum(Self.b("123456789")) == 0xe9c6_d914_c4b8_d9ca)
        #expect(CRC64.checksum([]) == 0)
        // Eight-at-a-time and byte-at-a-time agree at every split.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
        for split in [0, 1, 7, 8, 9, 50, 99] {
            var crc = CRC64()
            crc.update(Array(data[..<split]))
            crc.update(Array(data[split...]))
            #expect(crc.value == CRC64.checksum(data))
        }
    }

    @Test("Hand-built ziplist, zipmap, quicklist, intset, text-score and LZF values read exactly")
    func olderEncodings() throws {
        let (summary, keys) = try Self.read(Self.olderEncodingsFile())
        #expect(summary.version == 9 && summary.checksumVerified && summary.creationSeconds == 1_800_000_000)
        var byName: [String: RDBKeyValue] = [:]
        for key in keys { byName[String(decoding: key.key, as: UTF8.self)] = key }
        #expect(byName["zl:list"]?.value == .list(["a", "0", "12", "13", "-100", "1000", "-5000000", "100000000",
                                                   "-9000000000000000", String(repeating: "x", count: 300), "end"].map(Self.b)))
        #expect(byName["ql:list"]?.value == .list(["n1a", "7", "n2a", "n2b"].map(Self.b)))
        #expect(byName["zm:hash"]?.value == .hash([(Self.b("name"), Self.b("alice")), (Self.b("age"), Self.b("42"))]))
        #expect(byName["zl:hash"]?.value == .hash([(Self.b("f"), Self.b("v")), (Self.b("n"), Self.b("-3"))]))
        #expect(byName["zl:zset"]?.value == .sortedSet([(Self.b("low"), -2), (Self.b("mid"), 1.5), (Self.b("top"), 1000)]))
        #expect(byName["text:zset"]?.value == .sortedSet([(Self.b("c"), -.infinity), (Self.b("a"), 2.5), (Self.b("b"), .infinity)]))
        #expect(byName["is:set"]?.value == .set(["-3", "5", "300"].map(Self.b)))
        #expect(byName["plain:hash"]?.expiresAtMilliseconds == 2_000_000_000_000)
        #expect(byName["lzf"]?.value == .string(Self.b(String(repeating: "abc", count: 200) + "tail")))
        #expect(byName["lzf"]?.db == 3 && byName["lzf"]?.expiresAtMilliseconds == 4_102_444_800_123)
        #expect(byName["int"]?.value == .string(Self.b("-123456")) && byName["int"]?.expiresAtMilliseconds == nil)
        #expect(summary.encodingCounts["LZF-compressed string"] == 1)
        #expect(summary.lruIdleCount == 1 && summary.lfuFrequencyCount == 1)
    }

    @Test("Hand-built listpacks (RDB 11 set listpack, hash and sorted set listpacks) with every element encoding")
    func listpacks() throws {
        typealias B = RDBFixtureBuilder
        let integers: [Int64] = [0, 127, 128, -1, 4095, -4096, 4096, -4097, 32767, -32768, 32768, 8_388_607, -8_388_608,
                                 2_147_483_647, -2_147_483_648, 2_147_483_648, Int64.max, Int64.min]
        let strings = ["", "s", String(repeating: "m", count: 63), String(repeating: "n", count: 64), String(repeating: "o", count: 4095),
                       String(repeating: "p", count: 4096), String(repeating: "q", count: 20_000)]
        var file = B(version: 11)
        file.opcode(20); file.string("lp:set"); file.string(B.listpack(integers.map { .integer($0) } + strings.map { .text($0) }))
        file.opcode(16); file.string("lp:hash"); file.string(B.listpack([.text("f"), .integer(-7), .text("g"), .text("v")]))
        file.opcode(17); file.string("lp:zset"); file.string(B.listpack([.text("a"), .integer(-3), .text("b"), .text("2.25"), .text("c"), .integer(4096)]))
        let (summary, keys) = try Self.read(file.finish())
        #expect(summary.version == 11 && summary.encodingCounts["set (listpack)"] == 1)
        #expect(keys[0].value == .set(integers.map { Self.b(String($0)) } + strings.map(Self.b)))
        #expect(keys[1].value == .hash([(Self.b("f"), Self.b("-7")), (Self.b("g"), Self.b("v"))]))
        #expect(keys[2].value == .sortedSet([(Self.b("a"), -3), (Self.b("b"), 2.25), (Self.b("c"), 4096)]))
        // Each truncation of the listpack blob's bytes inside the file is refused without a trap.
        let bytes = file.bytes
        for cut in stride(from: 10, to: bytes.count, by: 97) {
            #expect(throws: RDBError.self) { try Self.read(Array(bytes[..<cut])) }
        }
    }

    @Test("redis-server 7.0 loads the hand-built file to the digest of its import", .enabled(if: RedisProcess.isAvailable))
    func olderEncodingsAgreeWithRedis() throws {
        let directory = try TemporaryDirectory()
        let loadDirectory = directory.appending("load")
        try FileManager.default.createDirectory(atPath: loadDirectory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: loadDirectory + "/dump.rdb", contents: Data(Self.olderEncodingsFile()))
        let server = try RedisProcess(directory: loadDirectory)
        defer { server.stop() }
        #expect(try server.cli(["DBSIZE"]) == "10")
        #expect(try server.cli(["OBJECT", "ENCODING", "zl:list"]) == "quicklist")
        let expected = try server.digest()
        let log = directory.appending("old.rwlog")
        let summary = try RDBImporter.importRDB(from: loadDirectory + "/dump.rdb", to: log)
        #expect(summary.rdbKeyCount == 12)
        #expect(summary.notes.contains { $0.hasSuffix("dropped 1 LRU idle times and 1 LFU frequencies (eviction hints the log does not keep)") })
        let state = try ReplayedState(log: log)
        #expect(StateDigest.digest(of: state.keyspace) == expected)
    }

    @Test("Module aux data and function libraries are read past and listed; a module value is an error")
    func moduleAndFunctionRecords() throws {
        var file = RDBFixtureBuilder(version: 10)
        file.aux("ctime", "1800000000")
        // MODULE_AUX: module id, 'when' opcode 2 and value, then opcodes up to EOF.
        file.opcode(0xF7); file.bytes += [0x81] + (0..<8).map { UInt8(0x10 + $0) }
        file.length(2); file.length(2)
        file.length(1); file.length(5)  // signed int
        file.length(5); file.string("module-string")
        file.length(3); file.littleEndian(0, byteCount: 4)
        file.length(4); file.littleEndian(0, byteCount: 8)
        file.length(0)
        file.opcode(0xF5); file.string("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
        file.opcode(0xFE); file.length(0)
        file.opcode(0); file.string("k"); file.string("v")
        let bytes = file.finish()
        let (summary, keys) = try Self.read(bytes)
        #expect(keys.map(\.key) == [Self.b("k")])
        #expect(summary.skipped.count == 2)
        #expect(summary.skipped[0].what.hasPrefix("module aux data"))
        #expect(summary.skipped[1].what.hasPrefix("function library"))

        var moduleValue = RDBFixtureBuilder(version: 10)
        moduleValue.opcode(7); moduleValue.string("modkey"); moduleValue.length(99)
        let moduleBytes = moduleValue.finish()
        #expect {
            try Self.read(moduleBytes)
        } throws: { error in
            (error as? RDBError)?.code == .unsupported && (error as? RDBError)?.key == Self.b("modkey")
                && (error as? RDBError)?.byteOffset == 9
        }
    }

    @Test("A damaged value names the byte offset and the key; a wrong checksum names the trailer")
    func errorsNameThePlace() throws {
        var good = Self.olderEncodingsFile()
        // Cut inside the quicklist key's second node: truncated, at the end, with the key.
        let keyOffset = firstIndex(of: Self.b("ql:list"), in: good)!
        let cut = Array(good[..<(keyOffset + 20)])
        #expect {
            try Self.read(cut)
        } throws: { error in
            guard let error = error as? RDBError else { return false }
            return error.code == .truncated && error.key == Self.b("ql:list") && error.description.hasPrefix("test.rdb @")
        }
        // Break the zipmap's end marker: malformed, at the blob's offset, naming the key.
        let zipmapKey = firstIndex(of: Self.b("zm:hash"), in: good)!
        var broken = good
        broken[zipmapKey + 7 + 1 + 1] = 200  // the first field's length byte now runs past the blob
        #expect {
            try Self.read(broken, options: .init(verifiesChecksum: false))
        } throws: { error in
            guard let error = error as? RDBError else { return false }
            return error.code == .malformed && error.key == Self.b("zm:hash") && error.byteOffset == zipmapKey + 7
                && error.message.contains("zipmap")
        }
        // Flip a byte of a key name: the CRC-64 catches it, at the trailer's offset.
        good[firstIndex(of: Self.b("plain:list"), in: good)! + 2] ^= 0x01
        #expect {
            try Self.read(good)
        } throws: { error in
            (error as? RDBError)?.code == .checksumMismatch && (error as? RDBError)?.byteOffset == good.count - 8
        }
    }

    @Test("A failed import leaves nothing at the destination")
    func nothingPartial() throws {
        let directory = try TemporaryDirectory()
        let bytes = Self.olderEncodingsFile()
        let source = directory.appending("cut.rdb")
        FileManager.default.createFile(atPath: source, contents: Data(bytes.dropLast(30)))
        let log = directory.appending("never.rwlog")
        #expect(throws: RDBError.self) { try RDBImporter.importRDB(from: source, to: log) }
        #expect(!FileManager.default.fileExists(atPath: log))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("importing") }
        #expect(leftovers.isEmpty)
    }

    @Test("The writer's files read back: integer encoding where Redis uses it, every type, checksum")
    func writerRoundTrip() throws {
        var writer = RDBWriter(creationSeconds: 1_800_000_000)
        writer.selectDB(0, keyCount: 6, expiryCount: 1)
        let strings = ["0", "-1", "127", "-128", "128", "32767", "-32769", "2147483647", "2147483648", "007", "-0", "+1", "", "hello"]
        for (index, text) in strings.enumerated() { writer.writeKey(Self.b("s\(index)"), value: .string(Self.b(text)), expiresAtMilliseconds: nil) }
        writer.writeKey(Self.b("l"), value: .list([Self.b("a"), Self.b("1")]), expiresAtMilliseconds: 4_102_444_800_000)
        writer.writeKey(Self.b("h"), value: .hash([(Self.b("f"), Self.b("v"))]), expiresAtMilliseconds: nil)
        writer.writeKey(Self.b("z"), value: .sortedSet([(Self.b("m"), -0.5), (Self.b("n"), .infinity)]), expiresAtMilliseconds: nil)
        writer.writeKey(Self.b("e"), value: .set([Self.b("x")]), expiresAtMilliseconds: nil)
        let bytes = writer.finish()
        let (summary, keys) = try Self.read(bytes)
        #expect(summary.version == 10 && summary.checksumVerified)
        #expect(keys.prefix(strings.count).map(\.value) == strings.map { StateValue.string(Self.b($0)) })
        #expect(keys[strings.count].expiresAtMilliseconds == 4_102_444_800_000)
        #expect(keys[strings.count + 2].value == .sortedSet([(Self.b("m"), -0.5), (Self.b("n"), .infinity)]))
        // "127" is stored as an 8-bit integer (0xC0 0x7F), "007" as text.
        #expect(firstIndex(of: [0xC0, 0x7F], in: bytes) != nil)
        #expect(firstIndex(of: [3] + Self.b("007"), in: bytes) != nil)
    }

    func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        return nil
    }
}
