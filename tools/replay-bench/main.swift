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
import RewindBenchSupport
import RewindEngine
import RewindLog
import RewindReplay

let settings = BenchSettings(name: "rewind-replay-bench")
let (log, aof) = try Bench.workload(settings)
let aofBytes = (try FileManager.default.attributesOfItem(atPath: aof)[.size] as? Int) ?? 0
Bench.line("workload: \(settings.commandCount) commands, \(settings.keyCount) keys per type, seed \(settings.seed); AOF \(aofBytes / 1_000_000) MB")

// 2. redis-server loading the AOF.
func redisLoad() throws -> (seconds: Double, rssBytes: Int, keys: String) {
    let directory = settings.directory + "/redis"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: aof, toPath: directory + "/appendonly.aof")
    let server = try ReferenceRedis(directory: directory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
    defer { server.stop() }
    let loadSeconds = server.waitForLog("DB loaded from append only file: ")
    server.waitUntilServing()
    let rss = Int(try server.info("memory", "used_memory_rss") ?? "") ?? 0
    return (loadSeconds, rss, try server.keyspace())
}

let redis = try redisLoad()
Bench.line(String(format: "redis-server 7.0 AOF load: %.2f s (%.0f commands/s), used_memory_rss %.0f MB, %@",
            redis.seconds, Double(settings.commandCount) / redis.seconds, Double(redis.rssBytes) / 1e6, redis.keys))

// 3. `rewind replay --json` in its own process.
let output = try Bench.run(Bench.sibling("rewind"), ["replay", "--json", log]).output
let summary = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
let replaySeconds = summary["seconds"] as! Double
let peakRSS = summary["peak_rss_bytes"] as! Int
let replayRSS = summary["rss_after_replay_bytes"] as! Int
Bench.line(String(format: "rewind replay: %.2f s (%.0f commands/s), RSS after replay %.0f MB, peak RSS (digest included) %.0f MB, %d keys, %d commands refused by the engine",
            replaySeconds, summary["commands_per_second"] as! Double, Double(replayRSS) / 1e6, Double(peakRSS) / 1e6, summary["keys"] as! Int,
            summary["failure_count"] as! Int))
Bench.line(String(format: "  speed vs Redis: %.2fx (target >= 2x); memory vs Redis RSS: %.2fx after replay, %.2fx peak (target <= 1.5x)",
            redis.seconds / replaySeconds, Double(replayRSS) / Double(max(redis.rssBytes, 1)), Double(peakRSS) / Double(max(redis.rssBytes, 1))))

// 3b. The engine alone (`rewind-engine-bench apply`: no Foundation or SwiftNIO linked, so its RSS
// is the engine's data plus the Swift runtime), the issue's memory comparison for the engine.
let engineBinary = Bench.sibling("rewind-engine-bench")
if FileManager.default.fileExists(atPath: engineBinary) {
    let fields = Dictionary(uniqueKeysWithValues: try Bench.run(engineBinary, ["apply", log]).output.split(separator: " ").compactMap { pair -> (String, Double)? in
        let parts = pair.split(separator: "=")
        guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return (String(parts[0]), value)
    })
    let rss = fields["rss_bytes"] ?? 0, peak = fields["peak_rss_bytes"] ?? 0, baseline = fields["baseline_rss_bytes"] ?? 0
    Bench.line(String(format: "engine alone (rewind-engine-bench apply): %.2f s, RSS %.0f MB (%.0f MB before any data), peak %.0f MB; vs Redis RSS: %.2fx after, %.2fx peak (target <= 1.5x)",
                fields["seconds"] ?? 0, rss / 1e6, baseline / 1e6, peak / 1e6, rss / Double(max(redis.rssBytes, 1)), peak / Double(max(redis.rssBytes, 1))))
} else {
    Bench.line("engine alone: build rewind-engine-bench too (swift build -c release --product rewind-engine-bench)")
}

// 4. In-process: sequential decoding, concurrent decoding, and the middle from a checkpoint.
var concurrent = ReplayOptions()
concurrent.decodesConcurrently = true
var sequential = ReplayOptions()
sequential.decodesConcurrently = false
var start = Bench.now()
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: sequential)
let sequentialSeconds = Bench.seconds(since: start)
start = Bench.now()
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: concurrent)
let concurrentSeconds = Bench.seconds(since: start)
start = Bench.now()
var argumentCount = 0
try LogReader(directory: log).forEachEntry { entry in
    let arguments = entry.arguments.map { Array($0) }
    argumentCount &+= arguments.count
}
let decodeOnlySeconds = Bench.seconds(since: start)
Bench.line(String(format: "read, check, decompress and copy out the arguments only (no apply): %.2f s (%d arguments)", decodeOnlySeconds, argumentCount))
Bench.line(String(format: "decoding on the applying thread: %.2f s; on a second thread: %.2f s (%.2fx)",
            sequentialSeconds, concurrentSeconds, sequentialSeconds / concurrentSeconds))

let checkpoints = ReplayCheckpoints(everyEntryCount: max(1, settings.commandCount / 10))
start = Bench.now()
_ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), checkpoints: checkpoints)
let withCheckpointsSeconds = Bench.seconds(since: start)
let middle = UInt64(settings.commandCount / 2 + min(12_345, settings.commandCount / 10))
start = Bench.now()
let fromCheckpoint = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: ReplayOptions(untilSequence: middle), checkpoints: checkpoints)
let middleSeconds = Bench.seconds(since: start)
Bench.line(String(format: "full replay taking %d checkpoints: %.2f s; replay to #%llu from checkpoint #%llu: %.2f s = %.2fx a full replay (target <= 0.6x)",
            checkpoints.checkpoints.count, withCheckpointsSeconds, middle, fromCheckpoint.startedFromCheckpoint ?? 0,
            middleSeconds, middleSeconds / sequentialSeconds))
