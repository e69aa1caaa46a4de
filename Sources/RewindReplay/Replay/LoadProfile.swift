// The two halves of a replay's pipeline timed apart, for tools/load-bench: what the reading thread
// costs on its own and what the applying thread costs on its own, so the critical path is known.

import Dispatch
import RewindEngine
import RewindLog

/// Measures the reading and the applying side of ``DecodingPipeline`` one after the other, each
/// alone on the calling thread (a benchmark hook: not API).
package enum LoadProfile {
    package struct Timing {
        /// Reading, checking, decompressing and decoding every record into packed batches.
        package var readSeconds: Double
        /// Applying the batches (already in memory) to a fresh keyspace, as the replay applies them.
        package var applySeconds: Double
        package var entryCount: Int
        package var keyCount: Int
    }

    /// Reads the whole log into batches (timed), then applies them to a fresh keyspace (timed).
    package static func measure(log: String) throws -> Timing {
        let reader = try LogReader(directory: log)
        var batches: [PackedBatch] = []
        var start = DispatchTime.now().uptimeNanoseconds
        _ = try DecodingPipeline.readBatches(reader: reader, from: 1, recovery: .tolerateTail) { batches.append($0) }
        let readSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let keyspace = Keyspace(randomSeed: 0)
        var run = ReplayRun(keyspace: keyspace, options: ReplayOptions(), observer: nil, segmentNames: [])
        var entryCount = 0
        start = DispatchTime.now().uptimeNanoseconds
        for batch in batches {
            for index in batch.entries.indices {
                if run.acceptPacked(batch, index) == nil { _ = run.accept(batch.decoded(index)) }
                entryCount += 1
            }
        }
        run.finish()
        let applySeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var keyCount = 0
        for db in 0..<keyspace.databaseCount { keyCount += keyspace.keyCount(db: db) }
        return Timing(readSeconds: readSeconds, applySeconds: applySeconds, entryCount: entryCount, keyCount: keyCount)
    }
}
