// Convenience entry points over DigestMixer for callers holding plain Swift values. They compute
// the same digests as Redis 7.0's DEBUG DIGEST-VALUE and DEBUG DIGEST (src/debug.c).

/// A value described by plain Swift collections, for ``RedisDigest/datasetDigest(databases:)``.
///
/// Strings stored as integers must be given as their decimal text: Redis digests the decoded
/// form. A HyperLogLog is a ``string`` holding its serialized bytes.
public enum DigestValue: Sendable {
    case string([UInt8])
    /// List elements, head to tail.
    case list([[UInt8]])
    /// Set members, any order.
    case set([[UInt8]])
    /// Hash fields and values, any order.
    case hash([(field: [UInt8], value: [UInt8])])
    /// Sorted-set members and scores, any order. Scores are digested with `%.17g`, so a `-0`
    /// digests differently from `0`: pass what the set stores (see ``SortedSet``).
    case sortedSet([(member: [UInt8], score: Double)])

    var objectType: DigestObjectType {
        switch self {
        case .string: .string
        case .list: .list
        case .set: .set
        case .hash: .hash
        case .sortedSet: .sortedSet
        }
    }

    /// Feeds this value into `mixer`, which must have been created for ``objectType``.
    func feed(into mixer: inout DigestMixer) {
        switch self {
        case .string(let bytes): mixer.addString(bytes)
        case .list(let items): for item in items { mixer.addListElement(item) }
        case .set(let members): for member in members { mixer.addSetMember(member) }
        case .hash(let pairs): for pair in pairs { mixer.addHashField(pair.field, value: pair.value) }
        case .sortedSet(let pairs):
            for pair in pairs { mixer.addSortedSetMember(pair.member, score: pair.score) }
        }
    }
}

/// One key of a dataset given to ``RedisDigest/datasetDigest(databases:)``.
public struct DigestKeyEntry: Sendable {
    public var key: [UInt8]
    public var value: DigestValue
    /// The absolute expiry, if any. Only its presence reaches the digest, as in Redis.
    public var expireAtMilliseconds: Int64?

    public init(key: [UInt8], value: DigestValue, expireAtMilliseconds: Int64? = nil) {
        self.key = key
        self.value = value
        self.expireAtMilliseconds = expireAtMilliseconds
    }
}

extension RedisDigest {
    /// The `DEBUG DIGEST-VALUE` of a value (the key is not mixed in).
    public static func digestOfValue(_ value: DigestValue, hasExpiry: Bool = false) -> RedisDigest {
        var mixer = DigestMixer.forValue(type: value.objectType)
        value.feed(into: &mixer)
        return mixer.finish(hasExpiry: hasExpiry)
    }

    /// The `DEBUG DIGEST-VALUE` of a string value.
    public static func digestOfString(_ bytes: [UInt8], hasExpiry: Bool = false) -> RedisDigest {
        digestOfValue(.string(bytes), hasExpiry: hasExpiry)
    }

    /// The `DEBUG DIGEST-VALUE` of a list, elements head to tail.
    public static func digestOfList(_ items: [[UInt8]], hasExpiry: Bool = false) -> RedisDigest {
        digestOfValue(.list(items), hasExpiry: hasExpiry)
    }

    /// The `DEBUG DIGEST-VALUE` of a set.
    public static func digestOfSet(_ members: [[UInt8]], hasExpiry: Bool = false) -> RedisDigest {
        digestOfValue(.set(members), hasExpiry: hasExpiry)
    }

    /// The `DEBUG DIGEST-VALUE` of a hash.
    public static func digestOfHash(_ pairs: [(field: [UInt8], value: [UInt8])], hasExpiry: Bool = false)
        -> RedisDigest
    {
        digestOfValue(.hash(pairs), hasExpiry: hasExpiry)
    }

    /// The `DEBUG DIGEST-VALUE` of a sorted set.
    public static func digestOfSortedSet(_ pairs: [(member: [UInt8], score: Double)], hasExpiry: Bool = false)
        -> RedisDigest
    {
        digestOfValue(.sortedSet(pairs), hasExpiry: hasExpiry)
    }

    /// The per-key digest that `DEBUG DIGEST` folds in: mix(key), then the value, then the
    /// expiry marker.
    public static func digestOfKey(_ entry: DigestKeyEntry) -> RedisDigest {
        var mixer = DigestMixer.forKey(entry.key, type: entry.value.objectType)
        entry.value.feed(into: &mixer)
        return mixer.finish(hasExpiry: entry.expireAtMilliseconds != nil)
    }

    /// The `DEBUG DIGEST` of a whole dataset.
    ///
    /// Databases may be given in any order and empty ones are skipped, as Redis skips them; the
    /// same index given twice is merged, as its keys belong to one database.
    ///
    /// - Parameter databases: each database index with its keys, in any order.
    /// - Returns: the digest; ``RedisDigest/zero`` when there are no keys.
    public static func datasetDigest(databases: [(dbIndex: Int, keys: [DigestKeyEntry])]) -> RedisDigest {
        var keysByIndex: [Int: [DigestKeyEntry]] = [:]
        for database in databases {
            keysByIndex[database.dbIndex, default: []].append(contentsOf: database.keys)
        }
        var builder = DatasetDigestBuilder()
        // Sorted, because Redis walks databases 0, 1, 2, ... and mixDigest does not commute.
        for dbIndex in keysByIndex.keys.sorted() {
            guard let keys = keysByIndex[dbIndex], !keys.isEmpty else { continue }
            builder.beginDatabase(dbIndex)
            for entry in keys {
                builder.addKey(digestOfKey(entry))
            }
        }
        return builder.digest
    }
}

extension DigestMixer {
    /// Adds every member of a sorted set with the score it stores, which is what Redis digests:
    /// a compact set has already turned `-0` into `0`, as a listpack does.
    public mutating func addSortedSet(_ set: SortedSet) {
        for element in set.elements { addSortedSetMember(element.member, score: element.score) }
    }
}
