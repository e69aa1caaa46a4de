// The batched dataset digest (Keyspace.datasetDigest over DigestBatch and CSHA1's digest.c)
// against the one-at-a-time digest (DigestMixer) and against redis-server 7.0, over values of
// every type and of sizes that cross every boundary of a batch: message lengths around SHA-1's
// block and padding limits, messages hashed in place instead of copied, list elements whose
// packed length takes one, two or three bytes, and values too big for one batch.

import CSHA1
import Foundation
import Testing

@testable import RewindEngine

@Suite("Batched DEBUG DIGEST")
struct DigestBatchTests {
    /// Commands that build a keyspace, with the same data described for the one-at-a-time digest.
    struct Workload {
        var commands: [[[UInt8]]] = []
        var databases: [Int: [DigestKeyEntry]] = [:]
        private var selected = 0

        mutating func select(_ db: Int) {
            commands.append([Array("SELECT".utf8), Array(String(db).utf8)])
            selected = db
        }

        mutating func add(_ entry: DigestKeyEntry, _ arguments: [[UInt8]]...) {
            add(entry, commands: arguments)
        }

        /// Adds the key's description and the commands that write it, then its TTL if it has one.
        mutating func add(_ entry: DigestKeyEntry, commands writes: [[[UInt8]]]) {
            databases[selected, default: []].append(entry)
            commands += writes
            if let when = entry.expireAtMilliseconds {
                commands.append([Array("PEXPIREAT".utf8), entry.key, Array(String(when).utf8)])
            }
        }

        var all: [(dbIndex: Int, keys: [DigestKeyEntry])] { databases.map { ($0.key, $0.value) } }
    }

    /// Lengths at SHA-1's edges (55/56 bytes: one or two padded blocks; 64: one whole block),
    /// at the batch's copy limit (512), at PackedList's length-prefix sizes (127/128, 16383/16384),
    /// and one beyond a batch's bytes (256 KiB).
    static let edgeLengths = [0, 1, 19, 20, 21, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 511, 512, 513, 1000,
                              16_383, 16_384, 70_000, 300_000]

    static func bytes(_ count: Int, _ random: inout TestRandom) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    static func text(_ prefix: String, _ index: Int) -> [UInt8] { Array("\(prefix)\(index)".utf8) }

    static func makeWorkload(seed: UInt64) -> Workload {
        var random = TestRandom(seed: seed)
        var work = Workload()
        func b(_ text: String) -> [UInt8] { Array(text.utf8) }
        let ttl: Int64 = 4_102_444_800_000
        // Database 0: strings of every edge length, integers, many small keys (so batches fill up
        // between keys), a few with TTLs.
        for (index, length) in edgeLengths.enumerated() {
            let value = bytes(length, &random)
            let key = b("s:\(index)")
            work.add(DigestKeyEntry(key: key, value: .string(value), expireAtMilliseconds: index % 3 == 0 ? ttl : nil),
                     [b("SET"), key, value])
        }
        for (index, integer) in [Int64.min, -1, 0, 7, 10, Int64.max, 1_234_567_890].enumerated() {
            let key = b("n:\(index)")
            work.add(DigestKeyEntry(key: key, value: .string(b(String(integer)))), [b("SET"), key, b(String(integer))])
        }
        for index in 0..<20_000 {
            let key = b("k:\(index)")
            let value = bytes(Int(random.next() % 80), &random)
            work.add(DigestKeyEntry(key: key, value: .string(value), expireAtMilliseconds: index % 7 == 0 ? ttl : nil),
                     [b("SET"), key, value])
        }
        // A key longer than the copy limit.
        let longKey = bytes(2_000, &random)
        work.add(DigestKeyEntry(key: longKey, value: .list([b("x")])), [b("RPUSH"), longKey, b("x")])

        // Database 3: lists, one longer than a batch's message count, one bigger than its bytes.
        work.select(3)
        for (name, count, lengths) in [("l:small", 5, [0, 3, 9]), ("l:long", 40_000, [0, 1, 10, 30]),
                                       ("l:wide", 600, [500, 511, 127, 128]), ("l:edges", edgeLengths.count, edgeLengths)] {
            var items: [[UInt8]] = []
            for index in 0..<count {
                let length = name == "l:edges" ? lengths[index] : lengths[index % lengths.count]
                items.append(index % 5 == 0 ? text("", index) : bytes(length, &random))
            }
            let key = b(name)
            var pushes: [[[UInt8]]] = []
            for start in stride(from: 0, to: items.count, by: 5_000) {
                pushes.append([b("RPUSH"), key] + items[start..<min(start + 5_000, items.count)])
            }
            work.add(DigestKeyEntry(key: key, value: .list(items), expireAtMilliseconds: name == "l:long" ? ttl : nil), commands: pushes)
        }

        // Database 4: sets (integers and text, one bigger than a batch), hashes (one bigger than a
        // batch), sorted sets in both encodings with awkward scores.
        work.select(4)
        let integers = (0..<50).map { b("\($0 * 13 - 100)") }
        work.add(DigestKeyEntry(key: b("set:int"), value: .set(integers)), [b("SADD"), b("set:int")] + integers)
        let members = (0..<20_000).map { index in index % 97 == 0 ? bytes(600, &random) : text("member-", index) }
        work.add(DigestKeyEntry(key: b("set:big"), value: .set(members), expireAtMilliseconds: ttl), [b("SADD"), b("set:big")] + members)
        for (name, count) in [("h:small", 3), ("h:big", 10_000)] {
            let pairs = (0..<count).map { index in
                (field: text("field-", index), value: index % 50 == 0 ? bytes(700, &random) : bytes(Int(random.next() % 60), &random))
            }
            work.add(DigestKeyEntry(key: b(name), value: .hash(pairs)), [b("HSET"), b(name)] + pairs.flatMap { [$0.field, $0.value] })
        }
        let awkward: [Double] = [0, 0.1, -2.5, 1e300, -1e-300, .infinity, -.infinity, 1.0 / 3, 123_456_789_012_345_680]
        for (name, count) in [("z:small", awkward.count), ("z:big", 10_000)] {
            let pairs = (0..<count).map { index in
                (member: index % 211 == 0 ? bytes(900, &random) : text("player-", index),
                 score: index < awkward.count ? awkward[index] : Double(Int64(random.next() % 2_000_000) - 1_000_000) / 8)
            }
            let arguments = pairs.flatMap { [b(formatPercent17g($0.score)), $0.member] }
            work.add(DigestKeyEntry(key: b(name), value: .sortedSet(pairs)), [b("ZADD"), b(name)] + arguments)
        }
        // Database 15, after a gap: one of each small type.
        work.select(15)
        work.add(DigestKeyEntry(key: b("last"), value: .hash([(field: b("f"), value: b("v"))])), [b("HSET"), b("last"), b("f"), b("v")])
        work.select(0)
        return work
    }

