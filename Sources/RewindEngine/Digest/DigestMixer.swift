// The digest arithmetic of Redis's DEBUG DIGEST and DEBUG DIGEST-VALUE (redis 7.0 src/debug.c:
// xorDigest, mixDigest, xorObjectDigest, computeDatasetDigest), rebuilt so that a Rewind state
// and a live Redis can be compared by one 40-digit hex string.

import CSHA1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A 20-byte Redis state digest and the two operations Redis builds every digest from.
///
/// Redis combines SHA-1 hashes in two ways, and which one it uses decides what the digest is
/// sensitive to:
/// - ``xor(hashOf:)`` (`xorDigest`) XORs SHA1(data) into the digest. XOR commutes, so it is used
///   where Redis's own order is hash order: set members, hash fields, sorted-set members, and keys
///   within a database. The digest is then independent of iteration order and of encoding.
/// - ``mix(_:)`` (`mixDigest`) first XORs SHA1(data) in, then replaces the digest with
///   SHA1(digest). It does not commute, so it is used where order matters: list elements, the
///   key before its value, the value type, the database index.
///
/// An all-zero digest is what Redis prints for an empty dataset and for a missing key.
public struct RedisDigest: Hashable, Sendable, CustomStringConvertible {
    /// The digest as five big-endian words: byte 0 is the top byte of `words.h0`.
    private var words: SHA1.Words

    /// The 20 digest bytes, in the order Redis prints them.
    public var bytes: [UInt8] { words.bytes }

    /// The all-zero digest: an empty dataset, a missing key, and the start of every computation.
    public static var zero: RedisDigest { RedisDigest() }

    /// Creates the all-zero digest.
    public init() {
        words = SHA1.Words(h0: 0, h1: 0, h2: 0, h3: 0, h4: 0)
    }

    /// Creates a digest from its five words (``DigestBatch``).
    init(words: SHA1.Words) {
        self.words = words
    }

    /// Creates a digest from 20 bytes; returns nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA1.digestByteCount else { return nil }
        func word(_ index: Int) -> UInt32 {
            UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
        }
        words = SHA1.Words(h0: word(0), h1: word(4), h2: word(8), h3: word(12), h4: word(16))
    }

    /// True when every byte is zero, as for an empty dataset.
    public var isZero: Bool { self == .zero }

    /// The 40 lowercase hex digits Redis replies with.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hexString }

    /// XORs SHA1(`data`) into the digest (Redis `xorDigest`).
    public mutating func xor<Bytes: Sequence>(hashOf data: Bytes) where Bytes.Element == UInt8 {
        if let hashed = data.withContiguousStorageIfAvailable({ SHA1.words(of: UnsafeRawBufferPointer($0)) }) {
            xor(words: hashed)
        } else {
            xor(words: Array(data).withUnsafeBytes { SHA1.words(of: $0) })
        }
    }

    /// XORs SHA1 of contiguous bytes into the digest, without allocating.
    mutating func xor(hashOfBytes data: UnsafeRawBufferPointer) {
        xor(words: SHA1.words(of: data))
    }

    private mutating func xor(words other: SHA1.Words) {
        words.h0 ^= other.h0
        words.h1 ^= other.h1
        words.h2 ^= other.h2
        words.h3 ^= other.h3
        words.h4 ^= other.h4
    }

    /// SHA1 of the digest's own 20 bytes.
    private var hashOfSelf: SHA1.Words {
        var input = (words.h0, words.h1, words.h2, words.h3, words.h4)
        var output = input
        withUnsafeBytes(of: &input) { input in
            withUnsafeMutableBytes(of: &output) { output in
                rewind_digest_rehash(input.baseAddress!.assumingMemoryBound(to: UInt32.self),
                                     output.baseAddress!.assumingMemoryBound(to: UInt32.self))
            }
        }
        return SHA1.Words(h0: output.0, h1: output.1, h2: output.2, h3: output.3, h4: output.4)
    }

    /// XORs SHA1(`data`) in, then replaces the digest with SHA1(digest) (Redis `mixDigest`).
    public mutating func mix<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 {
        xor(hashOf: data)
        words = hashOfSelf
    }

    /// ``mix(_:)`` for contiguous bytes, without allocating.
    mutating func mix(bytes data: UnsafeRawBufferPointer) {
        xor(hashOfBytes: data)
        words = hashOfSelf
    }

    /// XORs SHA1 of another digest's 20 bytes in (Redis `xorDigest(digest, other, 20)`), the way
    /// Redis folds an element digest into a value digest and a key digest into the dataset digest.
    public mutating func xor(hashOfDigest other: RedisDigest) {
        xor(words: other.hashOfSelf)
    }

    /// Mixes a 32-bit integer as Redis does with `htonl(x)`: four bytes, big-endian.
    public mutating func mix(bigEndian value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { mix(bytes: $0) }
    }
}

/// The Redis object types as numbered in `server.h` (`OBJ_STRING` ...), the number Redis mixes
/// into every value digest. A HyperLogLog is a ``string``.
public enum DigestObjectType: UInt32, Sendable, CaseIterable {
    case string = 0
    case list = 1
    case set = 2
    case sortedSet = 3
    case hash = 4
}

