// DEBUG DIGEST and DEBUG DIGEST-VALUE over the Digest/ primitives. See redis src/debug.c
// (computeDatasetDigest, xorObjectDigest).

import CSHA1
import RewindRESP

extension Keyspace {
    /// The `DEBUG DIGEST` of the whole keyspace: equal to Redis's for the same data, whatever the
    /// order the keys were written in. Keys that expired but were not yet deleted are included,
    /// as Redis includes them.
    ///
    /// Keys are read straight from storage into a ``DigestBatch`` (a few hundred KiB, reused),
    /// which computes hundreds of keys' digests at a time, four SHA-1s side by side; a value too
    /// big for one batch is split over several. So a digest of a large state needs no memory in
    /// proportion to it.
    public func datasetDigest() -> RedisDigest {
        let batch = DigestBatch()
        for db in databases.indices where !databases[db].entries.isEmpty {
            batch.beginDatabase(db)
            let entries = databases[db].entries
            let expires = databases[db].expires
            for slotIndex in 0..<entries.slotCount {
                guard let slot = entries.slot(at: slotIndex) else { continue }
                let hasExpiry = !expires.isEmpty && expires[slot.key] != nil
                addDigest(of: slot.key, slot.value, hasExpiry: hasExpiry, to: batch)
            }
        }
        batch.flush()
        return batch.digest
    }

    /// Adds one key's messages and tasks to `batch` (Redis `xorObjectDigest` plus the key).
    private func addDigest(of key: [UInt8], _ value: StoredValue, hasExpiry: Bool, to batch: DigestBatch) {
        let finishes = UInt32(REWIND_DIGEST_FINISHES) | (hasExpiry ? UInt32(REWIND_DIGEST_EXPIRES) : 0)
        let starts = UInt32(REWIND_DIGEST_STARTS)
        let type = digestObjectType(value).rawValue << UInt32(REWIND_DIGEST_TYPE_SHIFT)
        let keyBytes = DigestBatch.copiedByteCount(key.count)
        switch value {
        case .integer(let integer):
            if !batch.hasRoom(messages: 2, bytes: keyBytes + DigestBatch.numberByteCountMax) { batch.flush() }
            let index = batch.newKey()
            let first = batch.add(key)
            batch.addDecimal(integer)
            batch.chain(key: index, first: first, flags: starts | finishes | type)
        case .bytes(let bytes):
            if !batch.hasRoom(messages: 2, bytes: keyBytes + DigestBatch.copiedByteCount(bytes.count)) { batch.flush() }
            let index = batch.newKey()
            let first = batch.add(key)
            batch.add(bytes)
            batch.chain(key: index, first: first, flags: starts | finishes | type)
        case .list(let list):
            // mix(key), mix(type), then each element in order: one chain, carried over batches.
            if !batch.hasRoom(messages: 1, bytes: keyBytes) { batch.flush() }
            var index = batch.newKey()
            var first = batch.add(key)
            var chainFlags = starts | type
            list.items.forEachElementBytes { element in
                if !batch.hasRoom(messages: 1, bytes: DigestBatch.copiedByteCount(element.count)) {
                    batch.chain(key: index, first: first, flags: chainFlags)
                    index = batch.flush(carrying: index)
                    first = UInt32(batch.messageCount)
                    chainFlags = type
                }
                batch.add(element)
            }
            batch.chain(key: index, first: first, flags: chainFlags | finishes)
        case .set(let set):
            // Members are XORed, in any order; the key's chain comes after them.
            if !batch.hasRoom(messages: 1, bytes: keyBytes) { batch.flush() }
            var index = batch.newKey()
            var first = UInt32(batch.messageCount)
            let members = set.members
            for slotIndex in 0..<members.slotCount {
                guard let member = members.key(at: slotIndex) else { continue }
                if !batch.hasRoom(messages: 1, bytes: DigestBatch.copiedByteCount(member.count)) {
                    batch.xor(key: index, first: first)
                    index = batch.flush(carrying: index)
                    first = UInt32(batch.messageCount)
                }
                batch.add(member)
            }
            batch.xor(key: index, first: first)
            finishAggregate(key, index: index, flags: starts | finishes | type, in: batch)
        case .hash(let hash):
            if !batch.hasRoom(messages: 1, bytes: keyBytes) { batch.flush() }
            var index = batch.newKey()
            let fields = hash.fields
            for slotIndex in 0..<fields.slotCount {
                guard let field = fields.slot(at: slotIndex) else { continue }
                let copied = DigestBatch.copiedByteCount(field.key.count) + DigestBatch.copiedByteCount(field.value.count)
                if !batch.hasRoom(messages: 2, bytes: copied) { index = batch.flush(carrying: index) }
                let first = batch.add(field.key)
                batch.add(field.value)
                batch.pair(key: index, first: first)
            }
            finishAggregate(key, index: index, flags: starts | finishes | type, in: batch)
        case .sortedSet(let sortedSet):
            // The score each encoding stores: a compact set has already turned -0 into 0, as a
            // listpack does (see DigestMixer.addSortedSetMember).
            if !batch.hasRoom(messages: 1, bytes: keyBytes) { batch.flush() }
            var index = batch.newKey()
            sortedSet.elements.forEach(fromIndex: 0, reverse: false) { element in
                let copied = DigestBatch.copiedByteCount(element.member.count) + DigestBatch.numberByteCountMax
                if !batch.hasRoom(messages: 2, bytes: copied) { index = batch.flush(carrying: index) }
                let first = batch.add(element.member)
                batch.addScore(element.score)
                batch.pair(key: index, first: first)
                return true
            }
            finishAggregate(key, index: index, flags: starts | finishes | type, in: batch)
        }
    }

    /// The chain of a set, hash or sorted set: mix(key), mix(type), then its accumulated
    /// element digests.
    private func finishAggregate(_ key: [UInt8], index: UInt32, flags: UInt32, in batch: DigestBatch) {
        var index = index
        if !batch.hasRoom(messages: 1, bytes: DigestBatch.copiedByteCount(key.count)) { index = batch.flush(carrying: index) }
        let first = batch.add(key)
        batch.chain(key: index, first: first, flags: flags)
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

    /// Feeds a stored value into a one-at-a-time ``DigestMixer`` (DEBUG DIGEST-VALUE).
    private func feed(_ value: StoredValue, into mixer: inout DigestMixer) {
        switch value {
        case .integer(let integer): mixer.addString(formatInt64(integer))
        case .bytes(let bytes): mixer.addString(bytes)
        case .list(let list): list.items.forEachElementBytes { mixer.addListElement($0) }
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
                var mixer = DigestMixer.forValue(type: digestObjectType(value))
                feed(value, into: &mixer)
                replies.append(.simpleString(mixer.finish(hasExpiry: hasExpiry).hexString))
            }
            return .array(replies)
        }
        let name = ErrorReply.cString(context.arguments[1])
        throw CommandError("ERR unknown subcommand or wrong number of arguments for '\(name)'. Try DEBUG HELP.")
    }
}
