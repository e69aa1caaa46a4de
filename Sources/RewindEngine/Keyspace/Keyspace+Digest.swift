// DEBUG DIGEST and DEBUG DIGEST-VALUE over the Digest/ primitives. See redis src/debug.c
// (computeDatasetDigest, xorObjectDigest).

import RewindRESP

extension Keyspace {
    /// A stored value in the digest primitives' terms.
    private func digestValue(_ value: StoredValue) -> DigestValue {
        switch value {
        case .integer, .bytes: return .string(value.stringBytes ?? [])
        case .list(let list): return .list(Array(list.items))
        case .hash(let hash): return .hash(hash.fields.occupied.map { (field: $0.key, value: $0.value) })
        case .set(let set): return .set(set.elements)
        case .sortedSet(let sortedSet): return .sortedSet(sortedSet.elements.elements.map { (member: $0.member, score: $0.score) })
        }
    }

    /// The `DEBUG DIGEST` of the whole keyspace: equal to Redis's for the same data, whatever the
    /// order the keys were written in. Keys that expired but were not yet deleted are included,
    /// as Redis includes them.
    public func datasetDigest() -> RedisDigest {
        let databasesWithKeys = databases.indices.map { db in
            (dbIndex: db, keys: databases[db].entries.occupied.map {
                DigestKeyEntry(key: $0.key, value: digestValue($0.value), expireAtMilliseconds: expireTime(db: db, $0.key))
            })
        }
        return RedisDigest.datasetDigest(databases: databasesWithKeys)
    }

    /// DEBUG DIGEST | DIGEST-VALUE key... (the only DEBUG subcommands the engine has).
    func debugCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.argument(1, is: "DIGEST") && context.argumentCount == 2 {
            return .simpleString(datasetDigest().hexString)
        }
        if context.argument(1, is: "DIGEST-VALUE") {
            var replies: [RESPValue] = []
            for key in context.arguments.dropFirst(2) {
                // Like Redis, DEBUG reads logically expired keys too instead of expiring them.
                guard let value = databases[context.db].entries[key] else {
                    replies.append(.simpleString(RedisDigest.zero.hexString))
                    continue
                }
                let hasExpiry = expireTime(db: context.db, key) != nil
                replies.append(.simpleString(RedisDigest.digestOfValue(digestValue(value), hasExpiry: hasExpiry).hexString))
            }
            return .array(replies)
        }
        let name = ErrorReply.cString(context.arguments[1])
        throw CommandError("ERR unknown subcommand or wrong number of arguments for '\(name)'. Try DEBUG HELP.")
    }
}
