// MULTI, EXEC, DISCARD, WATCH and UNWATCH. See redis src/multi.c.

import RewindRESP

extension Keyspace {
    func multiCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.session.isInTransaction { throw ErrorReply.multiNested }
        context.session.isInTransaction = true
        context.session.transactionHasErrors = false
        context.session.queuedCommands = []
        return .ok
    }

    /// EXEC: runs the queued commands in order and logs their writes as one
    /// ``LoggedEntry/transaction(_:)``, so a replay applies all of them or none.
    ///
    /// Replies EXECABORT when a command failed to queue, and a null array when a WATCHed key was
    /// modified or expired since WATCH (Redis `execCommand`, `isWatchedKeyExpired`).
    func execCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.session.isInTransaction else { throw ErrorReply.execWithoutMulti }
        let queued = context.session.queuedCommands
        let hadQueueErrors = context.session.transactionHasErrors
        let watchFailed = isAnyWatchedKeyModified(context.session, context)
        context.session.isInTransaction = false
        context.session.transactionHasErrors = false
        context.session.queuedCommands = []
        unwatchAll(&context.session)
        if hadQueueErrors { throw ErrorReply.execAbort }
        if watchFailed { return .nullArray }
        var replies: [RESPValue] = []
        replies.reserveCapacity(queued.count)
        for arguments in queued {
            let outcome = dispatch(arguments, session: &context.session, nowMilliseconds: context.nowMilliseconds)
            replies.append(outcome.reply)
            context.propagated += outcome.propagated
        }
        context.propagatesAsTransaction = true
        return .array(replies)
    }

    func discardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.session.isInTransaction else { throw ErrorReply.discardWithoutMulti }
        context.session.isInTransaction = false
        context.session.transactionHasErrors = false
        context.session.queuedCommands = []
        unwatchAll(&context.session)
        return .ok
    }

    /// WATCH key...: remembers each key's modification version (Redis `watchForKey`).
    func watchCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.session.isInTransaction { throw ErrorReply.watchInsideMulti }
        let db = context.db
        for key in context.arguments.dropFirst()
        where !context.session.watchedKeys.contains(where: { $0.db == db && $0.key == key }) {
            let tableKey = WatchTableKey(db: db, key: key)
            var entry = watchTable[tableKey] ?? WatchTableEntry(sessionCount: 0, version: 0)
            entry.sessionCount += 1
            watchTable[tableKey] = entry
            let expired = isLogicallyExpired(db: db, key, context)
            context.session.watchedKeys.append(
                WatchedKey(db: db, key: key, version: entry.version, wasExpiredWhenWatched: expired))
        }
        return .ok
    }

    func unwatchCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        unwatchAll(&context.session)
        return .ok
    }

    /// Drops every WATCH of `session` and releases its counts in the watch table.
    func unwatchAll(_ session: inout ClientSession) {
        for watched in session.watchedKeys {
            let tableKey = WatchTableKey(db: watched.db, key: watched.key)
            guard var entry = watchTable[tableKey] else { continue }
            entry.sessionCount -= 1
            watchTable[tableKey] = entry.sessionCount > 0 ? entry : nil
        }
        session.watchedKeys = []
    }

    /// Whether EXEC must fail because a watched key changed or expired since WATCH.
    ///
    /// A key that was already expired at WATCH time and has since been deleted counts as
    /// unchanged, as Redis 7.0 `touchWatchedKey` treats it; recreating it counts as a change.
    private func isAnyWatchedKeyModified(_ session: ClientSession, _ context: CommandContext) -> Bool {
        for watched in session.watchedKeys {
            let entry = watchTable[WatchTableKey(db: watched.db, key: watched.key)]
            let changed = entry.map { $0.version != watched.version } ?? false
            let existsNow = databases[watched.db].entries.slotIndex(of: watched.key) != nil
            if watched.wasExpiredWhenWatched {
                if changed && existsNow { return true }
                continue
            }
            if changed { return true }
            if isLogicallyExpired(db: watched.db, watched.key, context) { return true }
        }
        return false
    }
}
