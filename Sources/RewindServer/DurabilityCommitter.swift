// How the event loop hands its entries to the log and learns when their replies may go, without
// ever waiting on the log. See docs/SERVER.md, "Durability".

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RewindLog

/// Asks the log writer's flusher for each event-loop iteration's entries and reports back, on
/// the event loop, the sequence number the durability policy has reached.
///
/// The event loop appends the entries of each iteration to the writer in one call (a
/// ``LogWriter/Batch``; a long pipeline's every 64 KiB sooner), without waking the flusher, and
/// calls ``request(_:)`` once per iteration
/// with the last sequence number appended. That asks the flusher to write it now (under `always`,
/// to write and fdatasync it: every client whose write arrived while the previous fdatasync was
/// in flight shares the next one, group commit across connections). The flusher calls back after each record it writes or
/// sync it makes; when the event loop waits for that progress, the callback posts it to the
/// event loop, which releases the held replies (`acknowledged`). So one batch costs two thread
/// wake-ups: the flusher's, and the event loop's when the bytes are out. No thread here waits.
final class DurabilityCommitter: @unchecked Sendable {
    private let writer: LogWriter
    private let durable: Bool
    private let eventLoop: EventLoop
    private let acknowledged: (UInt64) -> Void
    private let failed: (Error) -> Void

    // Guarded by `mutex`: the flusher's callback and the event loop both use them.
    private var mutex = pthread_mutex_t()
    /// The highest sequence number the event loop waits for.
    private var requested: UInt64
    /// The highest sequence number posted to (or acknowledged on) the event loop.
    private var posted: UInt64
    private var failurePosted = false
    private var stopped = false

    /// - Parameters:
    ///   - durable: true waits for fdatasync (`always`), false for the write to the OS.
    ///   - acknowledged: called on `eventLoop` with the highest sequence number reached.
    ///   - failed: called on `eventLoop` once if the log fails; nothing is acknowledged after.
    init(writer: LogWriter, durable: Bool, eventLoop: EventLoop, startSequence: UInt64,
         acknowledged: @escaping (UInt64) -> Void, failed: @escaping (Error) -> Void) {
        self.writer = writer
        self.durable = durable
        self.eventLoop = eventLoop
        self.acknowledged = acknowledged
        self.failed = failed
        requested = startSequence
        posted = startSequence
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
    }

    /// Starts following the writer's progress.
    func start() {
        writer.setProgressHandler { [unowned self] progress in self.progressed(progress) }
    }

    /// On the event loop: asks for every entry up to `sequence` (all appended to the writer) to
    /// be acknowledged. Replies waiting for it are released by `acknowledged`, at once when the
    /// writer already got there.
    func request(_ sequence: UInt64) {
        pthread_mutex_lock(&mutex)
        let alreadyRequested = sequence <= requested
        if !alreadyRequested { requested = sequence }
        pthread_mutex_unlock(&mutex)
        if !alreadyRequested { writer.requestProgress(through: sequence, durable: durable) }
        // Progress published before `requested` was raised was not posted by the callback: look
        // at it here. (The callback reads `requested` after publishing, so one of the two sees it.)
        let progress = writer.publishedProgress
        let reached = min(durable ? progress.durableSequence : progress.writtenSequence, sequence)
        pthread_mutex_lock(&mutex)
        let acknowledgesNow = reached > posted && progress.failure == nil
        if acknowledgesNow { posted = reached }
        pthread_mutex_unlock(&mutex)
        if acknowledgesNow { acknowledged(reached) }
    }

    /// On the event loop: writes (under `always`, writes and fdatasyncs) everything appended on
    /// this thread (``LogWriter/writeOnCallingThread()``, ``LogWriter/writeAndSyncOnCallingThread()``),
    /// as Redis's main thread does before it replies, and acknowledges it at once. Saves the
    /// round trip through the flusher (two thread wake-ups per commit); the event loop is
    /// blocked for the write (and the fdatasync), as Redis's is. Returns false when the
    /// committer has stopped (use ``request(_:)``).
    func commitOnCallingThread() -> Bool {
        pthread_mutex_lock(&mutex)
        let isStopped = stopped
        pthread_mutex_unlock(&mutex)
        guard !isStopped else { return false }
        let reached: UInt64
        do {
            reached = try durable ? writer.writeAndSyncOnCallingThread() : writer.writeOnCallingThread()
        } catch {
            pthread_mutex_lock(&mutex)
            let postsFailure = !failurePosted && !stopped
            failurePosted = true
            pthread_mutex_unlock(&mutex)
            if postsFailure { failed(error) }
            return true
        }
        pthread_mutex_lock(&mutex)
        let acknowledgesNow = reached > posted && !stopped
        if acknowledgesNow { posted = reached }
        if reached > requested { requested = reached }
        pthread_mutex_unlock(&mutex)
        if acknowledgesNow { acknowledged(reached) }
        return true
    }

    /// The last sequence number the writer took to the policy's point (fdatasync'ed under
    /// `always`, written under `everysec` and `no`); after a failure, what it reached before.
    func reachedSequence() -> UInt64 {
        durable ? writer.durableSequenceNumber : writer.writtenSequenceNumber
    }

    /// Off the event loop, at shutdown: waits until every entry up to `sequence` meets the policy,
    /// posts it to the event loop, and stops posting (the event loop is about to stop). Returns
    /// the writer's failure, if it failed (before or during this wait): then nothing is posted,
    /// since entries numbered up to `sequence` may never have reached the writer.
    @discardableResult
    func stop(after sequence: UInt64) -> Error? {
        writer.requestProgress(through: sequence, durable: durable)
        let result = Result { durable ? try writer.waitUntilDurable(sequence) : try writer.waitUntilWritten(sequence) }
        var failure: Error? = writer.publishedProgress.failure
        if failure == nil, case .failure(let error) = result { failure = error }
        pthread_mutex_lock(&mutex)
        let alreadyStopped = stopped
        stopped = true
        let post = !alreadyStopped && sequence > posted && failure == nil
        if post { posted = sequence }
        pthread_mutex_unlock(&mutex)
        writer.setProgressHandler(nil)
        if post {
            let acknowledged = self.acknowledged
            eventLoop.execute { acknowledged(sequence) }
        }
        return failure
    }

    /// On the flusher's thread: posts the progress to the event loop when it waits for it.
    private func progressed(_ progress: LogWriter.Progress) {
        let reached = durable ? progress.durableSequence : progress.writtenSequence
        pthread_mutex_lock(&mutex)
        var postsFailure = false
        var postsProgress = false
        if !stopped {
            if progress.failure != nil {
                postsFailure = !failurePosted
                failurePosted = true
            } else if reached > posted && requested > posted {
                posted = reached
                postsProgress = true
            }
        }
        pthread_mutex_unlock(&mutex)
        if postsFailure, let error = progress.failure {
            let failed = self.failed
            eventLoop.execute { failed(error) }
        } else if postsProgress {
            let acknowledged = self.acknowledged
            eventLoop.execute { acknowledged(reached) }
        }
    }
}
