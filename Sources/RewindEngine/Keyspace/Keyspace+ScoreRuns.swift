// Replay of a run of score changes in one sorted set: each member placed once, at the score the
// run leaves it with.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RewindRESP

/// Consecutive `ZADD key score member` commands to one sorted set, as a replay meets them, gathered
/// so that ``Keyspace/applyScoreRun(_:)`` places each member once.
///
/// Why: moving a member of a big skiplist costs two descents, each a chain of cache misses, and
/// only the last score a run gives a member survives it. redis-benchmark's ZADD test logs 833,334
/// ZADDs into one 100,000-member set; moving each member once instead of at every change took
/// its replay from 2.9-3.4 s to 1.1-1.2 s (docs/REPLAY.md, "Runs of ZADD").
///
/// How a replay uses it, per plain command outside a transaction:
/// 1. ``take(_:db:)``: true means the command is now part of the run (counted as applied, its
///    reply is `:0` or `:1`, which a replay does not look at);
/// 2. otherwise ``Keyspace/applyScoreRun(_:)``, then the command as usual, then
///    ``Keyspace/openScoreRun(_:after:db:reply:)`` with its reply, which starts a run on its key
///    if it was a plain ZADD that succeeded on a set in the skiplist encoding (replay never
///    expires keys on access, and a skiplist never converts back, so the run's key stays that).
///
/// Anything else that reads or changes the keyspace (another kind of entry, a transaction, a
/// checkpoint, the end of the replay) must come after ``Keyspace/applyScoreRun(_:)``.
///
/// Only the plain form is gathered: four arguments, a score ``parseDouble(_:)`` accepts. Any
/// other ZADD (options, several pairs, an invalid score, another key or database) ends the run
/// and is applied as it is, so its reply and failure are the dispatcher's.
public struct SortedSetScoreRun {
    /// A gathered member's score, and whether the run changed it from the first score it gave.
    struct Pending {
        var score: Double
        var changed: Bool
    }

    public private(set) var isOpen = false
    private(set) var db = -1
    private(set) var key: [UInt8] = []
    /// The members gathered since the run was last applied, each once.
    private(set) var pending = SlotMap<Pending>()

    /// At most this many distinct members wait (then the run is applied and goes on): bounds the
    /// memory a long run of distinct members holds, about that of the members themselves.
    public let pendingCountMax: Int

    static let zaddCommandID: Int32 = Int32(CommandTable.index(forName: Array("zadd".utf8))!)

    public init(pendingCountMax: Int = 1 << 20) {
        self.pendingCountMax = max(1, pendingCountMax)
    }

    /// How many distinct members wait to be placed.
    public var pendingCount: Int { pending.count }

    /// Takes `command` into the run when it is `ZADD key score member` on the run's key and
    /// database with a valid score; false for anything else (nothing gathered).
    public mutating func take(_ command: PackedCommand, db: Int) -> Bool {
        guard isOpen, db == self.db, command.count == 4, Self.isZadd(command), pending.count < pendingCountMax,
              let score = parseDouble(command.argument(2)), !score.isNaN else { return false }
        let key = command.argument(1)
        let sameKey = self.key.withUnsafeBytes { stored in
            stored.count == key.count && (key.isEmpty || memcmp(stored.baseAddress!, key.baseAddress!, key.count) == 0)
        }
        guard sameKey else { return false }
        let member = command.argument(3)
        let (slot, inserted) = pending.insertIfAbsent(keyBytes: member, value: Pending(score: score, changed: false))
        // As ZADD does to a member present: a score equal to the current one changes nothing,
        // not even the sign of a zero.
        if !inserted, var waiting = pending.value(at: slot), waiting.score != score {
            waiting.score = score
            waiting.changed = true
            pending.setValue(waiting, at: slot)
        }
        return true
    }

    /// Opens the run on `key` in `db` (``Keyspace/openScoreRun(_:after:db:reply:)`` decides when).
    mutating func open(db: Int, key: UnsafeRawBufferPointer) {
        precondition(pending.isEmpty, "a run is applied before the command that ends it")
        isOpen = true
        self.db = db
        self.key.removeAll(keepingCapacity: true)
        self.key.append(contentsOf: key)
    }

