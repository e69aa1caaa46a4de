// Child processes without Foundation's Process.
//
// On Linux, Foundation's Process lists this process's open descriptors and asks posix_spawn to
// close each of them in the child. A descriptor another thread opens in between (a pipe, a
// socket, the socket Process itself watches its children through) leaks into the child; when that
// child lives long, a reader waiting for end-of-file on the leaked pipe, or a waitUntilExit()
// waiting on the leaked socket, waits as long as it lives. A child started from a dispatch
// thread also inherits that thread's blocked signals, so SIGTERM never reaches it. Subprocess
// closes every descriptor above 2 in the child at exec time, unblocks and resets every signal,
// and waits on the child's pid with waitpid, with deadlines.

import CSpawn
#if canImport(Glibc)
import Glibc
#endif

/// How a child ended.
public struct Termination: Equatable, Sendable, CustomStringConvertible {
    /// The exit code, when it exited.
    public var exitCode: Int32?
    /// The signal that ended it, when one did.
    public var signal: Int32?

    public init(exitCode: Int32? = nil, signal: Int32? = nil) {
        self.exitCode = exitCode
        self.signal = signal
    }

    /// Exit code or signal number, as Foundation's `terminationStatus`.
    public var status: Int32 { exitCode ?? signal ?? -1 }
    public var exitedNormally: Bool { exitCode != nil }
    public var description: String {
        if let exitCode { return "exit \(exitCode)" }
        return "signal \(signal ?? 0)"
    }
}

public struct SubprocessError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A running (or ended) child process.
public final class Subprocess: @unchecked Sendable {
    /// Where the child's standard input comes from.
    public enum Input {
        case null
        /// Read from this file.
        case file(String)
        /// These bytes, then end-of-file: what fits the pipe at once, the rest by ``collect(timeout:grace:)``.
        case bytes([UInt8])
        /// A pipe the caller writes to through ``inputDescriptor``.
        case pipe
    }

    /// Where one of the child's output streams goes.
    public enum Output {
        case null
        /// This process's own stream (standard output or error).
        case inherit
        /// Created or truncated.
        case file(String)
        /// Kept by ``collect(timeout:)``.
        case pipe
        /// Standard error only: wherever standard output goes.
        case sameAsOutput
    }

    public let pid: pid_t
    public let executable: String
    private let lock = NSLockLike()
    private var ended: Termination?
    /// The parent's end of the input pipe (`.pipe` and `.bytes` inputs), -1 otherwise.
    public private(set) var inputDescriptor: Int32 = -1
    private var pendingInput: [UInt8] = []
    private var writtenInput = 0
    private var outputDescriptor: Int32 = -1
    private var errorDescriptor: Int32 = -1

