// rewind-load-bench: loading a compacted log (`rewind replay`) beside redis-server loading its
// rewritten AOF (RDB preamble), in paired rounds of the same run, and the replay's two threads
// timed apart. Build and run in release:
//
//   swift build -c release --product rewind --product rewind-load-bench
//   .build/release/rewind-load-bench --log COMPACTED.rwlog --redis-aof-dir APPENDONLYDIR [--rounds 5]
//
// COMPACTED.rwlog is what `rewind compact` (or rewind-compact-bench) wrote; APPENDONLYDIR is
// redis-server's `appendonlydir` after BGREWRITEAOF of the same data (rewind-compact-bench leaves
// one in DIRECTORY/redis/appendonlydir). Neither is modified: each Redis round loads a fresh copy.
// Each round runs redis-server and `rewind replay --json` one after the other (alternating which
// goes first), so both see the same machine load; the ratio of each round is printed, then the
// median. Redis's time is its own "DB loaded from append only file" figure; Rewind's is the
// replay's "seconds" (the same figure rewind-compact-bench reports). `--split N` (3 by default) also times the
// replay's reading side and applying side alone, in this process (one thread each, in turn).
import Foundation
import RewindBenchSupport
import RewindReplay

let settings = BenchSettings(name: "rewind-load-bench", extras: ["log": "", "redis-aof-dir": "", "rounds": "5", "split": "3"])
let log = settings.extras["log"]!
let redisAOF = settings.extras["redis-aof-dir"]!
guard !log.isEmpty, !redisAOF.isEmpty else {
    Bench.line("usage: rewind-load-bench --log COMPACTED.rwlog --redis-aof-dir APPENDONLYDIR [--rounds N] [--split N] [--directory SCRATCH]")
    exit(2)
}
let fileManager = FileManager.default
let rewind = Bench.sibling("rewind")

func redisLoad() throws -> Double {
    let directory = settings.directory + "/redis-load"
    try Bench.emptyDirectory(directory)
    try fileManager.copyItem(atPath: redisAOF, toPath: directory + "/appendonlydir")
    let redis = try ReferenceRedis(directory: directory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"])
    let seconds = redis.waitForLog("DB loaded from append only file: ")
    redis.stop()
    try? fileManager.removeItem(atPath: directory)
    return seconds
}

func rewindLoad() throws -> (seconds: Double, digest: String) {
    let output = try Bench.run(rewind, ["replay", "--json", log]).output
    guard let summary = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
          let seconds = summary["seconds"] as? Double, let digest = summary["digest"] as? String else {
        Bench.line("rewind replay failed: \(output.prefix(500))")
        exit(1)
    }
    return (seconds, digest)
}

let rounds = max(0, settings.int("rounds"))
var ratios: [Double] = []
var rewindTimes: [Double] = []
var redisTimes: [Double] = []
for round in stride(from: 1, through: rounds, by: 1) {
    var redisSeconds = 0.0
    var loaded: (seconds: Double, digest: String)
    if round % 2 == 1 {
        redisSeconds = try redisLoad()
        loaded = try rewindLoad()
    } else {
        loaded = try rewindLoad()
        redisSeconds = try redisLoad()
    }
    ratios.append(loaded.seconds / max(redisSeconds, 0.001))
    rewindTimes.append(loaded.seconds)
    redisTimes.append(redisSeconds)
    Bench.line(String(format: "round %d: rewind replay %.3f s, redis-server loading its rewritten AOF %.3f s: %.2fx (digest %@)",
                      round, loaded.seconds, redisSeconds, ratios.last!, String(loaded.digest.prefix(12))))
}
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
if rounds > 0 {
Bench.line(String(format: "median of %d rounds: rewind %.3f s, redis %.3f s, ratio %.2fx (min %.2fx, max %.2fx; target <= 1.0x)",
                  rounds, median(rewindTimes), median(redisTimes), median(ratios), ratios.min()!, ratios.max()!))
}

if settings.int("split") != 0 {
    for _ in 0..<settings.int("split") {
        let timing = try LoadProfile.measure(log: log)
        Bench.line(String(format: "split: reading side alone %.3f s, applying side alone %.3f s (%d entries, %d keys)",
                          timing.readSeconds, timing.applySeconds, timing.entryCount, timing.keyCount))
    }
}
