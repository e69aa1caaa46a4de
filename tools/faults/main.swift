// rewind-faults: the large version of the log's fault-injection tests (DESIGN §8).
//
// Builds a seeded log, then
//   1. truncates its last segment at every byte offset of its last N records: tolerate-tail must
//      return every whole record before the cut and report exactly one torn tail of the right
//      size (none on a record boundary), and a writer must reopen it and continue the sequence;
//   2. flips M seeded random single bits anywhere in the log (segments, manifest, dictionary):
//      each must be detected (damage reported or an error thrown), and no mode may ever return an
//      entry that differs from what was written;
//   3. runs K rounds of rewind-append-child under `always` (1 and 8 writers alternately), kills it
//      with SIGKILL after a seeded random delay, and checks that every acknowledged append reads
//      back, that sequence numbers are dense, and that a writer reopens the log.
// It prints counts checked / detected / missed and exits 1 when anything was missed.
//
// usage: rewind-faults [--seed S] [--entries E] [--truncate-records N] [--flips M] [--kill-rounds K]
//                      [--kill-ms MIN-MAX] [--child PATH] [--keep DIR]
import Foundation
import RewindLog
import RewindSpawn

setvbuf(stdout, nil, _IOLBF, 0)  // one line at a time, also into a file: progress is visible

struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Arguments

var seed: UInt64 = 1
var entryCount = 5_000
var truncateRecords = 50
var flipCount = 100_000
var killRounds = 100
var killRange = 50...600
var childPath: String?
var keepDirectory: String?
var arguments = CommandLine.arguments.dropFirst()
func usage() -> Never {
    FileHandle.standardError.write(Data("usage: rewind-faults [--seed S] [--entries E] [--truncate-records N] [--flips M] [--kill-rounds K] [--kill-ms MIN-MAX] [--child PATH] [--keep DIR]\n".utf8))
    exit(2)
}
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { usage() }
    switch flag {
    case "--seed": seed = UInt64(value) ?? { usage() }()
    case "--entries": entryCount = Int(value) ?? { usage() }()
    case "--truncate-records": truncateRecords = Int(value) ?? { usage() }()
    case "--flips": flipCount = Int(value) ?? { usage() }()
    case "--kill-rounds": killRounds = Int(value) ?? { usage() }()
    case "--kill-ms":
        let parts = value.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] <= parts[1] else { usage() }
        killRange = parts[0]...parts[1]
    case "--child": childPath = value
    case "--keep": keepDirectory = value
    default: usage()
    }
}

let fileManager = FileManager.default
let work = keepDirectory ?? (NSTemporaryDirectory() + "rewind-faults-\(getpid())")
try? fileManager.removeItem(atPath: work)
try fileManager.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { if keepDirectory == nil { try? fileManager.removeItem(atPath: work) } }
var generator = Generator(state: seed)
var failures: [String] = []
func fail(_ message: String) {
    if failures.count < 20 { print("MISSED: \(message)") }
    failures.append(message)
}

// MARK: - Helpers

final class Collector: DamageReporter {
    var damages: [LogDamage] = []
    func report(_ damage: LogDamage) { damages.append(damage) }
}

/// Reads a log, keeping every entry (for logs this tool did not write).
func read(_ directory: String, _ mode: RecoveryMode) -> (entries: [LogEntry], damages: [LogDamage], error: Error?) {
    let collector = Collector()
    var entries: [LogEntry] = []
    do {
        let reader = try LogReader(directory: directory)
        try reader.forEachEntry(recovery: mode, reporter: collector) { entries.append($0.materialize()) }
        return (entries, collector.damages, nil)
    } catch {
        return (entries, collector.damages, error)
    }
}

/// What a check of the log against the entries written found.
struct Check {
    /// Entries delivered.
    var count = 0
    /// Every entry delivered equals the one written at its sequence number.
    var allWritten = true
    /// The entries delivered are #1, #2, ... in order.
    var dense = true
    var damages: [LogDamage] = []
    var error: Error?
}

