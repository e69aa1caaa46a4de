// Replay: rebuild the state of any point of a log in an engine keyspace. See docs/CLI.md
// (`rewind replay`) and DESIGN §4 (determinism: each entry is applied at its own timestamp).

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

/// Where an entry is: its sequence number, the record that holds it, its time and database.
public struct EntryPlace: Hashable, Sendable, CustomStringConvertible {
    public var sequence: UInt64
    /// 0-based index of the segment in the manifest; shown 1-based as `seg N`.
    public var segmentIndex: Int
    public var segmentFileName: String
    /// Byte offset of the record holding the entry in its segment file.
    public var byteOffset: Int
    public var timestampMilliseconds: Int64
    public var db: Int

    public init(sequence: UInt64, segmentIndex: Int, segmentFileName: String, byteOffset: Int, timestampMilliseconds: Int64, db: Int) {
        self.sequence = sequence
        self.segmentIndex = segmentIndex
        self.segmentFileName = segmentFileName
        self.byteOffset = byteOffset
        self.timestampMilliseconds = timestampMilliseconds
        self.db = db
    }

    /// `#48213 (segment 3, byte 1048120, 2026-11-26T10:15:03.120Z, db 0)`.
    public var description: String {
        "#\(sequence) (segment \(segmentIndex + 1), byte \(byteOffset), \(EntryFormatting.isoTime(milliseconds: timestampMilliseconds)), db \(db))"
    }
}

/// One command a replay applied, with the reply the engine gave.
public struct AppliedCommand {
    public var place: EntryPlace
    public var command: LoggedCommand
    public var reply: RESPValue
}

/// An entry a replay read but did not apply, and why.
public struct SkippedEntry: Hashable, Sendable {
    public enum Reason: String, Hashable, Sendable {
        /// Named by `--exclude`.
        case excludedSequence = "excluded by sequence"
        /// Its command is named by `--exclude-command`.
        case excludedCommand = "excluded command"
    }
    public var place: EntryPlace
    public var reason: Reason
    /// The command as `rewind inspect` shows it.
    public var commandText: String
}

/// A logged command the engine answered with an error: the replayed state differs from the
/// logged one from here on (an unsupported command, or a log that was not written by Redis).
public struct ReplayFailure: Hashable, Sendable {
    public var place: EntryPlace
    public var commandText: String
    public var error: String
}

/// What a replay did and the state it left.
public struct ReplaySummary: Sendable {
    /// Commands applied (transaction markers and checkpoints are not commands).
    public var appliedCommandCount = 0
    /// Entries read from the log, markers included.
    public var readEntryCount = 0
    /// The sequence number of the last entry applied or passed over, 0 when none was.
    public var lastSequence: UInt64 = 0
    /// The timestamp of that entry.
    public var lastTimestampMilliseconds: Int64 = 0
    /// The last sequence number the log holds, when the replay read to its end.
    public var logLastSequence: UInt64?
    /// Entries excluded by `--exclude` or `--exclude-command`, in log order.
    public var skipped: [SkippedEntry] = []
    /// Commands left out by `--only-db` or `--only-keys`.
    public var filteredCount = 0
    /// Commands the engine refused, at most ``failureCountMax`` of them (``failureCount`` counts all).
    public var failures: [ReplayFailure] = []
    public var failureCount = 0
    /// A transaction a stopping point would have cut in half, which was not applied.
    public var unappliedTransaction: ClosedRange<UInt64>?
    /// Damage the recovery mode tolerated.
    public var damages: [LogDamage] = []
    /// Keys per database, for the non-empty ones.
    public var keysPerDatabase: [Int: Int] = [:]
    /// The DEBUG DIGEST of the state, as redis-server prints it.
    public var digest = ""
    /// Peak resident memory of this process, in bytes (0 where unknown), the digest included.
    public var peakResidentBytes = 0
    /// Resident memory of this process right after the replay, before the digest (0 where unknown).
    public var residentBytesAfterReplay = 0
    /// Wall-clock time of reading and applying (not of computing the digest).
    public var seconds = 0.0
    /// The checkpoint the replay started from, when it used one (see ``ReplayCheckpoints``).
    public var startedFromCheckpoint: UInt64?
    /// With ``ReplayOptions/checksCheckpoints``: checkpoint entries whose digest was compared.
    public var checkedCheckpointCount = 0
    /// With ``ReplayOptions/checksCheckpoints``: the first checkpoint whose digest differs.
    public var checkpointMismatch: CheckpointMismatch?
    /// With ``ReplayOptions/checksReplyHashes``: entries with a logged reply hash that were compared.
    public var checkedReplyCount = 0
    /// With ``ReplayOptions/checksReplyHashes``: the first entry the engine answered differently.
    public var replyMismatch: ReplyMismatch?

