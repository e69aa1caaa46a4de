// The checks Redis makes before a command runs or is queued inside MULTI: arity, subcommand
// lookup and arity, and the commands refused in a transaction. See redis src/server.c
// (processCommand, commandCheckArity) and src/multi.c (flagTransaction).

extension ServerCommand {
    /// The subcommands of a container command and their arities (negative: at least), as
    /// redis-server 7.0.15's COMMAND INFO lists them, plus the two Rewind answers for newer clients
    /// (CLIENT NO-TOUCH and SETINFO). Nil for a command that is not a container.
    var subcommandArities: [String: Int]? {
        switch self {
        case .client:
            return ["caching": 3, "getname": 2, "getredir": 2, "help": 2, "id": 2, "info": 2, "kill": -3, "list": -2,
                    "no-evict": 3, "no-touch": 3, "pause": -3, "reply": 3, "setinfo": 4, "setname": 3, "tracking": -3,
                    "trackinginfo": 2, "unblock": -3, "unpause": 2]
        case .config:
            return ["get": -3, "help": 2, "resetstat": 2, "rewrite": 2, "set": -4]
        case .function:
            return ["delete": 3, "dump": 2, "flush": -2, "help": 2, "kill": 2, "list": -2, "load": -3, "restore": -3,
                    "stats": 2]
        case .memory:
            return ["doctor": 2, "help": 2, "malloc-stats": 2, "purge": 2, "stats": 2, "usage": -3]
        case .object:
            return ["encoding": 3, "freq": 3, "help": 2, "idletime": 3, "refcount": 3]
        case .pubsub:
            return ["channels": -2, "help": 2, "numpat": 2, "numsub": -2, "shardchannels": -2, "shardnumsub": -2]
        default:
            return nil
        }
    }

    /// Commands Redis refuses inside MULTI (`no-multi` in COMMAND INFO).
    var isRefusedInTransaction: Bool { self == .shutdown || self == .save || self == .sync }

    /// Redis's error for `arguments` before the command runs or is queued, or nil when it may:
    /// the command's arity, then for a container its subcommand (unknown, or its arity), then,
    /// inside MULTI, a command that may not be queued. Inside MULTI the error also dooms EXEC.
    func rejection(of arguments: [[UInt8]], inTransaction: Bool) -> String? {
        guard acceptsArgumentCount(arguments.count) else {
            return "ERR wrong number of arguments for '\(rawValue)' command"
        }
        if let subcommands = subcommandArities, arguments.count >= 2 {
            let name = Clock.lowercased(arguments[1])
            guard let arity = subcommands[name] else {
                let given = String(decoding: arguments[1].prefix(128), as: UTF8.self)
                return "ERR unknown subcommand '\(given)'. Try \(rawValue.uppercased()) HELP."
            }
            guard arity > 0 ? arguments.count == arity : arguments.count >= -arity else {
                return "ERR wrong number of arguments for '\(rawValue)|\(name)' command"
            }
        }
        if inTransaction && isRefusedInTransaction {
            return "ERR Command not allowed inside a transaction"
        }
        return nil
    }
}
