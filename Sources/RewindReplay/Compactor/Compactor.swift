// Offline compaction: replay to a cut, write the commands that rebuild the state there as a base
// segment, keep the entries after the cut byte for byte, prove the result, swap the manifest.
// See docs/COMPACTION.md; the file operations are RewindLog's `LogCompaction`.

import Foundation
// `snapshot(inSlotOrder:)` reads every key in one pass over the engine's storage, several times
// faster than one read command per key (StateReader); the tests compare both routes.
@_spi(Testing) import RewindEngine
import RewindLog

/// What to keep and where to write, for ``Compactor/compact(log:options:onStep:progress:)``.
public struct CompactionOptions: Sendable {
    /// Keep at least this many of the last entries (`--keep-entries`).
    public var keepEntryCount: UInt64?
    /// Keep every entry at most this old, measured back from the log's last entry (`--keep-history`).
    public var keepHistoryMilliseconds: Int64?
    /// Write the compacted log to this new directory and leave the log as it is (`--out`).
    public var outputDirectory: String?
    /// What damage means; damage is never dropped without being reported (see docs/COMPACTION.md).
    public var recovery: RecoveryMode
    /// A collection is rebuilt in commands of at most this many elements...
    public var chunkElementCountMax: Int
    /// ...and at most about this many bytes, so no base entry grows without bound.
    public var chunkByteCountMax: Int

    public init(keepEntryCount: UInt64? = nil, keepHistoryMilliseconds: Int64? = nil, outputDirectory: String? = nil,
                recovery: RecoveryMode = .tolerateTail, chunkElementCountMax: Int = 1024, chunkByteCountMax: Int = 1 << 20) {
        self.keepEntryCount = keepEntryCount
        self.keepHistoryMilliseconds = keepHistoryMilliseconds
        self.outputDirectory = outputDirectory
        self.recovery = recovery
        self.chunkElementCountMax = max(1, chunkElementCountMax)
        self.chunkByteCountMax = max(1, chunkByteCountMax)
    }
}

/// What a compaction did.
public struct CompactionReport: Sendable {
    /// False when there was nothing to compact and nothing was written.
    public var changed = false
    /// The directory that now holds the compacted log (the log itself, or `--out`).
    public var directory = ""
    /// The last compacted sequence number: the base rebuilds the state after it.
    public var cutSequence: UInt64 = 0
    /// The log's last sequence number (unchanged by compaction).
    public var lastSequence: UInt64 = 0
    /// Entries kept after the cut, byte for byte, with their sequence numbers.
    public var keptEntryCount: UInt64 = 0
    /// Entries in the base (the rebuild commands and the checkpoint that ends it).
    public var baseEntryCount = 0
    public var baseRecordCount = 0
    public var baseByteCount = 0
    /// Keys in the state at the cut.
    public var keyCount = 0
    /// Bytes of the log's segments and dictionaries before and after.
    public var byteCountBefore = 0
    public var byteCountAfter = 0
    /// The DEBUG DIGEST of the state at the end of the log, equal before and after: proven by
    /// replaying both before the manifest was swapped.
    public var digest = ""
    /// The digest of the state at the cut, stored in the base's checkpoint entry.
    public var digestAtCut = ""
    /// Damage found and accepted (a torn tail, or what `--recovery skip-damaged` drops).
    public var damages: [LogDamage] = []
    /// Files no manifest named, removed before compacting.
    public var removedStrayFiles: [String] = []
    /// Commands of the compacted range that the engine refused while replaying (they changed
    /// nothing, in the original as in the base).
    public var refusedCommandCount = 0
    /// Seconds spent replaying the original to the cut, writing the base, finishing the
    /// original's replay and replaying the candidate (the proof), and swapping the manifest.
    public var replaySeconds = 0.0
    public var writeSeconds = 0.0
    public var proofSeconds = 0.0
    public var installSeconds = 0.0
    public var totalSeconds = 0.0
}

/// Why a compaction did not happen; the log is unchanged unless the message says otherwise.
public struct CompactionError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Damage lies in the entries that would be kept, or the recovery mode would drop entries.
        public static let damaged = Code("damaged")
        /// Writing the base or the manifest failed (a full disk, ...).
        public static let writeFailed = Code("write failed")
        /// The candidate did not replay to the original's digest: a bug, and nothing was swapped.
        public static let proofFailed = Code("proof failed")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Compacts a log offline (nothing may hold it open for writing).
