#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFutex

/// A pthread mutex with two condition variables, for the writer's group commit: `work` wakes the
/// one flusher thread, `progress` wakes the appenders waiting for their entries to be written.
/// Two conditions, because with one every append would wake every waiting appender: with 64
/// writers under `always` that herd cost two thirds of the throughput. (Foundation's NSCondition
/// would do, but RewindLog does not import Foundation.)
final class ConditionLock: @unchecked Sendable {
    enum Condition { case work, progress }
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let workCondition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let progressCondition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(workCondition, &attributes)
        pthread_cond_init(progressCondition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(workCondition)
        pthread_cond_destroy(progressCondition)
        pthread_mutex_destroy(mutex)
        workCondition.deallocate()
        progressCondition.deallocate()
        mutex.deallocate()
    }

    private func pointer(_ condition: Condition) -> UnsafeMutablePointer<pthread_cond_t> {
        condition == .work ? workCondition : progressCondition
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a signal on `condition`; the lock must be held.
    func wait(_ condition: Condition) { pthread_cond_wait(pointer(condition), mutex) }

    /// Waits for a signal on `condition` or until `nanoseconds` have passed; the lock must be held.
    func wait(_ condition: Condition, nanoseconds: UInt64) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(pointer(condition), mutex, &deadline)
    }

    /// Wakes the flusher (there is one thread waiting on `work`).
    func signalWork() { pthread_cond_signal(workCondition) }

    /// Wakes every thread waiting on `progress`.
    func broadcastProgress() { pthread_cond_broadcast(progressCondition) }
}

/// Runs `body` on a new detached-joinable pthread.
final class WorkerThread {
    private var thread: pthread_t?
    private final class Box { let body: () -> Void; init(_ body: @escaping () -> Void) { self.body = body } }

    init(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        thread = handle
    }

    func join() {
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// A thread nobody joined (its owner went away first) gives its resources back when it ends.
    deinit {
        if let thread { pthread_detach(thread) }
    }
}

/// Where appenders wait for their entries to be written or synced, apart from the writer's lock.
///
/// When one fdatasync completes for 64 waiting appenders, every one of them must wake. With a
/// condition variable each woken thread then queues for the condition's mutex, and on two cores
/// that convoy cost more than the fdatasync. Here progress is published in atomic words and the
/// waiters sleep on a futex: a woken appender reads the words and returns, touching no lock.
final class ProgressNotifier: @unchecked Sendable {
    // [0] written, [1] durable, [2] 1 when the writer failed.
    private let words = UnsafeMutablePointer<UInt64>.allocate(capacity: 3)
    private let generation = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    /// Threads inside ``wait(for:durable:)``. A publish with none skips the futex wake-up, a
    /// system call (two per commit of a server that never waits here, under `always`).
    private let waiters = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private let failureLock = ConditionLock()
    private var failure: LogError?

    init(written: UInt64, durable: UInt64) {
        words.initialize(repeating: 0, count: 3)
        words[0] = written
        words[1] = durable
        generation.initialize(to: 0)
        waiters.initialize(to: 0)
    }

    deinit {
        words.deallocate()
        generation.deallocate()
        waiters.deallocate()
    }

    /// Publishes the writer's progress and wakes every waiter. Called by one thread at a time
    /// (the flusher, or `close` after it stopped), with the writer's lock held. The progress
    /// handler is called later, by ``reportToHandler()``, once the writer's lock is released:
    /// a handler that posts to another thread must not hold up the appenders.
    func publish(written: UInt64, durable: UInt64, failure: LogError?) {
        if let failure {
            failureLock.withLock { if self.failure == nil { self.failure = failure } }
            rewind_atomic_store_u64(words + 2, 1)
        }
        if written > rewind_atomic_load_u64(words) { rewind_atomic_store_u64(words, written) }
        if durable > rewind_atomic_load_u64(words + 1) { rewind_atomic_store_u64(words + 1, durable) }
        // Sequentially consistent with the waiter's count-then-read: if the count read here is
        // 0, a waiter that comes later reads the generation and words stored above.
        _ = rewind_atomic_add_u32_sc(generation, 1)
        if rewind_atomic_load_u32_sc(waiters) > 0 { rewind_futex_wake_all(generation) }
        hasUnreportedProgress = true
    }

    /// Set by `publish`, cleared by the thread that then calls ``reportToHandler()`` (the
    /// flusher, or `close`); guarded by the writer's lock, like `publish`.
    var hasUnreportedProgress = false

    /// Calls the progress handler, if one is set, with the progress published last. Called
    /// without the writer's lock.
    func reportToHandler() {
        if let handler = failureLock.withLock({ handler }) { handler(snapshot) }
    }

    /// The progress published last.
    var snapshot: LogWriter.Progress {
        let failed = rewind_atomic_load_u64(words + 2) != 0
        return LogWriter.Progress(
            writtenSequence: rewind_atomic_load_u64(words), durableSequence: rewind_atomic_load_u64(words + 1),
            failure: failed ? (failureLock.withLock { failure } ?? LogError(.writerClosed, path: "", "the writer failed")) : nil)
    }

    /// Called after each publish; guarded by `failureLock`.
    private var handler: (@Sendable (LogWriter.Progress) -> Void)?

    func setHandler(_ handler: (@Sendable (LogWriter.Progress) -> Void)?) {
        failureLock.withLock { self.handler = handler }
    }

    /// Returns once `sequence` is written (or durable); throws the writer's failure if it stops first.
    func wait(for sequence: UInt64, durable: Bool) throws {
        let word = durable ? words + 1 : words
        // Counted before anything is read (see `publish`).
        _ = rewind_atomic_add_u32_sc(waiters, 1)
        defer { _ = rewind_atomic_add_u32_sc(waiters, -1) }
        while true {
            // Read the generation first: a publish after this read changes it, so the futex wait
            // below returns at once instead of sleeping through the wake-up.
            let seen = rewind_atomic_load_u32_sc(generation)
            if rewind_atomic_load_u64(word) >= sequence { return }
            if rewind_atomic_load_u64(words + 2) != 0 {
                throw failureLock.withLock { failure } ?? LogError(.writerClosed, path: "", "the writer failed")
            }
            rewind_futex_wait(generation, seen)
        }
    }
}
