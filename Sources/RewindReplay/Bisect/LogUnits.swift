// The points a bisection can stop at: after a command outside a transaction, or after a whole
// transaction. A state inside a transaction never existed, so it is never probed.

import RewindEngine
import RewindLog

/// One unit of a log: a command, or a transaction (its markers and commands), with the places of
/// its entries. Only the units a report or a shrink needs are kept in memory.
public struct LogUnit: Sendable {
    public struct Entry: Sendable {
        public var place: EntryPlace
        public var kind: LogEntry.Kind
        public var arguments: [[UInt8]]
        public var replyHash: UInt64?
    }
    public var entries: [Entry]
    /// The sequence number after which the unit's effect is visible (its last entry).
    public var endSequence: UInt64 { entries.last?.place.sequence ?? 0 }
    /// The commands, without markers and checkpoints.
    public var commands: [Entry] { entries.filter { $0.kind == .command } }
    public var isTransaction: Bool { entries.first?.kind == .transactionBegin }
}

/// A unit as the forward pass needs it: its commands ready to apply, without places.
struct CompactUnit {
    struct Command {
        var command: LoggedCommand
        var timestampMilliseconds: Int64
    }
    var commands: [Command]
    var endSequence: UInt64
    var firstTimestampMilliseconds: Int64
    var endTimestampMilliseconds: Int64
    var isCheckpoint: Bool
}

enum LogUnits {
    /// Like ``forEach(log:from:recovery:_:)`` but without places or markers, reusing one buffer:
    /// the forward pass's hot loop.
    static func forEachCompact(log: String, recovery: RecoveryMode, _ body: (CompactUnit) throws -> Bool) throws {
        let reader = try LogReader(directory: log)
        var unit = CompactUnit(commands: [], endSequence: 0, firstTimestampMilliseconds: 0, endTimestampMilliseconds: 0, isCheckpoint: false)
        var inTransaction = false
        struct Stop: Error {}
        do {
            try reader.forEachEntry(recovery: recovery) { view in
                switch view.kind {
                case .transactionBegin:
                    inTransaction = true
                    unit.commands.removeAll(keepingCapacity: true)
                    unit.firstTimestampMilliseconds = view.timestampMilliseconds
                case .transactionEnd:
                    inTransaction = false
                    unit.endSequence = view.sequence
                    unit.endTimestampMilliseconds = view.timestampMilliseconds
                    unit.isCheckpoint = false
                    if try !body(unit) { throw Stop() }
                case .command:
                    let command = CompactUnit.Command(command: LoggedCommand(db: Int(view.db), arguments: view.arguments.map { Array($0) }),
                                                      timestampMilliseconds: view.timestampMilliseconds)
                    if inTransaction {
                        unit.commands.append(command)
                    } else {
                        unit.commands.removeAll(keepingCapacity: true)
                        unit.commands.append(command)
                        unit.endSequence = view.sequence
                        unit.firstTimestampMilliseconds = view.timestampMilliseconds
                        unit.endTimestampMilliseconds = view.timestampMilliseconds
                        unit.isCheckpoint = false
                        if try !body(unit) { throw Stop() }
                    }
                case .checkpoint:
                    guard !inTransaction else { return }
                    var checkpoint = CompactUnit(commands: [], endSequence: view.sequence, firstTimestampMilliseconds: view.timestampMilliseconds,
                                                 endTimestampMilliseconds: view.timestampMilliseconds, isCheckpoint: true)
                    checkpoint.isCheckpoint = true
                    if try !body(checkpoint) { throw Stop() }
                }
            }
        } catch is Stop {}
    }

    /// Calls `body` with each unit of `log` from `from`, whole transactions at once; stops when
    /// `body` returns false. A trailing unfinished transaction is not delivered.
    static func forEach(log: String, from: UInt64 = 1, recovery: RecoveryMode, _ body: (LogUnit) throws -> Bool) throws {
        let reader = try LogReader(directory: log)
        let names = reader.manifest.segments.map(\.fileName)
        var record: LogReader.RecordInfo?
        var open: [LogUnit.Entry]?
        struct Stop: Error {}
        do {
            try reader.forEachEntry(from: from, recovery: recovery, onRecord: { record = $0 }) { view in
                guard let record else { return }
                let place = EntryPlace(sequence: view.sequence, segmentIndex: record.segmentIndex,
                                       segmentFileName: record.segmentIndex < names.count ? names[record.segmentIndex] : "",
                                       byteOffset: record.byteOffset, timestampMilliseconds: view.timestampMilliseconds, db: Int(view.db))
                let entry = LogUnit.Entry(place: place, kind: view.kind, arguments: view.arguments.map { Array($0) }, replyHash: view.replyHash)
                switch view.kind {
                case .transactionBegin:
                    open = [entry]
                case .transactionEnd:
                    var entries = open ?? []
                    entries.append(entry)
                    open = nil
                    if try !body(LogUnit(entries: entries)) { throw Stop() }
                case .command, .checkpoint:
                    if open != nil {
                        open!.append(entry)
                    } else if try !body(LogUnit(entries: [entry])) {
                        throw Stop()
                    }
                }
            }
        } catch is Stop {}
    }

