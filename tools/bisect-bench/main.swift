// rewind-bisect-bench: the targets of issue 6, each against one full replay measured in the same
// run. Build and run in release:
//
//   swift build -c release --product rewind-bisect-bench
//   .build/release/rewind-bisect-bench [--commands N] [--shrink-commands M] [--seed S] [--directory D]
//
// 1. A WorkloadGenerator log of N commands with `SET bisect:flag 1` planted at 61.8% of it.
// 2. One full replay (the reference), in this process.
// 3. In-process probes (`EXISTS bisect:flag` == 0): one forward pass; target <= 1.2x the replay.
// 4. An external check (`redis-cli EXISTS bisect:flag` against the state served read-only on
//    loopback): binary search; target <= ceil(log2 N) + 3 check runs and, without the check's own
//    time, <= 2x the replay.
// 5. Shrink of an M-command log (default 100,000) whose failure needs three planted entries
//    (SADD of one member to three sets, SINTERCARD probe): target <= 5 entries in <= 2,000 check runs.
import Foundation
import Logging
import RewindBenchSupport
import RewindEngine
import RewindLog
import RewindReplay
import RewindServer

let settings = BenchSettings(name: "rewind-bisect-bench", extras: ["shrink-commands": "100000"])
let shrinkCommandCount = settings.int("shrink-commands")
func seconds(since start: UInt64) -> Double { Bench.seconds(since: start) }
func line(_ text: String) { Bench.line(text) }
func format(_ value: Double) -> String { String(format: "%.2f", value) }

/// Writes a workload of `count` commands with `planted` units inserted before the given command indexes.
func writeLog(at path: String, count: Int, seed: UInt64, planted: [Int: [[String]]]) throws {
    try? FileManager.default.removeItem(atPath: path)
    let writer = try LogWriter.open(directory: path, options: .init(durability: .no))
    var generator = WorkloadGenerator(seed: seed, commandCount: count)
    var produced = 0
    var pending = planted.sorted { $0.key < $1.key }
    while let item = generator.next() {
        while let next = pending.first, next.key <= produced {
            let time = item.entries[0].timestampMilliseconds
            for command in next.value { try writer.append(.command(command, at: time)) }
            pending.removeFirst()
        }
        try writer.append(contentsOf: item.entries, transaction: item.entries.count > 1)
        produced += item.entries.count
    }
    try writer.close()
}

try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
let log = settings.directory + "/bisect-\(settings.commandCount).rwlog"
let plantAt = Int(Double(settings.commandCount) * 0.618)
if !FileManager.default.fileExists(atPath: log) {
    try writeLog(at: log, count: settings.commandCount, seed: settings.seed, planted: [plantAt: [["SET", "bisect:flag", "1"]]])
}
line("log: \(settings.commandCount) workload commands, SET bisect:flag 1 planted after command \(plantAt)")

// 2. One full replay.
var replayStart = DispatchTime.now().uptimeNanoseconds
let summary = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0))
let replaySeconds = seconds(since: replayStart)
line("full replay: \(format(replaySeconds)) s (\(summary.readEntryCount) entries)")

// 3. In-process probes, one pass.
let probeCheck = ProbeCheck(probes: [try Probe(command: "EXISTS bisect:flag", expectation: .notation("(integer) 0"))])
let pass = try Bisector.forwardPass(log: log, check: probeCheck, options: BisectOptions())
line("in-process probes: first bad #\(pass.firstBad ?? 0), \(pass.checkRunCount) probe runs, \(format(pass.seconds)) s = \(format(pass.seconds / replaySeconds))x the replay (target <= 1.2x)")

// 4. External check, binary search.
func serve(_ keyspace: Keyspace, _ clock: Int64) throws -> ExternalCheck.Served {
    var configuration = ServerConfiguration()
    configuration.port = 0
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let server = try RedisServer.startReadOnly(keyspace: keyspace, clockMilliseconds: clock, configuration: configuration, logger: logger)
    return ExternalCheck.Served(port: server.port, stop: { server.stop(); try? server.waitUntilStopped() })
}
let external = ExternalCheck(command: "test \"$(redis-cli -p $REWIND_PORT EXISTS bisect:flag)\" = 0", serve: serve)
let search = try Bisector.binarySearch(log: log, check: external, options: BisectOptions())
let points = Double(summary.readEntryCount + 1)
let runTarget = Int(log2(points).rounded(.up)) + 3
let withoutCheck = search.seconds - search.checkSeconds
line("external check: first bad #\(search.firstBad ?? 0), \(search.checkRunCount) check runs (target <= \(runTarget)), \(format(search.seconds)) s in all, \(format(search.checkSeconds)) s in the check, \(format(withoutCheck)) s without it = \(format(withoutCheck / replaySeconds))x the replay (target <= 2x); \(search.replayedEntryCount) entries applied, \(search.rollbackCount) rollbacks rebuilding \(search.rebuiltKeyCount) keys; scan \(format(search.scanSeconds)) s, journal \(format(search.journalSeconds)) s, undo \(format(search.undoSeconds)) s, checkpoints \(format(search.checkpointSeconds)) s (\(search.restoreCount) restores)")

// 5. Shrink.
let shrinkLog = settings.directory + "/shrink-\(shrinkCommandCount).rwlog"
var random = SplitMix64(seed: settings.seed &+ 99)
let causes = (1...3).map { index in (Int(random.next() % UInt64(shrinkCommandCount - 10)) + 1 + index, index) }
var planted: [Int: [[String]]] = [:]
for (position, index) in causes { planted[position, default: []].append(["SADD", "bisect:s\(index)", "common"]) }
try writeLog(at: shrinkLog, count: shrinkCommandCount, seed: settings.seed &+ 1, planted: planted)
let shrinkCheck = ProbeCheck(probes: [try Probe(command: "SINTERCARD 3 bisect:s1 bisect:s2 bisect:s3", expectation: .notation("(integer) 0"))])
let found = try Bisector.forwardPass(log: shrinkLog, check: shrinkCheck, options: BisectOptions())
let shrinkStart = DispatchTime.now().uptimeNanoseconds
let shrunk = try Shrinker.shrink(log: shrinkLog, upTo: found.firstBad!, check: shrinkCheck, recovery: .tolerateTail)
line("shrink: \(shrinkCommandCount)-command log, causes after commands \(causes.map(\.0).sorted()): \(shrunk.entryCount) entries left (target <= 5), \(shrunk.checkRunCount) check runs (target <= 2000), \(format(seconds(since: shrinkStart))) s")
