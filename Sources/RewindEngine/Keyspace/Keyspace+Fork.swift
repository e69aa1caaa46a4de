// Copy-on-write forks of a keyspace: the engine's snapshot, as Redis's BGSAVE/BGREWRITEAOF get
// one from fork(2).

import CFutex

/// A process-wide, strictly increasing counter. Every aggregate box (list, hash, set, sorted set)
/// takes a stamp when it is made, and ``Keyspace/fork()`` takes one: a box whose stamp is not
/// above its keyspace's last fork stamp may be shared with another keyspace.
enum OwnershipStamp {
    private static let counter: UnsafeMutablePointer<UInt64> = {
        let word = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        word.initialize(to: 0)
        return word
    }()

    static func next() -> UInt64 { rewind_atomic_increment_u64(counter) }
}

extension Keyspace {
    /// An independent keyspace with the same data, made in time proportional to the number of
    /// databases, not keys: the two share every value until one of them changes it.
    ///
    /// Strings and the key tables are Swift values (copy-on-write arrays): the first write to a
    /// table after a fork copies that table's arrays, once. Lists, hashes, sets and sorted sets
    /// live in boxes that commands change in place, so each box carries the stamp of its
    /// creation; after a fork both keyspaces treat every box stamped before the fork as shared,
    /// and the first command that looks such a box up, in either keyspace, gets its own copy of
    /// that one value (``ownedValue(db:slotIndex:)``). A fork therefore costs nothing until
    /// writes come, then at most one copy of each value written, like fork(2)'s pages.
    ///
    /// The fork has the same random generator state, so both make the same random choices for
    /// the same commands. WATCHes and sessions are not forked: sessions belong to the original.
    ///
    /// Thread safety: a fork may be read on another thread while the original keeps running
    /// commands (a background dump): the original never changes a shared box or array in place.
    public func fork() -> Keyspace {
        let copy = Keyspace(randomSeed: 0, databaseCount: databases.count)
        for db in databases.indices {
            copy.databases[db].entries = databases[db].entries
            copy.databases[db].expires = databases[db].expires
        }
        copy.random = random
        let stamp = OwnershipStamp.next()
        sharedBoxStamp = stamp
        copy.sharedBoxStamp = stamp
        return copy
    }

    /// The value at `slotIndex`, first replaced by a private copy when its box may be shared
    /// with a fork. Every command reaches aggregates through ``lookup(_:_:db:)``, which calls this.
    @inline(__always)
    func ownedValue(db: Int, slotIndex: Int) -> StoredValue? {
        guard let value = databases[db].entries.valueInPlace(at: slotIndex) else { return nil }
        guard let stamp = value.boxStamp, stamp <= sharedBoxStamp else { return value }
        let copy = value.deepCopy()
        databases[db].entries.setValue(copy, at: slotIndex)
        return copy
    }
}

extension Keyspace {
    /// Replaces every database with the contents of `snapshot` (a keyspace, typically a
    /// ``fork()`` kept as a checkpoint), sharing its values copy-on-write as a fork does; the
    /// random generator state comes along. `snapshot` stays as it is and can be restored again.
    /// Sessions watching keys here see them as modified, as after FLUSHALL.
    public func restore(from snapshot: Keyspace) {
        precondition(snapshot.databases.count == databases.count, "restore needs the same number of databases")
        for db in databases.indices { signalWatchedKeysExisting(inDatabase: db) }
        for db in databases.indices {
            databases[db].entries = snapshot.databases[db].entries
            databases[db].expires = snapshot.databases[db].expires
        }
        random = snapshot.random
        let stamp = OwnershipStamp.next()
        snapshot.sharedBoxStamp = stamp
        sharedBoxStamp = stamp
    }
}

extension ClientSession {
    /// This session, for use with a ``Keyspace/fork()``: the same selected database and MULTI
    /// queue, without WATCHes (they are registered with the original keyspace).
    public func forked() -> ClientSession {
        var copy = self
        copy.watcherID = nil
        return copy
    }
}
