// rewind-compact-bench: `rewind compact` against redis-server's BGREWRITEAOF on the same data, and
// `rewind replay --target` into redis-server, measured in the same run. Build and run in release:
//
//   swift build -c release --product rewind --product rewind-compact-bench
//   .build/release/rewind-compact-bench [--commands N] [--keys K] [--seed S] [--directory D]
//
// The workload is `WorkloadGenerator`'s, moved five years later (as tools/replay-bench does) so
// redis-server does not expire keys while it loads. Redis loads the same commands from its AOF,
// rewrites it with BGREWRITEAOF (RDB preamble, the 7.0 default), and loads the rewritten AOF; Rewind
// compacts its log (replay, base, proof, swap) and replays the result, each as `rewind` child
// processes with --json. Last, online: BGREWRITEAOF on `rewind serve` holding the same log, timed
// from the command to INFO's aof_rewrite_in_progress:0, against redis-server's BGREWRITEAOF.
import Foundation
import RewindBenchSupport
import RewindLog
import RewindReplay
import RewindSpawn

let settings = BenchSettings(name: "rewind-compact-bench")
let fileManager = FileManager.default
let (log, aof) = try Bench.workload(settings)
func line(_ text: String) { Bench.line(text) }
func now() -> UInt64 { Bench.now() }
func seconds(since start: UInt64) -> Double { Bench.seconds(since: start) }
func directoryBytes(_ path: String, matching: (String) -> Bool = { _ in true }) -> Int { Bench.directoryBytes(path, matching: matching) }
func run(_ path: String, _ arguments: [String]) throws -> String { try Bench.run(path, arguments).output }
line("workload: \(settings.commandCount) commands, seed \(settings.seed); log \(directoryBytes(log) / 1_000_000) MB, AOF \(directoryBytes(settings.directory) { $0 == "workload.aof" } / 1_000_000) MB")

