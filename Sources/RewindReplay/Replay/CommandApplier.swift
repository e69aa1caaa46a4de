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
    /// runs of plain ZADDs place each member of a set once (``SortedSetScoreRuns``).
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
            /// Runs of plain ZADDs, one per sorted set, place each member once
            /// (``SortedSetScoreRuns``); a run is placed before a command that may touch its
            /// set, and at the end.
            @exclusivity(unchecked) var runs = SortedSetScoreRuns()
        }
        let state = State()
        // What the runs gathered is placed at the end, or where a read fails.
        defer { keyspace.applyScoreRuns(&state.runs) }
        let summary = try DecodingPipeline.run(reader: reader, from: 1, recovery: recovery, reporter: reporter, applyPacked: { batch, index in
            let entry = batch.entries[index]
            guard entry.kind == .command else { return true }
            batch.prefetchAhead(of: index, in: keyspace)
            state.applied += 1
            _ = batch.withPackedCommand(index) {
                keyspace.applyPacked($0, db: entry.db, nowMilliseconds: entry.timestampMilliseconds, through: &state.runs)
            }
            return true
        }, apply: { _ in true })
        guard let summary else { throw LogError(.fileSystem, path: reader.directory, "the log reader stopped before the end") }
        return (summary, state.applied)
    }
}
