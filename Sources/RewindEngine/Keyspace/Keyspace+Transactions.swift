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

    /// WATCH key...: registers the session as a watcher of each key (Redis `watchForKey`).
    func watchCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.session.isInTransaction { throw ErrorReply.watchInsideMulti }
        let db = context.db
        let id: UInt64
        if let existing = context.session.watcherID {
            id = existing
        } else {
            id = nextWatcherID
            nextWatcherID += 1
            watchers[id] = WatcherState()
            context.session.watcherID = id
        }
        for key in context.arguments.dropFirst()
        where !(watchers[id]?.keys.contains(where: { $0.db == db && $0.key == key }) ?? false) {
            let expired = isLogicallyExpired(db: db, key, context)
            watchers[id]?.keys.append(WatchedKey(db: db, key: key, wasExpiredWhenWatched: expired))
            watchTable[WatchTableKey(db: db, key: key), default: []].append(id)
        }
        return .ok
    }

    func unwatchCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        unwatchAll(&context.session)
        return .ok
    }

    /// Drops every WATCH of `session` (Redis `unwatchAllKeys`).
    func unwatchAll(_ session: inout ClientSession) {
        guard let id = session.watcherID else { return }
        for watched in watchers[id]?.keys ?? [] {
            let tableKey = WatchTableKey(db: watched.db, key: watched.key)
            watchTable[tableKey]?.removeAll { $0 == id }
            if watchTable[tableKey]?.isEmpty == true { watchTable[tableKey] = nil }
        }
        watchers[id] = nil
        session.watcherID = nil
    }

    /// Whether EXEC must fail: a watched key was touched (the session is dirty), or a key that
    /// was not expired at WATCH time has expired since (Redis 7.0 `isWatchedKeyExpired`).
    private func isAnyWatchedKeyModified(_ session: ClientSession, _ context: CommandContext) -> Bool {
        guard let id = session.watcherID, let watcher = watchers[id] else { return false }
        if watcher.isDirty { return true }
        return watcher.keys.contains { !$0.wasExpiredWhenWatched && isLogicallyExpired(db: $0.db, $0.key, context) }
    }
}
