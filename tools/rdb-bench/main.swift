// rewind-rdb-bench: `rewind import --format rdb` of the RDB of a large state, beside redis-server
// 7.0 loading the same RDB, measured in the same run; then a large fuzz run of that RDB.
// Build and run in release:
//
//   swift build -c release --product rewind --product rewind-rdb-bench
//   .build/release/rewind-rdb-bench [--commands N] [--keys K] [--seed S] [--runs R] [--fuzz M] [--directory D]
//
// 1. The workload is `WorkloadGenerator`'s (as rewind-replay-bench uses it, moved five years
//    later so nothing expires while Redis loads), exported as a Redis AOF.
// 2. redis-server 7.0 loads the AOF, then SAVEs: that dump.rdb (and its DEBUG DIGEST) is the input.
// 3. redis-server loads dump.rdb R times in a fresh directory; its time is its own log line
//    "DB loaded from disk: X seconds". The best run counts.
// 4. `rewind import --format rdb dump.rdb LOG` runs R times as its own process (wall clock,
//    including writing, syncing and checking the log), each right after a Redis load of step 3
//    (in turns, so both see the same machine); the best run counts, and the ratio of each turn
//    is printed too. Then the reader
//    alone, in process (parse + CRC-64, no log). The imported log's replay digest must equal
//    Redis's DEBUG DIGEST.
// 5. With --fuzz M: M truncations and M byte flips of dump.rdb are read (checksum on and off);
//    none may trap, every checked read must fail.
import Foundation
import RewindBenchSupport
import RewindEngine
import RewindLog
import RewindReplay

let settings = BenchSettings(name: "rewind-rdb-bench", extras: ["runs": "3", "fuzz": "0"])
let runCount = max(1, settings.int("runs"))
let fuzzCount = settings.int("fuzz")
let rdb = settings.directory + "/dump.rdb"
let digestFile = settings.directory + "/dump.digest"
func seconds(since start: UInt64) -> Double { Bench.seconds(since: start) }
func line(_ text: String) { Bench.line(text) }
func run(_ path: String, _ arguments: [String]) throws -> (output: String, status: Int32) { try Bench.run(path, arguments) }

/// Runs redis-server in `directory` with `arguments` until `marker` appears in its log; returns
/// the number after the marker, then calls `body` with the port and shuts the server down.
func redis(directory: String, arguments: [String], marker: String, _ body: (Int) throws -> Void = { _ in }) throws -> Double {
    let server = try ReferenceRedis(directory: directory, arguments: arguments)
    defer { server.stop() }
    let value = server.waitForLog(marker)
    server.waitUntilServing()
    try body(server.port)
    return value
}

// 1. The workload as an AOF (reused when already there).
let (log, aof) = try Bench.workload(settings)

// 2. Redis loads the AOF and SAVEs the RDB (reused when already there).
if !FileManager.default.fileExists(atPath: rdb) || !FileManager.default.fileExists(atPath: digestFile) {
    let directory = settings.directory + "/redis-aof"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: aof, toPath: directory + "/appendonly.aof")
    _ = try redis(directory: directory, arguments: ["--appendonly", "yes", "--appendfilename", "appendonly.aof"],
                  marker: "DB loaded from append only file: ") { port in
        let digest = try run("/usr/bin/redis-cli", ["-p", String(port), "DEBUG", "DIGEST"]).output
        _ = try run("/usr/bin/redis-cli", ["-p", String(port), "SAVE"])
        try? FileManager.default.removeItem(atPath: rdb)
        try FileManager.default.copyItem(atPath: directory + "/dump.rdb", toPath: rdb)
        FileManager.default.createFile(atPath: digestFile, contents: Data(digest.utf8))
    }
    try? FileManager.default.removeItem(atPath: directory)
}
let expectedDigest = try String(contentsOfFile: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
let rdbBytes = (try FileManager.default.attributesOfItem(atPath: rdb)[.size] as? Int) ?? 0
line("workload: \(settings.commandCount) commands, \(settings.keyCount) keys per type, seed \(settings.seed); dump.rdb \(String(format: "%.1f", Double(rdbBytes) / 1e6)) MB")

// 3 and 4. redis-server loading the RDB, then `rewind import --format rdb` as a process, in
// turns, so that both see the same machine when other work shares it.
let rewindBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rewind").path
let imported = settings.directory + "/imported.rwlog"
var redisTimes: [Double] = []
var rewindTimes: [Double] = []
var rewindCPUTimes: [Double] = []
var summaryLine = ""
/// CPU seconds (user + system) of the children waited for so far.
func childrenCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
for _ in 0..<runCount {
    let directory = settings.directory + "/redis-rdb"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: rdb, toPath: directory + "/dump.rdb")
    redisTimes.append(try redis(directory: directory, arguments: [], marker: "DB loaded from disk: "))
    try? FileManager.default.removeItem(atPath: directory)

    try? FileManager.default.removeItem(atPath: imported)
    let cpuBefore = childrenCPUSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let result = try run(rewindBinary, ["import", "--format", "rdb", rdb, imported])
    rewindTimes.append(seconds(since: start))
    rewindCPUTimes.append(childrenCPUSeconds() - cpuBefore)
    guard result.status == 0 else { fatalError("rewind import failed: \(result.output)") }
    summaryLine = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}
