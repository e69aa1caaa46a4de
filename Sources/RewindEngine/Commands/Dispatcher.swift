// The one place that does the generic work of every command: lookup, unknown command, arity,
// MULTI queueing, and turning a body's changes into log entries. See redis src/server.c
// (processCommand, commandCheckArity, call, propagatePendingCommands).

import RewindRESP

extension Keyspace {
    /// Runs one client command at `nowMilliseconds` and returns its reply and the entries to log.
    ///
    /// - Parameters:
    ///   - arguments: The command name followed by its arguments, as the client sent them.
    ///   - session: The connection's state (selected database, MULTI queue, WATCHed keys).
    ///   - nowMilliseconds: The Unix time the command runs at; every expiry decision uses it.
    /// - Returns: The reply, and at most one ``LoggedEntry``: a `.command`, or a `.transaction`
    ///   for EXEC and for a command that emitted several entries (a lazy-expiry DEL followed by the
    ///   write, SPOP's SREM batches), which Redis 7.0 also wraps in MULTI/EXEC.
    public func execute(_ arguments: [[UInt8]], session: inout ClientSession,
                        nowMilliseconds: Int64) -> CommandResult {
        let outcome = dispatch(arguments, session: &session, nowMilliseconds: nowMilliseconds)
        // The usual write: one command, put in the one array the result needs.
        if let single = outcome.single { return CommandResult(reply: outcome.reply, propagated: [.command(single)]) }
        let commands = outcome.commands
        let entries: [LoggedEntry]
        if commands.isEmpty {
            entries = []
        } else if commands.count == 1 && !outcome.isTransaction {
            entries = [.command(commands[0])]
        } else {
            entries = [.transaction(commands)]
        }
        return CommandResult(reply: outcome.reply, propagated: entries)
    }

    /// Replays one logged entry into this keyspace and returns the replies it produced.
    ///
    /// Replay runs each command in the database it names, as a ``ClientSession/replaying()``
    /// session: keys are not expired on access (the log holds a DEL for every expiry that
    /// happened, as Redis's AOF does), so the state after replaying every entry a keyspace
    /// produced equals that keyspace's state.
    @discardableResult
    public func apply(_ entry: LoggedEntry, nowMilliseconds: Int64) -> [RESPValue] {
        entry.commands.map { apply($0, nowMilliseconds: nowMilliseconds) }
    }

    /// Replays one logged command; see ``apply(_:nowMilliseconds:)-(LoggedEntry,_)``.
    @discardableResult
    public func apply(_ command: LoggedCommand, nowMilliseconds: Int64) -> RESPValue {
        var session = ClientSession.replaying()
        session.databaseIndex = command.db
        return dispatch(command.arguments, session: &session, nowMilliseconds: nowMilliseconds, collectingPropagation: false).reply
    }

    /// What one dispatched command produced.
    struct DispatchOutcome {
        var reply: RESPValue
        /// What the command propagated, unless it is `single`.
        var commands: [LoggedCommand] = []
        var isTransaction = false
        /// The one command propagated, when that is all (then `commands` is empty).
        var single: LoggedCommand?

        /// Every command propagated, in order.
        var propagated: [LoggedCommand] { single.map { [$0] } ?? commands }
    }

    /// Looks the command up, checks arity, queues it inside MULTI, or runs it.
    ///
    /// A replay has no use for the entries a command would log, so `collectingPropagation: false`
    /// skips assembling them (an allocation per command).
    func dispatch(_ arguments: [[UInt8]], session: inout ClientSession,
                  nowMilliseconds: Int64, collectingPropagation: Bool = true) -> DispatchOutcome {
        guard let name = arguments.first, let spec = CommandTable.spec(forName: name) else {
            if session.isInTransaction { session.transactionHasErrors = true }
            return DispatchOutcome(reply: ErrorReply.unknownCommand(arguments).reply)
        }
        guard spec.acceptsArgumentCount(arguments.count) else {
            if session.isInTransaction { session.transactionHasErrors = true }
            return DispatchOutcome(reply: ErrorReply.wrongArity(spec.name).reply)
        }
        if session.isInTransaction && !spec.bypassesTransactionQueue {
            session.queuedCommands.append(arguments)
            return DispatchOutcome(reply: .simpleString("QUEUED"))
        }
        var context = CommandContext(arguments: arguments, session: session, nowMilliseconds: nowMilliseconds)
        context.spec = spec
        let reply: RESPValue
        do {
            reply = try spec.run(self)(&context)
        } catch {
            reply = error.reply
        }
        session = context.session
        guard collectingPropagation else { return DispatchOutcome(reply: reply) }
        if context.propagated.isEmpty && !context.propagatesAsTransaction, let single = context.onlyPropagatedCommand() {
            return DispatchOutcome(reply: reply, single: single)
        }
        return DispatchOutcome(reply: reply, commands: context.finishedPropagation(),
                               isTransaction: context.propagatesAsTransaction)
    }

    // MARK: - Command table access

    /// Every command the engine implements, sorted by name.
    public static var commandTable: [CommandSpec] { CommandTable.all }

    /// The command called `name` (any case), or nil.
    public static func commandSpec(named name: String) -> CommandSpec? {
        CommandTable.spec(forName: Array(name.utf8))
    }

    /// The indexes of the key arguments of a command (for blame and cluster routing), or nil for
    /// an unknown command, a wrong argument count or an invalid numkeys.
    public static func keyIndexes(of arguments: [[UInt8]]) -> [Int]? {
        guard let name = arguments.first, let spec = CommandTable.spec(forName: name),
              spec.acceptsArgumentCount(arguments.count) else { return nil }
        return spec.keys.keyIndexes(in: arguments)
    }
}
