// SHA-1 as specified by FIPS 180-4 §6.1. Redis's DEBUG DIGEST is built from SHA-1 (src/sha1.c), so
// Rewind needs the same function to produce digests that compare equal with a live Redis.

/// A streaming SHA-1 hasher (FIPS 180-4).
///
/// SHA-1 is not used here for security: it is the hash that Redis's `DEBUG DIGEST` mixes, and a
/// state digest is only useful if it is bit-identical to Redis's. The hasher is a value type with
/// no heap storage beyond a 64-byte block buffer, so it is cheap to create per key.
///
/// ```swift
/// var hasher = SHA1()
/// hasher.update(Array("abc".utf8))
/// let digest = hasher.finalize()  // a9993e36 4706816a ...
/// ```
public struct SHA1: Sendable {
    /// The number of bytes in a SHA-1 digest.
    public static let digestByteCount = 20

    /// The five chaining words, H0...H4 in FIPS 180-4 notation.
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    /// Bytes waiting for a full 64-byte block.
    private var pending: [UInt8] = []
    /// Total bytes hashed so far; the padding encodes it in bits, so it must be exact.
    private var messageByteCount: UInt64 = 0

    /// Creates a hasher in the FIPS 180-4 initial state.
    public init() {
        pending.reserveCapacity(64)
    }

    /// Hashes `bytes` in one call.
    ///
    /// - Returns: the 20-byte digest.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA1()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Appends `bytes` to the message.
    ///
    /// - Complexity: O(n) in the number of bytes.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(contiguous: UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            update(contiguous: Array(bytes))
        }
    }

    /// Hashes contiguous bytes: whole 64-byte blocks straight from the input, the rest buffered.
    private mutating func update(contiguous bytes: [UInt8]) {
        bytes.withUnsafeBytes { update(contiguous: $0) }
    }

    private mutating func update(contiguous buffer: UnsafeRawBufferPointer) {
        messageByteCount &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let taken = Swift.min(64 - pending.count, buffer.count)
            pending.append(contentsOf: buffer[0..<taken])
            offset = taken
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { compress(block: $0) }
            pending.removeAll(keepingCapacity: true)
        }
        while buffer.count - offset >= 64 {
            compress(block: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + 64)]))
            offset += 64
        }
        pending.append(contentsOf: buffer[offset...])
    }

    /// Pads the message and returns the digest. The hasher must not be used afterwards.
    ///
    /// - Returns: the 20-byte digest, H0 first, each word big-endian.
    public mutating func finalize() -> [UInt8] {
        let messageBitCount = messageByteCount &* 8
        pending.append(0x80)
        if pending.count > 56 {
            while pending.count < 64 { pending.append(0) }
            pending.withUnsafeBytes { compress(block: $0) }
            pending.removeAll(keepingCapacity: true)
        }
        while pending.count < 56 { pending.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) {
            pending.append(UInt8(truncatingIfNeeded: messageBitCount >> UInt64(shift)))
        }
        pending.withUnsafeBytes { compress(block: $0) }
        pending.removeAll(keepingCapacity: true)
        var digest: [UInt8] = []
        digest.reserveCapacity(SHA1.digestByteCount)
        for word in [state.0, state.1, state.2, state.3, state.4] {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return digest
    }

    /// Runs the 80-round compression function over one 64-byte block.
    private mutating func compress(block: UnsafeRawBufferPointer) {
        assert(block.count == 64)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { schedule in
            for wordIndex in 0..<16 {
                let base = wordIndex * 4
                schedule[wordIndex] =
                    UInt32(block[base]) << 24 | UInt32(block[base + 1]) << 16
                    | UInt32(block[base + 2]) << 8 | UInt32(block[base + 3])
            }
            for wordIndex in 16..<80 {
                let mixed =
                    schedule[wordIndex - 3] ^ schedule[wordIndex - 8] ^ schedule[wordIndex - 14]
                    ^ schedule[wordIndex - 16]
                schedule[wordIndex] = mixed.rotatedLeft(by: 1)
            }
            var (a, b, c, d, e) = state
            for round in 0..<80 {
                let f: UInt32
                let k: UInt32
                switch round {
                case 0..<20:
                    f = (b & c) | (~b & d)
                    k = 0x5A82_7999
                case 20..<40:
                    f = b ^ c ^ d
                    k = 0x6ED9_EBA1
                case 40..<60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1B_BCDC
                default:
                    f = b ^ c ^ d
                    k = 0xCA62_C1D6
                }
                let temporary = a.rotatedLeft(by: 5) &+ f &+ e &+ k &+ schedule[round]
                e = d
                d = c
                c = b.rotatedLeft(by: 30)
                b = a
                a = temporary
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
        }
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotatedLeft(by bitCount: UInt32) -> UInt32 {
        (self << bitCount) | (self >> (32 - bitCount))
    }
}
