import Foundation
import RewindTestSupport
import RewindRESP
#if canImport(Glibc)
import Glibc
#endif

/// The built `rewind` executable beside the test bundle, when it was built.
enum RewindBinary {
    static let path: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        for candidate in [directory + "/rewind", directory + "/../rewind"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return nil
    }()

    static var redisToolsInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli") && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-benchmark")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `rewind serve` in its own process, on a free loopback port.
final class ServerProcess {
    let port: Int
    let directory: String
    let process: Subprocess
    let errorPath: String

    /// `fileSizeLimitBytes` starts the server under `ulimit -f` (through /bin/sh, which execs it;
    /// POSIX counts its argument in 512-byte blocks):
    /// a write past that size fails with EFBIG, as a full disk fails one.
    init(directory: String, arguments: [String] = [], environment: [String: String]? = nil, fileSizeLimitBytes: Int? = nil) throws {
        self.directory = directory
        let binary = try RewindBinary.path.orThrow("rewind is not built")
        var lastError: Error = TestFailure("rewind serve did not start")
        for _ in 0..<10 {
            let port = Self.freePort()
            let errorPath = directory + ".stderr.\(port)"
            var program = binary
            var serve = ["serve", "--dir", directory, "--port", String(port)] + arguments
            if let fileSizeLimitBytes {
                program = "/bin/sh"
                serve = ["-c", "ulimit -f \(fileSizeLimitBytes / 512) && exec \"$0\" \"$@\"", binary] + serve
            }
            let process = try Subprocess(program, serve,
                                         environment: environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } },
                                         error: .file(errorPath))
            for _ in 0..<1500 where process.isRunning {
                if let client = try? RESPClient(port: port), (try? client.command(["PING"])) != nil {
                    self.port = port
                    self.process = process
                    self.errorPath = errorPath
                    return
                }
                usleep(20_000)
            }
            process.send(SIGKILL)
            process.wait()
            lastError = TestFailure("rewind serve did not start: " + ((try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""))
        }
        throw lastError
    }

    var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    func kill() {
        process.send(SIGKILL)
        process.wait()
    }

    /// SIGTERM, then the exit status (SIGKILL and a failure after 60 s).
    func terminate() -> Int32 {
        process.send(SIGTERM)
        guard let ended = process.wait(timeout: 60) else {
            kill()
            return -1
        }
        return ended.status
    }

    /// Waits for the server to exit by itself (SHUTDOWN): its status, nil after `timeout` seconds.
    func waitForExit(timeout: Double = 60) -> Int32? {
        process.wait(timeout: timeout)?.status
    }

    deinit {
        if process.isRunning { kill() }
        try? FileManager.default.removeItem(atPath: errorPath)
    }

    static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw TestFailure(message) }
        return self
    }
}

/// A blocking RESP client over a plain socket, for tests.
final class RESPClient {
    let descriptor: Int32
    private var parser = RESPParser()

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            // No close here: `self` is fully initialized, so the throw runs deinit, which closes
            // the descriptor. Closing it twice could close another thread's file that reused the
            // number in between (seen as "write: Bad file descriptor" in a parallel log test).
            throw TestFailure("connect failed")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestFailure("send failed") }
            offset += written
        }
    }

    func send(_ arguments: [String]) throws {
        var bytes: [UInt8] = []
        RESPEncoder.encodeCommand(arguments.map { Array($0.utf8) }, into: &bytes)
        try sendRaw(bytes)
    }

    /// The next reply; throws when the connection ends first.
    func readReply() throws -> RESPValue {
        while true {
            if let value = try parser.nextValue() { return value }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestFailure("connection closed") }
            parser.append(chunk[0..<count])
        }
    }

    /// Every byte until the server closes the connection (or the timeout).
    func readUntilClosed() -> [UInt8] { drain().bytes }

    /// Whether the server closed the connection (end of stream) before the receive timeout,
    /// rather than leaving it open with nothing to read. Bytes received meanwhile are dropped.
    func closedByServer() -> Bool { drain().closedByServer }

    /// Receives until the stream ends or the receive timeout passes.
    private func drain() -> (bytes: [UInt8], closedByServer: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return (bytes, count == 0 || errno == ECONNRESET) }
            bytes += chunk[0..<count]
        }
    }

    func command(_ arguments: [String]) throws -> RESPValue {
        try send(arguments)
        return try readReply()
    }
}

/// Runs a program and returns its exit status and standard output (and error, merged).
func runProgram(_ path: String, _ arguments: [String], input: String? = nil, timeout: Double = 300) throws -> (status: Int32, output: String) {
    let result = try Subprocess.run(path, arguments, input: input.map { .bytes(Array($0.utf8)) } ?? .null, mergeError: true, timeout: timeout)
    return (result.status, result.outputText)
}
