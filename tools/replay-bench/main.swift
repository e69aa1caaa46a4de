// rewind-replay-bench: replay speed, replay to the middle from a checkpoint, and peak memory, each
// beside redis-server 7.0 loading the same commands as its AOF, measured in the same run.
// Build and run in release:
//
//   swift build -c release    # rewind, rewind-replay-bench and rewind-engine-bench among the products
//   .build/release/rewind-replay-bench [--commands N] [--keys K] [--seed S] [--directory D]
//
// The workload is `WorkloadGenerator`'s (Zipf-skewed SET/INCR/APPEND/HSET/LPUSH/SADD/ZADD/DEL/
// PEXPIREAT, 3% in MULTI/EXEC), moved five years later so that redis-server's active expiry does
// not delete keys while it loads. Redis's load time is its own "DB loaded from append only file"
// figure; Rewind's replay runs as `rewind replay --json` in its own process, so its peak RSS is
// measured like Redis's used_memory_rss.
import Foundation
import RewindEngine
import RewindLog
import RewindReplay

struct Settings {
    var commandCount = 5_000_000
    var keyCount = 100_000
    var seed: UInt64 = 1
    var directory = NSTemporaryDirectory() + "rewind-replay-bench"
    init(_ arguments: [String]) {
        var index = 1
        while index + 1 < arguments.count {
            let value = arguments[index + 1]
            switch arguments[index] {
            case "--commands": commandCount = Int(value)!
            case "--keys": keyCount = Int(value)!
            case "--seed": seed = UInt64(value)!
            case "--directory": directory = value
            default: fatalError("unknown argument \(arguments[index])")
            }
            index += 2
        }
    }
}

let settings = Settings(CommandLine.arguments)
let log = settings.directory + "/workload.rwlog"
let aof = settings.directory + "/workload.aof"
let fiveYears: Int64 = 5 * 365 * 86_400_000

func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
func line(_ text: String) { print(text); fflush(stdout) }

// 1. The workload, as a Rewind log and as a Redis AOF (reused when already there).
if !FileManager.default.fileExists(atPath: aof) {
    try? FileManager.default.removeItem(atPath: settings.directory)
    try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
    let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
    var generator = WorkloadGenerator(seed: settings.seed, commandCount: settings.commandCount, keyCount: settings.keyCount)
    while let item = generator.next() {
        let entries = item.entries.map { entry -> LogEntry in
            var moved = entry
            moved.timestampMilliseconds += fiveYears
            if moved.arguments.first == Array("PEXPIREAT".utf8), let when = Int64(String(decoding: moved.arguments[2], as: UTF8.self)) {
                moved.arguments[2] = Array(String(when + fiveYears).utf8)
            }
            return moved
        }
        try writer.append(contentsOf: entries, transaction: entries.count > 1)
    }
    try writer.close()
    _ = try AOFExporter.export(log: log, to: aof)
}
let aofBytes = (try FileManager.default.attributesOfItem(atPath: aof)[.size] as? Int) ?? 0
line("workload: \(settings.commandCount) commands, \(settings.keyCount) keys per type, seed \(settings.seed); AOF \(aofBytes / 1_000_000) MB")

// 2. redis-server loading the AOF.
func run(_ path: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

func redisLoad() throws -> (seconds: Double, rssBytes: Int, keys: String) {
    let directory = settings.directory + "/redis"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: aof, toPath: directory + "/appendonly.aof")
    let port = 19_600 + Int(getpid() % 300)
    let server = Process()
    server.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
    server.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "yes",
                        "--appendfilename", "appendonly.aof", "--logfile", directory + "/redis.log", "--enable-debug-command", "yes"]
    server.standardOutput = FileHandle.nullDevice
    try server.run()
    defer {
        _ = try? run("/usr/bin/redis-cli", ["-p", String(port), "SHUTDOWN", "NOSAVE"])
        server.waitUntilExit()
    }
    var loadSeconds: Double?
    while loadSeconds == nil {
        usleep(100_000)
        let logText = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        if let range = logText.range(of: "DB loaded from append only file: ") {
            let rest = logText[range.upperBound...]
            loadSeconds = Double(rest.prefix { $0.isNumber || $0 == "." })
        }
        if !server.isRunning { fatalError("redis-server exited: \(logText.suffix(500))") }
    }
    var rss = 0
    for _ in 0..<100 {
        let info = try run("/usr/bin/redis-cli", ["-p", String(port), "INFO", "memory"])
        if let field = info.split(separator: "\r\n").first(where: { $0.hasPrefix("used_memory_rss:") }) {
            rss = Int(field.dropFirst("used_memory_rss:".count)) ?? 0
            break
        }
        usleep(100_000)
    }
    let keys = try run("/usr/bin/redis-cli", ["-p", String(port), "INFO", "keyspace"])
        .split(separator: "\r\n").filter { $0.hasPrefix("db") }.joined(separator: " ")
    return (loadSeconds ?? 0, rss, keys)
}

