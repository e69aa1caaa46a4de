// Replay of a run of score changes in one sorted set: each member placed once, at the score the
// run leaves it with.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RewindRESP

/// Runs of plain `ZADD key score member` commands, one per sorted set, as a replay meets them,
/// gathered so that ``Keyspace/applyScoreRuns(_:)`` places each member of each set once.
///
/// Why: moving a member of a big skiplist costs two descents, each a chain of cache misses, and
/// only the last score a run gives a member survives it. redis-benchmark's ZADD test logs 833,334
/// ZADDs into one 100,000-member set; a leaderboard workload updates a few big sets in turn
/// between other commands. Moving each member once instead of at every change took the first
/// replay from 2.6-3.0 s to 1.4-1.6 s (docs/REPLAY.md, "Runs of ZADD").
///
/// A set's run lasts until a command that may read or change that set: the runs of other sets
/// stay open across commands on other keys. A replay applies each command (a transaction's
/// commands too, when they are applied) with
/// ``Keyspace/applyPacked(_:db:nowMilliseconds:through:)``, and places every run with
/// ``Keyspace/applyScoreRuns(_:)`` before anything else reads or changes the keyspace (another
/// kind of entry, a checkpoint, the end of the replay, a read error).
///
/// Only the plain form is gathered: four arguments, a score ``parseDouble(_:)`` accepts, a key
/// with a run. Any other ZADD (options, several pairs, an invalid score) places its key's run and
/// is applied as it is, so its reply and failure are the dispatcher's.
public struct SortedSetScoreRuns {
    /// A gathered member's score, and whether the run changed it from the first score it gave.
    struct Pending {
        var score: Double
        var changed: Bool
    }

    /// One set's run: the members gathered since it opened, each once.
    struct Run {
        var db: Int
        var key: [UInt8]
        var keyHash: UInt32
        var pending = SlotMap<Pending>()
    }

    private(set) var runs: [Run] = []
    /// For each database, the key of each open run -> its index in ``runs``.
    private var indexes: [SlotMap<Int>] = []
    /// How many open runs have a key hash with these low bits: most commands touch no run's key,
    /// and this says so without a lookup.
    private var hashCounts = [UInt16](repeating: 0, count: SortedSetScoreRuns.hashCountsSize)
    private static let hashCountsSize = 4096
    /// Distinct members waiting, over all runs.
    public private(set) var pendingCount = 0

    /// At most this many distinct members wait, over all runs (then the runs are placed and go
    /// on): bounds the memory the runs hold, about that of the members themselves.
    public let pendingCountMax: Int
    /// At most this many runs are open at once.
    public let runCountMax: Int

    static let zaddCommandID: Int32 = Int32(CommandTable.index(forName: Array("zadd".utf8))!)

    public init(pendingCountMax: Int = 1 << 20, runCountMax: Int = 1_024) {
        self.pendingCountMax = max(1, pendingCountMax)
        self.runCountMax = max(1, min(runCountMax, Int(UInt16.max)))
    }

    /// Whether any run is open.
    public var hasOpenRuns: Bool { !runs.isEmpty }
    /// How many runs are open.
    public var runCount: Int { runs.count }

    /// Takes `command` into its key's run when it is `ZADD key score member` with a valid score
    /// and the key in `db` has an open run; false for anything else (nothing gathered).
    mutating func take(_ command: PackedCommand, db: Int) -> Bool {
        guard !runs.isEmpty, command.count == 4, Self.isZadd(command) else { return false }
        let key = command.argument(1)
        guard let runIndex = runIndex(db: db, key: key, hash: command.keyHash ?? ByteStringHash.hash(key)),
              let score = parseDouble(command.argument(2)), !score.isNaN else { return false }
        let member = command.argument(3)
        // At the limit, only a member already waiting joins.
        if pendingCount >= pendingCountMax && runs[runIndex].pending.slotIndex(ofBytes: member) == nil { return false }
        let (slot, inserted) = runs[runIndex].pending.insertIfAbsent(keyBytes: member, value: Pending(score: score, changed: false))
        if inserted {
            pendingCount += 1
        } else if var waiting = runs[runIndex].pending.value(at: slot), waiting.score != score {
            // As ZADD does to a member present: a score equal to the current one changes
            // nothing, not even the sign of a zero.
            waiting.score = score
            waiting.changed = true
            runs[runIndex].pending.setValue(waiting, at: slot)
        }
        return true
    }

    /// The index in ``runs`` of the run on `key` in `db`, if one is open.
    @inline(__always)
    func runIndex(db: Int, key: UnsafeRawBufferPointer, hash: UInt32) -> Int? {
        guard hashCounts[Int(hash) & (Self.hashCountsSize - 1)] > 0, db >= 0, db < indexes.count else { return nil }
        guard let slot = indexes[db].slotIndex(ofBytes: key) else { return nil }
        return indexes[db].value(at: slot)
    }

