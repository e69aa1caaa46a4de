// Starting a redis-server 7.0 of a test's own, shared by the test targets' reference servers.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum RedisServerLauncher {
    public static let executablePath = "/usr/bin/redis-server"
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executablePath) }

    /// Starts `redis-server --port P --bind 127.0.0.1 ... arguments` on a port from `port()`,
    /// trying another port up to `attempts` times, and returns once the server answers as itself:
    /// its own process id in INFO (another test's server on the same port must not pass for it)
    /// and PONG (INFO answers while an AOF is still loading). `failure` describes a failed start.
    public static func start(arguments: [String], attempts: Int = 10, port: () -> Int,
                             failure: (Int) -> String = { "redis-server did not start on port \($0)" }) throws -> (process: Subprocess, port: Int) {
        var lastError: Error = SubprocessError("redis-server did not start")
        for _ in 0..<attempts {
            let port = port()
            let process: Subprocess
            do {
                process = try Subprocess(executablePath, ["--port", String(port), "--bind", "127.0.0.1"] + arguments)
            } catch {
                lastError = error
                continue
            }
            for _ in 0..<200 where process.isRunning {
                if answersAsItself(port: port, pid: process.pid) { return (process, port) }
                usleep(25_000)
            }
            process.send(SIGKILL)
            process.wait(timeout: 10)
            lastError = SubprocessError(failure(port))
        }
        throw lastError
    }

    /// redis-cli's output for one command (a connection failure is text, as redis-cli prints
    /// it), without the last newline. A redis-cli still waiting after a minute is killed.
    public static func cli(port: Int, _ arguments: [String]) throws -> String {
        var text = try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port)] + arguments, timeout: 60).outputText
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    static func answersAsItself(port: Int, pid: pid_t) -> Bool {
        let info = (try? cli(port: port, ["INFO", "server"])) ?? ""
        return info.split(whereSeparator: \.isNewline).contains { $0 == "process_id:\(pid)" }
            && (try? cli(port: port, ["PING"])) == "PONG"
    }
}
