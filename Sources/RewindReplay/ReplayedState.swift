// The Swift API a test uses to load a production log as its fixture. See RewindReplay.docc.

import RewindEngine
import RewindLog
import RewindRESP

/// Where a replay stops: the end of the log, a sequence number, or a time (all inclusive).
public enum ReplayPoint: Hashable, Sendable {
    case end
    case sequence(UInt64)
    /// Unix milliseconds; see ``ReplayTime/parseMilliseconds(_:)`` for ISO 8601.
    case time(Int64)
}

/// A log replayed to a point, to query with Redis commands or typed accessors, move through
/// time, and fork.
///
/// The state lives in an engine ``Keyspace`` and has a virtual clock, which starts at the time of
/// the last entry replayed. Commands run at the clock's time, as a client connection would run
/// them: a key whose TTL has passed is gone (and reading it deletes it, as in Redis). The typed
/// accessors never change the state; they treat a key past its TTL as absent.
///
/// ```swift
/// let state = try ReplayedState(log: "fixtures/orders.rwlog", until: .sequence(48_212))
/// #expect(state.hash("user:42")?["name"] == "alice")
/// state.execute("HINCRBY", "user:42", "visits", "1")
/// state.advanceClock(byMilliseconds: 3_600_000)
/// #expect(!state.exists("session:abc"))
/// let what = state.fork()
/// what.execute("DEL", "user:42")
/// #expect(state.exists("user:42"))
/// ```
///
/// A state is not thread-safe: use it from one task at a time. ``fork()`` rebuilds an independent
/// copy by running the same steps again (the engine has no snapshot yet), so it costs as much as
/// the replay that made this state.
public final class ReplayedState {
    /// The engine state; use it directly for anything the accessors do not cover.
    public let keyspace: Keyspace
    /// The virtual clock, in Unix milliseconds.
    public private(set) var clockMilliseconds: Int64
    /// The summary of the last replay step (its digest is empty; see ``digest``).
    public private(set) var summary: ReplaySummary
    /// The sequence number of the last log entry applied.
    public var lastSequence: UInt64 { summary.lastSequence }

    private var session = ClientSession()

    /// An empty state at time `clockMilliseconds`.
    public init(randomSeed: UInt64 = 0, clockMilliseconds: Int64 = 0) {
        self.keyspace = Keyspace(randomSeed: randomSeed)
        self.clockMilliseconds = clockMilliseconds
        self.summary = ReplaySummary()
    }

    private init(forking original: ReplayedState) {
        self.keyspace = original.keyspace.fork()
        self.clockMilliseconds = original.clockMilliseconds
        self.summary = original.summary
        self.session = original.session.forked()
    }

    /// Replays `log` up to `point` (inclusive) with `options`.
    ///
    /// - Throws: ``ReplayError`` when `point` is beyond the end of the log; `LogError` for a
    ///   damaged or unreadable log (per `options.recovery`).
    ///
    /// With `checkpoints` from an earlier replay of the same log, the replay starts from the
    /// nearest checkpoint at or before `point` instead of the beginning (and takes checkpoints
    /// on its way, for the next state).
    public convenience init(log: String, until point: ReplayPoint = .end, options: ReplayOptions = ReplayOptions(),
                            checkpoints: ReplayCheckpoints? = nil) throws {
        self.init(randomSeed: 0)
        try replay(log: log, until: point, options: options, checkpoints: checkpoints)
    }

    /// Applies more of `log`: from the entry after the last one applied up to `point`.
    /// The clock moves to the time of the last entry applied, if that is later.
    public func replay(log: String, until point: ReplayPoint = .end, options: ReplayOptions = ReplayOptions(),
                       checkpoints: ReplayCheckpoints? = nil) throws {
        var options = options
        switch point {
        case .end: break
        case .sequence(let sequence): options.untilSequence = sequence
        case .time(let milliseconds): options.untilTimestampMilliseconds = milliseconds
        }
        let from = summary.lastSequence + 1
        let result = try Replayer(log: log).replay(into: keyspace, options: options, from: from,
                                                   checkpoints: from == 1 ? checkpoints : nil)
        let previous = summary.lastSequence
        summary = result
        if result.lastSequence == 0 { summary.lastSequence = previous }
        if result.lastSequence > 0 { clockMilliseconds = max(clockMilliseconds, result.lastTimestampMilliseconds) }
    }

    // MARK: - Commands

    /// Runs a command at the clock's time, as a client would, and returns its reply.
    @discardableResult
    public func execute(_ arguments: String...) -> RESPValue {
        execute(arguments.map { Array($0.utf8) })
    }

    /// Runs a command given as byte strings at the clock's time and returns its reply.
    @discardableResult
    public func execute(_ arguments: [[UInt8]]) -> RESPValue {
        return keyspace.execute(arguments, session: &session, nowMilliseconds: clockMilliseconds).reply
    }

