import CZstd

/// A zstd failure, with zstd's own name for it.
struct ZstdError: Error, CustomStringConvertible {
    let description: String
    init(_ code: Int) { description = String(cString: ZSTD_getErrorName(code)) }
    init(message: String) { description = message }
}

/// Compresses record payloads; owns one zstd context (not thread-safe: one per writer thread).
final class ZstdCompressor {
    private let context: OpaquePointer
    private var dictionary: OpaquePointer?
    let level: Int32

    init(level: Int32, dictionary dictionaryBytes: [UInt8]? = nil) {
        context = ZSTD_createCCtx()
        self.level = level
        if let dictionaryBytes {
            dictionary = dictionaryBytes.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, level) }
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        if let dictionary { ZSTD_freeCDict(dictionary) }
    }

    var usesDictionary: Bool { dictionary != nil }

    /// Appends the zstd frame of `source` to `destination`.
    func compress(_ source: UnsafeRawBufferPointer, appendingTo destination: inout [UInt8]) throws {
        let bound = ZSTD_compressBound(source.count)
        let start = destination.count
        destination.reserveCapacity(start + bound)
        var written = 0
        var failure = 0
        // Grow the array to the bound, compress into the tail, then cut it back.
        destination.append(contentsOf: repeatElement(0, count: bound))
        destination.withUnsafeMutableBytes { output in
            let target = output.baseAddress!.advanced(by: start)
            let result: Int
            if let dictionary {
                result = ZSTD_compress_usingCDict(context, target, bound, source.baseAddress, source.count, dictionary)
            } else {
                result = ZSTD_compressCCtx(context, target, bound, source.baseAddress, source.count, level)
            }
            if ZSTD_isError(result) != 0 { failure = result } else { written = result }
        }
        if failure != 0 {
            destination.removeSubrange(start...)
            throw ZstdError(failure)
        }
        destination.removeSubrange((start + written)...)
    }
}

/// Decompresses record payloads; owns one zstd context.
final class ZstdDecompressor {
    private let context: OpaquePointer
    private var dictionaries: [UInt32: OpaquePointer] = [:]

    init() { context = ZSTD_createDCtx() }

    deinit {
        ZSTD_freeDCtx(context)
        for dictionary in dictionaries.values { ZSTD_freeDDict(dictionary) }
    }

    func register(dictionaryID: UInt32, bytes: [UInt8]) {
        guard dictionaries[dictionaryID] == nil else { return }
        dictionaries[dictionaryID] = bytes.withUnsafeBytes { ZSTD_createDDict($0.baseAddress, $0.count) }
    }

    func hasDictionary(_ id: UInt32) -> Bool { dictionaries[id] != nil }

    /// The content size the zstd frame at the start of `source` declares in its header; nil
    /// when the bytes do not start with a frame or it declares none. The writer's frames always
    /// declare it, so a reader can check a record header's claim before allocating for it.
    static func declaredContentSize(_ source: UnsafeRawBufferPointer) -> UInt64? {
        let size = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        // ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1) and ZSTD_CONTENTSIZE_ERROR (0ULL - 2).
        return size >= UInt64.max - 1 ? nil : UInt64(size)
    }

    /// Decompresses one frame into `destination`, which must have exactly the expected size; a
    /// frame that yields any other number of bytes is an error.
    func decompress(
        _ source: UnsafeRawBufferPointer,
        into destination: UnsafeMutableRawBufferPointer,
        dictionaryID: UInt32?
    ) throws {
        let result: Int
        if let dictionaryID {
            guard let dictionary = dictionaries[dictionaryID] else {
                throw ZstdError(message: "dictionary \(dictionaryID) is not available")
            }
            result = ZSTD_decompress_usingDDict(
                context, destination.baseAddress, destination.count, source.baseAddress, source.count, dictionary)
        } else {
            result = ZSTD_decompressDCtx(context, destination.baseAddress, destination.count, source.baseAddress, source.count)
        }
        if ZSTD_isError(result) != 0 { throw ZstdError(result) }
        guard result == destination.count else {
            throw ZstdError(message: "frame holds \(result) bytes, header says \(destination.count)")
        }
    }
}

enum ZstdDictionaryTrainer {
    /// Trains a dictionary of at most `byteCountMax` bytes on `samples`; nil when zstd finds too
    /// little to learn (too few or too uniform samples), in which case the log goes on without one.
    static func train(samples: [UInt8], sampleSizes: [Int], byteCountMax: Int) -> [UInt8]? {
        guard sampleSizes.count >= 8, !samples.isEmpty else { return nil }
        var dictionary = [UInt8](repeating: 0, count: byteCountMax)
        let result = dictionary.withUnsafeMutableBytes { output in
            samples.withUnsafeBytes { input in
                sampleSizes.map { Int($0) }.withUnsafeBufferPointer { sizes in
                    ZDICT_trainFromBuffer(
                        output.baseAddress, output.count, input.baseAddress, sizes.baseAddress, UInt32(sizes.count))
                }
            }
        }
        guard ZDICT_isError(result) == 0, result > 0 else { return nil }
        return Array(dictionary[0..<result])
    }
}