/// Builds the digest of one value, exactly as Redis's `xorObjectDigest` does.
///
/// Feed it one value: call the `add…` methods matching the ``DigestObjectType`` it was created
/// with, then ``finish(hasExpiry:)``. Start from ``forKey(_:type:)`` when computing the dataset
/// digest (Redis mixes the key in first) or from ``forValue(type:)`` for `DEBUG DIGEST-VALUE`.
///
/// ```swift
/// var value = DigestMixer.forValue(type: .list)
/// for item in items { value.addListElement(item) }
/// let digest = value.finish(hasExpiry: false)
/// ```
///
/// Order matters only for lists (and the single string); set members, hash fields and sorted-set
/// members may be fed in any order, because Redis XORs them.
public struct DigestMixer: Sendable {
    /// The digest being built.
    public private(set) var digest: RedisDigest
    /// The type this value was declared as; the `add…` methods assert it.
    public let type: DigestObjectType

    /// Starts the digest of `key`'s value for the dataset digest: mix(key), then mix(type).
    public static func forKey<Key: Sequence>(_ key: Key, type: DigestObjectType) -> DigestMixer
    where Key.Element == UInt8 {
        var digest = RedisDigest.zero
        digest.mix(key)
        return DigestMixer(startingWith: digest, type: type)
    }

    /// Starts a `DEBUG DIGEST-VALUE` digest: the key is not mixed in.
    public static func forValue(type: DigestObjectType) -> DigestMixer {
        DigestMixer(startingWith: .zero, type: type)
    }

    private init(startingWith digest: RedisDigest, type: DigestObjectType) {
        self.digest = digest
        self.type = type
        self.digest.mix(bigEndian: type.rawValue)
    }

    /// Adds a string value. Redis digests integer-encoded strings by their decimal text, so pass
    /// the text form.
    public mutating func addString<Bytes: Sequence>(_ value: Bytes) where Bytes.Element == UInt8 {
        assert(type == .string)
        digest.mix(value)
    }

    /// Adds the next list element, head to tail.
    public mutating func addListElement<Bytes: Sequence>(_ element: Bytes) where Bytes.Element == UInt8 {
        assert(type == .list)
        digest.mix(element)
    }

    /// Adds one set member; order does not matter.
    public mutating func addSetMember<Bytes: Sequence>(_ member: Bytes) where Bytes.Element == UInt8 {
        assert(type == .set)
        digest.xor(hashOf: member)
    }

    /// Adds one hash field and its value; order does not matter.
    public mutating func addHashField<Field: Sequence, Value: Sequence>(_ field: Field, value: Value)
    where Field.Element == UInt8, Value.Element == UInt8 {
        assert(type == .hash)
        var element = RedisDigest.zero
        element.mix(field)
        element.mix(value)
        digest.xor(hashOfDigest: element)
    }

    /// Adds one sorted-set member and its score; order does not matter.
    ///
    /// The score is formatted with `%.17g`, as Redis 7.0 does for both encodings. This is why a
    /// `-0` score in a skiplist-encoded set digests differently from the `0` a listpack stores.
    public mutating func addSortedSetMember<Bytes: Sequence>(_ member: Bytes, score: Double)
    where Bytes.Element == UInt8 {
        assert(type == .sortedSet)
        var element = RedisDigest.zero
        element.mix(member)
        element.mix(DigestMixer.formatPercent17g(score))
        digest.xor(hashOfDigest: element)
    }

    private static let expireMarker = Array("!!expire!!".utf8)

    /// Finishes the value: Redis XORs in the constant `"!!expire!!"` when the key has any TTL.
    /// The expiry time itself is not part of the digest.
    public func finish(hasExpiry: Bool) -> RedisDigest {
        var result = digest
        if hasExpiry {
            result.xor(hashOf: DigestMixer.expireMarker)
        }
        return result
    }
}

/// Folds per-key digests into the `DEBUG DIGEST` of a whole dataset (Redis `computeDatasetDigest`).
///
/// Call ``beginDatabase(_:)`` once per non-empty database, in increasing index order, then
/// ``addKey(_:)`` for each of its keys in any order. Empty databases must be skipped: Redis mixes
/// the index only of databases that hold keys.
public struct DatasetDigestBuilder: Sendable {
    /// The digest so far; zero for an empty dataset.
    public private(set) var digest = RedisDigest.zero

    public init() {}

    /// Mixes in a database index, as Redis does before the keys of every non-empty database.
    public mutating func beginDatabase(_ dbIndex: Int) {
        digest.mix(bigEndian: UInt32(truncatingIfNeeded: dbIndex))
    }

    /// XORs in one key's digest, built with ``DigestMixer/forKey(_:type:)``.
    public mutating func addKey(_ keyDigest: RedisDigest) {
        digest.xor(hashOfDigest: keyDigest)
    }
}

extension DigestMixer {
    /// Formats `value` with C's `%.17g`, the text Redis 7.0 hashes for a sorted-set score.
    ///
    /// `%.17g` is what makes every double round-trip, and it keeps the sign of `-0` and prints
    /// `inf` / `-inf`; a Swift `description` would print `0.1` where Redis prints
    /// `0.10000000000000001`, so the C formatter is used directly.
    static func formatPercent17g(_ value: Double) -> [UInt8] { formatDouble17g(value) }
}