    /// Opens a run on `key` in `db` (``Keyspace/openScoreRun(_:after:db:reply:)`` decides when).
    mutating func open(db: Int, key: UnsafeRawBufferPointer, hash: UInt32) {
        guard runIndex(db: db, key: key, hash: hash) == nil else { return }
        while indexes.count <= db { indexes.append(SlotMap()) }
        _ = indexes[db].insertNew(keyBytes: key, value: runs.count)
        runs.append(Run(db: db, key: Array(key), keyHash: hash))
        hashCounts[Int(hash) & (Self.hashCountsSize - 1)] += 1
    }

    /// Closes the run at `runIndex`, whose members were placed.
    mutating func close(at runIndex: Int) {
        let run = runs[runIndex]
        precondition(run.pending.isEmpty, "a run is placed before it is closed")
        hashCounts[Int(run.keyHash) & (Self.hashCountsSize - 1)] -= 1
        _ = run.key.withUnsafeBytes { indexes[run.db].removeValue(forKeyBytes: $0) }
        let last = runs.count - 1
        if runIndex != last {
            runs.swapAt(runIndex, last)
            let moved = runs[runIndex]
            moved.key.withUnsafeBytes { key in
                if let slot = indexes[moved.db].slotIndex(ofBytes: key) { indexes[moved.db].setValue(runIndex, at: slot) }
            }
        }
        runs.removeLast()
    }

    /// Closes every run, whose members were placed.
    mutating func closeAll() {
        precondition(pendingCount == 0, "runs are placed before they are closed")
        for run in runs {
            hashCounts[Int(run.keyHash) & (Self.hashCountsSize - 1)] -= 1
            _ = run.key.withUnsafeBytes { indexes[run.db].removeValue(forKeyBytes: $0) }
        }
        runs.removeAll(keepingCapacity: true)
    }

    /// The members waiting in the run at `runIndex`, moved out (so that placing them copies
    /// nothing); ``returnPending(_:at:)`` hands the emptied map back.
    mutating func takePending(at runIndex: Int) -> SlotMap<Pending> {
        let pending = runs[runIndex].pending
        runs[runIndex].pending = SlotMap()
        pendingCount -= pending.count
        return pending
    }

    /// Gives the run at `runIndex` its map back, emptied, keeping a small one's storage.
    mutating func returnPending(_ pending: consuming SlotMap<Pending>, at runIndex: Int) {
        guard pending.slotCount <= 64 else { return }
        pending.removeAllKeepingSmallCapacity()
        runs[runIndex].pending = pending
    }

    static func isZadd(_ command: PackedCommand) -> Bool {
        Keyspace.tableIndex(of: command) == Int(zaddCommandID)
    }

}

extension Keyspace {
    /// ``applyPacked(_:db:nowMilliseconds:)`` through `runs`: a plain ZADD to a set with an open
    /// run joins it and returns nil (its reply, `:0` or `:1`, is not known until the run is
    /// placed; it cannot fail); any other command first places the runs it may touch
    /// (``prepareScoreRuns(_:for:db:)``), is applied, and, when it was a plain ZADD that
    /// succeeded on a skiplist, opens a run on its key (``openScoreRun(_:after:db:reply:)``).
    public func applyPacked(_ command: PackedCommand, db: Int, nowMilliseconds: Int64,
                            through runs: inout SortedSetScoreRuns) -> RESPValue? {
        if runs.hasOpenRuns {
            if runs.take(command, db: db) { return nil }
            prepareScoreRuns(&runs, for: command, db: db)
        }
        let reply = applyPacked(command, db: db, nowMilliseconds: nowMilliseconds)
        openScoreRun(&runs, after: command, db: db, reply: reply)
        return reply
    }

    /// The commands whose only effect is on the keys among their arguments, in the database they
    /// run in, and which ``Keyspace/prepareScoreRuns(_:for:db:)`` may let past other sets' runs:
    /// the key is argument 1 (`single`), or every argument from 1 on (`all`).
    enum ScoreRunKeys: UInt8 { case unknown, single, all }

    static let scoreRunKeys: [ScoreRunKeys] = CommandTable.all.map { spec in
        switch spec.name {
        case "set", "sadd", "hset", "hmset", "rpush", "lpush", "incr", "append", "pexpireat", "zadd",
             "setnx", "setex", "psetex", "getset", "getdel", "getex", "setrange", "setbit", "incrby", "decr", "decrby",
             "incrbyfloat", "hdel", "hsetnx", "hincrby", "hincrbyfloat", "lpushx", "rpushx", "lpop", "rpop", "lrem",
             "lset", "ltrim", "linsert", "srem", "spop", "zrem", "zincrby", "zremrangebyscore", "zremrangebyrank",
             "zremrangebylex", "zpopmin", "zpopmax", "expire", "pexpire", "expireat", "persist", "pfadd":
            return .single
        case "del", "unlink": return .all
        default: return .unknown
        }
    }