    public static let failureCountMax = 20

    public var keyCount: Int { keysPerDatabase.values.reduce(0, +) }
    public var commandsPerSecond: Double { seconds > 0 ? Double(appliedCommandCount) / seconds : 0 }
}

/// Progress of a long replay, reported every few tens of thousands of entries.
public struct ReplayProgress: Sendable {
    public var readEntryCount: Int
    public var lastSequence: UInt64
    public var seconds: Double
}

/// Rebuilds the state of a log at a chosen point in an engine ``Keyspace``.
///
/// Each command is applied at its own logged timestamp, in a replaying session (no lazy expiry:
/// the log holds a DEL for every key that expired), so the same log always gives the same state,
/// the state Redis 7.0 has after loading the same commands from its AOF.
///
/// ```swift
/// let keyspace = Keyspace(randomSeed: 0)
/// let summary = try Replayer(log: "orders.rwlog")
///     .replay(into: keyspace, options: ReplayOptions(untilSequence: 48_212))
/// print(summary.digest)
/// ```
///
/// A replayer applies entries on the calling thread. With ``ReplayOptions/decodesConcurrently``,
/// a second thread reads, checks, decompresses and decodes the log ahead of it, so two cores
/// overlap; the keyspace is only ever touched by the calling thread.
public struct Replayer {
    public let log: String
    /// Replaces the directory's manifest: compaction replays a candidate before installing it.
    public let manifest: Manifest?

    public init(log: String, manifest: Manifest? = nil) {
        self.log = log
        self.manifest = manifest
    }