    static func formatPercent17g(_ value: Double) -> String {
        String(decoding: DigestMixer.formatPercent17g(value), as: UTF8.self)
    }

    static func run(_ workload: Workload) -> EngineHarness {
        var engine = EngineHarness()
        for command in workload.commands {
            let reply = engine.run(command)
            if case .error(let message) = reply { Issue.record("\(String(decoding: command[0], as: UTF8.self)): \(message)") }
        }
        return engine
    }

    @Test("The batched digest equals the one-at-a-time digest for every type and size", arguments: [1, 2] as [UInt64])
    func batchedEqualsOneAtATime(seed: UInt64) {
        let workload = Self.makeWorkload(seed: seed)
        var engine = Self.run(workload)
        let expected = RedisDigest.datasetDigest(databases: workload.all)
        #expect(engine.keyspace.datasetDigest() == expected)
        // DEBUG DIGEST-VALUE of the split values, through DigestMixer straight from storage.
        engine.run([Array("SELECT".utf8), Array("3".utf8)])
        for entry in workload.databases[3] ?? [] {
            let expectedValue = RedisDigest.digestOfValue(entry.value, hasExpiry: entry.expireAtMilliseconds != nil)
            #expect(engine.run([Array("DEBUG".utf8), Array("DIGEST-VALUE".utf8), entry.key]) == .array([.simpleString(expectedValue.hexString)]))
        }
    }

    @Test("One change anywhere changes the batched digest")
    func sensitivity() {
        var engine = Self.run(Self.makeWorkload(seed: 3))
        var seen: Set<RedisDigest> = [engine.keyspace.datasetDigest()]
        for command in ["SELECT 3", "LSET l:long 39999 changed", "SELECT 4", "SREM set:big member-19999", "HSET h:big field-9999 x",
                        "ZINCRBY z:big 1 player-9998", "PERSIST set:big", "SELECT 0", "SET k:19999 other", "SELECT 15", "DEL last"] {
            let reply = engine.run(command)
            guard !command.hasPrefix("SELECT") else { continue }
            if case .error(let message) = reply { Issue.record("\(command): \(message)") }
            #expect(seen.insert(engine.keyspace.datasetDigest()).inserted, "\(command) left the digest as it was")
        }
    }

