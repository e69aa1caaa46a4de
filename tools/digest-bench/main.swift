// rewind-digest-bench: the engine's state digest (`Keyspace.datasetDigest()`, DEBUG DIGEST)
// against redis-server's DEBUG DIGEST of the same data, measured in the same run. Build and run
// in release:
//
//   swift build -c release --product rewind-digest-bench
//   .build/release/rewind-digest-bench --log /tmp/rb5m/compacted.rwlog [--rounds 5]
//
// The log (any Rewind log; by default the 5M-command workload's, built in --directory as the
// other benchmarks build it) is replayed in this process, then exported as a Redis AOF into a
// directory of this run's own, which redis-server loads. Each side then computes its digest
// `--rounds` times; the lines give every round and the best, and the ratio of the bests. Redis's
// time is measured around `redis-cli DEBUG DIGEST` (a process start and a loopback round trip
// included, a few milliseconds), Rewind's around the call. The digests must be equal.
import Foundation
import RewindBenchSupport
import RewindEngine
import RewindReplay

let settings = BenchSettings(name: "rewind-digest-bench", extras: ["log": "", "rounds": "5"])
let rounds = max(1, settings.int("rounds"))
let givenLog = settings.extras["log"] ?? ""
let log = givenLog.isEmpty ? try Bench.workload(settings).log : givenLog

let keyspace = Keyspace(randomSeed: 0)
var start = Bench.now()
_ = try Replayer(log: log).replay(into: keyspace)
let replaySeconds = Bench.seconds(since: start)
var keyCount = 0
for db in 0..<keyspace.databaseCount { keyCount += keyspace.keyCount(db: db) }
Bench.line(String(format: "log %@: %d keys, replayed in %.2f s", log, keyCount, replaySeconds))

// redis-server, loading the same state from an AOF in a directory of this run's own.
let redisDirectory = NSTemporaryDirectory() + "rewind-digest-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: redisDirectory)
try FileManager.default.createDirectory(atPath: redisDirectory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: redisDirectory) }
_ = try AOFExporter.export(log: log, to: redisDirectory + "/state.aof")
let redis = try ReferenceRedis(directory: redisDirectory, arguments: ["--appendonly", "yes", "--appendfilename", "state.aof"])
_ = redis.waitForLog("DB loaded from append only file: ")
redis.waitUntilServing()

func timed<Result>(_ body: () throws -> Result) rethrows -> (Result, Double) {
    let start = Bench.now()
    let result = try body()
    return (result, Bench.seconds(since: start))
}

var redisTimes: [Double] = [], rewindTimes: [Double] = []
var redisDigest = "", rewindDigest = ""
// Alternated, so a change in the machine's load falls on both sides alike.
for _ in 0..<rounds {
    let (theirs, theirSeconds) = try timed { try redis.cli(["DEBUG", "DIGEST"]).trimmingCharacters(in: .whitespacesAndNewlines) }
    let (ours, ourSeconds) = timed { keyspace.datasetDigest().hexString }
    redisDigest = theirs
    rewindDigest = ours
    redisTimes.append(theirSeconds)
    rewindTimes.append(ourSeconds)
}
redis.stop()

func list(_ times: [Double]) -> String { times.map { String(format: "%.3f", $0) }.joined(separator: " ") }
Bench.line("redis-server DEBUG DIGEST: \(list(redisTimes)) s; digest \(redisDigest)")
Bench.line("Keyspace.datasetDigest():  \(list(rewindTimes)) s; digest \(rewindDigest) (\(rewindDigest == redisDigest ? "equal" : "DIFFERENT"))")
Bench.line(String(format: "best: %.3f s vs %.3f s = %.2fx redis-server's", rewindTimes.min()!, redisTimes.min()!, rewindTimes.min()! / redisTimes.min()!))
if rewindDigest != redisDigest { exit(1) }