    /// Starts `executable` (an absolute path) with `arguments`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        input: Input = .null, output: Output = .null, error: Output = .null, newProcessGroup: Bool = false
    ) throws {
        self.executable = executable
        var toClose: [Int32] = []
        var parentEnds: [Int32] = []
        defer { toClose.forEach { _ = close($0) } }
        func failed(_ what: String) -> SubprocessError {
            parentEnds.forEach { _ = close($0) }
            return SubprocessError("\(executable): \(what): \(String(cString: strerror(errno)))")
        }
        func openFile(_ path: String, _ flags: Int32) throws -> Int32 {
            let descriptor = open(path, flags | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw failed("cannot open \(path)") }
            toClose.append(descriptor)
            return descriptor
        }
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard rewind_pipe_cloexec(&fds) == 0 else { throw failed("pipe") }
            return (fds[0], fds[1])
        }
        if case .null = input {} else if case .file = input {} else { Self.ignoreBrokenPipes }
        let childInput: Int32
        switch input {
        case .null: childInput = try openFile("/dev/null", O_RDONLY)
        case .file(let path): childInput = try openFile(path, O_RDONLY)
        case .bytes(let bytes):
            let ends = try makePipe()
            childInput = ends.read
            toClose.append(ends.read)
            inputDescriptor = ends.write
            parentEnds.append(ends.write)
            pendingInput = bytes
        case .pipe:
            let ends = try makePipe()
            childInput = ends.read
            toClose.append(ends.read)
            inputDescriptor = ends.write
            parentEnds.append(ends.write)
        }
        func childOutput(_ output: Output, inherited: Int32, keep: inout Int32) throws -> Int32 {
            switch output {
            case .null: return try openFile("/dev/null", O_WRONLY)
            case .inherit: return inherited
            case .file(let path): return try openFile(path, O_WRONLY | O_CREAT | O_TRUNC)
            case .pipe:
                let ends = try makePipe()
                toClose.append(ends.write)
                keep = ends.read
                parentEnds.append(ends.read)
                return ends.write
            case .sameAsOutput: return -1
            }
        }
        var keptOutput: Int32 = -1
        var keptError: Int32 = -1
        let childStdout = try childOutput(output == .sameAsOutput ? .null : output, inherited: 1, keep: &keptOutput)
        let childStderr = error == .sameAsOutput ? childStdout : try childOutput(error, inherited: 2, keep: &keptError)
        outputDescriptor = keptOutput
        errorDescriptor = keptError

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var child: pid_t = 0
        let result: Int32 = argv.withUnsafeBufferPointer { argvBuffer in
            if let envp {
                return envp.withUnsafeBufferPointer { envpBuffer in
                    rewind_spawn(executable, argvBuffer.baseAddress, envpBuffer.baseAddress, childInput, childStdout, childStderr, newProcessGroup ? 1 : 0, &child)
                }
            }
            return rewind_spawn(executable, argvBuffer.baseAddress, nil, childInput, childStdout, childStderr, newProcessGroup ? 1 : 0, &child)
        }
        guard result == 0 else {
            errno = result
            throw failed("cannot start")
        }
        pid = child
        if inputDescriptor >= 0, case .bytes = input {
            // What fits the pipe now is written now; ``collect(timeout:grace:)`` writes the rest.
            _ = fcntl(inputDescriptor, F_SETFL, fcntl(inputDescriptor, F_GETFL) | O_NONBLOCK)
            while writtenInput < pendingInput.count {
                let written = pendingInput[writtenInput...].withUnsafeBytes { write(inputDescriptor, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break }
                writtenInput += written
            }
            if writtenInput == pendingInput.count { close(inputDescriptor); inputDescriptor = -1 }
        }
    }

    deinit {
        for descriptor in [inputDescriptor, outputDescriptor, errorDescriptor] where descriptor >= 0 { close(descriptor) }
        // Never leave a zombie or an orphan behind a test that forgot its child.
        if termination == nil {
            kill(pid, SIGKILL)
            _ = waitForExit()
        }
    }

    // MARK: - State

    /// How the child ended, or nil while it runs (reaps it when it has ended).
    public var termination: Termination? {
        lock.locked {
            if let ended { return ended }
            var code: Int32 = 0
            var signal: Int32 = 0
            let result = rewind_wait_child(pid, 0, &code, &signal)
            if result == 1 { ended = code >= 0 ? Termination(exitCode: code) : Termination(signal: signal) }
            if result < 0 { ended = Termination(exitCode: -1) }  // not our child any more: nothing to wait for
            return ended
        }
    }

    public var isRunning: Bool { termination == nil }

    /// Sends `signal` to the child while it has not been reaped (its pid could be another
    /// process's after that), or with `group` to its process group (`newProcessGroup`), which
    /// lives while any member does and whose id is not reused meanwhile.
    public func send(_ signal: Int32, group: Bool = false) {
        lock.locked {
            if group {
                _ = kill(-pid, signal)
            } else if ended == nil {
                _ = kill(pid, signal)
            }
        }
    }

    /// Waits for the child to end; nil when `timeout` seconds pass first.
    @discardableResult
    public func wait(timeout: Double? = nil) -> Termination? {
        guard let timeout else { return waitForExit() }
        let deadline = Self.now() + timeout
        var pause: UInt32 = 1_000
        while true {
            if let termination { return termination }
            if Self.now() >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Waits `timeout` seconds, then kills the child (SIGKILL) and waits for that.
    @discardableResult
    public func waitOrKill(timeout: Double) -> Termination {
        if let done = wait(timeout: timeout) { return done }
        send(SIGKILL)
        return waitForExit()
    }

    /// Sends `signal`, waits up to `timeout` seconds, then SIGKILL.
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM, timeout: Double = 10) -> Termination {
        send(signal)
        return waitOrKill(timeout: timeout)
    }

    private func waitForExit() -> Termination {
        // A blocking waitpid holds no lock: `termination` may reap concurrently, so poll instead.
        while true {
            if let termination { return termination }
            usleep(2_000)
        }
    }

    // MARK: - Output

    /// What the child wrote to its piped streams until both reached end-of-file, or until it
    /// ended and `grace` seconds passed without more (a grandchild may keep a pipe open), or
    /// `timeout`. Writes `.bytes` input meanwhile. `timedOut` tells the last case.
    public struct Collected {
        public var output: [UInt8] = []
        public var error: [UInt8] = []
        public var timedOut = false
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: error, as: UTF8.self) }
    }

    public func collect(timeout: Double = 300, grace: Double = 0.5) -> Collected {
        var collected = Collected()
        let deadline = Self.now() + timeout
        var endedAt: Double?
        var inputOffset = writtenInput
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var fds: [pollfd] = []
            if outputDescriptor >= 0 { fds.append(pollfd(fd: outputDescriptor, events: Int16(POLLIN), revents: 0)) }
            if errorDescriptor >= 0 { fds.append(pollfd(fd: errorDescriptor, events: Int16(POLLIN), revents: 0)) }
            let writing = inputDescriptor >= 0 && inputOffset < pendingInput.count
            if writing { fds.append(pollfd(fd: inputDescriptor, events: Int16(POLLOUT), revents: 0)) }
            if fds.isEmpty { break }
            let now = Self.now()
            if now >= deadline { collected.timedOut = true; break }
            if endedAt == nil, !isRunning { endedAt = now }
            if let endedAt, now - endedAt >= grace { break }
            let ready = poll(&fds, nfds_t(fds.count), 20)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inputDescriptor {
                    let written = pendingInput[inputOffset...].withUnsafeBytes { write(inputDescriptor, $0.baseAddress, $0.count) }
                    if written > 0 { inputOffset += written }
                    if written < 0 && errno != EAGAIN && errno != EINTR { inputOffset = pendingInput.count }
                    if inputOffset >= pendingInput.count { close(inputDescriptor); inputDescriptor = -1 }
                    continue
                }
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if entry.fd == outputDescriptor { collected.output += buffer[0..<count] } else { collected.error += buffer[0..<count] }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    if entry.fd == outputDescriptor { close(outputDescriptor); outputDescriptor = -1 } else { close(errorDescriptor); errorDescriptor = -1 }
                }
            }
        }
        if inputDescriptor >= 0 && !pendingInput.isEmpty { close(inputDescriptor); inputDescriptor = -1 }
        writtenInput = inputOffset
        return collected
    }

    /// Closes the parent's end of a `.pipe` input, so the child reads end-of-file.
    public func closeInput() {
        if inputDescriptor >= 0 { close(inputDescriptor); inputDescriptor = -1 }
    }

    /// Writes all of `bytes` to a `.pipe` input.
    public func writeInput(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(inputDescriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw SubprocessError("\(executable): writing its input: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    // MARK: - One call

    /// The result of ``run(_:_:environment:input:mergeError:timeout:)``.
    public struct Result {
        public var termination: Termination
        public var output: [UInt8]
        public var error: [UInt8]
        public var status: Int32 { termination.status }
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: error, as: UTF8.self) }
    }

    /// Runs a program to its end and returns what it printed. After `timeout` seconds it is killed
    /// and the call throws, naming the program: a hung child fails its test instead of hanging it.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        input: Input = .null, mergeError: Bool = false, timeout: Double = 300
    ) throws -> Result {
        let process = try Subprocess(executable, arguments, environment: environment, input: input, output: .pipe, error: mergeError ? .sameAsOutput : .pipe)
        let collected = process.collect(timeout: timeout)
        if collected.timedOut {
            process.send(SIGKILL)
            process.wait()
            throw SubprocessError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s and was killed")
        }
        let termination = process.waitOrKill(timeout: max(1, timeout / 10))
        return Result(termination: termination, output: collected.output, error: collected.error)
    }

    /// Writing to a child that has gone must be an error (EPIPE), not this process's death.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

extension Subprocess.Output: Equatable {}

/// A pthread mutex (no Foundation).
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
