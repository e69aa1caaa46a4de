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
        // Streamed key by key: nothing is collected, so a digest of a large state needs no more
        // memory than the state itself.
        var builder = DatasetDigestBuilder()
        for db in databases.indices where !databases[db].entries.isEmpty {
            builder.beginDatabase(db)
            let entries = databases[db].entries
            for slotIndex in 0..<entries.slotCount {
                guard let slot = entries.slot(at: slotIndex) else { continue }
                var mixer = DigestMixer.forKey(slot.key, type: digestObjectType(slot.value))
                feed(slot.value, into: &mixer)
                builder.addKey(mixer.finish(hasExpiry: expireTime(db: db, slot.key) != nil))
            }
        }
        return builder.digest
    }

    private func digestObjectType(_ value: StoredValue) -> DigestObjectType {
        switch value {
        case .integer, .bytes: return .string
        case .list: return .list
        case .hash: return .hash
        case .set: return .set
        case .sortedSet: return .sortedSet
        }
    }

    /// Feeds a stored value straight from its storage, as Redis's `xorObjectDigest` walks it.
    private func feed(_ value: StoredValue, into mixer: inout DigestMixer) {
        switch value {
        case .integer(let integer): mixer.addString(formatInt64(integer))
        case .bytes(let bytes): mixer.addString(bytes)
        case .list(let list): for item in list.items { mixer.addListElement(item) }
        case .hash(let hash): for slot in hash.fields.occupied { mixer.addHashField(slot.key, value: slot.value) }
        case .set(let set): for slot in set.members.occupied { mixer.addSetMember(slot.key) }
        case .sortedSet(let sortedSet): mixer.addSortedSet(sortedSet.elements)
        }
    }

    /// ``datasetDigest()`` as Redis prints it: 40 lowercase hex digits, all zeros when every
    /// database is empty. For tools comparing a replayed state with a live Redis.
    public func digest() -> String {
        datasetDigest().hexString
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
