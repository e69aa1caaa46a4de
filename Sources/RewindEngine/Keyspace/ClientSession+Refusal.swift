// A server-level refusal inside MULTI. See redis src/multi.c (flagTransaction) and src/server.c
// (rejectCommand): a command the server refuses before it reaches the queue still dooms EXEC.

extension ClientSession {
    /// Marks the open transaction as failed, as Redis's `flagTransaction` does when the server
    /// refuses a command before queueing it (for example `-READONLY` on a read-only server):
    /// EXEC then replies `EXECABORT`. Does nothing outside a transaction.
    public mutating func flagTransactionError() {
        if isInTransaction { transactionHasErrors = true }
    }
}
