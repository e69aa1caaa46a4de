// The thread that waits on the log so the event loop never does. See docs/SERVER.md, "Durability".

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RewindLog

/// Waits, off the event loop, until appended entries are written (or fdatasync'ed), then reports
/// the sequence number reached back on the event loop.
///
/// The event loop appends entries without blocking and calls ``request(_:)`` with the last
/// sequence number it appended. This thread asks the log for everything up to the highest number
/// requested at once, so every client whose write arrived while the previous fdatasync was in
/// flight shares the next one (group commit across connections). Replies held for those writes
/// are released by `acknowledged` on the event loop.
final class DurabilityCommitter: @unchecked Sendable {
    private let writer: LogWriter
    private let durable: Bool
    private let eventLoop: EventLoop
    private let acknowledged: (UInt64) -> Void
    private let failed: (Error) -> Void

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var requested: UInt64
    private var reached: UInt64
    private var stopping = false
    private var thread: pthread_t?

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
        reached = startSequence
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    func start() {
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { argument in
            let committer = Unmanaged<DurabilityCommitter>.fromOpaque(argument!).takeRetainedValue()
            committer.run()
            return nil
        }, box.toOpaque())
        precondition(result == 0, "cannot start the durability committer thread")
        thread = handle
    }

    /// Asks for every entry up to `sequence` to be acknowledged. Cheap; call it once per batch.
    func request(_ sequence: UInt64) {
        pthread_mutex_lock(&mutex)
        if sequence > requested {
            requested = sequence
            pthread_cond_signal(&condition)
        }
        pthread_mutex_unlock(&mutex)
    }

    /// Stops the thread after it acknowledged what was requested, and waits for it.
    func stop() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func run() {
        while true {
            pthread_mutex_lock(&mutex)
            while requested <= reached && !stopping { pthread_cond_wait(&condition, &mutex) }
            if requested <= reached && stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            let target = requested
            pthread_mutex_unlock(&mutex)
            do {
                if durable { try writer.waitUntilDurable(target) } else { try writer.waitUntilWritten(target) }
            } catch {
                let failed = self.failed
                eventLoop.execute { failed(error) }
                return
            }
            pthread_mutex_lock(&mutex)
            reached = target
            pthread_mutex_unlock(&mutex)
            let acknowledged = self.acknowledged
            eventLoop.execute { acknowledged(target) }
        }
    }
}