    /// Ends the run (after ``Keyspace/applyScoreRun(_:)``): the next command opens none until
    /// ``open(after:db:reply:)``.
    public mutating func close() {
        precondition(pending.isEmpty, "a run is applied before it is closed")
        isOpen = false
    }

    static func isZadd(_ command: PackedCommand) -> Bool {
        if let id = command.commandID { return id == zaddCommandID }
        if let name = command.sharedName { return CommandTable.index(forName: name) == Int(zaddCommandID) }
        return CommandTable.index(forNameBytes: command.argument(0)) == Int(zaddCommandID)
    }

    mutating func clearPending() {
        if pending.slotCount <= 64 { pending.removeAllKeepingSmallCapacity() } else { pending = SlotMap() }
    }
}

extension Keyspace {
    /// After `command` was applied with `reply` (the run applied before it): opens `run` on the
    /// command's key when it was a plain ZADD that succeeded and the set is in the skiplist
    /// encoding; closes it otherwise.
    ///
    /// Why only a skiplist: a compact set that converts in the middle of a run would take the
    /// scores of members that came before the converting member through the compact encoding,
    /// which stores `-0` as `0`, where one by one their later scores land in the skiplist, which
    /// keeps it. A skiplist never converts back, and the big sets are the ones worth a run.
    public func openScoreRun(_ run: inout SortedSetScoreRun, after command: PackedCommand, db: Int, reply: RESPValue) {
        guard command.count == 4, case .integer = reply, SortedSetScoreRun.isZadd(command), db >= 0, db < databases.count,
              let slot = databases[db].entries.findSlot(ofBytes: command.argument(1), hash: command.keyHash),
              case .sortedSet(let sortedSet) = databases[db].entries.value(at: slot), sortedSet.elements.encoding == .skiplist else {
            if run.isOpen { run.close() }
            return
        }
        run.open(db: db, key: command.argument(1))
    }

    /// Places the members `run` gathered, each at the score the run's commands leave it with, as
    /// applying those commands one by one would; the run stays open.
    ///
    /// The state is exactly that of the commands one by one: a sorted set's contents depend only
    /// on each member's final score; the set is a skiplist, which no ZADD converts, and new
    /// members are inserted in the order they first appeared, as one by one; a member the run
    /// moved away and back to a numerically equal score takes the run's last representation of
    /// it (`0` against `-0`), which a single ZADD of that score to a member at the other zero
    /// would not give, so such a member is moved away first.
    public func applyScoreRun(_ run: inout SortedSetScoreRun) {
        guard !run.pending.isEmpty else { return }
        defer { run.clearPending() }
        let db = run.db
        guard db >= 0, db < databases.count, let slot = databases[db].entries.findSlot(of: run.key),
              let value = ownedValue(db: db, slotIndex: slot), case .sortedSet(let sortedSet) = value else {
            // Cannot happen: a run opens on a sorted set and gathers nothing else. Should it, each
            // member still ends at its final score, through the dispatcher (which answers
            // whatever the key holds; the run's history of each member is not kept).
            for index in 0..<run.pending.slotCount {
                guard let waiting = run.pending.value(at: index) else { continue }
                let member = run.pending.withKeyBytes(at: index) { Array($0) }
                let zadd = Array("ZADD".utf8)
                if waiting.changed && waiting.score == 0 {
                    apply(LoggedCommand(db: db, arguments: [zadd, run.key, Array("1".utf8), member]), nowMilliseconds: 0)
                }
                apply(LoggedCommand(db: db, arguments: [zadd, run.key, formatScore(waiting.score), member]), nowMilliseconds: 0)
            }
            return
        }
        var changed = false
        for index in 0..<run.pending.slotCount {
            guard let waiting = run.pending.value(at: index) else { continue }
            run.pending.withKeyBytes(at: index) { member in
                if waiting.changed && waiting.score == 0 {
                    _ = sortedSet.elements.add(bytes: member, score: 1)
                }
                switch sortedSet.elements.add(bytes: member, score: waiting.score) {
                case .added, .updated: changed = true
                case .unchanged, .skipped, .notANumber: changed = changed || waiting.changed
                }
            }
        }
        if changed { signalModified(db: db, run.key) }
    }
}
