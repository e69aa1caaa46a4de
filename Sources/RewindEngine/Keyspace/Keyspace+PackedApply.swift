// Replay without an array per argument: the commands a log is mostly made of (and a compaction
// base is made of only) applied straight from the bytes the log reader decoded.

import RewindRESP

/// One logged command whose arguments lie back to back in a buffer the caller owns (a replay
/// batch), valid for the duration of ``Keyspace/applyPacked(_:db:nowMilliseconds:)``.
///
/// Argument `i` is `bytes[start(i) ..< ends[i]]`, where `start(0)` is `firstStart` and
/// `start(i)` is `ends[i - 1]`. The name may instead be given as a shared array (`sharedName`),
/// in which case argument 0's range is ignored.
public struct PackedCommand {
    /// Where the shared name is (the caller's array, alive for the call): a pointer rather than the
    /// array itself, so that applying a command does not touch the name's reference count, which
    /// the reading thread touches too (two cores taking turns on one cache line).
    public let sharedNamePointer: UnsafePointer<[UInt8]>?
    public var sharedName: [UInt8]? { sharedNamePointer?.pointee }
    public let bytes: UnsafeRawBufferPointer
    public let ends: UnsafeBufferPointer<Int>
    public let firstStart: Int
    /// The command, resolved ahead by ``Keyspace/commandID(forName:)`` (on the reading thread);
    /// nil to have it looked up here.
    public let commandID: Int32?
    /// The ``Keyspace/keyHash(_:)`` of argument 1, computed ahead (on the reading thread); nil to
    /// have it computed here.
    public let keyHash: UInt32?

    public init(sharedName: UnsafePointer<[UInt8]>?, bytes: UnsafeRawBufferPointer, ends: UnsafeBufferPointer<Int>, firstStart: Int,
                commandID: Int32? = nil, keyHash: UInt32? = nil) {
        self.sharedNamePointer = sharedName
        self.bytes = bytes
        self.ends = ends
        self.firstStart = firstStart
        self.commandID = commandID
        self.keyHash = keyHash
    }

    /// How many arguments, the name included.
    public var count: Int { ends.count }

    /// Argument `index`'s bytes (for index 0 with a shared name, an empty range: use ``name``).
    @inline(__always)
    func argument(_ index: Int) -> UnsafeRawBufferPointer {
        let start = index == 0 ? firstStart : ends[index - 1]
        return UnsafeRawBufferPointer(rebasing: bytes[start..<ends[index]])
    }

    /// Argument `index` copied into an array.
    public func array(_ index: Int) -> [UInt8] {
        if index == 0, let sharedName { return sharedName }
        return Array(argument(index))
    }

    /// Every argument copied into arrays, as ``LoggedCommand`` holds them.
    public func arrays() -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(count)
        for index in 0..<count { arguments.append(array(index)) }
        return arguments
    }
}

extension Keyspace {
    /// The commands with a packed path, by ``CommandTable/all`` row.
    enum PackedPath: UInt8 {
        case none, set, sadd, hset, rpush, lpush, incr, append, del, pexpireat, zadd
    }

    static let packedPaths: [PackedPath] = CommandTable.all.map { spec in
        switch spec.name {
        case "set": return .set
        case "sadd": return .sadd
        case "hset", "hmset": return .hset
        case "rpush": return .rpush
        case "lpush": return .lpush
        case "incr": return .incr
        case "append": return .append
        case "del", "unlink": return .del
        case "pexpireat": return .pexpireat
        case "zadd": return .zadd
        default: return .none
        }
    }

    /// Replays one logged command given as packed bytes, exactly as
    /// ``apply(_:nowMilliseconds:)-(LoggedCommand,_)`` replays it, and returns its reply.
    ///
    /// The usual logged forms of SET, SADD, HSET/HMSET, RPUSH and LPUSH run here without copying
    /// the key or the members into arrays (keys and members go straight into the tables' arenas,
    /// list elements into the list's chunks): that copy and its free were about half of what a
    /// replayed command cost. Every other command, and these in any other situation (a key of
    /// another type, an option, a wrong argument count), are copied into arrays and dispatched as
    /// usual, before anything was changed, so the state and the reply are the dispatcher's.
    public func applyPacked(_ command: PackedCommand, db: Int, nowMilliseconds: Int64) -> RESPValue {
        if db >= 0 && db < databases.count, let reply = fastApply(command, db: db) { return reply }
        return apply(LoggedCommand(db: db, arguments: command.arrays()), nowMilliseconds: nowMilliseconds)
    }