    /// The end sequence numbers of every state-changing unit (checkpoints are not units), in order,
    /// and the log's last sequence number. Reads without applying or copying arguments.
    static func boundaries(log: String, recovery: RecoveryMode) throws -> (boundaries: [UInt64], lastSequence: UInt64) {
        let reader = try LogReader(directory: log)
        var boundaries: [UInt64] = []
        var inTransaction = false
        let summary = try reader.forEachEntry(recovery: recovery) { view in
            switch view.kind {
            case .transactionBegin: inTransaction = true
            case .transactionEnd:
                inTransaction = false
                boundaries.append(view.sequence)
            case .command where !inTransaction: boundaries.append(view.sequence)
            default: break
            }
        }
        return (boundaries, summary.lastSequence)
    }

    /// The units whose end lies in `range`, in order.
    static func units(log: String, in range: ClosedRange<UInt64>, recovery: RecoveryMode) throws -> [LogUnit] {
        var units: [LogUnit] = []
        try forEach(log: log, from: range.lowerBound, recovery: recovery) { unit in
            guard unit.endSequence <= range.upperBound else { return false }
            if unit.endSequence >= range.lowerBound && unit.entries.first?.kind != .checkpoint { units.append(unit) }
            return true
        }
        return units
    }
}

/// A keyspace that can be moved to any point of a log: forward by replaying, backward by
/// restoring the nearest checkpoint and replaying the gap (see docs/BISECT.md, "Cost").
final class StateMaterializer {
    let log: String
    let recovery: RecoveryMode
    private(set) var keyspace = Keyspace(randomSeed: 0)
    /// The sequence number the state is at (0: empty).
    private(set) var position: UInt64 = 0
    private(set) var timestampMilliseconds: Int64 = 0
    /// Checkpoints by sequence number.
    private var checkpoints: [UInt64: ReplayCheckpoints.Checkpoint] = [:]
    /// Entries replayed, restores and captures made: what the search cost.
    private(set) var replayedEntryCount = 0
    private(set) var restoreCount = 0
    private(set) var captureCount = 0
    /// A restore or capture costs about this many replayed entries per key.
    static let entriesPerKey: UInt64 = 2

    init(log: String, recovery: RecoveryMode) {
        self.log = log
        self.recovery = recovery
    }

    var keyCount: Int { (0..<keyspace.databaseCount).reduce(0) { $0 + keyspace.keyCount(db: $1) } }

    /// Moves the state to just after entry `target` (a unit boundary, or 0), the cheapest way.
    func move(to target: UInt64) throws {
        if target == position { return }
        var bestCost: UInt64 = target  // from an empty keyspace
        var start: ReplayCheckpoints.Checkpoint?
        var forward = false
        if position < target, target - position <= bestCost {
            bestCost = target - position
            forward = true
        }
        if let checkpoint = checkpoints.values.filter({ $0.sequence <= target }).max(by: { $0.sequence < $1.sequence }) {
            let cost = UInt64(checkpoint.keyCount) * Self.entriesPerKey + (target - checkpoint.sequence)
            if cost < bestCost { bestCost = cost; start = checkpoint; forward = false }
        }
        if !forward {
            keyspace = Keyspace(randomSeed: 0)
            position = 0
            timestampMilliseconds = 0
            if let start {
                for (db, arguments) in start.commands {
                    keyspace.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: start.timestampMilliseconds)
                }
                restoreCount += 1
                position = start.sequence
                timestampMilliseconds = start.timestampMilliseconds
            }
        }
        if target > position {
            let summary = try Replayer(log: log).replay(into: keyspace, options: ReplayOptions(untilSequence: target, recovery: recovery),
                                                        from: position + 1)
            replayedEntryCount += summary.readEntryCount
            if summary.readEntryCount > 0 { timestampMilliseconds = summary.lastTimestampMilliseconds }
        }
        position = target
    }

    /// Keeps a checkpoint of the current state, when restoring it later would be cheaper than
    /// replaying from the checkpoint (or the start) before it by at least `gain` entries.
    func captureIfWorthIt() {
        let below = checkpoints.keys.filter { $0 <= position }.max() ?? 0
        let keys = UInt64(keyCount)
        guard position - below > keys * Self.entriesPerKey + 4096 else { return }
        var commands: [(db: Int, arguments: [[UInt8]])] = []
        StateDump.commands(of: keyspace) { db, arguments in commands.append((db, arguments)) }
        checkpoints[position] = ReplayCheckpoints.Checkpoint(sequence: position, timestampMilliseconds: timestampMilliseconds,
                                                             keyCount: Int(keys), commands: commands)
        captureCount += 1
    }

    /// Drops checkpoints that can no longer help: below the last one at or before `low`, or after `high`.
    func forgetCheckpoints(outside low: UInt64, _ high: UInt64) {
        let floor = checkpoints.keys.filter { $0 <= low }.max() ?? 0
        for sequence in checkpoints.keys where sequence < floor || sequence > high { checkpoints[sequence] = nil }
    }
}
