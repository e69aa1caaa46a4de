// One row of the command table. See redis src/commands/*.json and `COMMAND INFO`.

import RewindRESP

/// The signature of a command body: a `Keyspace` method taking the per-call context.
///
/// Bodies never check arity or MULTI state; the dispatcher did that from the ``CommandSpec``.
typealias CommandHandler = (Keyspace) -> (inout CommandContext) throws(CommandError) -> RESPValue

/// Where a command's key arguments are, as Redis's legacy first/last/step or a numkeys argument.
public enum KeySpec: Hashable, Sendable {
    /// The command takes no keys (PING, DBSIZE, SELECT).
    case none
    /// Keys at `first`, `first + step`, ... up to `last`; a negative `last` counts from the end
    /// (`-1` is the last argument), as in `COMMAND INFO`.
    case range(first: Int, last: Int, step: Int)
    /// A count of keys at `index`, the keys from `first` every `step` (LMPOP, SINTERCARD).
    /// `COMMAND INFO` reports these as 0/0/0 with the `movablekeys` flag.
    case keyNum(index: Int, first: Int, step: Int)
    /// A destination key at 1, then a count of keys at `index` (ZUNIONSTORE, ZINTERSTORE,
    /// ZDIFFSTORE). `COMMAND INFO` reports the destination as 1/1/1 with `movablekeys`.
    case destinationThenKeyNum(index: Int, first: Int, step: Int)

    /// The first/last/step triple `COMMAND INFO` reports.
    public var legacyTriple: (first: Int, last: Int, step: Int) {
        switch self {
        case .none, .keyNum: return (0, 0, 0)
        case .destinationThenKeyNum: return (1, 1, 1)
        case .range(let first, let last, let step): return (first, last, step)
        }
    }

    /// The indexes of the key arguments in `arguments` (which include the command name), or nil
    /// when a numkeys argument is not a valid count for the arguments given.
    func keyIndexes(in arguments: [[UInt8]]) -> [Int]? {
        switch self {
        case .none:
            return []
        case .range(let first, let last, let step):
            let lastIndex = last < 0 ? arguments.count + last : last
            guard first < arguments.count, lastIndex >= first, step > 0 else { return [] }
            return Array(stride(from: first, through: min(lastIndex, arguments.count - 1), by: step))
        case .keyNum(let index, let first, let step):
            guard index < arguments.count, let keyCount = parseInt64(arguments[index]), keyCount > 0,
                  keyCount <= Int64(arguments.count - first) else { return nil }
            return (0..<Int(keyCount)).map { first + $0 * step }
        case .destinationThenKeyNum(let index, let first, let step):
            guard arguments.count > 1,
                  let keys = KeySpec.keyNum(index: index, first: first, step: step).keyIndexes(in: arguments) else { return nil }
            return [1] + keys
        }
    }
}

/// The command groups of Redis's `COMMAND DOCS`, which also name the ACL category of a family.
public enum CommandGroup: String, Sendable, CaseIterable {
    case generic, string, list, set, sortedSet = "sorted-set", hash, pubsub, transactions, connection,
         server, scripting, hyperloglog, cluster, geo, stream, bitmap
}

/// ACL categories a command belongs to beyond those its flags and group imply.
public struct ExtraCategories: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `@dangerous`: may be slow or destructive on a large data set (KEYS, FLUSHALL).
    public static let dangerous = ExtraCategories(rawValue: 1)
    /// `@connection` for a command outside the connection group (COMMAND, in the server group).
    public static let connection = ExtraCategories(rawValue: 2)
}

/// One command: its name, arity in Redis's convention, flags, key positions, group and body.
///
/// Arity counts the command name: `GET key` has arity 2; a negative arity `-N` means "at least N".
///
/// A class: the dispatcher fetches a row for every command, and a reference is one retain where a
/// struct of this size is a retain per field and a destroy afterwards (about 180 instructions a
/// command in a callgrind profile of replay).
public final class CommandSpec {
    /// The lower-case name, as `COMMAND INFO` prints it.
    public let name: String
    /// Redis's arity: exact when positive, a minimum when negative.
    public let arity: Int
    public let flags: CommandFlags
    public let keys: KeySpec
    public let group: CommandGroup
    public let extraCategories: ExtraCategories
    let run: CommandHandler

    init(_ name: String, arity: Int, flags: CommandFlags, keys: KeySpec, group: CommandGroup,
         extraCategories: ExtraCategories = [], run: @escaping CommandHandler) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.keys = keys
        self.group = group
        self.extraCategories = extraCategories
        self.run = run
        self.bypassesTransactionQueue = ["exec", "discard", "multi", "watch", "quit", "reset"].contains(name)
    }

    /// Whether the command runs at once inside MULTI instead of being queued (Redis `processCommand`).
    let bypassesTransactionQueue: Bool

    /// Whether `argumentCount` (including the name) satisfies the arity (Redis `commandCheckArity`).
    public func acceptsArgumentCount(_ argumentCount: Int) -> Bool {
        arity > 0 ? argumentCount == arity : argumentCount >= -arity
    }

    /// The ACL categories `COMMAND INFO` lists, derived as Redis derives them from flags and group.
    public var aclCategories: [String] {
        var categories: [String] = []
        if group == .generic { categories.append("@keyspace") }
        if flags.contains(.admin) { categories.append("@admin") }
        if flags.contains(.write) { categories.append("@write") }
        if flags.contains(.readonly) { categories.append("@read") }
        switch group {
        case .generic, .transactions, .connection, .server: break
        case .sortedSet: categories.append("@sortedset")
        default: categories.append("@" + group.rawValue)
        }
        categories.append(flags.contains(.fast) ? "@fast" : "@slow")
        if flags.contains(.blocking) { categories.append("@blocking") }
        if extraCategories.contains(.dangerous) { categories.append("@dangerous") }
        if group == .connection || extraCategories.contains(.connection) { categories.append("@connection") }
        if group == .transactions { categories.append("@transaction") }
        return categories
    }
}