    // MARK: - Clock

    /// Moves the clock forward; keys whose TTL passes are gone from then on.
    public func advanceClock(byMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= 0, "the virtual clock only moves forward")
        clockMilliseconds += milliseconds
    }

    /// Moves the clock to `milliseconds`, which must not be earlier than the clock.
    public func setClock(toMilliseconds milliseconds: Int64) {
        precondition(milliseconds >= clockMilliseconds, "the virtual clock only moves forward")
        clockMilliseconds = milliseconds
    }

    /// Deletes every key whose TTL has passed, as Redis's active expiry eventually does, and
    /// returns how many there were.
    @discardableResult
    public func expireKeys() -> Int {
        return Self.expireAll(keyspace, at: clockMilliseconds)
    }

    private static func expireAll(_ keyspace: Keyspace, at milliseconds: Int64) -> Int {
        let reader = StateReader(keyspace: keyspace)
        var deleted = 0
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            for key in reader.keys(db: db) {
                // TTL in a client session expires the key lazily when its time has passed.
                var session = ClientSession()
                _ = keyspace.execute([Array("SELECT".utf8), Array(String(db).utf8)], session: &session, nowMilliseconds: milliseconds)
                let result = keyspace.execute([Array("PTTL".utf8), key], session: &session, nowMilliseconds: milliseconds)
                if case .integer(-2) = result.reply { deleted += 1 }
            }
        }
        return deleted
    }

    // MARK: - Typed accessors (never change the state)

    /// The key's value and expiry, nil when it does not exist or its TTL has passed.
    public func value(_ key: String, db: Int = 0) -> StoredKey? {
        guard let stored = StateReader(keyspace: keyspace).read(Array(key.utf8), db: db) else { return nil }
        if let when = stored.expiresAtMilliseconds, clockMilliseconds > when { return nil }
        return stored
    }

    public func exists(_ key: String, db: Int = 0) -> Bool { value(key, db: db) != nil }

    /// The string at `key` as UTF-8 text (invalid bytes replaced), nil when absent or not a string.
    public func string(_ key: String, db: Int = 0) -> String? {
        bytes(key, db: db).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The string at `key` as bytes, nil when absent or not a string.
    public func bytes(_ key: String, db: Int = 0) -> [UInt8]? {
        guard case .string(let bytes)? = value(key, db: db)?.value else { return nil }
        return bytes
    }

    public func list(_ key: String, db: Int = 0) -> [String]? {
        guard case .list(let items)? = value(key, db: db)?.value else { return nil }
        return items.map { String(decoding: $0, as: UTF8.self) }
    }

    public func set(_ key: String, db: Int = 0) -> Set<String>? {
        guard case .set(let members)? = value(key, db: db)?.value else { return nil }
        return Set(members.map { String(decoding: $0, as: UTF8.self) })
    }

    public func hash(_ key: String, db: Int = 0) -> [String: String]? {
        guard case .hash(let pairs)? = value(key, db: db)?.value else { return nil }
        return Dictionary(pairs.map { (String(decoding: $0.0, as: UTF8.self), String(decoding: $0.1, as: UTF8.self)) },
                          uniquingKeysWith: { $1 })
    }

    /// Members and scores in score order, nil when absent or not a sorted set.
    public func sortedSet(_ key: String, db: Int = 0) -> [(member: String, score: Double)]? {
        guard case .sortedSet(let pairs)? = value(key, db: db)?.value else { return nil }
        return pairs.map { (String(decoding: $0.0, as: UTF8.self), $0.1) }
    }

    /// Milliseconds until `key` expires at the clock's time; nil without a TTL or when absent.
    public func ttlMilliseconds(_ key: String, db: Int = 0) -> Int64? {
        guard let when = value(key, db: db)?.expiresAtMilliseconds else { return nil }
        return when - clockMilliseconds
    }

    /// The keys of `db` whose TTL has not passed, in the engine's order.
    public func keys(db: Int = 0) -> [String] {
        StateReader(keyspace: keyspace).keys(db: db).map { String(decoding: $0, as: UTF8.self) }
            .filter { exists($0, db: db) }
    }

    /// The DEBUG DIGEST of the state, as redis-server prints it for the same data.
    public var digest: String { StateDigest.digest(of: keyspace) }

    // MARK: - Fork

    /// An independent state equal to this one, clock included; changes to either do not show in
    /// the other. The fork's session has the same selected database and MULTI queue, but no
    /// WATCHes.
    ///
    /// - Complexity: O(1) now; afterwards each value is copied once, the first time either state
    ///   touches it (``Keyspace/fork()``, copy-on-write).
    public func fork() throws -> ReplayedState {
        ReplayedState(forking: self)
    }
}