/// Reads a log and compares each entry in place with `written` (no copies: this runs millions of times).
func check(_ directory: String, _ mode: RecoveryMode, from first: UInt64 = 1, against written: [LogEntry]) -> Check {
    let collector = Collector()
    var result = Check()
    do {
        let reader = try LogReader(directory: directory)
        try reader.forEachEntry(from: first, recovery: mode, reporter: collector) { view in
            result.count += 1
            if view.sequence != first + UInt64(result.count) - 1 { result.dense = false }
            guard view.sequence >= 1, view.sequence <= UInt64(written.count) else { result.allWritten = false; return }
            let entry = written[Int(view.sequence - 1)]
            if view.timestampMilliseconds != entry.timestampMilliseconds || view.db != entry.db || view.kind != entry.kind
                || view.replyHash != entry.replyHash || view.arguments.count != entry.arguments.count
                || !zip(view.arguments, entry.arguments).allSatisfy({ $0.elementsEqual($1) }) {
                result.allWritten = false
            }
        }
    } catch {
        result.error = error
    }
    result.damages = collector.damages
    return result
}

func bytes(_ path: String) -> [UInt8] { Array((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()) }
func write(_ bytes: [UInt8], _ path: String) { try! Data(bytes).write(to: URL(fileURLWithPath: path)) }

func randomEntry(_ index: Int) -> LogEntry {
    let names = ["SET", "set", "HSET", "LPUSH", "ZADD", "DEL", "INCR", "X-CUSTOM"]
    var arguments: [[UInt8]] = [Array(names.randomElement(using: &generator)!.utf8)]
    arguments.append(Array("key:\(Int.random(in: 0..<1000, using: &generator))".utf8))
    let valueSize = Int.random(in: 0..<20, using: &generator) == 0 ? Int.random(in: 0...2000, using: &generator) : Int.random(in: 0...40, using: &generator)
    arguments.append((0..<valueSize).map { _ in UInt8.random(in: 0...255, using: &generator) })
    return LogEntry(
        timestampMilliseconds: 1_700_000_000_000 + Int64(index) * 3, db: UInt32.random(in: 0...3, using: &generator),
        kind: index % 997 == 0 ? .checkpoint : .command, arguments: arguments,
        replyHash: Bool.random(using: &generator) ? UInt64.random(in: 0...UInt64.max, using: &generator) : nil)
}

// MARK: - Build the log

let logPath = work + "/log.rwlog"
let options = LogWriter.Options(
    durability: .no, segmentByteCountTarget: 64 * 1024, dictionaryByteCountMax: 4096, dictionarySampleEntryCount: 500,
    flushIntervalMilliseconds: 60_000)
do {
    let writer = try LogWriter.open(directory: logPath, options: options)
    var index = 0
    while index < entryCount {
        let size = [1, 1, 1, 2, 5][Int.random(in: 0..<5, using: &generator)]
        let batch = (0..<min(size, entryCount - index)).map { randomEntry(index + $0) }
        let range = try writer.append(contentsOf: batch, transaction: index % 50 == 0)
        try writer.waitUntilWritten(range.upperBound)
        index += batch.count
    }
    try writer.close()
    try? fileManager.removeItem(atPath: logPath + "/LOCK")
}
let reader = try LogReader(directory: logPath)
let manifest = reader.manifest
var records: [LogReader.RecordInfo] = []
var original: [LogEntry] = []
try reader.forEachEntry(recovery: .absolute, onRecord: { records.append($0) }) { original.append($0.materialize()) }
let files = [LogFormat.manifestFileName] + manifest.dictionaries.map(\.fileName) + manifest.segments.map(\.fileName)
var pristine: [String: [UInt8]] = [:]
for name in files { pristine[name] = bytes(logPath + "/" + name) }
let totalBytes = pristine.values.reduce(0) { $0 + $1.count }
let started = Date()
func elapsed() -> String { String(format: "%.1f s", Date().timeIntervalSince(started)) }
print("log: \(original.count) entries, \(records.count) records, \(manifest.segments.count) segments, \(manifest.dictionaries.count) dictionaries, \(totalBytes) bytes")


// MARK: - 1. Truncation at every offset of the last N records

let lastSegment = manifest.segments.last!.fileName
let lastFirst = manifest.segments.last!.firstSequence
let lastRecords = records.filter { $0.segmentFileName == lastSegment }
let cutStart = lastRecords[max(0, lastRecords.count - truncateRecords)].byteOffset
let lastSize = pristine[lastSegment]!.count
var truncationChecked = 0, truncationDetected = 0, truncationBoundaries = 0, reopened = 0
let reopenStride = max(1, (lastSize - cutStart) / 500)
for length in cutStart..<lastSize {
    write(Array(pristine[lastSegment]!.prefix(length)), logPath + "/" + lastSegment)
    truncationChecked += 1
    let torn = lastRecords.first { $0.byteOffset < length && length < $0.byteOffset + $0.recordByteCount }
    let cutoff = lastRecords.first { $0.byteOffset + $0.recordByteCount > length }!.firstSequence
    // Only the last segment is cut: read from its first entry (earlier segments are not read).
    let survivorCount = Int(cutoff - lastFirst)
    let outcome = check(logPath, .tolerateTail, from: lastFirst, against: original)
    if outcome.error != nil || outcome.count != survivorCount || !outcome.allWritten || !outcome.dense {
        fail("cut at \(length): \(outcome.count) entries, expected \(survivorCount); error \(String(describing: outcome.error))")
    } else if let torn {
        if outcome.damages.count == 1, let damage = outcome.damages.first, damage.kind == .tornTail,
           damage.byteOffset == torn.byteOffset, damage.byteCount == length - torn.byteOffset {
            truncationDetected += 1
        } else {
            fail("cut at \(length): reported \(outcome.damages), expected one torn tail at \(torn.byteOffset)")
        }
    } else if outcome.damages.isEmpty {
        truncationBoundaries += 1
    } else {
        fail("cut at \(length) on a record boundary reported \(outcome.damages)")
    }
    if torn != nil, (check(logPath, .absolute, from: lastFirst, against: original).error as? LogError)?.code != .damaged {
        fail("cut at \(length): absolute mode accepted a torn tail")
    }
    // Reopen for append at a sample of the offsets (each costs a writer thread and an fsync).
    if (length - cutStart) % reopenStride == 0 {
        do {
            let writer = try LogWriter.open(directory: logPath, options: options)
            let sequence = try writer.append(.command(["SET", "after-cut", "\(length)"], at: 0))
            try writer.close()
            let after = check(logPath, .absolute, from: lastFirst, against: original)
            if sequence != cutoff || after.error != nil || after.count != survivorCount + 1
                || (writer.recoveredDamage?.kind == .tornTail) != (torn != nil) {
                fail("reopen after cut at \(length): appended #\(sequence), expected #\(cutoff); \(String(describing: after.error))")
            } else {
                reopened += 1
            }
        } catch {
            fail("reopen after cut at \(length): \(error)")
        }
        // Put back anything the writer changed besides the last segment (a rotation, say).
        write(pristine[LogFormat.manifestFileName]!, logPath + "/" + LogFormat.manifestFileName)
        for name in (try? fileManager.contentsOfDirectory(atPath: logPath)) ?? [] where pristine[name] == nil {
            try? fileManager.removeItem(atPath: logPath + "/" + name)
        }
    }
}
write(pristine[lastSegment]!, logPath + "/" + lastSegment)
print("truncation: \(truncationChecked) offsets checked in the last \(min(truncateRecords, lastRecords.count)) records; \(truncationDetected) torn tails detected exactly, \(truncationBoundaries) record boundaries clean, \(reopened) reopened and appended; missed \(failures.count) [\(elapsed())]")

// MARK: - 2. Random single-bit flips

let failuresBeforeFlips = failures.count
var flipsDetected = 0, flipsMissed = 0, flipsByKind: [String: Int] = [:]
let fileSizes = files.map { pristine[$0]!.count }
for _ in 0..<flipCount {
    var bit = Int.random(in: 0..<(totalBytes * 8), using: &generator)
    var fileIndex = 0
    while bit >= fileSizes[fileIndex] * 8 { bit -= fileSizes[fileIndex] * 8; fileIndex += 1 }
    let name = files[fileIndex]
    var damaged = pristine[name]!
    damaged[bit / 8] ^= 1 << (bit % 8)
    write(damaged, logPath + "/" + name)
    let outcome = check(logPath, .tolerateTail, against: original)
    let skip = check(logPath, .skipDamaged, against: original)
    if !outcome.allWritten || !skip.allWritten {
        flipsMissed += 1
        fail("flip of bit \(bit) in \(name): an entry was read differently from how it was written")
    } else if outcome.error == nil && outcome.damages.isEmpty {
        flipsMissed += 1
        fail("flip of bit \(bit) in \(name) went unnoticed")
    } else {
        flipsDetected += 1
        let kind = (outcome.error as? LogError).map { "error: \($0.damage?.kind.description ?? $0.code.description)" } ?? outcome.damages.first!.kind.description
        flipsByKind[kind, default: 0] += 1
    }
    write(pristine[name]!, logPath + "/" + name)
}
print("bit flips: \(flipCount) flipped, \(flipsDetected) detected, \(flipsMissed) missed (\(failures.count - failuresBeforeFlips) failures) [\(elapsed())]")
for (kind, count) in flipsByKind.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(count)") }

// MARK: - 3. SIGKILL rounds

func findChild() -> String? {
    if let childPath { return childPath }
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidate = here.appendingPathComponent("rewind-append-child").path
    return fileManager.isExecutableFile(atPath: candidate) ? candidate : nil
}

var killed = 0, acknowledgedVerified = 0, acknowledgedLost = 0, tornTailsSeen = 0
if killRounds > 0 {
    guard let child = findChild() else {
        print("kill rounds: rewind-append-child not found next to rewind-faults; build it or pass --child")
        exit(1)
    }
    for writers in [1, 8] {
        let crashLog = work + "/crash-\(writers).rwlog"
        var acknowledged: [UInt64: (writer: Int, counter: UInt64)] = [:]
        for round in 0..<(killRounds / 2 + (writers == 1 ? killRounds % 2 : 0)) {
            let outputPath = work + "/child.out"
            let process = try Subprocess(child, [crashLog, "always", String(writers), String(seed &* 10_000 &+ UInt64(writers * 1000 + round))],
                                         output: .file(outputPath), error: .null)
            usleep(UInt32(Int.random(in: killRange, using: &generator)) * 1000)
            let running = process.isRunning
            process.send(SIGKILL)
            let ended = process.waitOrKill(timeout: 30)
            if running { killed += 1 } else { fail("round \(round), \(writers) writers: the child exited by itself (\(ended))") }
            for line in String(decoding: bytes(outputPath), as: UTF8.self).split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let sequence = UInt64(fields[0]), let writer = Int(fields[1]), let counter = UInt64(fields[2]) else {
                    fail("malformed acknowledgement '\(line)'")
                    continue
                }
                if acknowledged[sequence] != nil { fail("#\(sequence) acknowledged twice") }
                acknowledged[sequence] = (writer, counter)
            }
            guard fileManager.fileExists(atPath: crashLog + "/MANIFEST") else { continue }
            let outcome = read(crashLog, .tolerateTail)
            if outcome.error != nil || outcome.damages.contains(where: { $0.kind != .tornTail }) {
                fail("round \(round), \(writers) writers: \(String(describing: outcome.error)) \(outcome.damages)")
            }
            tornTailsSeen += outcome.damages.count
            if outcome.entries.enumerated().contains(where: { $0.element.sequence != UInt64($0.offset + 1) }) {
                fail("round \(round), \(writers) writers: sequence numbers are not dense")
            }
            for (sequence, ack) in acknowledged {
                guard sequence <= UInt64(outcome.entries.count) else {
                    acknowledgedLost += 1
                    fail("round \(round): acknowledged #\(sequence) lost")
                    continue
                }
                let entry = outcome.entries[Int(sequence - 1)]
                let value = Array(String(repeating: "v", count: Int(ack.counter % 200)).utf8)
                if entry.arguments != [Array("SET".utf8), Array("key:\(ack.writer):\(ack.counter)".utf8), value] {
                    acknowledgedLost += 1
                    fail("round \(round): acknowledged #\(sequence) reads back differently")
                }
            }
            do {
                let writer = try LogWriter.open(directory: crashLog, options: .init(durability: .always))
                if writer.nextSequenceNumber != UInt64(outcome.entries.count) + 1 { fail("round \(round): reopened at #\(writer.nextSequenceNumber)") }
                try writer.close()
            } catch {
                fail("round \(round): reopening failed: \(error)")
            }
        }
        acknowledgedVerified += acknowledged.count
    }
}
print("kill rounds: \(killed) SIGKILLs under always (1 and 8 writers), \(acknowledgedVerified) acknowledged appends verified, \(acknowledgedLost) lost, \(tornTailsSeen) torn tails cut [\(elapsed())]")
print(failures.isEmpty ? "OK: nothing missed" : "FAILED: \(failures.count) missed")
exit(failures.isEmpty ? 0 : 1)