///
/// ```swift
/// let report = try Compactor.compact(log: "orders.rwlog", options: CompactionOptions(keepEntryCount: 10_000))
/// print(report.byteCountBefore, "->", report.byteCountAfter, report.digest)
/// ```
public enum Compactor {
    /// Compacts `log`; see ``CompactionOptions`` and docs/COMPACTION.md.
    ///
    /// - Parameters:
    ///   - onStep: Called after each file step (crash tests kill the process there).
    ///   - progress: A short line now and then, for a terminal.
    /// - Throws: `LogError` (`.locked` when a writer holds the log; damage the recovery mode
    ///   refuses), ``CompactionError``.
    public static func compact(log: String, options: CompactionOptions = CompactionOptions(),
                               onStep: ((LogCompaction.Step) -> Void)? = nil,
                               progress: ((String) -> Void)? = nil) throws -> CompactionReport {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed(since: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - since) / 1e9 }
        let job = try LogCompaction(directory: log, recovery: options.recovery)
        defer { job.close() }
        job.onStep = onStep
        var report = CompactionReport()
        report.directory = options.outputDirectory ?? log
        report.damages = job.damages
        report.removedStrayFiles = job.removedStrayFiles
        report.lastSequence = job.lastSequence
        report.byteCountBefore = job.totalByteCount
        report.byteCountAfter = job.totalByteCount

        let cut = try chooseCut(job, options: options, log: log)
        try checkDamage(job, cut: cut, options: options)
        report.cutSequence = cut.sequence
        report.keptEntryCount = cut.keptEntryCount
        let compactsHistory = job.records[..<cut.recordIndex].contains { !$0.isSnapshot }
        guard cut.sequence > 0, compactsHistory || options.outputDirectory != nil else {
            report.totalSeconds = elapsed(since: start)
            return report
        }

        // 1. The state at the cut.
        var phase = DispatchTime.now().uptimeNanoseconds
        var keyspace: Keyspace? = Keyspace(randomSeed: 0)
        let replayOptions = ReplayOptions(untilSequence: cut.sequence, recovery: options.recovery)
        let atCut = try Replayer(log: log).replay(into: keyspace!, options: replayOptions, progress: { step in
            progress?("compact: replaying to #\(cut.sequence): at #\(step.lastSequence)")
        })
        report.refusedCommandCount = atCut.failureCount
        report.digestAtCut = StateDigest.digest(of: keyspace!)
        report.replaySeconds = elapsed(since: phase)

        // 2. The base.
        phase = DispatchTime.now().uptimeNanoseconds
        let builder = try job.makeBaseBuilder(cut: cut, outputDirectory: options.outputDirectory)
        let candidate: LogCompaction.Candidate
        do {
            report.keyCount = try writeBase(of: keyspace!, to: builder, timestampMilliseconds: atCut.lastTimestampMilliseconds,
                                            digest: report.digestAtCut, options: options)
            candidate = try builder.finish()
        } catch {
            job.abandon(builder.createdFiles, in: report.directory)
            throw CompactionError(.writeFailed, "compaction failed while writing the base segment: \(error); "
                + "the log is unchanged (its manifest and segments were not touched) and the partial base was removed")
        }
        report.baseEntryCount = candidate.baseEntryCount
        report.baseRecordCount = candidate.baseRecordCount
        report.baseByteCount = candidate.baseByteCount
        report.writeSeconds = elapsed(since: phase)

        // 3. The proof: the original and the candidate replay to the same digest.
        phase = DispatchTime.now().uptimeNanoseconds
        do {
            progress?("compact: proving the result")
            if cut.keptEntryCount > 0 {
                _ = try Replayer(log: log).replay(into: keyspace!, options: ReplayOptions(recovery: options.recovery), from: cut.sequence + 1)
                report.digest = StateDigest.digest(of: keyspace!)
            } else {
                report.digest = report.digestAtCut  // nothing after the cut: the end is the cut
            }
            // Released on another thread: freeing hundreds of thousands of keys takes a while
            // and nothing waits for it.
            let original = Unmanaged.passRetained(keyspace!)
            keyspace = nil
            DispatchQueue.global(qos: .utility).async { original.release() }
            let replayed = Keyspace(randomSeed: 0)
            var proofOptions = ReplayOptions(recovery: options.recovery)
            // With entries kept after the base, its checkpoint is checked on the way; without,
            // the final digest below is the checkpoint's state and one comparison proves both.
            proofOptions.checksCheckpoints = cut.keptEntryCount > 0
            let proof = try Replayer(log: candidate.directory, manifest: candidate.manifest).replay(into: replayed, options: proofOptions)
            let candidateDigest = StateDigest.digest(of: replayed)
            if let mismatch = proof.checkpointMismatch {
                throw CompactionError(.proofFailed, "the base does not rebuild the state at #\(cut.sequence): digest \(mismatch.replayedDigest), expected \(mismatch.loggedDigest)")
            }
            guard candidateDigest == report.digest, proof.logLastSequence == job.lastSequence else {
                throw CompactionError(.proofFailed, "the compacted log replays to \(candidateDigest) at #\(proof.logLastSequence ?? 0), "
                    + "the original to \(report.digest) at #\(job.lastSequence)")
            }
        } catch {
            job.abandon(builder.createdFiles, in: report.directory)
            if let failure = error as? CompactionError {
                throw CompactionError(failure.code, failure.message + "; nothing was swapped, the log is unchanged")
            }
            throw error
        }
        report.proofSeconds = elapsed(since: phase)

