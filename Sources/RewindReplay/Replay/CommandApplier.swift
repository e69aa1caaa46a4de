// Rebuilding a keyspace from a whole log as fast as the machine allows, for a server's startup.

import RewindEngine
import RewindLog

extension Replayer {
    /// Applies every command entry `reader` delivers under `recovery` to `keyspace`, in log
    /// order, and returns the reader's summary and how many commands were applied.
    ///
    /// The entries of a transaction are applied as they come: a writer logs a transaction as one
    /// record, which is delivered whole or not at all. Records are read, checked and decompressed
    /// on a second thread while this one applies them (``DecodingPipeline``), and the usual
    /// commands are applied from the decoded bytes without copying their arguments
    /// (``Keyspace/applyPacked(_:db:nowMilliseconds:)``), looking a few entries ahead as a replay does;
    /// a run of plain ZADDs to one key places each member once (``SortedSetScoreRun``).
    ///
    /// - Throws: What the reader throws for damage `recovery` refuses, or an unreadable log.
    public static func applyEveryCommand(of reader: LogReader, recovery: RecoveryMode, reporter: DamageReporter? = nil,
                                         into keyspace: Keyspace) throws -> (summary: LogReader.Summary, appliedCount: Int) {
        // A server runs on after this: its threads keep their own heaps (see the function).
        ProcessMemory.returnLargeBlocksWhenFreed(oneArena: false)
        // The closure below shares its state through a class: a captured `var` would be boxed
        // with a dynamic exclusivity check on every access.
        final class State {
            @exclusivity(unchecked) var applied = 0
            /// Runs of plain ZADDs to one key place each member once (``SortedSetScoreRun``);
            /// what a run gathered is placed before the next command of any other kind, and at
            /// the end.
            @exclusivity(unchecked) var run = SortedSetScoreRun()
        }
        let state = State()
        let summary: LogReader.Summary?
        do {
            summary = try DecodingPipeline.run(reader: reader, from: 1, recovery: recovery, reporter: reporter, applyPacked: { batch, index in
                let entry = batch.entries[index]
                guard entry.kind == .command else { return true }
                batch.prefetchAhead(of: index, in: keyspace)
                state.applied += 1
                if state.run.isOpen, batch.withPackedCommand(index, { state.run.take($0, db: entry.db) }) { return true }
                keyspace.applyScoreRun(&state.run)
                let reply = batch.withPackedCommand(index) { keyspace.applyPacked($0, db: entry.db, nowMilliseconds: entry.timestampMilliseconds) }
                if state.run.isOpen || entry.argumentCount == 4 {
                    batch.withPackedCommand(index) { keyspace.openScoreRun(&state.run, after: $0, db: entry.db, reply: reply) }
                }
                return true
            }, apply: { _ in true })
        } catch {
            keyspace.applyScoreRun(&state.run)
            throw error
        }
        keyspace.applyScoreRun(&state.run)
        let applied = state.applied
        guard let summary else { throw LogError(.fileSystem, path: reader.directory, "the log reader stopped before the end") }
        return (summary, applied)
    }
}
