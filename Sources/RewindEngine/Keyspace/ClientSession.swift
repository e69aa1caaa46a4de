// Per-connection state. See redis src/server.h `struct client` (db, mstate, watched_keys).

/// The state of one client connection: its selected database, its MULTI queue and its WATCHed keys.
///
/// The caller owns one per connection and passes it `inout` to every
/// ``Keyspace/execute(_:session:nowMilliseconds:)``. A session that WATCHed keys holds a
/// reference count in the keyspace; call ``Keyspace/endSession(_:)`` when the connection closes
/// so those counts are released.
///
/// A session with ``isReplaying`` set applies logged entries the way Redis loads an AOF: keys are
/// never expired on access, because the log already holds a DEL for every expiry that happened.
public struct ClientSession: Sendable {
    /// The database SELECT chose, 0 by default.
    public internal(set) var databaseIndex: Int
    /// True between MULTI and EXEC/DISCARD.
    public internal(set) var isInTransaction = false
    /// True when a command failed to queue (unknown, wrong arity); EXEC then replies EXECABORT.
    public internal(set) var transactionHasErrors = false
    /// Commands queued since MULTI, in order.
    var queuedCommands: [[[UInt8]]] = []
    /// Keys WATCHed since the last EXEC/DISCARD/UNWATCH.
    var watchedKeys: [WatchedKey] = []
    /// Replay mode: no lazy expiry on access (Redis `server.loading`).
    public var isReplaying: Bool

    /// A session for a client connection, starting in `databaseIndex`.
    public init(databaseIndex: Int = 0) {
        self.databaseIndex = databaseIndex
        self.isReplaying = false
    }

    /// A session for applying logged entries (see ``Keyspace/apply(_:nowMilliseconds:)``).
    public static func replaying() -> ClientSession {
        var session = ClientSession()
        session.isReplaying = true
        return session
    }

    /// How many commands are waiting for EXEC.
    public var queuedCommandCount: Int { queuedCommands.count }
    /// How many keys this session watches.
    public var watchedKeyCount: Int { watchedKeys.count }
}

/// One WATCHed key with the modification version it had when WATCH ran.
struct WatchedKey: Sendable {
    var db: Int
    var key: [UInt8]
    var version: UInt64
    /// Whether the key was already logically expired at WATCH time (Redis 7.0 `watchedKey.expired`).
    var wasExpiredWhenWatched: Bool
}

/// The key of the keyspace's watch table.
struct WatchTableKey: Hashable {
    var db: Int
    var key: [UInt8]
}

/// How many sessions watch a key, and how often it was modified since the first of them did.
struct WatchTableEntry {
    var sessionCount: Int
    var version: UInt64
}
