// Periodic in-memory checkpoints, so a second replay to another point starts from the nearest
// one instead of the beginning of the log.

import RewindEngine
import RewindLog

/// In-memory checkpoints of a replay's state, taken every so many entries, for replaying to
/// another point later without starting again from the beginning.
///
/// A checkpoint is a copy-on-write fork of the engine state (`Keyspace.fork()`): taking one costs
/// nothing until the replay goes on writing, and then at most one copy of each value written
/// after it; a restore shares the checkpoint's values the same way (`Keyspace.restore(from:)`).
/// The restored state is the state that was captured, slot order and random generator included.
///
/// Checkpoints are taken only between whole transactions, and only during a replay without
/// exclusions or filters, whose state is a true point of the log.
///
/// ```swift
/// let checkpoints = ReplayCheckpoints(everyEntryCount: 500_000)
/// _ = try Replayer(log: path).replay(into: Keyspace(randomSeed: 0), checkpoints: checkpoints)
/// let middle = Keyspace(randomSeed: 0)
/// let summary = try Replayer(log: path).replay(into: middle, options: ReplayOptions(untilSequence: 2_500_000),
///                                              checkpoints: checkpoints)   // starts from #2,500,000 or before
/// ```
public final class ReplayCheckpoints: @unchecked Sendable {
    /// One checkpoint: the state after entry `sequence`.
    public struct Checkpoint: @unchecked Sendable {
        public var sequence: UInt64
        public var timestampMilliseconds: Int64
        public var keyCount: Int
        /// The state after entry `sequence`: a fork nobody writes to.
        var state: Keyspace
    }

    /// How many entries apart checkpoints are taken.
    public let intervalEntryCount: Int
    /// The checkpoints taken, in log order.
    public private(set) var checkpoints: [Checkpoint] = []

    public init(everyEntryCount intervalEntryCount: Int) {
        precondition(intervalEntryCount > 0, "checkpoints need a positive interval")
        self.intervalEntryCount = intervalEntryCount
    }

    /// Takes a checkpoint of `keyspace` as the state after entry `sequence`.
    func capture(_ keyspace: Keyspace, sequence: UInt64, timestampMilliseconds: Int64) {
        guard checkpoints.last.map({ $0.sequence < sequence }) ?? true else { return }
        let keyCount = (0..<keyspace.databaseCount).reduce(0) { $0 + keyspace.keyCount(db: $1) }
        checkpoints.append(Checkpoint(sequence: sequence, timestampMilliseconds: timestampMilliseconds, keyCount: keyCount,
                                      state: keyspace.fork()))
    }

    /// The latest checkpoint at or before the stopping points of `options`, nil when none fits.
    public func nearest(for options: ReplayOptions) -> Checkpoint? {
        checkpoints.last { checkpoint in
            (options.untilSequence.map { checkpoint.sequence <= $0 } ?? true)
                && (options.untilTimestampMilliseconds.map { checkpoint.timestampMilliseconds <= $0 } ?? true)
        }
    }

    /// Makes `keyspace` the checkpoint's state (whatever it held before).
    func restore(_ checkpoint: Checkpoint, into keyspace: Keyspace) {
        keyspace.restore(from: checkpoint.state)
    }
}

extension ReplayOptions {
    /// Whether the options replay the log as it is, so that checkpoints can be taken and used.
    var replaysEveryEntry: Bool {
        excludedSequences.isEmpty && excludedCommands.isEmpty && onlyDatabase == nil && onlyKeys == nil
    }
}
