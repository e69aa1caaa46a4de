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
// wall time is measured around `redis-cli DEBUG DIGEST` (a process start and a loopback round trip
// included, a few milliseconds), Rewind's around the call; CPU time from /proc for redis-server
// (10 ms ticks) and the thread's clock for Rewind. The digests must be equal.
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

/// CPU seconds (user + system) a process has used, from /proc/PID/stat (clock ticks).
func processCPUSeconds(_ pid: Int) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command name: state is field 3, utime field 14, stime field 15.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU seconds this thread has used.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

let redisPid = Int(try redis.info("server", "process_id") ?? "") ?? 0
var redisTimes: [Double] = [], rewindTimes: [Double] = []
var redisCPU: [Double] = [], rewindCPU: [Double] = []
var redisDigest = "", rewindDigest = ""
// Alternated, so a change in the machine's load falls on both sides alike. CPU time is given
// beside wall time: other builds share this machine's two cores, and CPU time does not count
// the time a process waits for a core.
for _ in 0..<rounds {
    var cpu = processCPUSeconds(redisPid)
    var start = Bench.now()
    redisDigest = try redis.cli(["DEBUG", "DIGEST"]).trimmingCharacters(in: .whitespacesAndNewlines)
    redisTimes.append(Bench.seconds(since: start))
    redisCPU.append(processCPUSeconds(redisPid) - cpu)
    cpu = threadCPUSeconds()
    start = Bench.now()
    rewindDigest = keyspace.datasetDigest().hexString
    rewindTimes.append(Bench.seconds(since: start))
    rewindCPU.append(threadCPUSeconds() - cpu)
}
redis.stop()

func list(_ times: [Double]) -> String { times.map { String(format: "%.3f", $0) }.joined(separator: " ") }
Bench.line("redis-server DEBUG DIGEST: wall \(list(redisTimes)) s; CPU \(list(redisCPU)) s; digest \(redisDigest)")
Bench.line("Keyspace.datasetDigest():  wall \(list(rewindTimes)) s; CPU \(list(rewindCPU)) s; digest \(rewindDigest) (\(rewindDigest == redisDigest ? "equal" : "DIFFERENT"))")
Bench.line(String(format: "best wall: %.3f s vs %.3f s = %.2fx redis-server's; best CPU: %.3f s vs %.3f s = %.2fx",
                  rewindTimes.min()!, redisTimes.min()!, rewindTimes.min()! / redisTimes.min()!,
                  rewindCPU.min()!, redisCPU.min()!, rewindCPU.min()! / max(redisCPU.min()!, 0.001)))
if rewindDigest != redisDigest { exit(1) }
