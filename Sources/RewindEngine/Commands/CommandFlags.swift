// Command flags with Redis 7.0's names and meanings. See redis src/server.h, the comment above
// `struct redisCommand`, and `COMMAND INFO` on a live server.

/// What kind of command a ``CommandSpec`` describes, as the flags Redis reports in `COMMAND INFO`.
///
/// The dispatcher reads these flags instead of special-casing command names: `.write` decides
/// what may be refused on a read-only replica, `.noMulti`/transaction handling decides what is
/// queued. Each flag keeps Redis's spelling in ``redisName`` so `COMMAND` replies are byte-exact.
public struct CommandFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `write`: the command may modify the keyspace, so its effect is propagated to the log.
    public static let write = CommandFlags(rawValue: 1 << 0)
    /// `readonly`: the command only reads keys; it never modifies them.
    public static let readonly = CommandFlags(rawValue: 1 << 1)
    /// `denyoom`: the command may grow memory, so Redis refuses it when over `maxmemory`.
    public static let denyOOM = CommandFlags(rawValue: 1 << 2)
    /// `admin`: an administrative command (CONFIG, DEBUG, ...).
    public static let admin = CommandFlags(rawValue: 1 << 3)
    /// `pubsub`: a publish/subscribe command.
    public static let pubsub = CommandFlags(rawValue: 1 << 4)
    /// `noscript`: the command is not allowed inside a Lua script.
    public static let noscript = CommandFlags(rawValue: 1 << 5)
    /// `blocking`: the command may block the client (BLPOP and friends).
    public static let blocking = CommandFlags(rawValue: 1 << 6)
    /// `loading`: the command is allowed while the server loads its data set.
    public static let loading = CommandFlags(rawValue: 1 << 7)
    /// `stale`: the command is allowed on a replica with stale data.
    public static let stale = CommandFlags(rawValue: 1 << 8)
    /// `skip_monitor`: the command is not shown in MONITOR output.
    public static let skipMonitor = CommandFlags(rawValue: 1 << 9)
    /// `skip_slowlog`: the command is not recorded in the slow log (EXEC records its parts instead).
    public static let skipSlowlog = CommandFlags(rawValue: 1 << 10)
    /// `fast`: O(1) or O(log N); never delays the server noticeably.
    public static let fast = CommandFlags(rawValue: 1 << 11)
    /// `no_auth`: allowed before authentication.
    public static let noAuth = CommandFlags(rawValue: 1 << 12)
    /// `may_replicate`: the command may produce replication traffic though it is not a write.
    public static let mayReplicate = CommandFlags(rawValue: 1 << 13)
    /// `no_mandatory_keys`: the key arguments are optional.
    public static let noMandatoryKeys = CommandFlags(rawValue: 1 << 14)
    /// `no_multi`: the command may not be queued inside MULTI.
    public static let noMulti = CommandFlags(rawValue: 1 << 15)
    /// `movablekeys`: key positions depend on the arguments (a numkeys argument), so the
    /// first/last/step triple does not describe them; ``KeySpec/keyNum(index:first:step:)`` does.
    public static let movableKeys = CommandFlags(rawValue: 1 << 16)
    /// `allow_busy`: allowed while a script is running too long.
    public static let allowBusy = CommandFlags(rawValue: 1 << 17)

    /// The flags in Redis's `COMMAND INFO` order, with their Redis names.
    static let redisNames: [(CommandFlags, String)] = [
        (.write, "write"), (.readonly, "readonly"), (.denyOOM, "denyoom"), (.admin, "admin"),
        (.pubsub, "pubsub"), (.noscript, "noscript"), (.blocking, "blocking"), (.loading, "loading"),
        (.stale, "stale"), (.skipMonitor, "skip_monitor"), (.skipSlowlog, "skip_slowlog"),
        (.fast, "fast"), (.noAuth, "no_auth"), (.mayReplicate, "may_replicate"),
        (.noMandatoryKeys, "no_mandatory_keys"), (.noMulti, "no_multi"), (.movableKeys, "movablekeys"),
        (.allowBusy, "allow_busy"),
    ]

    /// Redis's names of the flags that are set, in `COMMAND INFO` order.
    public var redisNames: [String] {
        Self.redisNames.compactMap { contains($0.0) ? $0.1 : nil }
    }
}
