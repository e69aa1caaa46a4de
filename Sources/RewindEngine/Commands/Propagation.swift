// What a command hands back to be logged: its deterministic rewrite. See docs/DETERMINISM.md.

import RewindRESP

/// One command as it must be replayed: the database it ran in and its arguments.
///
/// The arguments are already in their deterministic form (`SET k v PXAT ms`, `PEXPIREAT`, SPOP as
/// SREM, ...), so replaying them needs no clock and no random numbers.
public struct LoggedCommand: Hashable, Sendable {
    /// The database the command applies to (0-15).
    public var db: Int
    /// The command name and its arguments, as byte strings.
    public var arguments: [[UInt8]]

    public init(db: Int, arguments: [[UInt8]]) {
        self.db = db
        self.arguments = arguments
    }
}

/// One unit to append to the log: a single command, or the commands of one MULTI/EXEC.
///
/// A transaction is one case rather than MULTI/EXEC marker entries so that a log writer can frame
/// it as one record, and a crash can never leave half of it (DESIGN §3).
public enum LoggedEntry: Hashable, Sendable {
    /// A command applied on its own.
    case command(LoggedCommand)
    /// The writes of one EXEC, applied together, in order. Never empty.
    case transaction([LoggedCommand])

    /// The commands of this entry, in order.
    public var commands: [LoggedCommand] {
        switch self {
        case .command(let command): return [command]
        case .transaction(let commands): return commands
        }
    }
}

/// The outcome of ``Keyspace/execute(_:session:nowMilliseconds:)``: the reply for the client and
/// the entries to log, in order (lazy-expiry DELs come before the command that caused them).
public struct CommandResult: Sendable {
    public var reply: RESPValue
    /// Empty for reads, no-ops and errors.
    public var propagated: [LoggedEntry]

    public init(reply: RESPValue, propagated: [LoggedEntry]) {
        self.reply = reply
        self.propagated = propagated
    }
}

/// The per-call state a command body works with (Redis's `client` plus `server.dirty`).
///
/// A body reads its arguments, uses ``db``, counts its changes in ``dirty`` and may replace the
/// arguments to log with ``rewrittenArguments``. After the body returns, the dispatcher logs the
/// (rewritten) command once if `dirty > 0`, after any entries ``alsoPropagate(_:)`` added, which is
/// how Redis's `call()` orders `also_propagate` and the command itself.
struct CommandContext {
    let arguments: [[UInt8]]
    /// The command's table row, set by the dispatcher.
    var spec: CommandSpec?
    /// The command's lower-case table name, for error texts such as "invalid expire time in 'set'".
    var commandName: String { spec?.name ?? "" }
    var session: ClientSession
    let nowMilliseconds: Int64
    /// Commands already emitted during this call (lazy-expiry DELs, SPOP's SREM batches).
    var propagated: [LoggedCommand] = []
    /// How many changes the body made; 0 means nothing is logged for the command itself.
    var dirty = 0
    /// The arguments to log instead of the client's, when the body rewrote them.
    var rewrittenArguments: [[UInt8]]?
    /// Set when the body logged its effect itself through ``alsoPropagate(_:)``.
    var preventPropagation = false
    /// Set by EXEC: ``propagated`` holds the transaction's commands, to be logged as one unit.
    var propagatesAsTransaction = false

    var db: Int { session.databaseIndex }
    var argumentCount: Int { arguments.count }

    init(arguments: [[UInt8]], session: ClientSession, nowMilliseconds: Int64) {
        self.arguments = arguments
        self.session = session
        self.nowMilliseconds = nowMilliseconds
    }

    /// Logs `arguments` in `db` ahead of the command itself (Redis `alsoPropagate`).
    mutating func alsoPropagate(_ arguments: [[UInt8]], db: Int? = nil) {
        propagated.append(LoggedCommand(db: db ?? self.db, arguments: arguments))
    }

    /// The entries of this call: the also-propagated ones, then the command if it changed anything.
    /// The command itself as it is logged, when it changed something and logs nothing else
    /// (`propagated` is empty): what ``finishedPropagation()`` would return alone, without the array.
    func onlyPropagatedCommand() -> LoggedCommand? {
        guard dirty > 0, !preventPropagation, propagated.isEmpty else { return nil }
        return LoggedCommand(db: db, arguments: rewrittenArguments ?? arguments)
    }

    func finishedPropagation() -> [LoggedCommand] {
        guard dirty > 0, !preventPropagation else { return propagated }
        let command = LoggedCommand(db: db, arguments: rewrittenArguments ?? arguments)
        // The usual case, one array: `propagated + [command]` made two and freed one.
        if propagated.isEmpty { return [command] }
        return propagated + [command]
    }
}

/// Byte strings of the command names the engine logs in place of the client's.
enum LoggedName {
    static let del = Array("DEL".utf8)
    static let set = Array("SET".utf8)
    static let pxat = Array("PXAT".utf8)
    static let keepttl = Array("KEEPTTL".utf8)
    static let pexpireat = Array("PEXPIREAT".utf8)
    static let persist = Array("PERSIST".utf8)
    static let srem = Array("SREM".utf8)
    static let hset = Array("HSET".utf8)
    static let lpop = Array("LPOP".utf8)
    static let rpop = Array("RPOP".utf8)
    static let lmove = Array("LMOVE".utf8)
    static let rpoplpush = Array("RPOPLPUSH".utf8)
    static let left = Array("LEFT".utf8)
    static let right = Array("RIGHT".utf8)
}
