import Foundation
import RewindTestSupport

/// A redis-server 7.0 started for one test on a free loopback port, in its own directory, and
/// stopped with `SHUTDOWN NOSAVE` (or SIGKILL) when the test is done.
final class RedisProcess {
    let port: Int
    let directory: String
    private let process: Subprocess

    /// Whether redis-server and redis-cli are installed; the redis-backed tests need them.
    static var isAvailable: Bool {
        RedisServerLauncher.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli")
    }

    /// Starts redis-server in `directory` with `--save '' --enable-debug-command yes` and `arguments`.
    init(directory: String, arguments: [String] = []) throws {
        self.directory = directory
        (process, port) = try RedisServerLauncher.start(
            arguments: ["--dir", directory, "--save", "", "--enable-debug-command", "yes", "--logfile", directory + "/redis.log"] + arguments,
            attempts: 20, port: Self.freePort
        ) { port in
            let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
            return "redis-server did not start on port \(port): \(log.suffix(800))"
        }
    }

    struct RedisError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs redis-cli with `arguments` against this server; returns its output without the last newline.
    func cli(_ arguments: [String]) throws -> String { try Self.cli(port: port, arguments) }

    /// Sends `commands` through `redis-cli --pipe` (fast for thousands of commands); fails when
    /// any of them got an error reply.
    func pipe(_ commands: [[[UInt8]]]) throws {
        var encoded: [UInt8] = []
        for arguments in commands {
            encoded += Array("*\(arguments.count)\r\n".utf8)
            for argument in arguments {
                encoded += Array("$\(argument.count)\r\n".utf8)
                encoded += argument
                encoded += [13, 10]
            }
        }
        let input = directory + "/pipe-\(UUID().uuidString).resp"
        FileManager.default.createFile(atPath: input, contents: Data(encoded))
        defer { try? FileManager.default.removeItem(atPath: input) }
        let result = try Subprocess.run("/usr/bin/redis-cli", ["-p", String(port), "--pipe"], input: .file(input), timeout: 600)
        let text = result.outputText
        guard result.status == 0, text.contains("errors: 0,") else {
            throw RedisError(message: "redis-cli --pipe: \(text.suffix(300))")
        }
    }

    /// `DEBUG DIGEST` of the whole data set.
    func digest() throws -> String { try cli(["DEBUG", "DIGEST"]) }

    func stop() {
        _ = try? Subprocess.run("/usr/bin/redis-cli", ["-p", String(port), "SHUTDOWN", "NOSAVE"], timeout: 10)
        process.waitOrKill(timeout: 2)
    }

    deinit { if process.isRunning { stop() } }

    static func cli(port: Int, _ arguments: [String]) throws -> String { try RedisServerLauncher.cli(port: port, arguments) }

    /// A port the kernel says is free now, in the range the brief sets aside (19379 and up).
    static func freePort() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 19_500...29_000)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
        return 19_500
    }

    /// Starts a server that loads the AOF at `aofPath` as its `appendonly.aof` (a single-file AOF,
    /// which Redis 7 loads and upgrades to an appenddir) and returns the digest of what it loaded.
    static func digestOfLoading(aofFile aofPath: String, in scratch: String) throws -> String {
        let directory = scratch + "/load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: aofPath, toPath: directory + "/appendonly.aof")
        return try digestOfServer(directory: directory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
    }

    /// Starts a server that loads the Redis 7 appenddir at `appendDirectory` and returns its digest.
    static func digestOfLoading(appendDirectory: String, in scratch: String) throws -> String {
        let directory = scratch + "/load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: appendDirectory, toPath: directory + "/appendonlydir")
        return try digestOfServer(directory: directory, arguments: ["--appendonly", "yes", "--appenddirname", "appendonlydir", "--appendfilename", "appendonly.aof"])
    }

    private static func digestOfServer(directory: String, arguments: [String]) throws -> String {
        let server = try RedisProcess(directory: directory, arguments: arguments)
        defer { server.stop() }
        let keys = try server.cli(["DBSIZE"])
        _ = keys
        return try server.digest()
    }
}