        // 4. The swap.
        phase = DispatchTime.now().uptimeNanoseconds
        do {
            try job.install(candidate)
        } catch {
            let installed = (try? LogReader(directory: report.directory).manifest) == candidate.manifest
            if !installed { job.abandon(builder.createdFiles, in: report.directory) }
            throw CompactionError(.writeFailed, installed
                ? "the compacted log is installed, but removing the old files failed: \(error); the next compaction removes them"
                : "compaction failed while replacing the manifest: \(error); the log is unchanged (the old manifest is in place)")
        }
        report.installSeconds = elapsed(since: phase)
        report.byteCountAfter = candidate.totalByteCount
        report.changed = true
        report.totalSeconds = elapsed(since: start)
        return report
    }

    private static func chooseCut(_ job: LogCompaction, options: CompactionOptions, log: String) throws -> LogCompaction.Cut {
        if let keep = options.keepEntryCount { return job.cut(keepingEntryCount: keep) }
        if let history = options.keepHistoryMilliseconds {
            var last: Int64 = 0
            if let final = job.records.last {
                try LogReader(directory: log).forEachEntry(from: final.firstSequence, recovery: options.recovery) { last = $0.timestampMilliseconds }
            }
            let (since, overflow) = last.subtractingReportingOverflow(history)
            return job.cut(keepingSince: overflow ? .min : since, lastTimestampMilliseconds: last)
        }
        return job.cut(keepingEntryCount: 0)
    }

    /// A torn tail is reported and left to the writer, as always; other damage is accepted only
    /// under `--recovery skip-damaged` and only inside the compacted range, where the base drops
    /// it with the history (and the report lists it). Damage in the kept window is refused.
    private static func checkDamage(_ job: LogCompaction, cut: LogCompaction.Cut, options: CompactionOptions) throws {
        let segmentIndexByName = Dictionary(uniqueKeysWithValues: job.manifest.segments.enumerated().map { ($1.fileName, $0) })
        let firstKept = cut.recordIndex < job.records.count ? job.records[cut.recordIndex] : nil
        for damage in job.damages where damage.kind != .tornTail {
            if options.recovery == .pointInTime {
                throw CompactionError(.damaged, "\(damage); point-in-time recovery would drop every entry after it. "
                    + "Run `rewind repair --skip-damaged` first, or compact with --recovery skip-damaged to drop only the damaged records")
            }
            let index = segmentIndexByName[damage.segmentFileName] ?? Int.max
            let beforeCut: Bool
            if let firstKept {
                beforeCut = index < firstKept.segmentIndex || (index == firstKept.segmentIndex && damage.byteOffset < firstKept.byteOffset)
            } else {
                beforeCut = true
            }
            if !beforeCut {
                throw CompactionError(.damaged, "\(damage) lies in the entries compaction keeps; "
                    + "run `rewind repair --skip-damaged` first (the log is unchanged)")
            }
        }
    }

    /// Writes the base of an online compaction (``LogWriter/makeBaseBuilder(for:compressionLevel:onStep:)``)
    /// from `keyspace`, a fork taken at the cut: the rebuild commands of every key, then a
    /// checkpoint holding the state's digest. The digest is computed on a second thread while this
    /// one writes the keys (both only read the fork). Safe on another thread than the one that
    /// keeps running commands on the original. Returns the number of keys, the digest and the
    /// seconds the digest took (a pass over the whole state, overlapped with the writing).
    public static func writeOnlineBase(of keyspace: Keyspace, to builder: BaseSegmentBuilder,
                                       timestampMilliseconds: Int64) throws -> (keyCount: Int, digest: String, digestSeconds: Double) {
        final class DigestResult: @unchecked Sendable {
            var digest = ""
            var seconds = 0.0
            let done = DispatchSemaphore(value: 0)
        }
        struct SharedFork: @unchecked Sendable { let keyspace: Keyspace }
        let result = DigestResult()
        let fork = SharedFork(keyspace: keyspace)
        DispatchQueue.global(qos: .userInitiated).async {
            let start = DispatchTime.now().uptimeNanoseconds
            result.digest = StateDigest.digest(of: fork.keyspace)
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            result.done.signal()
        }
        var keyCount = 0
        let options = CompactionOptions()
        do {
            keyCount = try keyspace.forEachRebuildCommand(chunkElementCountMax: options.chunkElementCountMax,
                                                          chunkByteCountMax: options.chunkByteCountMax) { db, arguments in
                try builder.append(LogEntry(timestampMilliseconds: timestampMilliseconds, db: UInt32(db), kind: .command, arguments: arguments))
            }
        } catch {
            result.done.wait()
            throw error
        }
        result.done.wait()
        try builder.append(LogEntry(timestampMilliseconds: timestampMilliseconds, kind: .checkpoint, arguments: [hexBytes(result.digest)]))
        return (keyCount, result.digest, result.seconds)
    }

    /// Writes the rebuild commands of every key, then a checkpoint with the state's digest;
    /// returns the number of keys.
    private static func writeBase(of keyspace: Keyspace, to builder: BaseSegmentBuilder, timestampMilliseconds: Int64,
                                  digest: String, options: CompactionOptions) throws -> Int {
        let keyCount = try keyspace.forEachRebuildCommand(chunkElementCountMax: options.chunkElementCountMax,
                                                          chunkByteCountMax: options.chunkByteCountMax) { db, arguments in
            try builder.append(LogEntry(timestampMilliseconds: timestampMilliseconds, db: UInt32(db), kind: .command, arguments: arguments))
        }
        try builder.append(LogEntry(timestampMilliseconds: timestampMilliseconds, kind: .checkpoint, arguments: [hexBytes(digest)]))
        return keyCount
    }

    /// Every key of every database with its value and expiry, in the engine's order, through a
    /// snapshot: the reference `Keyspace.forEachRebuildCommand` (which the bases use) is tested
    /// against, with ``rebuildCommands(_:options:)``.
    static func forEachKey(of keyspace: Keyspace, _ body: (Int, StoredKey) throws -> Void) rethrows {
        let snapshot = keyspace.snapshot(inSlotOrder: true)
        for (db, entries) in snapshot.databases.enumerated() {
            for entry in entries {
                let value: StateValue
                switch entry.type {
                case "string": value = .string(entry.contents.first ?? [])
                case "list": value = .list(entry.contents)
                case "set": value = .set(entry.contents)
                case "hash": value = .hash(stride(from: 0, to: entry.contents.count - 1, by: 2).map { (entry.contents[$0], entry.contents[$0 + 1]) })
                case "zset":
                    value = .sortedSet(stride(from: 0, to: entry.contents.count - 1, by: 2).map {
                        (entry.contents[$0], Double(String(decoding: entry.contents[$0 + 1], as: UTF8.self)) ?? .nan)
                    })
                default: continue
                }
                try body(db, StoredKey(key: entry.key, value: value, expiresAtMilliseconds: entry.expiresAtMilliseconds))
            }
        }
    }

    /// The commands that rebuild one key: SET (with PXAT when it expires), or RPUSH, SADD, HSET,
    /// ZADD in chunks bounded by element count and bytes, then PEXPIREAT for a TTL.
    static func rebuildCommands(_ stored: StoredKey, options: CompactionOptions) -> [[[UInt8]]] {
        let key = stored.key
        var commands: [[[UInt8]]] = []
        func chunked(_ name: [UInt8], _ groups: [[[UInt8]]]) {
            var command: [[UInt8]] = [name, key]
            var elements = 0, bytes = 0
            for group in groups {
                let size = group.reduce(0) { $0 + $1.count }
                if elements > 0 && (elements >= options.chunkElementCountMax || bytes + size > options.chunkByteCountMax) {
                    commands.append(command)
                    command = [name, key]
                    elements = 0
                    bytes = 0
                }
                command += group
                elements += 1
                bytes += size
            }
            if elements > 0 { commands.append(command) }
        }
        switch stored.value {
        case .string(let bytes):
            if let when = stored.expiresAtMilliseconds {
                return [[Name.set, key, bytes, Name.pxat, Array(String(when).utf8)]]
            }
            return [[Name.set, key, bytes]]
        case .list(let items): chunked(Name.rpush, items.map { [$0] })
        case .set(let members): chunked(Name.sadd, members.map { [$0] })
        case .hash(let pairs): chunked(Name.hset, pairs.map { [$0.0, $0.1] })
        case .sortedSet(let pairs): chunked(Name.zadd, pairs.map { [StateDigest.formatG17Bytes($0.1), $0.0] })
        }
        if let when = stored.expiresAtMilliseconds {
            commands.append([Name.pexpireat, key, Array(String(when).utf8)])
        }
        return commands
    }

    /// The command names a base uses, made once.
    private enum Name {
        static let set = Array("SET".utf8), pxat = Array("PXAT".utf8), rpush = Array("RPUSH".utf8), sadd = Array("SADD".utf8)
        static let hset = Array("HSET".utf8), zadd = Array("ZADD".utf8), pexpireat = Array("PEXPIREAT".utf8)
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) ?? 0)
        }
        return bytes
    }
}