    /// The hash the key tables index `key` by, for ``PackedCommand/keyHash`` and the prefetches
    /// below: a reading thread computes it once, ahead.
    public static func keyHash(_ key: UnsafeRawBufferPointer) -> UInt32 { ByteStringHash.hash(key) }

    /// Lookahead, first stage (a command several entries ahead): starts loading the index bucket
    /// of the key whose ``keyHash(_:)`` is `hash` in `db`.
    public func prefetchBucket(keyHash hash: UInt32, db: Int) {
        guard db >= 0, db < databases.count else { return }
        databases[db].entries.prefetchBucket(hash: hash)
    }

    /// Lookahead, second stage (a command a few entries ahead, whose bucket the first stage
    /// loaded): starts loading the key's slot.
    public func prefetchSlot(keyHash hash: UInt32, db: Int) {
        guard db >= 0, db < databases.count else { return }
        databases[db].entries.prefetchSlot(hash: hash)
    }

    /// Lookahead, third stage (a command two entries ahead, whose slot the second stage loaded):
    /// starts loading the key's bytes and, for a collection, its box.
    public func prefetchKeyAndValue(keyHash hash: UInt32, db: Int) {
        guard db >= 0, db < databases.count else { return }
        databases[db].entries.prefetchKeyAndValue(hash: hash)
    }

    /// Whether `db`'s key table is big enough for the lookahead to pay (a small one stays in cache).
    public func benefitsFromPrefetching(db: Int) -> Bool {
        db >= 0 && db < databases.count && databases[db].entries.isLargeEnoughToPrefetch
    }

    /// The three lookahead stages over a batch of keys at once (a server's pipelined read): every
    /// bucket, then every slot, then every key and box, so the misses of each stage overlap.
    public func prefetchKeys(hashes: [UInt32], db: Int) {
        guard db >= 0, db < databases.count else { return }
        let database = databases[db]
        hashes.withUnsafeBufferPointer { hashes in
            for hash in hashes { database.entries.prefetchBucket(hash: hash) }
            for hash in hashes { database.entries.prefetchSlot(hash: hash) }
            for hash in hashes { database.entries.prefetchKeyAndValue(hash: hash) }
        }
    }

    /// The engine's identifier for the command called `name` (any ASCII case), -1 for none: what
    /// ``PackedCommand/commandID`` takes, so a reading thread can resolve names ahead.
    public static func commandID(forName name: UnsafeRawBufferPointer) -> Int32 {
        CommandTable.index(forNameBytes: name).map { Int32($0) } ?? -1
    }

    /// The packed path for `command`, or nil (before any change) when it has none.
    func packedFastApply(_ command: PackedCommand, db: Int) -> RESPValue? { fastApply(command, db: db) }

    /// The ``CommandTable/all`` row `command` names: the one the reading thread resolved, or
    /// looked up here; nil for an unknown command.
    @inline(__always)
    static func tableIndex(of command: PackedCommand) -> Int? {
        if let id = command.commandID { return id >= 0 && Int(id) < CommandTable.all.count ? Int(id) : nil }
        if let name = command.sharedName { return CommandTable.index(forName: name) }
        return CommandTable.index(forNameBytes: command.argument(0))
    }