let redisBest = redisTimes.min()!
line("redis-server 7.0 RDB load (its 'DB loaded from disk'): " + redisTimes.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
let rewindBest = rewindTimes.min()!
line("rewind import --format rdb (whole process): " + rewindTimes.map { String(format: "%.3f s", $0) }.joined(separator: ", ")
     + "; CPU (user + system, both threads): " + rewindCPUTimes.map { String(format: "%.3f s", $0) }.joined(separator: ", "))
line("  " + summaryLine)

// The reader alone: parse every key and check the CRC-64, in process.
var readerTimes: [Double] = []
var keyCount = 0
for _ in 0..<runCount {
    let start = DispatchTime.now().uptimeNanoseconds
    keyCount = 0
    _ = try RDBReader.read(path: rdb) { _ in keyCount += 1 }
    readerTimes.append(seconds(since: start))
}
line(String(format: "RDB reader alone (parse + CRC-64, %d keys): %.3f s", keyCount, readerTimes.min()!))

// The reader and the entries' arguments, without writing a log; then the whole import in process.
var buildTimes: [Double] = []
var importTimes: [Double] = []
var argumentCount = 0
for _ in 0..<runCount {
    var start = DispatchTime.now().uptimeNanoseconds
    argumentCount = 0
    var builder = RebuildCommands(chunkElementCountMax: 1024, chunkByteCountMax: 1 << 20)
    _ = try RDBReader.read(path: rdb) { item in _ = try builder.append(item) { argumentCount += $0.count } }
    buildTimes.append(seconds(since: start))
    try? FileManager.default.removeItem(atPath: imported)
    start = DispatchTime.now().uptimeNanoseconds
    _ = try RDBImporter.importRDB(from: rdb, to: imported)
    importTimes.append(seconds(since: start))
}
line(String(format: "reader + building the entries' arguments as arrays (%d; the path before the direct encoding), no log: %.3f s; whole import in process: %.3f s",
            argumentCount, buildTimes.min()!, importTimes.min()!))
// What the log writer's zstd level and dictionary cost here (the import uses level 1 without a
// dictionary; the writer's own defaults are level 3 with a trained dictionary).
for (label, level, trains) in [("zstd level 3 and a trained dictionary (the writer's defaults)", Int32(3), true),
                                ("zstd level 3, no dictionary", Int32(3), false), ("zstd level -1, no dictionary", Int32(-1), false)] {
    var times: [Double] = []
    var logBytes = 0
    for _ in 0..<runCount {
        try? FileManager.default.removeItem(atPath: imported)
        let start = DispatchTime.now().uptimeNanoseconds
        let writer = LogWriter.Options(durability: .no, compressionLevel: level, trainsDictionary: trains)
        _ = try RDBImporter.importRDB(from: rdb, to: imported, options: .init(writerOptions: writer))
        times.append(seconds(since: start))
        logBytes = (try FileManager.default.contentsOfDirectory(atPath: imported)).reduce(0) {
            $0 + ((try? FileManager.default.attributesOfItem(atPath: imported + "/" + $1)[.size] as? Int) ?? 0)
        }
    }
    line(String(format: "  in process with %@: %.3f s, log %.1f MB", label, times.min()!, Double(logBytes) / 1e6))
}

let replay = try run(rewindBinary, ["replay", "--json", imported])
let replayed = try JSONSerialization.jsonObject(with: Data(replay.output.utf8)) as! [String: Any]
let digest = replayed["digest"] as! String
line("digest of the imported log's replay: \(digest) \(digest == expectedDigest ? "== redis DEBUG DIGEST" : "!= redis DEBUG DIGEST \(expectedDigest) (FAIL)")")
line(String(format: "ratio: rewind import / redis-server RDB load = %.3f s / %.3f s = %.2fx (target <= 1.0x); reader alone %.2fx",
            rewindBest, redisBest, rewindBest / redisBest, readerTimes.min()! / redisBest))
let turnRatios = zip(rewindTimes, redisTimes).map { $0 / $1 }.sorted()
line("  per turn (each import over the Redis load just before it): " + turnRatios.map { String(format: "%.2fx", $0) }.joined(separator: ", ")
     + String(format: "; median %.2fx", turnRatios[turnRatios.count / 2]))

// 5. Fuzz.
if fuzzCount > 0 {
    let file = try Data(contentsOf: URL(fileURLWithPath: rdb))
    var generator = SystemRandomNumberGenerator()
    var refused = 0
    var acceptedUnchecked = 0
    var importRefused = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for round in 0..<(2 * fuzzCount) {
        var bytes = [UInt8](file)
        if round % 2 == 0 {
            bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
        } else {
            bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator)
        }
        for verifies in [true, false] {
            do {
                _ = try bytes.withUnsafeBufferPointer {
                    try RDBReader.read($0, fileName: "fuzz", options: .init(skipsStreams: true, verifiesChecksum: verifies)) { _ in }
                }
                if verifies { fatalError("a damaged file was accepted with the checksum checked (round \(round))") }
                acceptedUnchecked += 1
            } catch is RDBError {
                if verifies { refused += 1 }
            }
        }
        // The import's own path (entries encoded from the mapped bytes, then dropped).
        do {
            _ = try bytes.withUnsafeBufferPointer {
                try RDBImporter.encodeRDB($0, displayName: "fuzz", options: .init(skipsStreams: true), progress: { _ in }) { $0.removeAll() }
            }
            fatalError("a damaged file was imported (round \(round))")
        } catch is RDBError {
            importRefused += 1
        }
    }
    line(String(format: "fuzz: %d truncations and %d byte flips of dump.rdb in %.1f s: %d refused with the checksum on; %d read to the end with it off; %d refused by the import's encoding; no trap",
                fuzzCount, fuzzCount, seconds(since: start), refused, acceptedUnchecked, importRefused))
}
