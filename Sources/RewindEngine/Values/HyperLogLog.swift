// HyperLogLog as Redis 7.0 stores it (src/hyperloglog.c): the serialized string layout, the
// PFADD / PFCOUNT / PFMERGE semantics, and the error replies. The layout is the contract:
//
//   +------+---+-----+----------+
//   | HYLL | E | N/U | Cardin.  |   16-byte header
//   +------+---+-----+----------+
//   4 bytes magic "HYLL"; 1 byte encoding (0 dense, 1 sparse); 3 unused zero bytes; 8 bytes
//   cached cardinality, little-endian, where bit 7 of the last byte set means "cache invalid".
//
// Dense: 16384 six-bit registers packed LSB first (12288 bytes). Sparse: ZERO / XZERO / VAL
// opcodes (HyperLogLog+Sparse.swift).

/// The HyperLogLog operations behind PFADD, PFCOUNT and PFMERGE, on the string bytes Redis stores.
///
/// A HyperLogLog is an ordinary string value in Redis: `GET` returns its bytes, and `APPEND` or
/// `SETRANGE` can corrupt it. So this type has no storage of its own; every operation takes the
/// string bytes, validates them the way Redis does, and edits them in place exactly as Redis
/// would, down to the byte. Byte equality with Redis matters because the bytes are observable
/// (`GET`, `DEBUG DIGEST`, `STRLEN`) and because a replayed state must equal the original.
///
/// ```swift
/// var value: [UInt8]? = nil                                // the key does not exist
/// _ = try HyperLogLog.pfadd([Array("a".utf8)], to: &value) // true: created and changed
/// var stored = value!
/// let count = try HyperLogLog.countCachingResult(&stored)  // 1, and the cache is written
/// ```
///
/// Errors are ``HyperLogLogError`` values whose ``HyperLogLogError/replyText`` is Redis's exact
/// error reply. Nothing here traps on any input bytes.
public enum HyperLogLog {
    /// Register-index bits: Redis's `HLL_P`.
    static let indexBitCount = 14
    /// Hash bits left for the run of zeros: Redis's `HLL_Q`.
    static let runBitCount = 64 - indexBitCount
    /// Registers per HyperLogLog: Redis's `HLL_REGISTERS`, 16384.
    public static let registerCount = 1 << indexBitCount
    /// Bits per dense register: Redis's `HLL_BITS`.
    static let registerBitCount = 6
    /// The largest value a dense register holds.
    static let registerValueMax: UInt8 = (1 << registerBitCount) - 1
    /// Bytes in the header: magic, encoding, three unused, eight of cached cardinality.
    public static let headerByteCount = 16
    /// Bytes in a dense HyperLogLog, header included: 12304.
    public static let denseByteCount = headerByteCount + (registerCount * registerBitCount + 7) / 8
    /// Redis's default `hll-sparse-max-bytes`: a sparse string may not grow past this, header
    /// included, before it is promoted to dense.
    public static let sparseByteCountMaxDefault = 3000
    /// The seed Redis gives MurmurHash64A for HyperLogLog elements.
    static let hashSeed: UInt64 = 0xADC8_3B19

    /// The encoding byte of a serialized HyperLogLog.
    public enum Encoding: UInt8, Sendable {
        case dense = 0
        case sparse = 1
    }

    static let magic: [UInt8] = Array("HYLL".utf8)
    static let encodingByteOffset = 4
    static let cardinalityByteOffset = 8

    // MARK: - Creating and validating

