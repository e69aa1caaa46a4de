// The 64-bit reply hash a Rewind log may carry with each entry (docs/FORMAT.md, "Reply hashes").
// XXH64 as specified in xxHash's doc/xxhash_spec.md, written here so RewindRESP stays pure Swift;
// tests check it against libxxhash.

/// The hash of the reply a client got for a logged write, so a replay can tell where the engine
/// now answers differently.
///
/// It is XXH64 with seed 0 over the reply's **RESP2** encoding (``RESPEncoder`` with `.resp2`),
/// whatever protocol the client spoke: a RESP3 map is hashed as RESP2's flat array, a double as a
/// bulk string, a null as `$-1`, so RESP2 and RESP3 clients record the same hash for the same reply.
public enum ReplyHash {
    /// XXH64(seed 0) of `reply` encoded as RESP2.
    public static func of(_ reply: RESPValue) -> UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        RESPEncoder.encode(reply, version: .resp2, into: &bytes)
        return bytes.withUnsafeBytes { xxh64($0, seed: 0) }
    }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }

    /// XXH64 of `bytes` (the reference algorithm, little-endian lanes).
    public static func xxh64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        var offset = 0
        func load64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func load32(_ at: Int) -> UInt64 { UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        var hash: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while count - offset >= 32 {
                v1 = round(v1, load64(offset))
                v2 = round(v2, load64(offset + 8))
                v3 = round(v3, load64(offset + 16))
                v4 = round(v4, load64(offset + 24))
                offset += 32
            }
            hash = rotateLeft(v1, 1) &+ rotateLeft(v2, 7) &+ rotateLeft(v3, 12) &+ rotateLeft(v4, 18)
            hash = mergeRound(hash, v1)
            hash = mergeRound(hash, v2)
            hash = mergeRound(hash, v3)
            hash = mergeRound(hash, v4)
        } else {
            hash = seed &+ prime5
        }
        hash = hash &+ UInt64(count)
        while count - offset >= 8 {
            hash ^= round(0, load64(offset))
            hash = rotateLeft(hash, 27) &* prime1 &+ prime4
            offset += 8
        }
        if count - offset >= 4 {
            hash ^= load32(offset) &* prime1
            hash = rotateLeft(hash, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            hash ^= UInt64(bytes[offset]) &* prime5
            hash = rotateLeft(hash, 11) &* prime1
            offset += 1
        }
        hash ^= hash >> 33
        hash = hash &* prime2
        hash ^= hash >> 29
        hash = hash &* prime3
        hash ^= hash >> 32
        return hash
    }
}