// 2. redis-server: load the AOF, BGREWRITEAOF, then load the rewritten AOF.
let redisDirectory = settings.directory + "/redis"
try Bench.emptyDirectory(redisDirectory)
try fileManager.copyItem(atPath: aof, toPath: redisDirectory + "/appendonly.aof")
var redis = try ReferenceRedis(directory: redisDirectory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
let firstLoad = redis.waitForLog("DB loaded from append only file: ")
redis.waitUntilServing()
let redisDigest = try redis.cli(["DEBUG", "DIGEST"]).trimmingCharacters(in: .whitespacesAndNewlines)
var start = now()
_ = try redis.cli(["BGREWRITEAOF"])
while true {
    usleep(5_000)
    let info = try redis.cli(["INFO", "persistence"])
    if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") && info.contains("aof_last_bgrewrite_status:ok") {
        break
    }
}
let rewriteSeconds = seconds(since: start)
let appendDirectory = redisDirectory + "/appendonlydir"
let baseBytes = directoryBytes(appendDirectory) { $0.contains(".base.") }
let rewrittenBytes = directoryBytes(appendDirectory) { $0.contains(".aof") }
redis.stop()
try? fileManager.removeItem(atPath: redisDirectory + "/redis.log")  // so the next "DB loaded" line is the second load's
redis = try ReferenceRedis(directory: redisDirectory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
let rewrittenLoad = redis.waitForLog("DB loaded from append only file: ")
redis.stop()
line(String(format: "redis-server 7.0: AOF load %.2f s; BGREWRITEAOF %.2f s -> base %.1f MB (appenddir %.1f MB); loading the rewritten AOF %.2f s; digest %@",
            firstLoad, rewriteSeconds, Double(baseBytes) / 1e6, Double(rewrittenBytes) / 1e6, rewrittenLoad, redisDigest))

// 3. rewind compact on a copy of the log, then replaying the compacted log.
let rewind = Bench.sibling("rewind")
let compacted = settings.directory + "/compacted.rwlog"
try? fileManager.removeItem(atPath: compacted)
try fileManager.copyItem(atPath: log, toPath: compacted)
start = now()
let compactOutput = try run(rewind, ["compact", "--json", compacted])
let compactWall = seconds(since: start)
guard let compact = try JSONSerialization.jsonObject(with: Data(compactOutput.utf8)) as? [String: Any], compact["changed"] as? Bool == true else {
    fatalError("rewind compact failed: \(compactOutput)")
}
let compactSeconds = compact["seconds"] as! Double
let writeSeconds = compact["write_seconds"] as! Double
let replaySeconds = compact["replay_seconds"] as! Double
let proofSeconds = compact["proof_seconds"] as! Double
let compactedBytes = compact["bytes_after"] as! Int
let replayOutput = try run(rewind, ["replay", "--json", compacted])
let loaded = try JSONSerialization.jsonObject(with: Data(replayOutput.utf8)) as! [String: Any]
let loadSeconds = loaded["seconds"] as! Double
line(String(format: "rewind compact: %.2f s in all (%.2f s process wall): replay to the cut %.2f s, base written %.2f s, proof %.2f s; %.1f MB -> %.1f MB (base %.1f MB, %d keys); digest %@",
            compactSeconds, compactWall, replaySeconds, writeSeconds, proofSeconds, Double(compact["bytes_before"] as! Int) / 1e6,
            Double(compactedBytes) / 1e6, Double(compact["base_bytes"] as! Int) / 1e6, compact["keys"] as! Int, compact["digest"] as! String))
line(String(format: "rewind replay of the compacted log: %.2f s, digest %@", loadSeconds, loaded["digest"] as! String))
line(String(format: "  digests equal to redis-server's: %@", (compact["digest"] as! String) == redisDigest && (loaded["digest"] as! String) == redisDigest ? "yes" : "NO"))
line(String(format: "  compaction time vs BGREWRITEAOF: %.2fx in all (target <= 1.0x); writing the base from the replayed state alone: %.2fx",
            compactSeconds / rewriteSeconds, writeSeconds / rewriteSeconds))
line(String(format: "  compacted size vs the rewritten AOF's RDB base: %.2fx (target <= 0.8x)", Double(compactedBytes) / Double(max(baseBytes, 1))))
line(String(format: "  loading the compacted log vs Redis loading its rewritten AOF: %.2fx (target <= 1.0x)", loadSeconds / max(rewrittenLoad, 0.001)))

// 4. Live replay of the whole log into an empty redis-server.
let liveDirectory = settings.directory + "/live"
try Bench.emptyDirectory(liveDirectory)
let live = try ReferenceRedis(directory: liveDirectory, arguments: ["--appendonly", "no"])
live.waitUntilServing()
let liveOutput = try run(rewind, ["replay", "--json", log, "--target", "redis://127.0.0.1:\(live.port)"])
live.stop()
guard let sent = try JSONSerialization.jsonObject(with: Data(liveOutput.utf8)) as? [String: Any] else { fatalError("live replay failed: \(liveOutput)") }
line(String(format: "rewind replay --target: %d entries in %.2f s = %.0f entries/s (target >= 300k/s, %.2fx); comparison: %@",
            sent["acknowledged_entries"] as! Int, sent["seconds"] as! Double, sent["entries_per_second"] as! Double,
            (sent["entries_per_second"] as! Double) / 300_000, sent["comparison"] as! String))

// 5. Online: BGREWRITEAOF on `rewind serve` holding the same log (started on a copy; its startup
// replay is not timed), from BGREWRITEAOF to INFO's aof_rewrite_in_progress:0, as for redis-server.
let onlineLog = settings.directory + "/online.rwlog"
try? fileManager.removeItem(atPath: onlineLog)
try fileManager.copyItem(atPath: log, toPath: onlineLog)
let servePort = 19_500 + Int(getpid() % 200)
let serve = try Subprocess(rewind, ["serve", "--dir", onlineLog, "--port", String(servePort), "--auto-compact-percentage", "0"],
                           output: .file(settings.directory + "/serve.out"), error: .file(settings.directory + "/serve.err"))
func serveCLI(_ arguments: [String]) throws -> String {
    try Subprocess.run("/usr/bin/redis-cli", ["-p", String(servePort)] + arguments, timeout: 600).outputText
}
// Until it answers PONG (at most 10 minutes); a `for ... where` here went on pinging after the first PONG.
var pings = 0
while (try? serveCLI(["PING"]))?.hasPrefix("PONG") != true && pings < 24_000 {
    usleep(25_000)
    pings += 1
}
func serveInfo() throws -> [String: String] {
    var fields: [String: String] = [:]
    for row in try serveCLI(["INFO", "persistence"]).split(whereSeparator: \.isNewline) {
        let parts = row.split(separator: ":", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    return fields
}
let onlineBefore = Int(try serveInfo()["aof_current_size"] ?? "") ?? 0
start = now()
let started = try serveCLI(["BGREWRITEAOF"])
var onlineFields: [String: String] = [:]
repeat {
    usleep(5_000)
    onlineFields = try serveInfo()
} while onlineFields["aof_rewrite_in_progress"] != "0"
let onlineSeconds = seconds(since: start)
let onlineDigest = try serveCLI(["DEBUG", "DIGEST"]).trimmingCharacters(in: .whitespacesAndNewlines)
serve.send(SIGTERM)
_ = serve.waitOrKill(timeout: 120)
let onlineBase = Int(onlineFields["rewind_last_rewrite_base_bytes"] ?? "") ?? 0
line(String(format: "rewind serve BGREWRITEAOF: %@ -> %@ in %.2f s; log %.1f MB -> %.1f MB (base %.1f MB); digest %@ (%@ redis-server's)",
            started.trimmingCharacters(in: .whitespacesAndNewlines), onlineFields["aof_last_bgrewrite_status"] ?? "?", onlineSeconds,
            Double(onlineBefore) / 1e6, Double(Int(onlineFields["aof_current_size"] ?? "") ?? 0) / 1e6, Double(onlineBase) / 1e6,
            onlineDigest, onlineDigest == redisDigest ? "equal to" : "DIFFERENT from"))
line(String(format: "  online compaction time vs BGREWRITEAOF: %.2fx (target <= 1.0x); base size vs Redis's RDB base: %.2fx",
            onlineSeconds / rewriteSeconds, Double(onlineBase) / Double(max(baseBytes, 1))))
