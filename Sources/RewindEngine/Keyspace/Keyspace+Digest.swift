// The dataset digest and DEBUG. See redis src/debug.c (xorObjectDigest, computeDatasetDigest,
// debugCommand); the digest arithmetic is Digest/DigestMixer.swift.

import RewindRESP

extension Keyspace {
    /// Redis's `DEBUG DIGEST` of the whole keyspace: 40 lowercase hex digits, all zeros when
    /// every database is empty. Keys that expired but were not deleted yet are included, as Redis
    /// includes them. Use it to compare a replayed state with the original or with a live Redis.
    public func digest() -> String {
        datasetDigest().hexString
    }

    /// The digest of every non-empty database, in index order (Redis `computeDatasetDigest`).
    func datasetDigest() -> RedisDigest {
        var builder = DatasetDigestBuilder()
        for db in databases.indices where !databases[db].entries.isEmpty {
            builder.beginDatabase(db)
            for slot in databases[db].entries.occupied {
                var mixer = DigestMixer.forKey(slot.key, type: Self.digestType(of: slot.value))
                Self.feed(slot.value, into: &mixer)
                builder.addKey(mixer.finish(hasExpiry: expireTime(db: db, slot.key) != nil))
            }
        }
        return builder.digest
    }

    /// `DEBUG DIGEST-VALUE` of one key: zero when the key does not exist. Like Redis, it reads
    /// the key without expiring it.
    func valueDigest(db: Int, _ key: [UInt8]) -> RedisDigest {
        guard let value = databases[db].entries[key] else { return .zero }
        var mixer = DigestMixer.forValue(type: Self.digestType(of: value))
        Self.feed(value, into: &mixer)
        return mixer.finish(hasExpiry: expireTime(db: db, key) != nil)
    }

    private static func digestType(of value: StoredValue) -> DigestObjectType {
        switch value {
        case .integer, .bytes: return .string
        case .list: return .list
        case .set: return .set
        case .sortedSet: return .sortedSet
        case .hash: return .hash
        }
    }

    private static func feed(_ value: StoredValue, into mixer: inout DigestMixer) {
        switch value {
        case .integer(let integer): mixer.addString(formatInt64(integer))
        case .bytes(let bytes): mixer.addString(bytes)
        case .list(let list): for item in list.items { mixer.addListElement(item) }
        case .set(let set): for slot in set.members.occupied { mixer.addSetMember(slot.key) }
        case .hash(let hash): for slot in hash.fields.occupied { mixer.addHashField(slot.key, value: slot.value) }
        case .sortedSet(let sortedSet): mixer.addSortedSet(sortedSet.members)
        }
    }

    /// DEBUG DIGEST | DIGEST-VALUE key [key ...]. Other DEBUG subcommands are not implemented
    /// and get Redis's unknown-subcommand reply.
    func debugCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let subcommand = context.arguments[1]
        if argumentEquals(subcommand, "DIGEST") && context.argumentCount == 2 {
            return .simpleString(digest())
        }
        if argumentEquals(subcommand, "DIGEST-VALUE") {
            return .array(context.arguments.dropFirst(2).map { .simpleString(valueDigest(db: context.db, $0).hexString) })
        }
        throw ErrorReply.unknownSubcommand(subcommand, container: "DEBUG")
    }
}
