// BGREWRITEAOF and the automatic trigger: online compaction of the server's log. See
// docs/COMPACTION.md, "Online", and redis src/aof.c (rewriteAppendOnlyFileBackground and the
// auto-aof-rewrite check in serverCron) for the behaviour copied here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import NIOCore
import RewindEngine
import RewindLog
import RewindReplay

/// What INFO persistence reports of online compactions, and what the automatic trigger needs.
struct RewriteState {
    var inProgress = false
    var startedMilliseconds: Int64 = 0
    /// Seconds the last compaction took; -1 before the first (Redis's `aof_last_rewrite_time_sec`).
    var lastDurationSeconds: Int64 = -1
    var lastSucceeded = true
    /// Compactions started (Redis counts a rewrite when its child is forked).
    var startedCount = 0
    var consecutiveFailures = 0
    var lastFailureMilliseconds: Int64 = 0
    /// The log's size after the last compaction, or at start (Redis's `aof_rewrite_base_size`).
    var baseByteCount = 0
    /// The cut of the last successful compaction, its base's keys and bytes.
    var lastCutSequence: UInt64 = 0
    var lastKeyCount = 0
    var lastBaseByteCount = 0
}

/// Hands a finished compaction back to the event loop, unless the server is stopping (then the
/// loop may be gone, and scheduling on it would be an error).
final class RewriteHandoff: @unchecked Sendable {
    private let mutex = DispatchSemaphore(value: 1)
    private var open = true

    func close() {
        mutex.wait()
        open = false
        mutex.signal()
    }

    func deliver(on eventLoop: EventLoop, _ body: @escaping @Sendable () -> Void) {
        mutex.wait()
        defer { mutex.signal() }
        if open { eventLoop.execute(body) }
    }
}

/// What the background part of a compaction did.
private struct RewriteOutcome: Sendable {
    var cut: UInt64
    var keyCount: Int
    var baseByteCount: Int
    var deletedFileCount: Int
    var digestMilliseconds: Int64 = 0
    var writeMilliseconds: Int64 = 0
    var installMilliseconds: Int64 = 0
}

/// A fork of the keyspace handed to the background thread: nothing else touches it.
private struct ForkedKeyspace: @unchecked Sendable {
    let keyspace: Keyspace
}

extension ServerCore {
    /// Redis's replies, word for word.
    static let rewriteStarted = "Background append only file rewriting started"
    static let rewriteAlreadyRunning = "ERR Background append only file rewriting already in progress"

    func bgrewriteaofCommand(_ connection: ConnectionHandler, now: Int64) {
        guard writer != nil, !isReadOnly else {
            reply(connection, .error("ERR Background append only file rewriting needs a log; this server serves a state read-only"))
            return
        }
        if rewrite.inProgress {
            reply(connection, .error(Self.rewriteAlreadyRunning))
            return
        }
        if let error = startRewrite(now: now) {
            reply(connection, .error("ERR Background append only file rewriting failed to start: \(error)"))
            return
        }
        reply(connection, .simpleString(Self.rewriteStarted))
    }

    /// serverCron's check: compact when the log grew `auto-aof-rewrite-percentage` over its size
    /// after the last compaction and is larger than `auto-aof-rewrite-min-size`. After failures,
    /// waits a minute per consecutive failure (at most an hour) before trying again.
    func startAutomaticRewriteIfDue(now: Int64) {
        let percentage = configuration.autoCompactPercentage
        guard percentage > 0, !rewrite.inProgress, logFailure == nil, let writer else { return }
        if rewrite.consecutiveFailures > 0 {
            let delay = Int64(min(rewrite.consecutiveFailures, 60)) * 60_000
            guard now - rewrite.lastFailureMilliseconds >= delay else { return }
        }
        let current = writer.byteCount
        guard current > configuration.autoCompactMinByteCount else { return }
        let base = max(rewrite.baseByteCount, 1)
        let (scaled, overflow) = current.multipliedReportingOverflow(by: 100)
        let growth = overflow ? Int.max : scaled / base - 100
        guard growth >= percentage else { return }
        logger.info("starting automatic log compaction: \(current) bytes, \(growth)% growth over \(rewrite.baseByteCount)")
        if let error = startRewrite(now: now) { logger.error("automatic log compaction failed to start: \(error)") }
    }

    /// On the event loop, between commands: forks the keyspace, cuts the log after the last
    /// appended entry (the state of the fork), and writes the base on another thread. Returns why
    /// it could not start, or nil.
    private func startRewrite(now: Int64) -> String? {
        guard let writer else { return "no log" }
        if let logFailure { return "the log failed: \(logFailure)" }
        // The cut is the writer's last entry: it must hold every entry of the forked state.
        commitStaged()
        if let logFailure { return "the log failed: \(logFailure)" }
        let fork = ForkedKeyspace(keyspace: keyspace.fork())
        let cut: OnlineCompactionCut
        do {
            cut = try writer.rotateForCompaction()
        } catch {
            rewriteFinished(.failure(error), now: now)
            return "\(error)"
        }
        rewrite.inProgress = true
        rewrite.startedMilliseconds = now
        rewrite.startedCount += 1
        guard cut.compactsHistory else {
            // An empty log, or nothing logged since the last compaction: nothing to write.
            rewriteFinished(.success(RewriteOutcome(cut: cut.sequence, keyCount: (0..<keyspace.databaseCount).reduce(0) { $0 + keyspace.keyCount(db: $1) }, baseByteCount: 0, deletedFileCount: 0)),
                            now: now)
            return nil
        }
        let crashStep = configuration.compactionCrashStep
        let onStep: (LogCompaction.Step) -> Void = { step in
            if step.rawValue == crashStep { kill(getpid(), SIGKILL) }
        }
        let eventLoop = self.eventLoop
        logger.info("log compaction started: cut after #\(cut.sequence), \(cut.replacedSegmentFileNames.count) segment(s) to replace")
        DispatchQueue.global(qos: .utility).async { [self] in
            let outcome = Self.writeAndInstallBase(of: fork, cut: cut, writer: writer, timestampMilliseconds: now, onStep: onStep)
            // Freeing the fork's copies is the background thread's work too.
            rewriteHandoff.deliver(on: eventLoop) { self.rewriteFinished(outcome, now: Clock.nowMilliseconds()) }
        }
        return nil
    }