    /// Before `command` is applied in `db` (and after ``SortedSetScoreRuns/take(_:db:)`` declined
    /// it), when runs are open: places and closes the runs it may read or change. A usual single-key write or a
    /// DEL/UNLINK touches only its keys' runs; any other command places and closes every run.
    func prepareScoreRuns(_ runs: inout SortedSetScoreRuns, for command: PackedCommand, db: Int) {
        guard runs.hasOpenRuns else { return }
        let keys = Self.tableIndex(of: command).map { Self.scoreRunKeys[$0] } ?? .unknown
        if runs.pendingCount >= runs.pendingCountMax || keys == .unknown || command.count < 2 {
            return applyScoreRuns(&runs)
        }
        let keyEnd = keys == .single ? 2 : command.count
        for position in 1..<keyEnd {
            let key = command.argument(position)
            let hash = position == 1 ? command.keyHash ?? ByteStringHash.hash(key) : ByteStringHash.hash(key)
            guard let runIndex = runs.runIndex(db: db, key: key, hash: hash) else { continue }
            place(&runs, at: runIndex)
            runs.close(at: runIndex)
        }
    }

    /// After `command` was applied with `reply` (the runs it touches placed before it): opens a
    /// run on the command's key when it was a plain ZADD that succeeded and the set is in the
    /// skiplist encoding.
    ///
    /// Why only a skiplist: a compact set that converts in the middle of a run would take the
    /// scores of members that came before the converting member through the compact encoding,
    /// which stores `-0` as `0`, where one by one their later scores land in the skiplist, which
    /// keeps it. A skiplist never converts back, and the big sets are the ones worth a run.
    func openScoreRun(_ runs: inout SortedSetScoreRuns, after command: PackedCommand, db: Int, reply: RESPValue) {
        guard command.count == 4, case .integer = reply, SortedSetScoreRuns.isZadd(command), db >= 0, db < databases.count,
              runs.runCount < runs.runCountMax else { return }
        let key = command.argument(1)
        let hash = command.keyHash ?? ByteStringHash.hash(key)
        guard let slot = databases[db].entries.findSlot(ofBytes: key, hash: hash),
              case .sortedSet(let sortedSet) = databases[db].entries.value(at: slot), sortedSet.elements.encoding == .skiplist else { return }
        runs.open(db: db, key: key, hash: hash)
    }

    /// Places the members every run gathered and closes the runs: before anything that may read
    /// or change any key.
    public func applyScoreRuns(_ runs: inout SortedSetScoreRuns) {
        guard runs.hasOpenRuns else { return }
        for runIndex in runs.runs.indices { place(&runs, at: runIndex) }
        runs.closeAll()
    }

    /// Places the members one run gathered, each at the score the run's commands leave it with,
    /// as applying those commands one by one would.
    ///
    /// The state is exactly that of the commands one by one: a sorted set's contents depend only
    /// on each member's final score; the set is a skiplist, which no ZADD converts, and new
    /// members are inserted in the order they first appeared, as one by one; a member the run
    /// moved away and back to a numerically equal score takes the run's last representation of
    /// it (`0` against `-0`), which a single ZADD of that score to a member at the other zero
    /// would not give, so such a member is moved away first.
    private func place(_ runs: inout SortedSetScoreRuns, at runIndex: Int) {
        guard !runs.runs[runIndex].pending.isEmpty else { return }
        let pending = runs.takePending(at: runIndex)
        defer { runs.returnPending(pending, at: runIndex) }
        let db = runs.runs[runIndex].db, key = runs.runs[runIndex].key
        guard db >= 0, db < databases.count, let slot = databases[db].entries.findSlot(of: key),
              let value = ownedValue(db: db, slotIndex: slot), case .sortedSet(let sortedSet) = value else {
            // Cannot happen: a run opens on a sorted set and nothing else touches the key while
            // it is open. Should it, each member still ends at its final score, through the
            // dispatcher (which answers whatever the key holds; the run's history of each member
            // is not kept).
            for index in 0..<pending.slotCount {
                guard let waiting = pending.value(at: index) else { continue }
                let member = pending.withKeyBytes(at: index) { Array($0) }
                let zadd = Array("ZADD".utf8)
                if waiting.changed && waiting.score == 0 {
                    apply(LoggedCommand(db: db, arguments: [zadd, key, Array("1".utf8), member]), nowMilliseconds: 0)
                }
                apply(LoggedCommand(db: db, arguments: [zadd, key, formatScore(waiting.score), member]), nowMilliseconds: 0)
            }
            return
        }
        var changed = false
        for index in 0..<pending.slotCount {
            guard let waiting = pending.value(at: index) else { continue }
            pending.withKeyBytes(at: index) { member in
                if waiting.changed && waiting.score == 0 {
                    _ = sortedSet.elements.add(bytes: member, score: 1)
                }
                switch sortedSet.elements.add(bytes: member, score: waiting.score) {
                case .added, .updated: changed = true
                case .unchanged, .skipped, .notANumber: changed = changed || waiting.changed
                }
            }
        }
        if changed { signalModified(db: db, key) }
    }
}
