import Foundation

/// SIGTERM and SIGINT for the commands that serve until stopped (`serve`, `replay --serve`).
///
/// Installed before the long start (replaying the log), so a signal that comes meanwhile is not
/// lost: until ``serving(stop:)`` is called it ends the process at once, as stopping a Redis that
/// is still loading does (nothing is acknowledged yet, and the log is built to survive an abrupt
/// end); afterwards it runs the stop action, which syncs and closes the log.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var stop: (() -> Void)?
    private var sources: [DispatchSourceSignal] = []
    private let command: String

    init(command: String) {
        self.command = command
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.received(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// From now on a signal runs `stop`.
    func serving(stop: @escaping () -> Void) {
        lock.lock()
        self.stop = stop
        lock.unlock()
    }

    func cancel() { sources.forEach { $0.cancel() } }

    private func received(_ signalNumber: Int32) {
        lock.lock()
        let stop = self.stop
        lock.unlock()
        if let stop {
            stop()
            return
        }
        let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
        FileHandle.standardError.write(Data("\(command): \(name) while starting; stopped before serving anything\n".utf8))
        _exit(0)
    }
}
