// What the benchmarks in tools/ share: their settings, the workload they all measure (as a Rewind
// log and as a Redis AOF), redis-server as the reference, and a child-process runner.
import Foundation
import RewindLog
import RewindReplay
import RewindSpawn

/// The settings every benchmark takes, and the ones a benchmark adds (`extras`, with defaults).
public struct BenchSettings {
    public var commandCount = 5_000_000
    public var keyCount = 100_000
    public var seed: UInt64 = 1
    public var directory: String
    /// A benchmark's own `--name value` settings, by name without the dashes.
    public var extras: [String: String]

    /// Parses `--commands N --keys K --seed S --directory D` and the `extras` named with their
    /// defaults; anything else stops the program with the usage.
    public init(_ arguments: [String] = CommandLine.arguments, name: String, extras: [String: String] = [:]) {
        directory = NSTemporaryDirectory() + name
        self.extras = extras
        let usage = "usage: \(name) [--commands N] [--keys K] [--seed S] [--directory D]"
            + extras.keys.sorted().map { " [--\($0) \(extras[$0]!)]" }.joined()
        var index = 1
        while index < arguments.count {
            guard index + 1 < arguments.count else { Self.fail(usage) }
            let value = arguments[index + 1]
            switch arguments[index] {
            case "--commands": commandCount = Self.parsed(value, usage)
            case "--keys": keyCount = Self.parsed(value, usage)
            case "--seed": seed = Self.parsed(value, usage)
            case "--directory": directory = value
            case let flag where flag.hasPrefix("--") && extras[String(flag.dropFirst(2))] != nil:
                self.extras[String(flag.dropFirst(2))] = value
            default: Self.fail(usage)
            }
            index += 2
        }
    }

    /// An extra setting as an integer.
    public func int(_ name: String) -> Int { Self.parsed(extras[name] ?? "", "--\(name) takes an integer") }

    static func parsed<Number: FixedWidthInteger>(_ text: String, _ usage: String) -> Number {
        guard let number = Number(text) else { fail(usage) }
        return number
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}

public enum Bench {
    /// Prints a line at once (the output is often piped to a file while it runs).
    public static func line(_ text: String) {
        print(text)
        fflush(stdout)
    }

    public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    public static func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

    /// Runs a program to its end; its standard output and exit status (standard error dropped).
    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) throws -> (output: String, status: Int32) {
        let process = try Subprocess(path, arguments, output: .pipe, error: .null)
        let collected = process.collect(timeout: .infinity)
        return (collected.outputText, process.wait()?.status ?? -1)
    }

    /// A program built beside this benchmark (`rewind`, `rewind-engine-bench`, ...).
    public static func sibling(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Makes `path` an empty directory, removing whatever was there.
    public static func emptyDirectory(_ path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The total size of the files in a directory that `matching` accepts.
    public static func directoryBytes(_ path: String, matching: (String) -> Bool = { _ in true }) -> Int {
        let fileManager = FileManager.default
        return ((try? fileManager.contentsOfDirectory(atPath: path)) ?? []).filter(matching).reduce(0) { total, name in
            total + ((try? fileManager.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0)
        }
    }

    /// `WorkloadGenerator`'s workload as a Rewind log (`workload.rwlog`) and a Redis AOF
    /// (`workload.aof`) in the settings' directory, moved five years later so that redis-server's
    /// active expiry deletes nothing while it loads. Reused when the AOF is already there.
    public static func workload(_ settings: BenchSettings) throws -> (log: String, aof: String) {
        let log = settings.directory + "/workload.rwlog"
        let aof = settings.directory + "/workload.aof"
        guard !FileManager.default.fileExists(atPath: aof) else { return (log, aof) }
        try? FileManager.default.removeItem(atPath: settings.directory)
        try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var generator = WorkloadGenerator(seed: settings.seed, commandCount: settings.commandCount, keyCount: settings.keyCount)
        while let item = generator.next() {
            let entries = item.entries(movedLaterBy: WorkloadGenerator.fiveYearsMilliseconds)
            try writer.append(contentsOf: entries, transaction: entries.count > 1)
        }
        try writer.close()
        _ = try AOFExporter.export(log: log, to: aof)
        return (log, aof)
    }
}

/// redis-server 7.0, the reference, in its own directory on a loopback port.
public final class ReferenceRedis {
    public let port: Int
    public let directory: String
    private let process: Subprocess

    /// Starts `/usr/bin/redis-server` in `directory` (created) with `--save ''`, DEBUG enabled, its
    /// log in `redis.log` there, and `arguments`.
    public init(directory: String, arguments: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = 19_600 + Int(getpid() % 500)
        process = try Subprocess("/usr/bin/redis-server", [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
            "--logfile", directory + "/redis.log", "--enable-debug-command", "yes",
        ] + arguments)
    }

    /// redis-cli's output for one command.
    @discardableResult
    public func cli(_ arguments: [String]) throws -> String {
        try Bench.run("/usr/bin/redis-cli", ["-p", String(port)] + arguments).output
    }

    /// Waits for `marker` in the server's log and returns the number after it (its own load time
    /// for "DB loaded from append only file: " or "DB loaded from disk: ").
    public func waitForLog(_ marker: String) -> Double {
        while true {
            usleep(50_000)
            let text = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
            if let range = text.range(of: marker) {
                return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? 0
            }
            if !process.isRunning { BenchSettings.fail("redis-server exited: \(text.suffix(500))") }
        }
    }

    /// Waits until the server answers PONG (not LOADING).
    public func waitUntilServing() {
        for _ in 0..<400 where (try? cli(["PING"]))?.hasPrefix("PONG") != true { usleep(25_000) }
    }

    /// A field of INFO (`used_memory_rss`, ...), nil when absent.
    public func info(_ section: String, _ field: String) throws -> String? {
        let prefix = field + ":"
        return try cli(["INFO", section]).split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    /// The `db` lines of INFO keyspace, on one line.
    public func keyspace() throws -> String {
        try cli(["INFO", "keyspace"]).split(whereSeparator: \.isNewline).filter { $0.hasPrefix("db") }.joined(separator: " ")
    }

    public func stop() {
        _ = try? cli(["SHUTDOWN", "NOSAVE"])
        process.waitOrKill(timeout: 30)
    }
}
