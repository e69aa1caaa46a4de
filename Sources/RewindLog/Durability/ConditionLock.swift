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
