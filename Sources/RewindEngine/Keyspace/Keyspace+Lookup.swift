// The low-level keyspace API every command uses: lookup with lazy expiry, set, delete, expire,
// and WATCH signalling. See redis src/db.c (lookupKey, setKey, dbDelete, expireIfNeeded).

import RewindRESP

extension Keyspace {
    // MARK: - Expiry

    /// The Unix time in milliseconds at which `key` expires, or nil when it has no TTL.
    func expireTime(db: Int, _ key: [UInt8]) -> Int64? {
        databases[db].expires.isEmpty ? nil : databases[db].expires.valueInPlace(forKey: key)
    }

    /// Whether `key` has a TTL that has passed (Redis `keyIsExpired`: expired once now > when).
    /// A replaying session never sees a key as expired, as Redis never does while loading.
    func isLogicallyExpired(db: Int, _ key: [UInt8], _ context: CommandContext) -> Bool {
        guard !context.session.isReplaying, let when = expireTime(db: db, key) else { return false }
        return context.nowMilliseconds > when
    }

    /// Deletes `key` if it expired and logs a DEL for it, as Redis `expireIfNeeded` does on a
    /// master (`deleteExpiredKeyAndPropagate`). Returns whether the key was deleted.
    @discardableResult
    func expireIfNeeded(_ key: [UInt8], _ context: inout CommandContext, db: Int? = nil) -> Bool {
        let db = db ?? context.db
        guard isLogicallyExpired(db: db, key, context) else { return false }
        deleteKey(db: db, key)
        // Redis propagates an expired key's deletion as DEL (UNLINK with lazyfree-lazy-expire).
        context.alsoPropagate([LoggedName.del, key], db: db)
        return true
    }

    /// Sets the expiry time of an existing key.
    func setExpire(db: Int, _ key: [UInt8], atMilliseconds when: Int64) {
        databases[db].expires.set(when, forKey: key)
    }

    /// Removes a key's TTL; returns whether it had one.
    @discardableResult
    func removeExpire(db: Int, _ key: [UInt8]) -> Bool {
        guard !databases[db].expires.isEmpty else { return false }
        return databases[db].expires.removeValue(forKey: key) != nil
    }

    // MARK: - Lookup

    /// The value of `key` after lazy expiry, or nil (Redis `lookupKeyRead`/`lookupKeyWrite`).
    func lookup(_ key: [UInt8], _ context: inout CommandContext, db: Int? = nil) -> StoredValue? {
        let db = db ?? context.db
        expireIfNeeded(key, &context, db: db)
        guard let slotIndex = databases[db].entries.findSlot(of: key) else { return nil }
        return ownedValue(db: db, slotIndex: slotIndex)
    }

    /// Whether `key` exists after lazy expiry.
    func exists(_ key: [UInt8], _ context: inout CommandContext, db: Int? = nil) -> Bool {
        lookup(key, &context, db: db) != nil
    }

