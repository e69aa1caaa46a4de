// COMMAND and its subcommands, answered from the command table. See redis src/server.c
// (commandCommand, commandInfoCommand, commandGetKeysCommand, addReplyCommandInfo).

import RewindRESP

extension Keyspace {
    /// COMMAND [COUNT | INFO name... | GETKEYS command args... | LIST].
    ///
    /// Each info entry has Redis 7.0's ten fields: name, arity, flags, first key, last key, step,
    /// ACL categories, tips, key specifications and subcommands. The last three are empty here:
    /// the table does not model tips, key specifications in their 7.0 form, or subcommands.
    func commandCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.argumentCount >= 2 else { return .array(CommandTable.all.map(Self.commandInfo)) }
        let subcommand = context.arguments[1]
        func requireArity(_ arity: Int, _ name: String) throws(CommandError) {
            let count = context.argumentCount
            if (arity > 0 && count != arity) || (arity < 0 && count < -arity) {
                throw ErrorReply.wrongArity("command|" + name)
            }
        }
        if argumentEquals(subcommand, "COUNT") {
            try requireArity(2, "count")
            return .integer(Int64(CommandTable.all.count))
        }
        if argumentEquals(subcommand, "LIST") {
            try requireArity(-2, "list")
            return .array(CommandTable.all.map { .bulk($0.name) })
        }
        if argumentEquals(subcommand, "INFO") {
            try requireArity(-2, "info")
            if context.argumentCount == 2 { return .array(CommandTable.all.map(Self.commandInfo)) }
            return .array(context.arguments.dropFirst(2).map {
                CommandTable.spec(forName: $0).map(Self.commandInfo) ?? .nullArray
            })
        }
        if argumentEquals(subcommand, "GETKEYS") {
            try requireArity(-3, "getkeys")
            return try commandGetKeys(Array(context.arguments.dropFirst(2)))
        }
        throw ErrorReply.unknownSubcommand(subcommand, container: "COMMAND")
    }

    /// COMMAND GETKEYS (Redis `getKeysSubcommandImpl`): the key arguments of a command line.
    private func commandGetKeys(_ arguments: [[UInt8]]) throws(CommandError) -> RESPValue {
        guard let name = arguments.first, let spec = CommandTable.spec(forName: name) else {
            throw ErrorReply.invalidCommandSpecified
        }
        if spec.keys == .none { throw ErrorReply.noKeyArguments }
        guard spec.acceptsArgumentCount(arguments.count) else { throw ErrorReply.invalidArgumentCountSpecified }
        guard let indexes = spec.keys.keyIndexes(in: arguments) else {
            throw CommandError("ERR Invalid arguments specified for command")
        }
        return .array(indexes.map { .bulkString(arguments[$0]) })
    }

    /// One `COMMAND INFO` entry.
    static func commandInfo(_ spec: CommandSpec) -> RESPValue {
        let triple = spec.keys.legacyTriple
        return .array([
            .bulk(spec.name),
            .integer(Int64(spec.arity)),
            .set(spec.flags.redisNames.map { .simpleString($0) }),
            .integer(Int64(triple.first)),
            .integer(Int64(triple.last)),
            .integer(Int64(triple.step)),
            .set(spec.aclCategories.map { .simpleString($0) }),
            .set([]),
            .array([]),
            .array([]),
        ])
    }
}
