// The dataset digest of Redis 7.0's DEBUG DIGEST (redis src/debug.c, computeDatasetDigest),
// computed from what the engine's read commands return. Checked against redis-server in tests.

import CFormat
import Foundation
import RewindEngine

/// Computes the 40-hex-digit digest `DEBUG DIGEST` prints for the same data in redis-server 7.0.
///
/// ``digest(of:)`` is the engine's own `datasetDigest()`, computed over its storage.
/// ``digestThroughCommands(of:)`` is an independent implementation that sees the state only as a
/// client does: it reads every key through ``StateReader`` (KEYS, TYPE, GET/LRANGE/SMEMBERS/
/// HGETALL/ZRANGE, PEXPIRETIME) and mixes it the way Redis does: per key,
/// SHA-1 chains over the key, its type and its contents (order-independent XOR for set members
/// and hash fields), a marker when it has a TTL; keys XORed together; each non-empty database's
/// index mixed in before its keys. An empty data set digests to forty zeros, as in Redis.
public enum StateDigest {
    /// The DEBUG DIGEST of every database of `keyspace`, as lowercase hex (the engine's own).
    public static func digest(of keyspace: Keyspace) -> String {
        keyspace.datasetDigest().hexString
    }

    /// The DEBUG DIGEST computed from what the engine's read commands return; tests check that it
    /// equals ``digest(of:)``, so the engine's digest and its replies cannot drift apart.
    public static func digestThroughCommands(of keyspace: Keyspace) -> String {
        let reader = StateReader(keyspace: keyspace)
        var final = [UInt8](repeating: 0, count: 20)
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            let index = UInt32(db).bigEndian
            withUnsafeBytes(of: index) { mix(&final, Array($0)) }
            for key in reader.keys(db: db) {
                guard let stored = reader.read(key, db: db) else { continue }
                xorDigest(&final, keyDigest(stored))
            }
        }
        return final.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The digest of one key and its value (Redis `xorObjectDigest` plus the key).
    static func keyDigest(_ stored: StoredKey) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        mix(&digest, stored.key)
        let type: UInt32
        switch stored.value {
        case .string: type = 0
        case .list: type = 1
        case .set: type = 2
        case .sortedSet: type = 3
        case .hash: type = 4
        }
        withUnsafeBytes(of: type.bigEndian) { mix(&digest, Array($0)) }
        switch stored.value {
        case .string(let bytes):
            mix(&digest, bytes)
        case .list(let items):
            for item in items { mix(&digest, item) }
        case .set(let members):
            for member in members { xorDigest(&digest, member) }
        case .hash(let pairs):
            for (field, value) in pairs {
                var element = [UInt8](repeating: 0, count: 20)
                mix(&element, field)
                mix(&element, value)
                xorDigest(&digest, element)
            }
        case .sortedSet(let pairs):
            for (member, score) in pairs {
                var element = [UInt8](repeating: 0, count: 20)
                mix(&element, member)
                mix(&element, Array(formatG17(score).utf8))
                xorDigest(&digest, element)
            }
        }
        if stored.expiresAtMilliseconds != nil { xorDigest(&digest, Array("!!expire!!".utf8)) }
        return digest
    }

    /// Redis `mixDigest`: XOR in SHA1(bytes), then replace the digest by its own SHA-1, so the
    /// order of mixed values matters.
    static func mix(_ digest: inout [UInt8], _ bytes: [UInt8]) {
        xorDigest(&digest, bytes)
        digest = SHA1.hash(digest)
    }

    /// Redis `xorDigest`: digest ^= SHA1(bytes), so the order of XORed values does not matter.
    static func xorDigest(_ digest: inout [UInt8], _ bytes: [UInt8]) {
        let hash = SHA1.hash(bytes)
        for index in 0..<20 { digest[index] ^= hash[index] }
    }

    /// `%.17g`, as Redis formats a sorted-set score for the digest.
    static func formatG17(_ value: Double) -> String {
        String(decoding: formatG17Bytes(value), as: UTF8.self)
    }

    /// `%.17g` as bytes, through the same C shim as the engine's replies (Foundation's
    /// `String(format:)` and `withVaList` are far slower, and a digest formats every score).
    static func formatG17Bytes(_ value: Double) -> [UInt8] {
        if value.isInfinite { return Array((value > 0 ? "inf" : "-inf").utf8) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let length = Int(rewind_format_double_17g(value, buffer.baseAddress, 64))
            return UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(0, min(length, 63))).map { $0 }
        }
    }
}