    /// The string at `key`, nil when absent; throws WRONGTYPE for another type.
    func lookupString(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> [UInt8]? {
        guard let value = lookup(key, &context) else { return nil }
        guard let bytes = value.stringBytes else { throw ErrorReply.wrongType }
        return bytes
    }

    func lookupList(_ key: [UInt8], _ context: inout CommandContext, db: Int? = nil) throws(CommandError) -> ListValue? {
        guard let value = lookup(key, &context, db: db) else { return nil }
        guard case .list(let list) = value else { throw ErrorReply.wrongType }
        return list
    }

    func lookupHash(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> HashValue? {
        guard let value = lookup(key, &context) else { return nil }
        guard case .hash(let hash) = value else { throw ErrorReply.wrongType }
        return hash
    }

    func lookupSet(_ key: [UInt8], _ context: inout CommandContext, db: Int? = nil) throws(CommandError) -> SetValue? {
        guard let value = lookup(key, &context, db: db) else { return nil }
        guard case .set(let set) = value else { throw ErrorReply.wrongType }
        return set
    }

    // MARK: - Writing

    /// Stores `value` at `key`, dropping its TTL unless `keepingTTL` (Redis `setKey`).
    func setKey(db: Int, _ key: [UInt8], _ value: StoredValue, keepingTTL: Bool = false) {
        let (_, inserted) = databases[db].entries.set(value, forKey: key)
        if !inserted && !keepingTTL { removeExpire(db: db, key) }
        signalModified(db: db, key)
    }

    /// Adds a key known to be absent, without signalling (callers signal once they filled it).
    func addKey(db: Int, _ key: [UInt8], _ value: StoredValue) {
        _ = databases[db].entries.insertNew(key: key, value: value)
    }

    /// Removes a key and its TTL; returns whether it existed (Redis `dbDelete`).
    @discardableResult
    func deleteKey(db: Int, _ key: [UInt8]) -> Bool {
        guard databases[db].entries.removeValue(forKey: key) != nil else { return false }
        removeExpire(db: db, key)
        signalModified(db: db, key)
        return true
    }

    // MARK: - WATCH

    /// Flags every session that WATCHes `key` (Redis 7.0 `touchWatchedKey`); call it after the
    /// change.
    ///
    /// Redis 7.0's one exception: when the first key a session watched while it was already
    /// expired is this key and the change deleted it, nothing logically changed, so the session
    /// only forgets that the key was expired.
    func signalModified(db: Int, _ key: [UInt8]) {
        guard !watchTable.isEmpty, let watcherIDs = watchTable[WatchTableKey(db: db, key: key)] else { return }
        let existsAfter = databases[db].entries.slotIndex(of: key) != nil
        for id in watcherIDs {
            guard var watcher = watchers[id], !watcher.isDirty else { continue }
            if let index = watcher.keys.firstIndex(where: \.wasExpiredWhenWatched),
               watcher.keys[index].db == db, watcher.keys[index].key == key, !existsAfter {
                watcher.keys[index].wasExpiredWhenWatched = false
            } else {
                watcher.isDirty = true
            }
            watchers[id] = watcher
        }
    }

    /// Flags every session watching a key of `db` that exists there or in `other` (Redis 7.0
    /// `touchAllWatchedKeysInDb`, used by FLUSHDB, FLUSHALL and SWAPDB before they change `db`).
    /// As Redis does, a key that was already expired when watched and is now deleted, or replaced
    /// by a key that is expired too, is no logical change; a missing key replaced by an expired
    /// one is remembered as expired. `context` gives the time those expiry checks use.
    func signalWatchedKeysExisting(inDatabase db: Int, orDatabase other: Int? = nil, context: CommandContext? = nil) {
        guard !watchTable.isEmpty else { return }
        for (tableKey, watcherIDs) in watchTable where tableKey.db == db {
            let existsHere = databases[db].entries.slotIndex(of: tableKey.key) != nil
            let existsThere = other.map { databases[$0].entries.slotIndex(of: tableKey.key) != nil } ?? false
            guard existsHere || existsThere else { continue }
            var expiredThere = false
            if existsThere, let other, let context { expiredThere = isLogicallyExpired(db: other, tableKey.key, context) }
            for id in watcherIDs {
                guard var watcher = watchers[id] else { continue }
                if let index = watcher.keys.firstIndex(where: { $0.db == db && $0.key == tableKey.key }) {
                    if watcher.keys[index].wasExpiredWhenWatched {
                        if !existsThere {
                            watcher.keys[index].wasExpiredWhenWatched = false
                            watchers[id] = watcher
                            continue
                        }
                        if expiredThere { continue }
                    } else if !existsHere && expiredThere {
                        watcher.keys[index].wasExpiredWhenWatched = true
                        watchers[id] = watcher
                        continue
                    }
                }
                watcher.isDirty = true
                watchers[id] = watcher
            }
        }
    }
}

extension CommandContext {
    /// Argument `index` as an integer, or the "not an integer" error.
    func integer(at index: Int) throws(CommandError) -> Int64 {
        guard let value = parseInt64(arguments[index]) else { throw ErrorReply.notInteger }
        return value
    }

    /// Whether argument `index` equals `word`, ignoring ASCII case (`word` in upper case).
    func argument(_ index: Int, is word: String) -> Bool {
        argumentEquals(arguments[index], word)
    }
}

/// Whether `bytes` spell `word` ignoring ASCII case; `word` must be upper-case ASCII.
func argumentEquals(_ bytes: [UInt8], _ word: String) -> Bool {
    let utf8 = word.utf8
    guard bytes.count == utf8.count else { return false }
    var index = 0
    for expected in utf8 {
        var byte = bytes[index]
        if byte >= 97 && byte <= 122 { byte -= 32 }
        if byte != expected { return false }
        index += 1
    }
    return true
}