    /// The string Redis creates for a new HyperLogLog: sparse, one XZERO opcode covering all
    /// 16384 registers, and a valid cached cardinality of 0 (`createHLLObject`).
    public static func makeEmpty() -> [UInt8] {
        var bytes = magic
        bytes.append(Encoding.sparse.rawValue)
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 11))
        bytes.append(contentsOf: sparseXZeroOpcode(runLength: registerCount))
        return bytes
    }

    /// Checks `string` the way Redis's `isHLLObjectOrReply` does: at least a header, the magic,
    /// a known encoding, and the exact dense size for dense.
    ///
    /// A string that passes may still be corrupt inside (bad opcodes); operations then throw
    /// ``HyperLogLogError/corrupted``, as Redis replies `INVALIDOBJ` only when it finds damage.
    public static func isValid(_ string: [UInt8]) -> Bool {
        guard string.count >= headerByteCount, string[0..<4].elementsEqual(magic) else { return false }
        guard let encoding = Encoding(rawValue: string[encodingByteOffset]) else { return false }
        return encoding != .dense || string.count == denseByteCount
    }

    static func validate(_ string: [UInt8]) throws(HyperLogLogError) -> Encoding {
        guard isValid(string), let encoding = Encoding(rawValue: string[encodingByteOffset]) else {
            throw .notHyperLogLog
        }
        return encoding
    }

    // MARK: - The cached cardinality

    /// True when the header's cached cardinality may be returned as is.
    static func hasValidCache(_ string: [UInt8]) -> Bool {
        string[cardinalityByteOffset + 7] & 0x80 == 0
    }

    /// Marks the cached cardinality stale, as every change to the registers must (`HLL_INVALIDATE_CACHE`).
    static func invalidateCache(_ string: inout [UInt8]) {
        string[cardinalityByteOffset + 7] |= 0x80
    }

    static func cachedCardinality(_ string: [UInt8]) -> UInt64 {
        var value: UInt64 = 0
        for byteIndex in 0..<8 {
            value |= UInt64(string[cardinalityByteOffset + byteIndex]) << UInt64(8 * byteIndex)
        }
        return value
    }

    static func storeCachedCardinality(_ value: UInt64, in string: inout [UInt8]) {
        for byteIndex in 0..<8 {
            string[cardinalityByteOffset + byteIndex] = UInt8(truncatingIfNeeded: value >> UInt64(8 * byteIndex))
        }
    }

    // MARK: - Commands

    /// Adds one element's hash to the registers (Redis `hllAdd`), without touching the cache.
    ///
    /// Use ``pfadd(_:to:sparseByteCountMax:)`` for the whole command; this is the single step.
    ///
    /// - Returns: true when a register changed.
    /// - Throws: ``HyperLogLogError/notHyperLogLog`` for a foreign string,
    ///   ``HyperLogLogError/corrupted`` when the sparse opcodes are damaged.
    public static func add(_ element: [UInt8], to string: inout [UInt8],
                           sparseByteCountMax: Int = sparseByteCountMaxDefault) throws(HyperLogLogError) -> Bool {
        let encoding = try validate(string)
        let (registerIndex, runLength) = hashPosition(of: element)
        switch encoding {
        case .dense:
            return setDenseRegisterIfGreater(&string, registerIndex: registerIndex, value: runLength)
        case .sparse:
            return try sparseSet(&string, registerIndex: registerIndex, value: runLength,
                                 sparseByteCountMax: sparseByteCountMax)
        }
    }

    /// PFADD: creates the value when the key is missing, adds every element, and invalidates the
    /// cache when anything changed.
    ///
    /// Like Redis, creating the key counts as a change even with no elements, so `PFADD k` on a
    /// missing key returns 1 and stores a string whose cache is already marked invalid. On a
    /// corruption error the elements added before it stay added, as in Redis, but the cache is
    /// not invalidated.
    ///
    /// - Parameter string: the key's current value, or nil when the key is missing.
    /// - Returns: true when the reply is 1 (the value changed and must be logged).
    public static func pfadd(_ elements: [[UInt8]], to string: inout [UInt8]?,
                             sparseByteCountMax: Int = sparseByteCountMaxDefault) throws(HyperLogLogError) -> Bool {
        var updatedCount = 0
        var value: [UInt8]
        if let existing = string {
            _ = try validate(existing)
            value = existing
            string = nil  // keep `value` uniquely referenced while it is edited
        } else {
            value = makeEmpty()
            updatedCount += 1
        }
        defer { string = value }
        for element in elements {
            if try add(element, to: &value, sparseByteCountMax: sparseByteCountMax) {
                updatedCount += 1
            }
        }
        if updatedCount > 0 {
            invalidateCache(&value)
        }
        return updatedCount > 0
    }

    /// PFCOUNT of one key: returns the cached cardinality when valid, otherwise estimates it and
    /// writes it into the header, exactly as Redis does.
    ///
    /// Writing the cache changes the stored string, so Redis counts it as a change (it marks the
    /// key modified and propagates the PFCOUNT); the second return value tells the caller so.
    ///
    /// - Returns: the cardinality, and whether the stored bytes changed.
    public static func countCachingResult(_ string: inout [UInt8]) throws(HyperLogLogError)
        -> (cardinality: Int64, didWriteCache: Bool)
    {
        let encoding = try validate(string)
        if hasValidCache(string) {
            return (Int64(bitPattern: cachedCardinality(string)), false)
        }
        let histogram = try registerHistogram(string, encoding: encoding)
        let cardinality = estimateCardinality(histogram: histogram)
        storeCachedCardinality(cardinality, in: &string)
        return (Int64(bitPattern: cardinality), true)
    }

    /// PFCOUNT of several keys: the cardinality of their union, computed on a temporary merge
    /// that is never stored. Missing keys (nil) count as empty.
    ///
    /// - Throws: the first error in key order, as Redis checks each key as it merges it.
    public static func count(_ strings: [[UInt8]?]) throws(HyperLogLogError) -> Int64 {
        var registers = [UInt8](repeating: 0, count: registerCount)
        for case let string? in strings {
            let encoding = try validate(string)
            try mergeMaximum(into: &registers, from: string, encoding: encoding)
        }
        var histogram = [Int](repeating: 0, count: 64)
        for value in registers { histogram[Int(value)] += 1 }
        return Int64(bitPattern: estimateCardinality(histogram: histogram))
    }

    /// PFMERGE: sets `destination` to the union of itself and `sources`.
    ///
    /// Follows Redis step by step, because the resulting bytes depend on it: the destination is
    /// checked first (it is also a source), then each source in order; the destination is created
    /// sparse when missing, converted to dense if any input was dense, and then each non-zero
    /// register is set in index order (which may promote a sparse destination). The cache is
    /// always invalidated and the command always counts as a write.
    ///
    /// - Parameters:
    ///   - destination: the destination key's value, nil when missing.
    ///   - sources: the values of the source keys after the destination, nil for missing keys.
    public static func merge(into destination: inout [UInt8]?, sources: [[UInt8]?],
                             sparseByteCountMax: Int = sparseByteCountMaxDefault) throws(HyperLogLogError) {
        var registers = [UInt8](repeating: 0, count: registerCount)
        var usesDense = false
        for case let string? in [destination] + sources {
            let encoding = try validate(string)
            if encoding == .dense { usesDense = true }
            try mergeMaximum(into: &registers, from: string, encoding: encoding)
        }
        var value = destination ?? makeEmpty()
        destination = nil
        if usesDense {
            guard let dense = sparseToDense(value) else {
                destination = value
                throw .corrupted
            }
            value = dense
        }
        for (registerIndex, maximum) in registers.enumerated() where maximum != 0 {
            if value[encodingByteOffset] == Encoding.dense.rawValue {
                _ = setDenseRegisterIfGreater(&value, registerIndex: registerIndex, value: maximum)
            } else {
                // Redis ignores this call's result: a damaged destination has already failed
                // the merge above, so an error here cannot happen for a value that got this far.
                _ = try? sparseSet(&value, registerIndex: registerIndex, value: maximum,
                                   sparseByteCountMax: sparseByteCountMax)
            }
        }
        invalidateCache(&value)
        destination = value
    }
}

/// A HyperLogLog command failure, carrying Redis's exact error reply.
public struct HyperLogLogError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case notHyperLogLog
        case corrupted
    }

    private let code: Code

    /// The value is not a HyperLogLog string (wrong magic, encoding or dense size).
    public static let notHyperLogLog = HyperLogLogError(code: .notHyperLogLog)
    /// The value looked like a HyperLogLog but its registers are damaged.
    public static let corrupted = HyperLogLogError(code: .corrupted)

    /// The error reply Redis 7.0 sends, without the leading `-` and trailing CRLF.
    public var replyText: String {
        switch code {
        case .notHyperLogLog: "WRONGTYPE Key is not a valid HyperLogLog string value."
        case .corrupted: "INVALIDOBJ Corrupted HLL object detected"
        }
    }

    public var description: String { replyText }
}
