// Hashing and comparing byte strings for the engine's hash indexes (SlotMap).

/// A fast 32-bit hash of a byte string, read eight bytes at a time.
///
/// Swift's `Hasher` feeds an `[UInt8]` to SipHash one byte at a time, which took 15% of a replay
/// (docs/ENGINE.md). This hash multiplies and folds whole words, then finishes with MurmurHash3's
/// 64-bit mixer. The seed is drawn once per process, so keys chosen by a client cannot be aimed at
/// one bucket chain across runs (Redis seeds its SipHash the same way); the seed only decides the
/// layout of an index that nothing iterates, so it cannot make a run and its replay differ.
enum ByteStringHash {
    static let seed: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }()

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let count = bytes.count
        var state = seed ^ (UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            state = (state ^ word) &* 0xBF58_476D_1CE4_E5B9
            state ^= state >> 29
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            state = (state ^ tail) &* 0x94D0_49BB_1331_11EB
            state ^= state >> 31
        }
        // MurmurHash3 fmix64.
        state ^= state >> 33
        state &*= 0xFF51_AFD7_ED55_8CCD
        state ^= state >> 33
        state &*= 0xC4CE_B9FE_1A85_EC53
        state ^= state >> 33
        return UInt32(truncatingIfNeeded: state ^ (state >> 32))
    }
}

/// An `[UInt8]` as a `Dictionary` key, hashed with ``ByteStringHash`` (whole words) instead of
/// `Hasher` byte by byte. Only for dictionaries nothing iterates in an observable order: the
/// hash is seeded per process.
struct ByteKey: Hashable {
    let bytes: [UInt8]

    @inline(__always)
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func == (lhs: ByteKey, rhs: ByteKey) -> Bool { lhs.bytes == rhs.bytes }

    func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.withUnsafeBytes { ByteStringHash.hash($0) })
    }
}
