// A redis-server child process and a minimal RESP2 client for differential tests.

import Foundation
import RewindRESP
import RewindTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server 7.0 started on a free loopback port for one test, stopped by ``stop()``.
final class RedisServerProcess {
    let port: UInt16
    private let process: Subprocess

    /// Starts redis-server, or returns nil when it is not installed.
    static func start() throws -> RedisServerProcess? {
        let candidates = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let port = try freeLoopbackPort()
        let process = try Subprocess(path, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                            "--enable-debug-command", "yes", "--daemonize", "no", "--loglevel", "warning"])
        let server = RedisServerProcess(port: port, process: process)
        for _ in 0..<100 {
            if let client = try? RESPTestClient(port: port), (try? client.send(["PING"])) == .simpleString("PONG") {
                return server
            }
            usleep(50_000)
        }
        server.stop()
        throw TestServerError(description: "redis-server did not answer PING on port \(port)")
    }

    private init(port: UInt16, process: Subprocess) {
        self.port = port
        self.process = process
    }

    /// Kills the server and reaps it.
    func stop() {
        process.send(SIGKILL)
        process.wait(timeout: 10)
    }

    private static func freeLoopbackPort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw TestServerError(description: "bind failed") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

struct TestServerError: Error, CustomStringConvertible {
    var description: String
}

/// A blocking RESP2 client: sends one command, reads one reply.
final class RESPTestClient {
    private let descriptor: Int32
    /// Replies are read with the project's own RESP parser rather than a second hand-written one.
    private var parser = RESPParser()

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            // No close here: the throw runs deinit (every property is set), which closes it; a
            // second close could close another test's file that reused the number meanwhile.
            throw TestServerError(description: "connect to port \(port) failed")
        }
        // A server that stops answering fails the test after a minute instead of hanging it.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ arguments: [String]) throws -> RESPValue {
        try send(arguments.map { Array($0.utf8) })
    }

    func send(_ arguments: [[UInt8]]) throws -> RESPValue {
        var frame: [UInt8] = []
        RESPEncoder.encodeCommand(arguments, into: &frame)
        var written = 0
        while written < frame.count {
            let result = frame[written...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard result > 0 else { throw TestServerError(description: "send failed") }
            written += result
        }
        while true {
            if let value = try parser.nextValue() { return value }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestServerError(description: "connection closed") }
            parser.append(chunk[0..<count])
        }
    }
}

/// The current Unix time in milliseconds, for driving the engine alongside a live server.
func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

extension RESPValue {
    /// The value as RESP2 would carry it: maps flattened, sets as arrays.
    var asRESP2: RESPValue {
        switch self {
        case .map(let pairs): return .array(pairs.flatMap { [$0.key.asRESP2, $0.value.asRESP2] })
        case .set(let items), .push(let items): return .array(items.map(\.asRESP2))
        case .array(let items): return .array(items.map(\.asRESP2))
        case .boolean(let flag): return .integer(flag ? 1 : 0)
        case .double(let value):
            let text = value.isInfinite ? (value > 0 ? "inf" : "-inf") : String(format: "%.17g", value)
            return .bulkString(Array(text.utf8))
        case .verbatimString(_, let text): return .bulkString(text)
        default: return self
        }
    }

    /// A short readable rendering for failure messages.
    var rendered: String {
        switch self {
        case .simpleString(let text): return "+" + text
        case .error(let text): return "-" + text
        case .integer(let value): return ":\(value)"
        case .bulkString(let bytes): return "\"" + bytes.map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined() + "\""
        case .null: return "(nil)"
        case .nullArray: return "(nil array)"
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ", ") + "]"
        default: return asRESP2 == self ? "\(self)" : asRESP2.rendered
        }
    }
}
