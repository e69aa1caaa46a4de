// Periodic in-memory checkpoints, so a second replay to another point starts from the nearest
// one instead of the beginning of the log.

import RewindEngine
import RewindLog

/// In-memory checkpoints of a replay's state, taken every so many entries, for replaying to
/// another point later without starting again from the beginning.
///
/// The engine has no snapshot of its own yet, so a checkpoint holds the commands that rebuild
/// the state (one per key, as ``StateDump`` writes them) rather than a copy-on-write copy; a
/// restore applies them to a fresh keyspace. The restored state has the same keys, values and
/// expiry times, hence the same digest; the iteration order of hash fields and set members may
/// differ, which no logged entry depends on (random choices are logged as their effect).
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
    public struct Checkpoint: Sendable {
        public var sequence: UInt64
        public var timestampMilliseconds: Int64
        public var keyCount: Int
        /// The rebuild commands, with their databases.
        var commands: [(db: Int, arguments: [[UInt8]])]
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
        var commands: [(db: Int, arguments: [[UInt8]])] = []
        StateDump.commands(of: keyspace) { db, arguments in commands.append((db, arguments)) }
        let keyCount = (0..<keyspace.databaseCount).reduce(0) { $0 + keyspace.keyCount(db: $1) }
        checkpoints.append(Checkpoint(sequence: sequence, timestampMilliseconds: timestampMilliseconds, keyCount: keyCount, commands: commands))
    }

    /// The latest checkpoint at or before the stopping points of `options`, nil when none fits.
    public func nearest(for options: ReplayOptions) -> Checkpoint? {
        checkpoints.last { checkpoint in
            (options.untilSequence.map { checkpoint.sequence <= $0 } ?? true)
                && (options.untilTimestampMilliseconds.map { checkpoint.timestampMilliseconds <= $0 } ?? true)
        }
    }

    /// Rebuilds the checkpoint's state in `keyspace`, which must be empty.
    func restore(_ checkpoint: Checkpoint, into keyspace: Keyspace) {
        for (db, arguments) in checkpoint.commands {
            keyspace.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: checkpoint.timestampMilliseconds)
        }
    }
}

extension ReplayOptions {
    /// Whether the options replay the log as it is, so that checkpoints can be taken and used.
    var replaysEveryEntry: Bool {
        excludedSequences.isEmpty && excludedCommands.isEmpty && onlyDatabase == nil && onlyKeys == nil
    }
}