    @Test("Lanes of the SHA extensions compute what the portable compression computes")
    func lanesMatchPortable() {
        var random = TestRandom(seed: 5)
        for lanes in 1...4 {
            var states = (0..<lanes).map { _ in (0..<5).map { _ in UInt32.random(in: 0...UInt32.max, using: &random) } }
            let blocks = (0..<lanes).map { _ in Self.bytes(64, &random) }
            var expected = states
            for lane in 0..<lanes { blocks[lane].withUnsafeBufferPointer { rewind_sha1_compress_portable(&expected[lane], $0.baseAddress, 1) } }
            Self.withPointers(&states, blocks) { statePointers, blockPointers in
                rewind_sha1_compress_lanes(Int32(lanes), statePointers, blockPointers)
            }
            #expect(states == expected, "\(lanes) lanes")

            // SHA-1 of 20-byte messages given as words.
            let inputs = (0..<lanes).map { _ in (0..<5).map { _ in UInt32.random(in: 0...UInt32.max, using: &random) } }
            var outputs = [[UInt32]](repeating: [0, 0, 0, 0, 0], count: lanes)
            let inputPointers: [UnsafePointer<UInt32>?] = inputs.map { input in
                let pointer = UnsafeMutablePointer<UInt32>.allocate(capacity: 5)
                pointer.initialize(from: input, count: 5)
                return UnsafePointer(pointer)
            }
            defer { inputPointers.forEach { $0?.deallocate() } }
            Self.withPointers(&outputs, []) { outputPointers, _ in
                inputPointers.withUnsafeBufferPointer { rewind_sha1_digest_lanes(Int32(lanes), outputPointers, $0.baseAddress) }
            }
            for lane in 0..<lanes {
                var block = [UInt8](repeating: 0, count: 64)
                for (index, word) in inputs[lane].enumerated() {
                    withUnsafeBytes(of: word.bigEndian) { block.replaceSubrange(4 * index..<4 * index + 4, with: $0) }
                }
                block[20] = 0x80
                block[63] = 160
                var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
                block.withUnsafeBufferPointer { rewind_sha1_compress_portable(&state, $0.baseAddress, 1) }
                #expect(outputs[lane] == state, "digest lane \(lane) of \(lanes)")
            }
        }
    }

    @Test("SHA-1 of a whole message in C equals the streaming hasher at every padding length")
    func messageMatchesStreaming() {
        var random = TestRandom(seed: 9)
        for length in 0...200 {
            let message = Self.bytes(length, &random)
            var hasher = SHA1()
            for byte in message { hasher.update(CollectionOfOne(byte)) }
            #expect(SHA1.hash(message) == hasher.finalize(), "length \(length)")
        }
    }

    /// Calls `body` with C arrays of pointers to each state and each block.
    static func withPointers(_ states: inout [[UInt32]], _ blocks: [[UInt8]],
                             _ body: (UnsafePointer<UnsafeMutablePointer<UInt32>?>, UnsafePointer<UnsafePointer<UInt8>?>?) -> Void) {
        let statePointers = states.map { state -> UnsafeMutablePointer<UInt32> in
            let pointer = UnsafeMutablePointer<UInt32>.allocate(capacity: 5)
            pointer.initialize(from: state, count: 5)
            return pointer
        }
        let blockPointers = blocks.map { block -> UnsafePointer<UInt8> in
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
            pointer.initialize(from: block, count: 64)
            return UnsafePointer(pointer)
        }
        let optionalStates: [UnsafeMutablePointer<UInt32>?] = statePointers
        let optionalBlocks: [UnsafePointer<UInt8>?] = blockPointers
        optionalStates.withUnsafeBufferPointer { stateBuffer in
            optionalBlocks.withUnsafeBufferPointer { blockBuffer in
                body(stateBuffer.baseAddress!, blockBuffer.baseAddress)
            }
        }
        for index in states.indices { states[index] = Array(UnsafeBufferPointer(start: statePointers[index], count: 5)) }
        statePointers.forEach { $0.deallocate() }
        blockPointers.forEach { $0.deallocate() }
    }
}

@Suite("Batched DEBUG DIGEST against redis-server", .serialized, .enabled(if: OwnedRedisServer.isAvailable))
struct DigestBatchRedisTests {
    @Test("Values split over several batches digest as redis-server's DEBUG DIGEST")
    func matchesRedis() throws {
        let workload = DigestBatchTests.makeWorkload(seed: 1)
        let server = try OwnedRedisServer()
        for start in stride(from: 0, to: workload.commands.count, by: 1_000) {
            let replies = try server.pipeline(Array(workload.commands[start..<min(start + 1_000, workload.commands.count)]))
            for reply in replies {
                if case .error(let message) = reply { Issue.record("redis-server: \(message)") }
            }
        }
        let engine = DigestBatchTests.run(workload)
        #expect(try server.command("DEBUG", "DIGEST") == .simple(engine.keyspace.datasetDigest().hexString))
    }
}