    private func fastApply(_ command: PackedCommand, db: Int) -> RESPValue? {
        guard let index = Self.tableIndex(of: command) else { return nil }
        switch Self.packedPaths[index] {
        case .none: return nil
        case .set: return command.count == 3 || command.count == 5 ? packedSet(command, db: db) : nil
        case .sadd: return command.count >= 3 ? packedSadd(command, db: db) : nil
        case .hset: return command.count >= 4 && command.count % 2 == 0 ? packedHset(command, db: db, isHmset: CommandTable.all[index].name == "hmset") : nil
        case .rpush: return command.count >= 3 ? packedPush(command, db: db, atHead: false) : nil
        case .lpush: return command.count >= 3 ? packedPush(command, db: db, atHead: true) : nil
        case .incr: return command.count == 2 ? packedIncr(command, db: db) : nil
        case .append: return command.count == 3 ? packedAppend(command, db: db) : nil
        case .del: return command.count >= 2 ? packedDel(command, db: db) : nil
        case .pexpireat: return command.count == 3 ? packedPexpireat(command, db: db) : nil
        case .zadd: return command.count >= 4 && command.count % 2 == 0 ? packedZadd(command, db: db) : nil
        }
    }

    /// `SET key value`, and `SET key value PXAT ms` (the form every expiring SET is logged in, and
    /// a compaction base writes for a string with a TTL): ``setGeneric(_:key:value:options:okReply:abortReply:)``
    /// with the value in its compact form. Anything else with five arguments (another option, a
    /// time that is not a positive integer) goes to the dispatcher, which answers it.
    private func packedSet(_ command: PackedCommand, db: Int) -> RESPValue? {
        var expiresAt: Int64?
        if command.count == 5 {
            // A replay sets the time even when it has passed (``isAlreadyExpired(_:_:)``).
            guard Self.isPXAT(command.argument(3)), let when = parseInt64(command.argument(4)), when > 0 else { return nil }
            expiresAt = when
        }
        let key = command.argument(1)
        let valueBytes = command.argument(2)
        let integer = valueBytes.count <= 20 ? parseInt64(valueBytes) : nil
        let database = databases[db]
        if let slot = database.entries.findSlot(ofBytes: key, hash: command.keyHash) {
            if let integer {
                database.entries.setValue(.integer(integer), at: slot)
            } else {
                database.entries.setString(valueBytes, at: slot)
            }
            if !database.expires.isEmpty { database.expires.removeValue(forKeyBytes: key) }
        } else {
            let value: StoredValue = integer.map { .integer($0) } ?? .bytes(Array(valueBytes))
            _ = database.entries.insertNew(keyBytes: key, value: value, hash: command.keyHash)
        }
        if let expiresAt {
            // Removed above and added again, as the dispatcher does it, so the TTL table's slot
            // order (which active expiry samples) is the dispatcher's too. (A key has a TTL only
            // while it exists, so it has none here.)
            _ = database.expires.insertNew(keyBytes: key, value: expiresAt, hash: command.keyHash)
        }
        signalModifiedIfWatched(db: db, key)
        return .ok
    }

    /// Whether `bytes` spell PXAT in any case.
    @inline(__always)
    private static func isPXAT(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 4 && bytes[0] | 0x20 == 0x70 && bytes[1] | 0x20 == 0x78 && bytes[2] | 0x20 == 0x61 && bytes[3] | 0x20 == 0x74
    }

    /// The collection at `command`'s key for a packed path: the existing box, owned (copied if a
    /// fork shares it), or a new one from `make` added at the key (`created`). Nil when the key
    /// holds another type, before anything changed: the dispatcher then answers.
    @inline(__always)
    private func packedCollection<Box>(_ command: PackedCommand, db: Int, _ existing: (StoredValue) -> Box?,
                                       make: () -> (Box, StoredValue)) -> (box: Box, created: Bool)? {
        if let slot = databases[db].entries.findSlot(ofBytes: command.argument(1), hash: command.keyHash) {
            guard let value = ownedValue(db: db, slotIndex: slot), let box = existing(value) else { return nil }
            return (box, false)
        }
        let (box, value) = make()
        _ = databases[db].entries.insertNew(keyBytes: command.argument(1), value: value, hash: command.keyHash)
        return (box, true)
    }

