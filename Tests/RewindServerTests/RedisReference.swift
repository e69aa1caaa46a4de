import Foundation
import RewindRESP
import RewindTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A redis-server 7.0 of the test's own, on a free loopback port: the oracle the server's replies
/// are compared with, byte for byte.
final class RedisReference {
    static var isAvailable: Bool { RedisServerLauncher.isAvailable }

    let port: Int
    let process: Subprocess
    /// redis-server's working directory (SYNC makes it write an RDB file there).
    private let directory: TemporaryDirectory

    /// Starts redis-server with `arguments` added (`--enable-debug-command yes`, ...).
    init(arguments: [String] = []) throws {
        directory = try TemporaryDirectory(prefix: "rewind-reference-redis")
        (process, port) = try RedisServerLauncher.start(
            arguments: ["--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "/dev/null", "--dir", directory.path] + arguments,
            attempts: 5, port: ServerProcess.freePort)
    }

    deinit {
        process.send(SIGKILL)
        process.wait(timeout: 10)
    }
}

extension RESPClient {
    /// Sends `commands` as one pipeline followed by a PING, and returns every byte received up to
    /// and including the PING's `+PONG\r\n`: the replies exactly as the server wrote them.
    func exchange(_ commands: [[String]]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for command in commands + [["PING"]] {
            RESPEncoder.encodeCommand(command.map { Array($0.utf8) }, into: &bytes)
        }
        try sendRaw(bytes)
        var received: [UInt8] = []
        let end = Array("+PONG\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !(received.count >= end.count && Array(received.suffix(end.count)) == end) {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw TestFailure("connection closed after \(String(decoding: received, as: UTF8.self))") }
            received += chunk[0..<count]
        }
        return received
    }
}

/// The peak resident memory of process `pid` in bytes (`VmHWM`), 0 when unreadable.
func peakResidentBytes(of pid: pid_t) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
    return kilobytes * 1024
}
