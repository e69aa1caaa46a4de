// The keyspace: Redis 7.0's databases and every command on them. See DESIGN §4-5, docs/DETERMINISM.md.

import RewindRESP

/// A Redis 7.0-compatible in-memory keyspace: 16 databases of keys, their values and their expiry
/// times, driven one command at a time.
///
/// The keyspace is not thread-safe: one thread (or one actor) calls it at a time, as Redis's own
/// main thread does. It has no clock and no ambient randomness: every call gets the time it runs
/// at, and random choices come from a ``SplitMix64`` seeded at ``init(randomSeed:databaseCount:)``.
/// So the same commands at the same times with the same seed always give the same replies.
///
/// Usage in three steps:
///
/// ```swift
/// let keyspace = Keyspace(randomSeed: 42)
/// var session = ClientSession()
/// let result = keyspace.execute([Array("SET".utf8), Array("k".utf8), Array("v".utf8),
///                                Array("EX".utf8), Array("10".utf8)],
///                               session: &session, nowMilliseconds: 1_700_000_000_000)
/// // result.reply == .simpleString("OK")
/// // result.propagated == [.command(LoggedCommand(db: 0, arguments: SET k v PXAT 1700000010000))]
/// ```
///
/// - ``execute(_:session:nowMilliseconds:)`` runs one client command and returns its reply and the
///   entries to log (``CommandResult``).
/// - ``activeExpireCycle(nowMilliseconds:)`` deletes a sample of expired keys, as Redis's cron
///   does, and returns the DEL entries to log.
/// - ``apply(_:nowMilliseconds:)`` replays a logged entry; replaying every entry a keyspace
///   produced, in order, into a fresh keyspace rebuilds an identical state.
/// - ``commandTable`` and ``commandSpec(named:)`` expose the declarative command table.
public final class Keyspace {
    // The hot stored properties of the engine's classes are `@exclusivity(unchecked)`: a keyspace
    // is used by one thread at a time and no command holds an access to one of them across a call
    // that starts another, and the dynamic exclusivity checks Swift otherwise makes on every access
    // to a class property (swift_beginAccess and a thread-local access set) cost several percent
    // of a replay's instructions. The compile-time checks still apply. See docs/ENGINE.md.
    /// The databases, indexed by SELECT's argument.
    @exclusivity(unchecked) var databases: [Database]
    /// The one generator every random choice draws from.
    @exclusivity(unchecked) var random: SplitMix64
    /// For each watched key, the watchers (sessions) watching it (Redis `db->watched_keys`).
    @exclusivity(unchecked) var watchTable: [WatchTableKey: [UInt64]] = [:]
    /// The WATCH state of each watching session, by watcher id.
    @exclusivity(unchecked) var watchers: [UInt64: WatcherState] = [:]
    /// The id the next watching session gets.
    @exclusivity(unchecked) var nextWatcherID: UInt64 = 1
    /// Aggregate boxes stamped at or below this may be shared with a fork (see ``fork()``).
    @exclusivity(unchecked) var sharedBoxStamp: UInt64 = 0

    /// How many databases SELECT accepts (Redis's `databases`, 16 by default).
    public var databaseCount: Int { databases.count }

    /// A keyspace with empty databases.
    ///
    /// - Parameters:
    ///   - randomSeed: Seeds SPOP, SRANDMEMBER, RANDOMKEY, HRANDFIELD and active-expiry sampling.
    ///   - databaseCount: How many databases there are (Redis's `databases` setting).
    public init(randomSeed: UInt64, databaseCount: Int = 16) {
        precondition(databaseCount >= 1, "a keyspace needs at least one database")
        databases = (0..<databaseCount).map { _ in Database() }
        random = SplitMix64(seed: randomSeed)
    }

    /// How many keys database `db` holds, counting keys that expired but were not yet deleted
    /// (what DBSIZE replies).
    public func keyCount(db: Int) -> Int { databases[db].entries.count }

    /// How many keys of database `db` have a TTL, expired-but-not-deleted ones included (INFO
    /// keyspace's `expires`).
    public func expiringKeyCount(db: Int) -> Int { databases[db].expires.count }

    /// Releases the WATCHes a session holds; call it when a connection closes.
    public func endSession(_ session: inout ClientSession) {
        unwatchAll(&session)
        session.queuedCommands = []
        session.isInTransaction = false
    }
}