    /// `SADD key member...` on an absent key or a set.
    private func packedSadd(_ command: PackedCommand, db: Int) -> RESPValue? {
        let key = command.argument(1)
        guard let (set, created) = packedCollection(command, db: db, { value -> SetValue? in
            if case .set(let set) = value { return set }
            return nil
        }, make: { let set = SetValue(); return (set, .set(set)) }) else { return nil }
        if created && command.count > 3 {
            set.members.reserveCapacity(adding: command.count - 2, keyByteCount: command.ends[command.count - 1] - command.ends[1])
        }
        var added: Int64 = 0
        for index in 2..<command.count where set.members.insertIfAbsent(keyBytes: command.argument(index), value: ()).inserted {
            added += 1
        }
        if added > 0 { signalModifiedIfWatched(db: db, key) }
        return .integer(added)
    }

    /// `HSET key field value...` and `HMSET` on an absent key or a hash.
    private func packedHset(_ command: PackedCommand, db: Int, isHmset: Bool) -> RESPValue? {
        let key = command.argument(1)
        guard let (hash, isNew) = packedCollection(command, db: db, { value -> HashValue? in
            if case .hash(let hash) = value { return hash }
            return nil
        }, make: { let hash = HashValue(); return (hash, .hash(hash)) }) else { return nil }
        if isNew && command.count > 4 {
            var fieldBytes = 0
            for index in stride(from: 2, to: command.count, by: 2) { fieldBytes += command.argument(index).count }
            hash.fields.reserveCapacity(adding: (command.count - 2) / 2, keyByteCount: fieldBytes)
        }
        var created: Int64 = 0
        for index in stride(from: 2, to: command.count, by: 2) {
            let field = command.argument(index)
            if hash.fields.insertOrAssign(keyBytes: field, value: Array(command.argument(index + 1))) { created += 1 }
        }
        signalModifiedIfWatched(db: db, key)
        return isHmset ? .ok : .integer(created)
    }

    /// `RPUSH`/`LPUSH key element...` on an absent key or a list.
    private func packedPush(_ command: PackedCommand, db: Int, atHead: Bool) -> RESPValue? {
        let key = command.argument(1)
        guard let (list, _) = packedCollection(command, db: db, { value -> ListValue? in
            if case .list(let list) = value { return list }
            return nil
        }, make: { let list = ListValue(); return (list, .list(list)) }) else { return nil }
        if atHead {
            for index in 2..<command.count { list.items.prepend(bytes: command.argument(index)) }
        } else {
            list.items.append(contentsOf: (2..<command.count).lazy.map { command.argument($0) })
        }
        signalModifiedIfWatched(db: db, key)
        return .integer(Int64(list.items.count))
    }

    /// `INCR key` on an absent key or an integer string (``incrementBy(_:_:)``; keeps the TTL).
    private func packedIncr(_ command: PackedCommand, db: Int) -> RESPValue? {
        let key = command.argument(1)
        let database = databases[db]
        let slot = database.entries.findSlot(ofBytes: key, hash: command.keyHash)
        var current: Int64 = 0
        if let slot {
            switch database.entries.valueInPlace(at: slot) {
            case .integer(let value)?: current = value
            case .bytes(let bytes)?:
                guard let value = parseInt64(bytes) else { return nil }
                current = value
            default: return nil
            }
        }
        let (next, overflow) = current.addingReportingOverflow(1)
        guard !overflow else { return nil }
        if let slot {
            database.entries.setValue(.integer(next), at: slot)
        } else {
            _ = database.entries.insertNew(keyBytes: key, value: .integer(next))
        }
        signalModifiedIfWatched(db: db, key)
        return .integer(next)
    }

    /// `APPEND key suffix` on an absent key or a string (keeps the TTL).
    private func packedAppend(_ command: PackedCommand, db: Int) -> RESPValue? {
        let key = command.argument(1)
        let suffix = command.argument(2)
        let database = databases[db]
        guard let slot = database.entries.findSlot(ofBytes: key, hash: command.keyHash) else {
            let value = StoredValue.string(Array(suffix))
            _ = database.entries.insertNew(keyBytes: key, value: value)
            signalModifiedIfWatched(db: db, key)
            return .integer(Int64(suffix.count))
        }
        var combined: [UInt8]
        switch database.entries.valueInPlace(at: slot) {
        case .integer(let value)?: combined = formatInt64(value)
        case .bytes(let bytes)?: combined = bytes
        default: return nil
        }
        guard combined.count + suffix.count <= stringByteCountMax else { return nil }
        combined.append(contentsOf: suffix)
        database.entries.setValue(.string(combined), at: slot)
        signalModifiedIfWatched(db: db, key)
        return .integer(Int64(combined.count))
    }

