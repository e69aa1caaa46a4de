// The points a bisection can stop at: after a command outside a transaction, or after a whole
// transaction. A state inside a transaction never existed, so it is never probed.

import Foundation
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
    static func forEachCompact(log: String, from: UInt64 = 1, recovery: RecoveryMode, _ body: (CompactUnit) throws -> Bool) throws {
        let reader = try LogReader(directory: log)
        var unit = CompactUnit(commands: [], endSequence: 0, firstTimestampMilliseconds: 0, endTimestampMilliseconds: 0, isCheckpoint: false)
        var inTransaction = false
        struct Stop: Error {}
        do {
            try reader.forEachEntry(from: from, recovery: recovery) { view in
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

/// A keyspace that can be moved to any point of a log: forward by applying entries, backward by
/// undoing them. Undo works with savepoints: from a savepoint on, the first write to each key
/// records the key's value before it (its journal), so rolling back costs one rebuild per key
/// touched since, not a replay (see docs/BISECT.md, "Cost"). A journal that meets a write it
/// cannot follow (FLUSHALL, FLUSHDB, SWAPDB, an unknown command) is poisoned; rolling back over it
/// replays from the empty state instead.
final class StateMaterializer {
    let log: String
    let recovery: RecoveryMode
    private(set) var keyspace = Keyspace(randomSeed: 0)
    private var reader: StateReader
    /// The sequence number the state is at (0: empty).
    private(set) var position: UInt64 = 0
    private(set) var timestampMilliseconds: Int64 = 0

    struct JournalKey: Hashable {
        var db: Int
        var key: [UInt8]
    }
    struct Journal {
        var sequence: UInt64
        var timestampMilliseconds: Int64
        /// Old values by key, nil for a key that did not exist; empty when `atEmptyState`.
        var old: [JournalKey: StoredKey?] = [:]
        var poisoned = false
        /// A savepoint at the empty state needs no journal: rolling back to it is a new keyspace.
        var atEmptyState: Bool { sequence == 0 }
    }
    /// Savepoints in increasing order; writes are journaled into the last.
    private var journals: [Journal] = []

    /// Entries applied, rollbacks made and keys rebuilt by them: what the search cost.
    private(set) var replayedEntryCount = 0
    private(set) var rollbackCount = 0
    private(set) var rebuiltKeyCount = 0
    /// Nanoseconds spent recording old values and undoing.
    private(set) var journalNanoseconds: UInt64 = 0
    private(set) var undoNanoseconds: UInt64 = 0

    init(log: String, recovery: RecoveryMode) {
        self.log = log
        self.recovery = recovery
        reader = StateReader(keyspace: keyspace)
    }

    var keyCount: Int { (0..<keyspace.databaseCount).reduce(0) { $0 + keyspace.keyCount(db: $1) } }

    /// How to be able to come back to the current state, once the search has judged it good: a
    /// checkpoint, or nothing when the latest checkpoint is already here (see docs/BISECT.md,
    /// "Search"). A checkpoint is a copy-on-write fork of the engine (`Keyspace.fork()`), so
    /// taking and restoring one costs next to nothing per key; what it costs is memory, one copy
    /// of each value written after it, which ``forgetCheckpoints(outside:_:)`` bounds. (Before
    /// forks, a cost model chose between journals, checkpoints and nothing; with a checkpoint
    /// this cheap it always chose the checkpoint.)
    enum Keeping { case checkpoint, nothing }

    func keeping() -> Keeping {
        position > (checkpoint?.sequence ?? 0) ? .checkpoint : .nothing
    }

    /// Keeps the current state as `keeping` says.
    func keep(_ keeping: Keeping) {
        switch keeping {
        case .checkpoint:
            dropSavepoints()
            captureCheckpoint()
        case .nothing: dropSavepoints()
        }
    }

    /// Forgets every savepoint: moving back then replays from the checkpoint or the empty state.
    func dropSavepoints() { journals.removeAll() }

    /// A copy of one state as the commands that rebuild it (``StateDump``): dearer than a
    /// journal per key, but it does not grow as the state moves on.
    private var checkpoints: [UInt64: ReplayCheckpoints.Checkpoint] = [:]

    /// The latest checkpoint at or before the current position.
    private var checkpoint: ReplayCheckpoints.Checkpoint? {
        checkpoints.values.filter { $0.sequence <= position }.max { $0.sequence < $1.sequence }
    }

    /// Forgets checkpoints that can no longer help: after `high`, and before the last one at or
    /// before `low`.
    func forgetCheckpoints(outside low: UInt64, _ high: UInt64) {
        let floor = checkpoints.keys.filter { $0 <= low }.max() ?? 0
        for sequence in checkpoints.keys where sequence < floor || sequence > high { checkpoints[sequence] = nil }
    }
    private(set) var checkpointNanoseconds: UInt64 = 0

    /// Keeps the current state as a checkpoint.
    func captureCheckpoint() {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            checkpointNanoseconds += DispatchTime.now().uptimeNanoseconds - start
            if trace { FileHandle.standardError.write(Data("checkpoint at #\(position): \(keyCount) keys, \(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) s\n".utf8)) }
        }
        checkpoints[position] = ReplayCheckpoints.Checkpoint(sequence: position, timestampMilliseconds: timestampMilliseconds,
                                                             keyCount: keyCount, state: keyspace.fork())
    }

    private func restore(_ checkpoint: ReplayCheckpoints.Checkpoint) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            checkpointNanoseconds += DispatchTime.now().uptimeNanoseconds - start
            if trace { FileHandle.standardError.write(Data("restore #\(checkpoint.sequence): \(checkpoint.keyCount) keys, \(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) s\n".utf8)) }
        }
        keyspace.restore(from: checkpoint.state)
        position = checkpoint.sequence
        timestampMilliseconds = checkpoint.timestampMilliseconds
        restoreCount += 1
    }
    private(set) var restoreCount = 0

    /// Keeps a savepoint at the current position; with `only`, forgets every other one.
    func savepoint(only: Bool = false) {
        if only { journals.removeAll() }
        if journals.last?.sequence == position { return }
        journals.append(Journal(sequence: position, timestampMilliseconds: timestampMilliseconds))
    }

    /// Moves the state to just after entry `target` (a unit boundary, or 0).
    func move(to target: UInt64) throws {
        if trace { FileHandle.standardError.write(Data("move \(position) -> \(target), journals \(journals.map(\.sequence)), checkpoint \(checkpoint?.sequence ?? 0), keys \(keyCount)\n".utf8)) }
        if target < position {
            // Undo journals down to the last savepoint at or before the target.
            var undone = true
            while let last = journals.last, last.sequence > target {
                let journal = journals.removeLast()
                if journal.poisoned { undone = false; break }
                undo(journal)
            }
            if undone, let last = journals.last, position > last.sequence {
                if last.poisoned {
                    undone = false
                } else if last.atEmptyState {
                    rollbackCount += 1
                    reset()
                } else {
                    undo(journals.removeLast())
                    journals.append(Journal(sequence: last.sequence, timestampMilliseconds: last.timestampMilliseconds))
                }
            }
            if !undone || position > target {
                // Nothing to undo with: start again from the checkpoint before the target, or
                // from the empty state.
                reset()
                journals.removeAll()
                if let checkpoint = checkpoints.values.filter({ $0.sequence <= target }).max(by: { $0.sequence < $1.sequence }) {
                    restore(checkpoint)
                }
            }
        }
        // Ahead too, a checkpoint may be cheaper to restore than the entries up to it.
        if let ahead = checkpoints.values.filter({ $0.sequence > position && $0.sequence <= target }).max(by: { $0.sequence < $1.sequence }),
           UInt64(ahead.keyCount) < ahead.sequence - position {
            reset()
            journals.removeAll()
            restore(ahead)
        }
        guard target > position else { return }
        try LogUnits.forEachCompact(log: log, from: position + 1, recovery: recovery) { unit in
            guard unit.endSequence <= target else { return false }
            for command in unit.commands {
                if !journals.isEmpty { journal(command.command) }
                keyspace.apply(command.command, nowMilliseconds: command.timestampMilliseconds)
                replayedEntryCount += 1
            }
            position = unit.endSequence
            timestampMilliseconds = unit.endTimestampMilliseconds
            return unit.endSequence < target
        }
        position = target
    }

    /// Forgets the state: the check changed it (the read-only server deletes a key whose TTL had
    /// passed when a client reads it), so neither it nor its journals are a point of the log.
    func invalidate() {
        reset()
        journals.removeAll()
    }

    private let trace = ProcessInfo.processInfo.environment["REWIND_BISECT_TRACE"] != nil

    private func reset() {
        keyspace = Keyspace(randomSeed: 0)
        reader = StateReader(keyspace: keyspace)
        position = 0
        timestampMilliseconds = 0
    }

    /// Records the old value of every key `command` may write, on first touch since the savepoint.
    private func journal(_ command: LoggedCommand) {
        let index = journals.count - 1
        if journals[index].atEmptyState || journals[index].poisoned { return }
        let arguments = command.arguments
        guard let indexes = Keyspace.keyIndexes(of: arguments), !indexes.isEmpty else {
            journals[index].poisoned = true
            return
        }
        var touched = indexes.map { JournalKey(db: command.db, key: arguments[$0]) }
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        if name == "MOVE", arguments.count >= 3 {
            guard let db = Int(String(decoding: arguments[2], as: UTF8.self)), (0..<keyspace.databaseCount).contains(db) else { return }
            touched.append(JournalKey(db: db, key: arguments[1]))
        } else if name == "COPY", arguments.count >= 3 {
            var position = 3
            while position + 1 < arguments.count {
                if String(decoding: arguments[position], as: UTF8.self).uppercased() == "DB",
                   let db = Int(String(decoding: arguments[position + 1], as: UTF8.self)), (0..<keyspace.databaseCount).contains(db) {
                    touched.append(JournalKey(db: db, key: arguments[2]))
                }
                position += 1
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for key in touched where journals[index].old[key] == nil {
            journals[index].old[key] = .some(reader.read(key.key, db: key.db))
        }
        journalNanoseconds += DispatchTime.now().uptimeNanoseconds - start
    }

    /// Puts back every key the journal recorded, leaving the state at its savepoint.
    private func undo(_ journal: Journal) {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { undoNanoseconds += DispatchTime.now().uptimeNanoseconds - start }
        rollbackCount += 1
        for (key, old) in journal.old {
            keyspace.apply(LoggedCommand(db: key.db, arguments: [Array("DEL".utf8), key.key]), nowMilliseconds: journal.timestampMilliseconds)
            if let old {
                for arguments in StateDump.rebuildCommands(old) {
                    keyspace.apply(LoggedCommand(db: key.db, arguments: arguments), nowMilliseconds: journal.timestampMilliseconds)
                }
            }
            rebuiltKeyCount += 1
        }
        position = journal.sequence
        timestampMilliseconds = journal.timestampMilliseconds
    }
}
