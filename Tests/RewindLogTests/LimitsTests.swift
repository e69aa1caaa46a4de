import Testing
@testable import RewindLog
import RewindTestSupport

/// Relationships between the bounds of `LogLimits` (Swift has no `static_assert`), and zstd round
/// trips with and without a dictionary.
@Suite("Limits and compression")
struct LimitsTests {
    @Test("Record bounds hold the largest entry, and stored bounds cover compression overhead")
    func recordBounds() {
        // The largest single argument plus its framing (flags, db, timestamp, count, two varint
        // lengths, the command name, the reply hash) fits in one record's payload.
        let largestEntry = LogLimits.argumentByteCountMax + 1 + 10 + 10 + 10 + 10 + 10 + 16 + 8
        #expect(largestEntry <= LogLimits.recordUncompressedByteCountMax)
        #expect(LogLimits.recordStoredByteCountMax >= LogLimits.recordUncompressedByteCountMax)
        #expect(LogLimits.recordStoredByteCountMax - LogLimits.recordUncompressedByteCountMax
            >= ZSTD_compressBoundOverhead(LogLimits.recordUncompressedByteCountMax))
        // Both payload counts are stored in UInt32 header fields.
        #expect(LogLimits.recordStoredByteCountMax <= Int(UInt32.max))
        #expect(LogLimits.recordUncompressedByteCountMax <= Int(UInt32.max))
        // A record fits in a segment, and a segment fits in memory addressing.
        #expect(LogFormat.segmentHeaderByteCount + LogFormat.recordHeaderByteCount + LogLimits.recordStoredByteCountMax
            <= LogLimits.segmentByteCountMax)
        // LogWriter.append refuses an append whose estimate (24 bytes per entry, 10 per argument,
        // plus the argument bytes) exceeds the record bound less 4 KiB of slack; the largest
        // entry a Redis client can send (a command, a key, a 512 MiB value) is under it.
        #expect(LogLimits.argumentByteCountMax + 24 + 3 * 10 + 64 <= LogLimits.recordUncompressedByteCountMax - 4096)
    }

    @Test("The entry count bound follows from the payload bound and fits the header field")
    func entryCountBound() {
        // The smallest entry: flags, a one-byte timestamp delta, a zero argument count.
        let smallestEntry = 3
        #expect(LogLimits.recordEntryCountMax == LogLimits.recordUncompressedByteCountMax / smallestEntry)
        #expect(LogLimits.recordEntryCountMax <= Int(UInt32.max))
        #expect(LogLimits.argumentCountMax <= LogLimits.recordUncompressedByteCountMax)
        #expect(LogLimits.argumentCountMax >= 1024 * 1024)  // Redis's default multibulk bound
        #expect(LogLimits.argumentByteCountMax == 512 * 1024 * 1024)  // Redis's proto-max-bulk-len
    }

    @Test("The compression ratio bound is zstd's real worst case, and bounds what a tiny record can claim")
    func compressionRatioBound() {
        // An RLE block: 3 header bytes plus 1 byte produce at most 128 KiB.
        #expect(LogLimits.compressionRatioMax >= 128 * 1024 / 3)
        // The reader computes max(stored, 64) * ratio in Int: no overflow for any stored UInt32.
        let (_, overflow) = Int(UInt32.max).multipliedReportingOverflow(by: LogLimits.compressionRatioMax)
        #expect(!overflow)
        // A record of a few hundred bytes cannot claim more than a few tens of MiB.
        #expect(256 * LogLimits.compressionRatioMax < 16 * 1024 * 1024)
        // Real output agrees: 1 MiB of zeros compresses far below its bound.
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let compressed = Self.compress(zeros)
        #expect(zeros.count <= compressed.count * LogLimits.compressionRatioMax)
    }

    @Test("File bounds: manifest and dictionary are small, segments large enough for the writer's target")
    func fileBounds() {
        #expect(LogLimits.manifestByteCountMax >= 64 * 1024)
        #expect(LogLimits.dictionaryByteCountMax >= LogWriter.Options().dictionaryByteCountMax)
        #expect(LogLimits.segmentByteCountMax >= LogWriter.Options().segmentByteCountTarget + LogLimits.recordStoredByteCountMax)
        #expect(LogFormat.recordHeaderByteCount == 40)
        #expect(LogFormat.segmentHeaderByteCount == 48)
        #expect(LogFormat.dictionaryHeaderByteCount == 24)
        #expect(LogFormat.recordChecksumCoverageStart == 8)
    }

    // MARK: - zstd

    static func compress(_ bytes: [UInt8], dictionary: [UInt8]? = nil, level: Int32 = 3) -> [UInt8] {
        let compressor = ZstdCompressor(level: level, dictionary: dictionary)
        var output: [UInt8] = [0xEE]  // appends after what is there
        try! bytes.withUnsafeBytes { try compressor.compress($0, appendingTo: &output) }
        #expect(output.first == 0xEE)
        return Array(output.dropFirst())
    }

    static func decompress(_ frame: [UInt8], count: Int, dictionaryID: UInt32?, decompressor: ZstdDecompressor) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        try frame.withUnsafeBytes { source in
            try output.withUnsafeMutableBytes { try decompressor.decompress(source, into: $0, dictionaryID: dictionaryID) }
        }
        return output
    }

    static func samples(count: Int) -> (bytes: [UInt8], sizes: [Int], items: [[UInt8]]) {
        var generator = SeededGenerator(seed: 99)
        var items: [[UInt8]] = []
        for index in 0..<count {
            let key = "user:\(Int.random(in: 0..<500, using: &generator)):session"
            let value = "{\"name\":\"n\(index)\",\"score\":\(Int.random(in: 0..<100, using: &generator)),\"active\":true}"
            items.append(Array("SET \(key) \(value)".utf8))
        }
        return (items.flatMap { $0 }, items.map(\.count), items)
    }

    @Test("zstd round trip without a dictionary: empty, tiny, random, repetitive, every level", arguments: [1, 3, 19] as [Int32])
    func zstdRoundTrip(level: Int32) throws {
        var generator = SeededGenerator(seed: UInt64(level))
        let inputs: [[UInt8]] = [
            [], [0], Array("SET key value".utf8), RandomEntries.bytes(count: 10_000, using: &generator),
            [UInt8](repeating: 7, count: 300_000), Self.samples(count: 200).bytes,
        ]
        let decompressor = ZstdDecompressor()
        for input in inputs {
            let frame = Self.compress(input, level: level)
            #expect(try Self.decompress(frame, count: input.count, dictionaryID: nil, decompressor: decompressor) == input)
            // A destination of any other size is an error, not a silent short read.
            if !input.isEmpty {
                #expect(throws: ZstdError.self) {
                    try Self.decompress(frame, count: input.count + 1, dictionaryID: nil, decompressor: decompressor)
                }
                #expect(throws: ZstdError.self) {
                    try Self.decompress(frame, count: input.count - 1, dictionaryID: nil, decompressor: decompressor)
                }
            }
        }
    }

    @Test("zstd round trip with a trained dictionary, which makes small records smaller")
    func zstdDictionaryRoundTrip() throws {
        let samples = Self.samples(count: 400)
        let dictionary = try #require(
            ZstdDictionaryTrainer.train(samples: samples.bytes, sampleSizes: samples.sizes, byteCountMax: 4096))
        #expect(dictionary.count <= 4096)
        #expect(dictionary.count > 0)
        let decompressor = ZstdDecompressor()
        decompressor.register(dictionaryID: 7, bytes: dictionary)
        #expect(decompressor.hasDictionary(7))
        #expect(!decompressor.hasDictionary(8))
        var withDictionary = 0, without = 0
        for item in samples.items.prefix(50) {
            let frame = Self.compress(item, dictionary: dictionary)
            withDictionary += frame.count
            without += Self.compress(item).count
            #expect(try Self.decompress(frame, count: item.count, dictionaryID: 7, decompressor: decompressor) == item)
            // Without its dictionary, or with one that is not registered, the frame is refused.
            #expect(throws: ZstdError.self) {
                try Self.decompress(frame, count: item.count, dictionaryID: 8, decompressor: decompressor)
            }
        }
        #expect(withDictionary * 2 < without)
    }

    @Test("The trainer declines too few samples instead of failing")
    func trainerDeclinesTooFewSamples() {
        let samples = Self.samples(count: 5)
        #expect(ZstdDictionaryTrainer.train(samples: samples.bytes, sampleSizes: samples.sizes, byteCountMax: 4096) == nil)
        #expect(ZstdDictionaryTrainer.train(samples: [], sampleSizes: [], byteCountMax: 4096) == nil)
    }

    @Test("A stored dictionary file round-trips and refuses the wrong id or any damage")
    func storedDictionary() throws {
        let dictionary = Array("not really a dictionary but bytes".utf8)
        let file = StoredDictionary.encode(id: 3, dictionary: dictionary)
        #expect(file.count == LogFormat.dictionaryHeaderByteCount + dictionary.count)
        #expect(try StoredDictionary.decode(file, id: 3).get() == dictionary)
        #expect((try? StoredDictionary.decode(file, id: 4).get()) == nil)
        for bit in 0..<(file.count * 8) {
            var damaged = file
            damaged[bit / 8] ^= 1 << (bit % 8)
            guard case .failure(let detail) = StoredDictionary.decode(damaged, id: 3) else {
                Issue.record("flip of bit \(bit) not detected")
                continue
            }
            #expect(detail.kind == .missingDictionary)
        }
        for count in 0..<file.count {
            #expect((try? StoredDictionary.decode(Array(file.prefix(count)), id: 3).get()) == nil)
        }
    }
}

/// zstd's documented bound: srcSize + srcSize/256 + a little, for sizes above 128 KiB.
private func ZSTD_compressBoundOverhead(_ size: Int) -> Int { size / 256 + 64 * 1024 }