    /// `DEL key...` / `UNLINK` (``deleteKey(db:_:)`` for each).
    private func packedDel(_ command: PackedCommand, db: Int) -> RESPValue {
        let database = databases[db]
        var deleted: Int64 = 0
        for index in 1..<command.count {
            let key = command.argument(index)
            guard let slot = database.entries.findSlot(ofBytes: key, hash: index == 1 ? command.keyHash : nil) else { continue }
            database.entries.remove(at: slot)
            if !database.expires.isEmpty { database.expires.removeValue(forKeyBytes: key) }
            signalModifiedIfWatched(db: db, key)
            deleted += 1
        }
        return .integer(deleted)
    }

    /// `PEXPIREAT key ms` without conditions. A replay sets the time even when it has passed, as
    /// ``isAlreadyExpired(_:_:)`` says for a replaying session (Redis does not expire while loading).
    private func packedPexpireat(_ command: PackedCommand, db: Int) -> RESPValue? {
        let key = command.argument(1)
        guard let when = parseInt64(command.argument(2)) else { return nil }
        let database = databases[db]
        guard database.entries.findSlot(ofBytes: key, hash: command.keyHash) != nil else { return .integer(0) }
        if let slot = database.expires.findSlot(ofBytes: key) {
            database.expires.setValue(when, at: slot)
        } else {
            _ = database.expires.insertNew(keyBytes: key, value: when)
        }
        signalModifiedIfWatched(db: db, key)
        return .integer(1)
    }

    /// `ZADD key score member...` without options, every score a valid number.
    private func packedZadd(_ command: PackedCommand, db: Int) -> RESPValue? { packedZaddCounting(command, db: db)?.reply }

    /// ``packedZadd(_:db:)`` that also tells whether a member was added or had its score changed
    /// (what makes Redis propagate the command).
    func packedZaddCounting(_ command: PackedCommand, db: Int) -> (reply: RESPValue, changed: Bool)? {
        let pairCount = (command.count - 2) / 2
        var scores: [Double] = []
        scores.reserveCapacity(pairCount)
        for pair in 0..<pairCount {
            guard let score = parseDouble(command.argument(2 + pair * 2)) else { return nil }
            scores.append(score)
        }
        let key = command.argument(1)
        guard let (sortedSet, _) = packedCollection(command, db: db, { value -> SortedSetValue? in
            if case .sortedSet(let sortedSet) = value { return sortedSet }
            return nil
        }, make: {
            let sortedSet = SortedSetValue(SortedSet(encoding: SortedSet.preferredEncoding(firstMemberByteCount: command.argument(3).count)))
            return (sortedSet, .sortedSet(sortedSet))
        }) else { return nil }
        var added: Int64 = 0, changed = 0
        for pair in 0..<pairCount {
            switch sortedSet.elements.add(bytes: command.argument(3 + pair * 2), score: scores[pair]) {
            case .added: added += 1; changed += 1
            case .updated: changed += 1
            case .unchanged, .skipped: break
            case .notANumber:
                if changed > 0 { signalModifiedIfWatched(db: db, key) }
                return (ErrorReply.scoreNaN.reply, changed > 0)
            }
        }
        if changed > 0 { signalModifiedIfWatched(db: db, key) }
        return (.integer(added), changed > 0)
    }

    /// ``signalModified(db:_:)`` for a key given as bytes; copies the key only when some session
    /// WATCHes keys.
    @inline(__always)
    private func signalModifiedIfWatched(db: Int, _ key: UnsafeRawBufferPointer) {
        if !watchTable.isEmpty { signalModified(db: db, Array(key)) }
    }
}