    /// Applies the log's entries to `keyspace`, as `options` select them, and returns a summary
    /// without the digest and key counts (see ``summarizeState(of:into:)``).
    ///
    /// - Parameters:
    ///   - keyspace: Receives the commands; usually fresh, but may hold an earlier replay's state
    ///     when `from` continues it.
    ///   - from: The first sequence number to read.
    ///   - observer: Called after each command is applied (blame uses it).
    /// - Throws: ``ReplayError`` for a stopping point beyond the end or an unknown excluded
    ///   sequence number; `LogError` for damage the recovery mode refuses, or an unreadable log.
    public func replay(into keyspace: Keyspace, options: ReplayOptions = ReplayOptions(), from: UInt64 = 1,
                       checkpoints: ReplayCheckpoints? = nil,
                       progress: ((ReplayProgress) -> Void)? = nil,
                       observer: ((AppliedCommand) -> Void)? = nil) throws -> ReplaySummary {
        ProcessMemory.returnLargeBlocksWhenFreed()
        let reader = try manifest.map { LogReader(directory: log, manifest: $0) } ?? LogReader(directory: log)
        let segmentNames = reader.manifest.segments.map(\.fileName)
        if let base = reader.manifest.segments.first, base.kind == .base {
            if let until = options.untilSequence, until < base.firstSequence {
                throw ReplayError(.compactedAway, "--until #\(until) lies in history compacted away: this log starts with the state after #\(base.firstSequence); pass --until \(base.firstSequence) or more")
            }
            if let untilTime = options.untilTimestampMilliseconds {
                struct First: Error {}
                var baseTime: Int64?
                do {
                    try LogReader(directory: log, manifest: reader.manifest).forEachEntry(from: base.firstSequence, recovery: options.recovery) {
                        baseTime = $0.timestampMilliseconds
                        throw First()
                    }
                } catch is First {}
                if let baseTime, untilTime < baseTime {
                    throw ReplayError(.compactedAway, "--until-time \(EntryFormatting.isoTime(milliseconds: untilTime)) lies in history compacted away: this log starts with the state at \(EntryFormatting.isoTime(milliseconds: baseTime)) (#\(base.firstSequence))")
                }
            }
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var from = from
        var restored: ReplayCheckpoints.Checkpoint?
        let usesCheckpoints = checkpoints != nil && options.replaysEveryEntry && observer == nil
        if usesCheckpoints, from == 1, let checkpoints, let checkpoint = checkpoints.nearest(for: options) {
            checkpoints.restore(checkpoint, into: keyspace)
            from = checkpoint.sequence + 1
            restored = checkpoint
        }
        // The pass's state lives in a box the closures below share: a captured `var` would be
        // boxed anyway, with a dynamic exclusivity check on every access (three an entry).
        let state = ReplayRunBox(ReplayRun(keyspace: keyspace, options: options, observer: observer, segmentNames: segmentNames))
        if usesCheckpoints { state.run.checkpoints = checkpoints }
        if let restored {
            state.run.summary.startedFromCheckpoint = restored.sequence
            state.run.summary.lastSequence = restored.sequence
            state.run.summary.lastTimestampMilliseconds = restored.timestampMilliseconds
        }
        func report(_ sequence: UInt64) {
            guard state.run.summary.readEntryCount & 0xFFFF == 0 else { return }
            // Free pages (deleted keys, replaced values, arrays that grew) go back to the kernel
            // every 65,536 entries rather than only at the end, so they do not pile up into the
            // peak; one trim costs 0.1-0.2 ms on the 5M-command workload (docs/REPLAY.md).
            ProcessMemory.returnFreeMemory()
            guard let progress else { return }
            progress(ReplayProgress(readEntryCount: state.run.summary.readEntryCount, lastSequence: sequence,
                                    seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        }
        var readSummary: LogReader.Summary?
        // A failed read leaves the keyspace as far as it got, gathered ZADDs included.
        do {
            if options.decodesConcurrently {
                let packed: ((PackedBatch, Int) -> Bool?)? = state.run.appliesPacked ? { batch, index in
                    guard let goesOn = state.run.acceptPacked(batch, index) else { return nil }
                    if goesOn { report(batch.entries[index].sequence) }
                    return goesOn
                } : nil
                readSummary = try DecodingPipeline.run(reader: reader, from: from, recovery: options.recovery, applyPacked: packed) { entry in
                    guard state.run.accept(entry) else { return false }
                    report(entry.sequence)
                    return true
                }
            } else {
                struct Stop: Error {}
                do {
                    readSummary = try reader.forEachEntry(from: from, recovery: options.recovery, onRecord: { state.record = $0 }) { view in
                        guard let record = state.record else { return }
                        if !state.run.accept(DecodedEntry(view, record: record)) { throw Stop() }
                        report(view.sequence)
                    }
                } catch is Stop {}
            }
        } catch {
            state.run.finish()
            throw error
        }
        state.run.finish()
        var summary = state.run.summary
        if let readSummary {
            summary.damages = readSummary.damages
            summary.logLastSequence = readSummary.lastSequence
            try checkStoppingPoints(options, summary: summary, logLastSequence: readSummary.lastSequence)
        }
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return summary
    }

    /// Fills in the key counts per database, the digest and peak memory of `summary`.
    public static func summarizeState(of keyspace: Keyspace, into summary: inout ReplaySummary) {
        summary.keysPerDatabase = [:]
        ProcessMemory.returnFreeMemory()
        summary.residentBytesAfterReplay = ProcessMemory.residentBytes()
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            summary.keysPerDatabase[db] = keyspace.keyCount(db: db)
        }
        summary.digest = StateDigest.digest(of: keyspace)
        summary.peakResidentBytes = ProcessMemory.peakResidentBytes()
    }

    private func checkStoppingPoints(_ options: ReplayOptions, summary: ReplaySummary, logLastSequence: UInt64) throws {
        if let until = options.untilSequence, until > logLastSequence {
            throw ReplayError(.untilBeyondEnd, "--until #\(until) is beyond the end of the log, which ends at #\(logLastSequence); pass --until \(logLastSequence) or less, or leave it out to replay everything")
        }
        let seen = Set(summary.skipped.lazy.filter { $0.reason == .excludedSequence }.map(\.place.sequence))
        for sequence in options.excludedSequences.sorted() where !seen.contains(sequence) {
            if let until = options.untilSequence, sequence > until { continue }
            if sequence > logLastSequence || sequence == 0 {
                throw ReplayError(.unknownSequence, "--exclude #\(sequence): the log has no such entry (it ends at #\(logLastSequence))")
            }
            throw ReplayError(.unknownSequence, "--exclude #\(sequence): that entry is not a command (a transaction marker or checkpoint); exclude the commands inside the transaction instead")
        }
    }
}

/// A ``ReplayRun`` and the record being read, shared by the reader's closures.
final class ReplayRunBox {
    @exclusivity(unchecked) var run: ReplayRun
    @exclusivity(unchecked) var record: LogReader.RecordInfo?
    init(_ run: ReplayRun) { self.run = run }
}

/// The state of one pass: filters, the transaction being gathered, the summary so far.
struct ReplayRun {
    let keyspace: Keyspace
    let options: ReplayOptions
    let observer: ((AppliedCommand) -> Void)?
    let segmentNames: [String]
    var summary = ReplaySummary()
    /// Commands of an open transaction, applied when its end marker arrives.
    var pendingTransaction: [DecodedEntry]?
    /// The commands of the open transaction that ``acceptPacked(_:_:)`` took, still packed in
    /// their batches (a batch is kept alive by the reference); applied after those in
    /// ``pendingTransaction`` (when packed applying is on, every command of it is here).
    var pendingPacked: [(batch: PackedBatch, index: Int)] = []
    var transactionStart: UInt64 = 0
    /// Whether anything beyond applying is asked for (cheaper hot path when not).
    let needsInspection: Bool
    /// Where to take periodic checkpoints, if anywhere.
    var checkpoints: ReplayCheckpoints?
    private var readCountAtCheckpoint = 0
    /// Runs of plain ZADDs, one per sorted set, placed member by member once a command may touch
    /// the set (``SortedSetScoreRuns``; packed applying only).
    var scoreRuns = SortedSetScoreRuns()

    init(keyspace: Keyspace, options: ReplayOptions, observer: ((AppliedCommand) -> Void)?, segmentNames: [String]) {
        self.keyspace = keyspace
        self.options = options
        self.observer = observer
        self.segmentNames = segmentNames
        needsInspection = !options.excludedSequences.isEmpty || !options.excludedCommands.isEmpty
            || options.onlyDatabase != nil || options.onlyKeys != nil
    }

    func place(_ entry: DecodedEntry) -> EntryPlace {
        EntryPlace(sequence: entry.sequence, segmentIndex: entry.segmentIndex,
                   segmentFileName: entry.segmentIndex < segmentNames.count ? segmentNames[entry.segmentIndex] : "",
                   byteOffset: entry.byteOffset, timestampMilliseconds: entry.timestampMilliseconds, db: entry.db)
    }

    /// Handles one entry; false means the stopping point is passed.
    mutating func accept(_ entry: DecodedEntry) -> Bool {
        // A transaction's markers change nothing; its commands are checked one by one below.
        if entry.kind != .transactionBegin && entry.kind != .transactionEnd { keyspace.applyScoreRuns(&scoreRuns) }
        if let until = options.untilSequence, entry.sequence > until { return false }
        if let untilTime = options.untilTimestampMilliseconds, entry.timestampMilliseconds > untilTime { return false }
        summary.readEntryCount += 1
        switch entry.kind {
        case .checkpoint:
            advance(entry)
            if options.checksCheckpoints { check(entry) }
        case .transactionBegin:
            pendingTransaction = []
            pendingPacked.removeAll(keepingCapacity: true)
            transactionStart = entry.sequence
        case .transactionEnd:
            if pendingTransaction?.isEmpty == false { keyspace.applyScoreRuns(&scoreRuns) }
            for command in pendingTransaction ?? [] { apply(command) }
            for (batch, index) in pendingPacked { applyPackedCommand(batch, index) }
            pendingPacked.removeAll(keepingCapacity: true)
            pendingTransaction = nil
            advance(entry)
        case .command:
            if pendingTransaction != nil {
                pendingTransaction!.append(entry)
            } else {
                apply(entry)
            }
        }
        if let checkpoints, pendingTransaction == nil {
            if summary.readEntryCount - readCountAtCheckpoint >= checkpoints.intervalEntryCount {
                // A transaction's end may leave runs open (its commands went through them).
                keyspace.applyScoreRuns(&scoreRuns)
                readCountAtCheckpoint = summary.readEntryCount
                checkpoints.capture(keyspace, sequence: entry.sequence, timestampMilliseconds: entry.timestampMilliseconds)
            }
        }
        return true
    }

    /// Whether plain commands may be applied straight from their batch (``acceptPacked(_:_:)``):
    /// only when nothing looks at each command (filters, exclusions, an observer, reply or
    /// checkpoint checks).
    var appliesPacked: Bool {
        !needsInspection && observer == nil && !options.checksReplyHashes && !options.checksCheckpoints
    }

    /// ``accept(_:)`` for a plain command outside a transaction, applied from its packed batch
    /// without copying its arguments; nil for any other entry (the caller then decodes it).
    /// How many entries ahead ``acceptPacked(_:_:)`` prefetches a key's index bucket (and half as
    /// many ahead, the slot the bucket points at): 8, or the environment's
    /// `REWIND_REPLAY_PREFETCH_DISTANCE` (0 turns it off; for measuring, docs/REPLAY.md).
    static let prefetchDistance: Int = {
        guard let text = ProcessInfo.processInfo.environment["REWIND_REPLAY_PREFETCH_DISTANCE"], let value = Int(text),
              (0...64).contains(value) else { return 8 }
        return value
    }()

    mutating func acceptPacked(_ batch: PackedBatch, _ index: Int) -> Bool? {
        let entry = batch.entries[index]
        guard entry.kind == .command else { return nil }
        if let until = options.untilSequence, entry.sequence > until { return false }
        if let untilTime = options.untilTimestampMilliseconds, entry.timestampMilliseconds > untilTime { return false }
        summary.readEntryCount += 1
        if pendingTransaction != nil {
            pendingPacked.append((batch, index))
            return true
        }
        batch.prefetchAhead(of: index, in: keyspace)
        applyPackedCommand(batch, index)
        if let checkpoints, summary.readEntryCount - readCountAtCheckpoint >= checkpoints.intervalEntryCount {
            keyspace.applyScoreRuns(&scoreRuns)
            readCountAtCheckpoint = summary.readEntryCount
            checkpoints.capture(keyspace, sequence: entry.sequence, timestampMilliseconds: entry.timestampMilliseconds)
        }
        return true
    }

    /// ``apply(_:)`` for a command still packed in its batch, through the ZADD runs
    /// (``SortedSetScoreRuns``: a plain ZADD that joins a run has no reply yet, and cannot fail).
    private mutating func applyPackedCommand(_ batch: PackedBatch, _ index: Int) {
        let entry = batch.entries[index]
        summary.lastSequence = entry.sequence
        summary.lastTimestampMilliseconds = entry.timestampMilliseconds
        let keyspace = keyspace
        let reply = batch.withPackedCommand(index) {
            keyspace.applyPacked($0, db: entry.db, nowMilliseconds: entry.timestampMilliseconds, through: &scoreRuns)
        }
        summary.appliedCommandCount += 1
        if case .error(let message)? = reply {
            summary.failureCount += 1
            if summary.failures.count < ReplaySummary.failureCountMax {
                let decoded = batch.decoded(index)
                summary.failures.append(ReplayFailure(place: place(decoded), commandText: Self.text(decoded.arguments),
                                                      error: message.trimmingCharacters(in: .whitespaces)))
            }
        }
    }

    mutating func finish() {
        keyspace.applyScoreRuns(&scoreRuns)
        if let pending = pendingTransaction {
            let last = pendingPacked.last.map { $0.batch.entries[$0.index].sequence } ?? pending.last?.sequence ?? transactionStart
            summary.unappliedTransaction = transactionStart...max(last, transactionStart)
            pendingTransaction = nil
            pendingPacked.removeAll()
        }
    }

    /// The last commands applied, for the report of a checkpoint mismatch.
    private var recentCommands: [(EntryPlace, String)] = []
    private var lastMatchingCheckpoint: EntryPlace?

    private mutating func check(_ entry: DecodedEntry) {
        guard let stored = entry.storedDigest else { return }
        summary.checkedCheckpointCount += 1
        let replayed = StateDigest.digest(of: keyspace)
        if replayed == stored {
            lastMatchingCheckpoint = place(entry)
            recentCommands.removeAll()
        } else if summary.checkpointMismatch == nil {
            summary.checkpointMismatch = CheckpointMismatch(place: place(entry), loggedDigest: stored, replayedDigest: replayed,
                                                            lastMatchingCheckpoint: lastMatchingCheckpoint, recentCommands: recentCommands)
        }
    }

    private mutating func checkReply(_ reply: RESPValue, logged: UInt64, entry: DecodedEntry) {
        summary.checkedReplyCount += 1
        guard summary.replyMismatch == nil else { return }
        let replayed = ReplyHash.of(reply)
        guard replayed != logged else { return }
        summary.replyMismatch = ReplyMismatch(place: place(entry), arguments: entry.arguments, command: Self.text(entry.arguments),
                                              loggedHash: logged, replayedHash: replayed, replayedReply: reply)
    }

    private mutating func advance(_ entry: DecodedEntry) {
        summary.lastSequence = entry.sequence
        summary.lastTimestampMilliseconds = entry.timestampMilliseconds
    }

    private func skipReason(_ entry: DecodedEntry) -> SkippedEntry.Reason? {
        if options.excludedSequences.contains(entry.sequence) { return .excludedSequence }
        if !options.excludedCommands.isEmpty, let name = entry.arguments.first,
           options.excludedCommands.contains(String(decoding: name, as: UTF8.self).uppercased()) {
            return .excludedCommand
        }
        return nil
    }

    private mutating func apply(_ entry: DecodedEntry) {
        advance(entry)
        let command = LoggedCommand(db: entry.db, arguments: entry.arguments)
        if needsInspection {
            if let reason = skipReason(entry) {
                summary.skipped.append(SkippedEntry(place: place(entry), reason: reason, commandText: Self.text(entry.arguments)))
                return
            }
            if !passesFilters(command) {
                summary.filteredCount += 1
                return
            }
        }
        let reply = keyspace.apply(command, nowMilliseconds: entry.timestampMilliseconds)
        summary.appliedCommandCount += 1
        if options.checksReplyHashes, let logged = entry.replyHash { checkReply(reply, logged: logged, entry: entry) }
        if options.checksCheckpoints {
            recentCommands.append((place(entry), Self.text(command.arguments)))
            if recentCommands.count > CheckpointMismatch.recentCommandCountMax { recentCommands.removeFirst() }
        }
        if case .error(let message) = reply {
            summary.failureCount += 1
            if summary.failures.count < ReplaySummary.failureCountMax {
                summary.failures.append(ReplayFailure(place: place(entry), commandText: Self.text(command.arguments),
                                                      error: message.trimmingCharacters(in: .whitespaces)))
            }
        }
        observer?(AppliedCommand(place: place(entry), command: command, reply: reply))
    }

    private func passesFilters(_ command: LoggedCommand) -> Bool {
        if let only = options.onlyDatabase, command.db != only { return false }
        if let pattern = options.onlyKeys {
            guard let indexes = Keyspace.keyIndexes(of: command.arguments) else { return false }
            if indexes.isEmpty { return true }
            return indexes.contains { pattern.matches(command.arguments[$0]) }
        }
        return true
    }

    /// A command as inspect shows it: `SET "k" "v"`.
    static func text(_ arguments: [[UInt8]], full: Bool = false) -> String {
        guard let name = arguments.first else { return "" }
        var text = String(decoding: name, as: UTF8.self)
        for argument in arguments.dropFirst() {
            text += " " + argument.withUnsafeBytes { EntryFormatting.quoted($0, full: full) }
        }
        return text
    }
}

/// The process's peak resident memory, from /proc on Linux.
#if os(Linux)
/// glibc's malloc_trim, which the Glibc module does not export.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
/// glibc's mallopt, which the Glibc module does not export.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

enum ProcessMemory {
    /// Makes glibc hand every block of 8 MiB or more straight back to the kernel when it is
    /// freed, for the rest of the process (`mallopt(M_MMAP_THRESHOLD)`), and trim the heap's top
    /// only past 16 MiB (`M_TRIM_THRESHOLD`; the replay trims every 65,536 entries anyway), with
    /// one heap for all threads (`M_ARENA_MAX` 1).
    ///
    /// By default glibc raises the mmap threshold to the size of the biggest mapped block freed
    /// so far (up to 32 MiB): once a replay frees its first few-MiB buffer, the biggest arrays of
    /// the state (a large database's slots and index, 4-15 MiB) come from the heap, and the old
    /// buffer of each growth stays there as free pages. A fixed threshold keeps those few arrays
    /// mapped, so a growth costs RSS only while old and new are both alive. Fixing it also fixes
    /// the trim threshold at 128 KiB, which made glibc shrink and regrow the heap's top (80,000
    /// more page faults, 0.1 s of system time on the 5M-command workload), hence the second
    /// setting. Measured on that workload: peak 143-144 -> 142-143 MB, no slower (docs/REPLAY.md).
    ///
    /// - Parameter oneArena: Also make every thread share one heap. A replay wants it; a server
    ///   must not have it: its event loop and its log's flusher would then take the same heap
    ///   lock for every allocation, and each large buffer the flusher asks for would make glibc
    ///   consolidate the event loop's freed small blocks (`malloc_consolidate`).
    static func returnLargeBlocksWhenFreed(oneArena: Bool = true) {
        #if os(Linux)
        _ = thresholds
        if oneArena { _ = sharedArena }
        #endif
    }

    #if os(Linux)
    private static let thresholds: Void = {
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in malloc.h
        let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
        _ = glibcMallopt(mmapThreshold, 8 << 20)
        _ = glibcMallopt(trimThreshold, 16 << 20)
    }()

    private static let sharedArena: Void = {
        let arenaMax: Int32 = -8  // M_ARENA_MAX
        // One heap for every thread: the reading thread's batches, freed on the applying thread,
        // went back to a second arena of their own; shared, their chunks are reused for the
        // state (peak 141.3-141.5 -> 140.0-140.4 MB on the 5M workload, no slower in a quiet A/B).
        _ = glibcMallopt(arenaMax, 1)
    }()
    #endif

    /// Gives the free pages inside glibc's heap back to the kernel. A replay frees as much as it
    /// allocates along the way (deleted keys, grown arrays, decoded arguments); without this the
    /// process would keep those pages resident while it holds or serves the state
    /// (6.5 MB of 138 MB on the 5M-command workload, docs/REPLAY.md).
    static func returnFreeMemory() {
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
    }

    static func peakResidentBytes() -> Int { field("VmHWM:") }
    static func residentBytes() -> Int { field("VmRSS:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let digits = line.filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}
