#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
}

/// Where appenders wait for their entries to be written or synced, apart from the writer's main
/// lock: when one fdatasync completes for 64 waiting appenders, they wake and re-check here, in a
/// critical section of a few instructions, instead of queueing on the lock that the flusher needs
/// to take the next batch and that the other appenders need to add to it.
final class ProgressNotifier: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var writtenSequence: UInt64
    private var durableSequence: UInt64
    private var failure: LogError?

    init(written: UInt64, durable: UInt64) {
        writtenSequence = written
        durableSequence = durable
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Publishes the writer's progress and wakes every waiter.
    func publish(written: UInt64, durable: UInt64, failure: LogError?) {
        pthread_mutex_lock(mutex)
        writtenSequence = max(writtenSequence, written)
        durableSequence = max(durableSequence, durable)
        if self.failure == nil { self.failure = failure }
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Returns once `sequence` is written (or durable); throws the writer's failure if it stops first.
    func wait(for sequence: UInt64, durable: Bool) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while (durable ? durableSequence : writtenSequence) < sequence {
            if let failure { throw failure }
            pthread_cond_wait(condition, mutex)
        }
    }
}
