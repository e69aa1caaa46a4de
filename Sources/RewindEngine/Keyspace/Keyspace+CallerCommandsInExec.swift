// EXEC of a transaction whose queue also holds commands a server answers itself (INFO, CONFIG,
// OBJECT, CLIENT, PUBLISH, ...). See redis src/multi.c execCommand: every queued command runs in
// the order it was queued. Added for RewindServer; the engine's own EXEC is unchanged.

import RewindRESP

extension Keyspace {
    /// Runs EXEC for `session`, interleaving commands the caller queued beside the engine's.
    ///
    /// The engine queues only its own commands. A server that queues others (commands the engine
    /// does not know) passes, for each of them in queue order, how many engine commands were
    /// queued before it (`callerCommandPositions`, non-decreasing); at EXEC each runs in its place
    /// through `runCallerCommand(index, session)`, which gets the session as it is at that point
    /// (the database a queued SELECT chose) and returns the replies it produced (normally one) and
    /// the commands it wrote (a SORT ... STORE), which join the transaction's entries in place.
    ///
    /// Everything else is EXEC's: EXECABORT when a command failed to queue, a null array when a
    /// WATCHed key changed (the caller's commands then do not run), the WATCHes dropped, and the
    /// engine commands' writes returned as one ``LoggedEntry/transaction(_:)``. The reply is the
    /// array of every reply in queue order.
    public func executeTransaction(
        session: inout ClientSession, nowMilliseconds: Int64, callerCommandPositions: [Int],
        runCallerCommand: (_ index: Int, _ session: ClientSession) -> (replies: [RESPValue], propagated: [LoggedCommand])
    ) -> CommandResult {
        let queued = session.queuedCommands
        // EXEC of an empty queue does every check and state change of EXEC and runs nothing.
        session.queuedCommands = []
        let exec = execute([Array("EXEC".utf8)], session: &session, nowMilliseconds: nowMilliseconds)
        guard exec.reply == .array([]), exec.propagated.isEmpty else { return exec }
        var replies: [RESPValue] = []
        replies.reserveCapacity(queued.count + callerCommandPositions.count)
        var propagated: [LoggedCommand] = []
        var nextCaller = 0
        for index in 0...queued.count {
            while nextCaller < callerCommandPositions.count && callerCommandPositions[nextCaller] <= index {
                let ran = runCallerCommand(nextCaller, session)
                replies += ran.replies
                propagated += ran.propagated
                nextCaller += 1
            }
            guard index < queued.count else { break }
            let outcome = dispatch(queued[index], session: &session, nowMilliseconds: nowMilliseconds)
            replies.append(outcome.reply)
            propagated += outcome.propagated
        }
        return CommandResult(reply: .array(replies), propagated: propagated.isEmpty ? [] : [.transaction(propagated)])
    }
}
