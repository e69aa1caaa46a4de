// Per-connection state. See redis src/server.h `struct client` (db, mstate, watched_keys, resp).

import RewindRESP

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
    public internal(set) var queuedCommands: [[[UInt8]]] = []
    /// The keyspace's watcher record for this session's WATCHes, nil when it watches nothing.
    var watcherID: UInt64?
    /// Replay mode: no lazy expiry on access (Redis `server.loading`).
    public var isReplaying: Bool
    /// The protocol the client speaks (HELLO). RESP3 changes the shape of a few replies, as in
    /// Redis 7.0: member/score and field/value results come as pairs (see
    /// ``Keyspace/resp2Shaped(_:command:)``). Replays use RESP2.
    public var protocolVersion: RESPVersion = .resp2

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
    /// Whether this session WATCHes any key.
    public var isWatching: Bool { watcherID != nil }
}

/// One WATCHed key.
struct WatchedKey: Sendable {
    var db: Int
    var key: [UInt8]
    /// Whether the key was already logically expired at WATCH time (Redis 7.0 `watchedKey.expired`).
    var wasExpiredWhenWatched: Bool
}

/// The key of the keyspace's watch table.
struct WatchTableKey: Hashable {
    var db: Int
    var key: [UInt8]
}

/// The WATCH state of one session, kept in the keyspace so a write by any session can flag it,
/// as Redis flags a client `CLIENT_DIRTY_CAS`.
struct WatcherState {
    /// In WATCH order: Redis's expired-key rule looks at the first expired one.
    var keys: [WatchedKey] = []
    /// Set once a watched key was touched; EXEC then fails.
    var isDirty = false
}
