import Testing

@testable import RewindEngine

/// Element streams with duplicates, binary bytes and empty elements, from a seed.
private func elementStream(count: Int, seed: UInt64) -> [[UInt8]] {
    var random = TestRandom(seed: seed)
    return (0..<count).map { _ in
        let length = Int.random(in: 0...12, using: &random)
        return (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
    }
}

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("HyperLogLog, in process")
struct HyperLogLogTests {
    @Test("A new HyperLogLog is sparse, covers 16384 registers, and counts 0")
    func emptyValue() throws {
        var value = HyperLogLog.makeEmpty()
        #expect(value.count == 18)
        #expect(HyperLogLog.isValid(value))
        #expect(try HyperLogLog.countCachingResult(&value) == (0, false))
    }

    @Test("MurmurHash64A reads any length without trapping and depends on every byte")
    func murmurLengths() {
        var seen = Set<UInt64>()
        for length in 0...17 {
            seen.insert(HyperLogLog.murmurHash64A([UInt8](repeating: 7, count: length), seed: 0xADC8_3B19))
        }
        #expect(seen.count == 18)
    }

    @Test("Dense registers round-trip at every index, including the last one")
    func denseRegisters() {
        var dense = HyperLogLog.sparseToDense(HyperLogLog.makeEmpty())!
        #expect(dense.count == HyperLogLog.denseByteCount)
        for index in 0..<HyperLogLog.registerCount {
            HyperLogLog.setDenseRegister(&dense, registerIndex: index, value: UInt8(index % 64))
        }
        for index in 0..<HyperLogLog.registerCount {
            #expect(HyperLogLog.denseRegister(dense, registerIndex: index) == UInt8(index % 64))
        }
    }

    @Test("Foreign and damaged strings are rejected with Redis's errors, never a trap")
    func foreignStrings() {
        var short: [UInt8]? = b("HYLL")
        #expect(throws: HyperLogLogError.notHyperLogLog) { try HyperLogLog.pfadd([b("a")], to: &short) }
        var badEncoding = HyperLogLog.makeEmpty()
        badEncoding[4] = 2
        #expect(!HyperLogLog.isValid(badEncoding))
        var truncatedDense = HyperLogLog.sparseToDense(HyperLogLog.makeEmpty())!
        truncatedDense.removeLast()
        #expect(!HyperLogLog.isValid(truncatedDense))
        // Every truncation and every single-byte value at every position of a small sparse value
        // must produce an answer (a count or an error), never a trap.
        var base: [UInt8]? = nil
        _ = try? HyperLogLog.pfadd(elementStream(count: 30, seed: 1), to: &base)
        let original = base!
        for cut in 0...original.count {
            var value = Array(original[0..<cut])
            _ = try? HyperLogLog.countCachingResult(&value)
            _ = try? HyperLogLog.add(b("x"), to: &value)
            _ = try? HyperLogLog.count([value, original])
        }
        for position in HyperLogLog.headerByteCount..<original.count {
            for byte in [0x00, 0x3F, 0x40, 0x7F, 0x80, 0xFF] as [UInt8] {
                var value = original
                value[position] = byte
                _ = try? HyperLogLog.countCachingResult(&value)
                var optional: [UInt8]? = value
                _ = try? HyperLogLog.pfadd(elementStream(count: 20, seed: UInt64(position)), to: &optional)
                var destination: [UInt8]? = nil
                _ = try? HyperLogLog.merge(into: &destination, sources: [value])
            }
        }
    }
}

@Suite("HyperLogLog against redis-server", .serialized, .enabled(if: OwnedRedisServer.isAvailable))
struct HyperLogLogRedisTests {
    /// Adds `elements` to `key` in Redis and in process, in PFADD batches of random sizes, and
    /// checks each reply and the stored bytes after every batch.
    static func addAndCompare(_ server: OwnedRedisServer, key: [UInt8], elements: [[UInt8]], value: inout [UInt8]?,
                              seed: UInt64) throws {
        var random = TestRandom(seed: seed)
        var commands: [[[UInt8]]] = []
        var expectedReplies: [Int64] = []
        var offset = 0
        repeat {
            let batchCount = min(elements.count - offset, Int.random(in: 0...40, using: &random))
            let batch = Array(elements[offset..<(offset + batchCount)])
            offset += batchCount
            commands.append([b("PFADD"), key] + batch)
            expectedReplies.append(try HyperLogLog.pfadd(batch, to: &value) ? 1 : 0)
        } while offset < elements.count
        let replies = try server.pipeline(commands)
        #expect(replies == expectedReplies.map { .integer($0) })
        #expect(try server.command([b("GET"), key]).bytes == value)
    }

    @Test("PFADD bytes and PFCOUNT equal Redis's for streams crossing sparse to dense",
          arguments: [0, 1, 10, 100, 1000, 5000, 50_000])
    func streams(size: Int) throws {
        let server = try OwnedRedisServer()
        let key = b("hll:\(size)")
        var value: [UInt8]? = nil
        try Self.addAndCompare(server, key: key, elements: elementStream(count: size, seed: UInt64(size) + 11),
                               value: &value, seed: UInt64(size))
        var stored = try #require(value)
        let (count, wroteCache) = try HyperLogLog.countCachingResult(&stored)
        #expect(wroteCache)
        #expect(try server.command([b("PFCOUNT"), key]) == .integer(count))
        #expect(try server.command([b("GET"), key]).bytes == stored)
        // A second PFCOUNT reads the cache and changes nothing.
        #expect(try HyperLogLog.countCachingResult(&stored) == (count, false))
        // Elements already present change nothing, including the cache.
        var again: [UInt8]? = stored
        let sample = Array(elementStream(count: size, seed: UInt64(size) + 11).prefix(20))
        #expect(try HyperLogLog.pfadd(sample, to: &again) == false)
        #expect(try server.command([b("PFADD"), key] + sample) == .integer(0))
        #expect(try server.command([b("GET"), key]).bytes == again)
    }

    @Test("PFMERGE and multi-key PFCOUNT equal Redis's over sparse, dense and missing keys")
    func merges() throws {
        let server = try OwnedRedisServer()
        var values: [[UInt8]?] = []
        let sizes = [0, 3, 40, 300, 3000, 20_000]
        for (index, size) in sizes.enumerated() {
            var value: [UInt8]? = nil
            try Self.addAndCompare(server, key: b("src\(index)"), elements: elementStream(count: size, seed: UInt64(index) * 977),
                                   value: &value, seed: UInt64(index))
            values.append(value)
        }
        values.append(nil)  // a missing key
        let keys = (0..<values.count).map { b("src\($0)") }
        var random = TestRandom(seed: 99)
        for round in 0..<24 {
            let picked = (0..<Int.random(in: 1...4, using: &random)).map { _ in Int.random(in: 0..<values.count, using: &random) }
            // Multi-key PFCOUNT: a temporary merge, nothing stored.
            let countReply = try server.command([b("PFCOUNT")] + picked.map { keys[$0] } + [b("nosuch")])
            #expect(countReply == .integer(try HyperLogLog.count(picked.map { values[$0] } + [nil])), "round \(round)")
            // PFMERGE into a fresh key, and into an existing sparse or dense key.
            let destinationKey = b("dest\(round)")
            var destination: [UInt8]? = nil
            if round % 3 != 0 {
                let seedIndex = round % 3 == 1 ? 2 : 4
                destination = values[seedIndex]
                #expect(try server.command([b("COPY"), keys[seedIndex], destinationKey]) == .integer(1))
            }
            try HyperLogLog.merge(into: &destination, sources: picked.map { values[$0] })
            #expect(try server.command([b("PFMERGE"), destinationKey] + picked.map { keys[$0] }) == .simple("OK"))
            #expect(try server.command([b("GET"), destinationKey]).bytes == destination, "round \(round)")
            var stored = try #require(destination)
            #expect(try server.command([b("PFCOUNT"), destinationKey]) == .integer(try HyperLogLog.countCachingResult(&stored).cardinality))
        }
    }

    @Test("Corrupted and foreign strings fail with Redis's exact errors")
    func corruption() throws {
        let server = try OwnedRedisServer()
        var value: [UInt8]? = nil
        try Self.addAndCompare(server, key: b("h"), elements: elementStream(count: 25, seed: 5), value: &value, seed: 5)
        let original = try #require(value)
        func replyFor(_ error: HyperLogLogError) -> OwnedRedisServer.Reply { .error(error.replyText) }
        func check(_ bytes: [UInt8], label: String) throws {
            try server.command([b("SET"), b("c"), bytes])
            var local = bytes
            let expected: OwnedRedisServer.Reply
            do { expected = .integer(try HyperLogLog.countCachingResult(&local).cardinality) } catch { expected = replyFor(error) }
            #expect(try server.command("PFCOUNT", "c") == expected, "PFCOUNT \(label)")
            #expect(try server.command([b("GET"), b("c")]).bytes == local, "bytes after PFCOUNT \(label)")
            var optional: [UInt8]? = local
            let addExpected: OwnedRedisServer.Reply
            do { addExpected = .integer(try HyperLogLog.pfadd([b("zz"), b("y")], to: &optional) ? 1 : 0) } catch { addExpected = replyFor(error) }
            #expect(try server.command("PFADD", "c", "zz", "y") == addExpected, "PFADD \(label)")
            #expect(try server.command([b("GET"), b("c")]).bytes == optional, "bytes after PFADD \(label)")
            let mergeExpected: OwnedRedisServer.Reply
            do { mergeExpected = .integer(try HyperLogLog.count([optional, original])) } catch { mergeExpected = replyFor(error) }
            #expect(try server.command("PFCOUNT", "c", "h") == mergeExpected, "PFCOUNT multi \(label)")
            _ = try server.command("DEL", "m")
            var merged: [UInt8]? = nil
            let pfmergeExpected: OwnedRedisServer.Reply
            do {
                try HyperLogLog.merge(into: &merged, sources: [optional, original])
                pfmergeExpected = .simple("OK")
            } catch { pfmergeExpected = replyFor(error) }
            #expect(try server.command("PFMERGE", "m", "c", "h") == pfmergeExpected, "PFMERGE \(label)")
            #expect(try server.command([b("GET"), b("m")]).bytes == merged, "bytes after PFMERGE \(label)")
        }
        try check(b("not an hll at all"), label: "text")
        try check(Array(original.prefix(15)), label: "short")
        var invalidCache = original
        invalidCache[15] |= 0x80
        for cut in stride(from: 16, through: original.count, by: 1) {
            try check(Array(invalidCache.prefix(cut)), label: "cut \(cut)")
        }
        var random = TestRandom(seed: 3)
        for trial in 0..<200 {
            var damaged = invalidCache
            let position = Int.random(in: 16..<damaged.count, using: &random)
            damaged[position] = UInt8.random(in: 0...255, using: &random)
            try check(damaged, label: "damage \(trial) at \(position)")
        }
        // Opcodes past the 16384th register: a value run there is corrupt for redis-server 7.0.15,
        // as is a zero run (seed 52 of the differential runner found the first).
        for tail: [UInt8] in [[0x80], [0x00], [0x40, 0x01], [0xFF, 0xFE, 0x80]] {
            try check(original + tail, label: "trailing \(tail)")
        }
        var wrongEncoding = original
        wrongEncoding[4] = 0
        try check(wrongEncoding, label: "sparse bytes marked dense")
        #expect(try server.command("SET", "t", "x") == .simple("OK"))
        #expect(try server.command("PFADD", "t", "a") == replyFor(.notHyperLogLog))
    }
}