let redis = try redisLoad()
line(String(format: "redis-server 7.0 AOF load: %.2f s (%.0f commands/s), used_memory_rss %.0f MB, %@",
            redis.seconds, Double(settings.commandCount) / redis.seconds, Double(redis.rssBytes) / 1e6, redis.keys))

// 3. `rewind replay --json` in its own process.
let rewindBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewind").path
let output = try run(rewindBinary, ["replay", "--json", log])
let summary = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
let replaySeconds = summary["seconds"] as! Double
let peakRSS = summary["peak_rss_bytes"] as! Int
let replayRSS = summary["rss_after_replay_bytes"] as! Int
line(String(format: "rewind replay: %.2f s (%.0f commands/s), RSS after replay %.0f MB, peak RSS (digest included) %.0f MB, %d keys, %d commands refused by the engine",
            replaySeconds, summary["commands_per_second"] as! Double, Double(replayRSS) / 1e6, Double(peakRSS) / 1e6, summary["keys"] as! Int,
            summary["failure_count"] as! Int))
line(String(format: "  speed vs Redis: %.2fx (target >= 2x); memory vs Redis RSS: %.2fx after replay, %.2fx peak (target <= 1.5x)",
            redis.seconds / replaySeconds, Double(replayRSS) / Double(max(redis.rssBytes, 1)), Double(peakRSS) / Double(max(redis.rssBytes, 1))))

// 3b. The engine alone (`rewind-engine-bench apply`: no Foundation or SwiftNIO linked, so its RSS
// is the engine's data plus the Swift runtime), the issue's memory comparison for the engine.
let engineBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewind-engine-bench").path
if FileManager.default.fileExists(atPath: engineBinary) {
    let fields = Dictionary(uniqueKeysWithValues: try run(engineBinary, ["apply", log]).split(separator: " ").compactMap { pair -> (String, Double)? in
        let parts = pair.split(separator: "=")
        guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return (String(parts[0]), value)
    })
    let rss = fields["rss_bytes"] ?? 0, peak = fields["peak_rss_bytes"] ?? 0, baseline = fields["baseline_rss_bytes"] ?? 0
    line(String(format: "engine alone (rewind-engine-bench apply): %.2f s, RSS %.0f MB (%.0f MB before any data), peak %.0f MB; vs Redis RSS: %.2fx after, %.2fx peak (target <= 1.5x)",
                fields["seconds"] ?? 0, rss / 1e6, baseline / 1e6, peak / 1e6, rss / Double(max(redis.rssBytes, 1)), peak / Double(max(redis.rssBytes, 1))))
} else {
    line("engine alone: build rewind-engine-bench too (swift build -c release --product rewind-engine-bench)")
}

// 4. In-process: sequential decoding, concurrent decoding, and the middle from a checkpoint.
var concurrent = ReplayOptions()
concurrent.decodesConcurrently = true
var start = DispatchTime.now().uptimeNanoseconds
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0))
let sequentialSeconds = seconds(since: start)
start = DispatchTime.now().uptimeNanoseconds
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: concurrent)
let concurrentSeconds = seconds(since: start)
start = DispatchTime.now().uptimeNanoseconds
var argumentCount = 0
try LogReader(directory: log).forEachEntry { entry in
    let arguments = entry.arguments.map { Array($0) }
    argumentCount &+= arguments.count
}
let decodeOnlySeconds = seconds(since: start)
line(String(format: "read, check, decompress and copy out the arguments only (no apply): %.2f s (%d arguments)", decodeOnlySeconds, argumentCount))
line(String(format: "decoding on the applying thread: %.2f s; on a second thread: %.2f s (%.2fx)",
            sequentialSeconds, concurrentSeconds, sequentialSeconds / concurrentSeconds))

let checkpoints = ReplayCheckpoints(everyEntryCount: max(1, settings.commandCount / 10))
start = DispatchTime.now().uptimeNanoseconds
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), checkpoints: checkpoints)
let withCheckpointsSeconds = seconds(since: start)
let middle = UInt64(settings.commandCount / 2 + 12_345)
start = DispatchTime.now().uptimeNanoseconds
let fromCheckpoint = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: ReplayOptions(untilSequence: middle), checkpoints: checkpoints)
let middleSeconds = seconds(since: start)
line(String(format: "full replay taking %d checkpoints: %.2f s; replay to #%llu from checkpoint #%llu: %.2f s = %.2fx a full replay (target <= 0.6x)",
            checkpoints.checkpoints.count, withCheckpointsSeconds, middle, fromCheckpoint.startedFromCheckpoint ?? 0,
            middleSeconds, middleSeconds / sequentialSeconds))