    /// The background part: the base from the fork, then the manifest swap and the deletions.
    private static func writeAndInstallBase(of fork: ForkedKeyspace, cut: OnlineCompactionCut, writer: LogWriter,
                                            timestampMilliseconds: Int64,
                                            onStep: @escaping (LogCompaction.Step) -> Void) -> Result<RewriteOutcome, Error> {
        let candidate: LogCompaction.Candidate
        let written: (keyCount: Int, digest: String, digestSeconds: Double)
        let start = Clock.nowMilliseconds()
        do {
            let builder = try writer.makeBaseBuilder(for: cut, onStep: onStep)
            written = try Compactor.writeOnlineBase(of: fork.keyspace, to: builder, timestampMilliseconds: timestampMilliseconds)
            candidate = try builder.finish()
        } catch {
            writer.abandonCompaction(cut)
            return .failure(error)
        }
        let baseDone = Clock.nowMilliseconds()
        do {
            let deleted = try writer.installBase(candidate, replacingThrough: cut, onStep: onStep)
            let digestMilliseconds = Int64(written.digestSeconds * 1000)
            return .success(RewriteOutcome(cut: cut.sequence, keyCount: written.keyCount, baseByteCount: candidate.baseByteCount,
                                           deletedFileCount: deleted.count, digestMilliseconds: digestMilliseconds,
                                           writeMilliseconds: baseDone - start,
                                           installMilliseconds: Clock.nowMilliseconds() - baseDone))
        } catch {
            writer.abandonCompaction(cut)
            return .failure(error)
        }
    }

    private func rewriteFinished(_ outcome: Result<RewriteOutcome, Error>, now: Int64) {
        let seconds = rewrite.inProgress ? max(0, now - rewrite.startedMilliseconds) / 1000 : 0
        rewrite.inProgress = false
        rewrite.lastDurationSeconds = seconds
        switch outcome {
        case .success(let done):
            rewrite.lastSucceeded = true
            rewrite.consecutiveFailures = 0
            rewrite.baseByteCount = writer?.byteCount ?? 0
            rewrite.lastCutSequence = done.cut
            rewrite.lastKeyCount = done.keyCount
            rewrite.lastBaseByteCount = done.baseByteCount
            logger.info("log compaction done: base of \(done.keyCount) keys (\(done.baseByteCount) bytes) up to #\(done.cut), \(done.deletedFileCount) old file(s) deleted; the log is \(rewrite.baseByteCount) bytes (base \(done.writeMilliseconds) ms, its digest \(done.digestMilliseconds) ms on a second thread meanwhile, swap and deletions \(done.installMilliseconds) ms)")
        case .failure(let error):
            rewrite.lastSucceeded = false
            rewrite.consecutiveFailures += 1
            rewrite.lastFailureMilliseconds = now
            logger.error("log compaction failed: \(error)")
        }
    }

    /// INFO persistence's AOF rewrite fields, in Redis 7.0's order and names.
    func rewriteInfoFields(now: Int64) -> [(String, String)] {
        [
            ("aof_rewrite_in_progress", rewrite.inProgress ? "1" : "0"),
            ("aof_rewrite_scheduled", "0"),
            ("aof_last_rewrite_time_sec", String(rewrite.lastDurationSeconds)),
            ("aof_current_rewrite_time_sec", rewrite.inProgress ? String(max(0, now - rewrite.startedMilliseconds) / 1000) : "-1"),
            ("aof_last_bgrewrite_status", rewrite.lastSucceeded ? "ok" : "err"),
            ("aof_rewrites", String(rewrite.startedCount)),
            ("aof_rewrites_consecutive_failures", String(rewrite.consecutiveFailures)),
            ("aof_last_write_status", logFailure == nil ? "ok" : "err"),
            ("aof_last_cow_size", "0"),
            ("module_fork_in_progress", "0"),
            ("module_fork_last_cow_size", "0"),
            ("aof_current_size", String(writer?.byteCount ?? 0)),
            ("aof_base_size", String(rewrite.baseByteCount)),
            ("aof_pending_rewrite", "0"),
            ("aof_buffer_length", "0"),
            ("aof_pending_bio_fsync", "0"),
            ("aof_delayed_fsync", "0"),
            ("rewind_last_rewrite_cut_sequence", String(rewrite.lastCutSequence)),
            ("rewind_last_rewrite_keys", String(rewrite.lastKeyCount)),
            ("rewind_last_rewrite_base_bytes", String(rewrite.lastBaseByteCount)),
        ]
    }
}
