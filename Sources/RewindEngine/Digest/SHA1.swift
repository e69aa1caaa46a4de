// SHA-1 as specified by FIPS 180-4 §6.1. Redis's DEBUG DIGEST is built from SHA-1 (src/sha1.c), so
// Rewind needs the same function to produce digests that compare equal with a live Redis.

import CSHA1

/// A streaming SHA-1 hasher (FIPS 180-4).
///
/// SHA-1 is not used here for security: it is the hash that Redis's `DEBUG DIGEST` mixes, and a
/// state digest is only useful if it is bit-identical to Redis's. A digest of a data set hashes
/// every key, field and member several times, mostly inputs shorter than one block, so
/// ``words(of:)`` hashes a contiguous buffer in one call with no heap allocation; the streaming
/// form is for long or scattered inputs.
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
    struct Words: Hashable, Sendable {
        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xEFCD_AB89
        var h2: UInt32 = 0x98BA_DCFE
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xC3D2_E1F0

        /// The digest bytes: H0 first, each word big-endian.
        var bytes: [UInt8] {
            var digest: [UInt8] = []
            digest.reserveCapacity(20)
            for word in [h0, h1, h2, h3, h4] {
                digest.append(UInt8(truncatingIfNeeded: word >> 24))
                digest.append(UInt8(truncatingIfNeeded: word >> 16))
                digest.append(UInt8(truncatingIfNeeded: word >> 8))
                digest.append(UInt8(truncatingIfNeeded: word))
            }
            return digest
        }
    }

    private var state = Words()
    /// Bytes waiting for a full 64-byte block.
    private var pending: [UInt8] = []
    /// Total bytes hashed so far; the padding encodes it in bits, so it must be exact.
    private var messageByteCount: UInt64 = 0

    /// Creates a hasher in the FIPS 180-4 initial state.
    public init() {}

    /// Hashes `bytes` in one call.
    ///
    /// - Returns: the 20-byte digest.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        if let words = bytes.withContiguousStorageIfAvailable({ words(of: UnsafeRawBufferPointer($0)) }) {
            return words.bytes
        }
        return Array(bytes).withUnsafeBytes { words(of: $0) }.bytes
    }

    /// Hashes a contiguous message in one call, without allocating (padding in C: CSHA1).
    static func words(of message: UnsafeRawBufferPointer) -> Words {
        var words = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &words) { output in
            rewind_sha1_message(message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count,
                                output.baseAddress!.assumingMemoryBound(to: UInt32.self))
        }
        return Words(h0: words.0, h1: words.1, h2: words.2, h3: words.3, h4: words.4)
    }

    /// Pads the last partial block (fewer than 64 bytes) with the message length and compresses
    /// the one or two blocks that makes.
    private static func finish(_ state: inout Words, tail: UnsafeRawBufferPointer, messageByteCount: UInt64) {
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { buffer in
            let rest = tail.count
            if rest > 0 { buffer.baseAddress!.copyMemory(from: tail.baseAddress!, byteCount: rest) }
            buffer[rest] = 0x80
            let end = rest < 56 ? 64 : 128
            for index in (rest + 1)..<(end - 8) { buffer[index] = 0 }
            buffer.storeBytes(of: (messageByteCount &* 8).bigEndian, toByteOffset: end - 8, as: UInt64.self)
            compress(&state, block: UnsafeRawPointer(buffer.baseAddress!))
            if end == 128 { compress(&state, block: UnsafeRawPointer(buffer.baseAddress! + 64)) }
        }
    }

    /// Appends `bytes` to the message.
    ///
    /// - Complexity: O(n) in the number of bytes.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(contiguous: UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            Array(bytes).withUnsafeBytes { update(contiguous: $0) }
        }
    }

    /// Hashes contiguous bytes: whole 64-byte blocks straight from the input, the rest buffered.
    private mutating func update(contiguous buffer: UnsafeRawBufferPointer) {
        messageByteCount &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let taken = Swift.min(64 - pending.count, buffer.count)
            pending.append(contentsOf: buffer[0..<taken])
            offset = taken
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { Self.compress(&state, block: $0.baseAddress!) }
            pending.removeAll(keepingCapacity: true)
        }
        while buffer.count - offset >= 64 {
            Self.compress(&state, block: buffer.baseAddress! + offset)
            offset += 64
        }
        pending.append(contentsOf: buffer[offset...])
    }

    /// Pads the message and returns the digest. The hasher must not be used afterwards.
    ///
    /// - Returns: the 20-byte digest, H0 first, each word big-endian.
    public mutating func finalize() -> [UInt8] {
        pending.withUnsafeBytes { Self.finish(&state, tail: $0, messageByteCount: messageByteCount) }
        pending.removeAll()
        return state.bytes
    }

    /// Runs the compression function over `count` 64-byte blocks (CSHA1: the x86 SHA
    /// extensions where the CPU has them, portable C otherwise).
    @inline(__always)
    private static func compress(_ state: inout Words, block: UnsafeRawPointer, count: Int = 1) {
        var words = (state.h0, state.h1, state.h2, state.h3, state.h4)
        withUnsafeMutablePointer(to: &words) { tuple in
            tuple.withMemoryRebound(to: UInt32.self, capacity: 5) { pointer in
                rewind_sha1_compress(pointer, block.assumingMemoryBound(to: UInt8.self), count)
            }
        }
        state = Words(h0: words.0, h1: words.1, h2: words.2, h3: words.3, h4: words.4)
    }

    /// Whether digests use the CPU's SHA instructions.
    static var usesHardware: Bool { rewind_sha1_hardware_available() != 0 }
}
