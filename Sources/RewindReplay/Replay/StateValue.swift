// Reading a keyspace's keys and values through the engine's own commands, for digests, blame,
// dumps and the test API. The engine exposes no value accessors, so this is its only view.

import RewindEngine
import RewindRESP

/// The value of one key as a plain value: what TYPE says, its contents, and its expiry time.
public enum StateValue: Hashable, Sendable {
    case string([UInt8])
    case list([[UInt8]])
    /// Members in the engine's order (deterministic, but not sorted).
    case set([[UInt8]])
    /// Field-value pairs in the engine's order.
    case hash([([UInt8], [UInt8])])
    /// Member-score pairs in score order (for when the engine has sorted sets).
    case sortedSet([([UInt8], Double)])

    public static func == (lhs: StateValue, rhs: StateValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.list(a), .list(b)): return a == b
        case let (.set(a), .set(b)): return a == b
        case let (.hash(a), .hash(b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        case let (.sortedSet(a), .sortedSet(b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .string(let bytes): hasher.combine(0); hasher.combine(bytes)
        case .list(let items): hasher.combine(1); hasher.combine(items)
        case .set(let items): hasher.combine(2); hasher.combine(items)
        case .hash(let pairs): hasher.combine(3); for (f, v) in pairs { hasher.combine(f); hasher.combine(v) }
        case .sortedSet(let pairs): hasher.combine(4); for (m, s) in pairs { hasher.combine(m); hasher.combine(s) }
        }
    }

    /// The name TYPE replies with.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .hash: "hash"
        case .sortedSet: "zset"
        }
    }
}

/// A key's value together with its expiry time.
public struct StoredKey: Hashable, Sendable {
    public var key: [UInt8]
    public var value: StateValue
    /// Unix milliseconds at which the key expires, nil without a TTL.
    public var expiresAtMilliseconds: Int64?
}

/// Reads keys and values out of a ``Keyspace`` with read-only commands, in a replaying session so
/// that reading never expires (and so never deletes) a key.
final class StateReader {
    let keyspace: Keyspace
    /// The time reads run at; irrelevant to a replaying session except for TTL replies.
    let nowMilliseconds: Int64

    init(keyspace: Keyspace, nowMilliseconds: Int64 = 0) {
        self.keyspace = keyspace
        self.nowMilliseconds = nowMilliseconds
    }

    private func run(_ arguments: [String], db: Int) -> RESPValue {
        run(arguments.map { Array($0.utf8) }, db: db)
    }

    private func run(_ arguments: [[UInt8]], db: Int) -> RESPValue {
        // A replaying session in `db`: as cheap to make as to look up, and never expires a key.
        var session = ClientSession(databaseIndex: db)
        session.isReplaying = true
        return keyspace.execute(arguments, session: &session, nowMilliseconds: nowMilliseconds).reply
    }

    /// Command names and arguments of the reads, made once.
    private enum Words {
        static let type = Array("TYPE".utf8), get = Array("GET".utf8), lrange = Array("LRANGE".utf8)
        static let smembers = Array("SMEMBERS".utf8), hgetall = Array("HGETALL".utf8), zrange = Array("ZRANGE".utf8)
        static let withscores = Array("WITHSCORES".utf8), pexpiretime = Array("PEXPIRETIME".utf8)
        static let zero = Array("0".utf8), minusOne = Array("-1".utf8)
    }

    /// Every key of `db`, in the engine's (deterministic) order.
    func keys(db: Int) -> [[UInt8]] {
        guard keyspace.keyCount(db: db) > 0 else { return [] }
        guard case .array(let items) = run(["KEYS", "*"], db: db) else { return [] }
        return items.compactMap { if case .bulkString(let key) = $0 { return key } else { return nil } }
    }

    /// The value and expiry of `key` in `db`, nil when the key does not exist.
    func read(_ key: [UInt8], db: Int) -> StoredKey? {
        guard case .simpleString(let type) = run([Words.type, key], db: db) else { return nil }
        let value: StateValue
        switch type {
        case "string":
            guard case .bulkString(let bytes) = run([Words.get, key], db: db) else { return nil }
            value = .string(bytes)
        case "list":
            value = .list(bulkStrings(run([Words.lrange, key, Words.zero, Words.minusOne], db: db)))
        case "set":
            value = .set(bulkStrings(run([Words.smembers, key], db: db)))
        case "hash":
            let flat = bulkStrings(run([Words.hgetall, key], db: db))
            value = .hash(stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) })
        case "zset":
            let reply = run([Words.zrange, key, Words.zero, Words.minusOne, Words.withscores], db: db)
            guard case .array(let items) = reply else { return nil }
            var pairs: [([UInt8], Double)] = []
            var index = 0
            while index + 1 < items.count {
                guard case .bulkString(let member) = items[index] else { return nil }
                switch items[index + 1] {
                case .double(let score): pairs.append((member, score))
                case .bulkString(let text): pairs.append((member, Double(String(decoding: text, as: UTF8.self)) ?? .nan))
                default: return nil
                }
                index += 2
            }
            value = .sortedSet(pairs)
        default:
            return nil
        }
        var expiry: Int64?
        if case .integer(let when) = run([Words.pexpiretime, key], db: db), when >= 0 { expiry = when }
        return StoredKey(key: key, value: value, expiresAtMilliseconds: expiry)
    }

    private func bulkStrings(_ reply: RESPValue) -> [[UInt8]] {
        let items: [RESPValue]
        switch reply {
        case .array(let values), .set(let values): items = values
        case .map(let pairs): items = pairs.flatMap { [$0.key, $0.value] }
        default: return []
        }
        return items.compactMap { if case .bulkString(let bytes) = $0 { return bytes } else { return nil } }
    }
}
