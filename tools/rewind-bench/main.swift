// rewind-bench: the log's append, read and size benchmarks, each printed beside a reference
// measured in the same run. Build and run in release:
//
//   swift run -c release rewind-bench [--entries N] [--seed S] [--seconds S] [--directory D]
//
// References: appends are compared with the naive way Redis writes its AOF (the RESP bytes of each
// command written with write(2), fsync'ed per the same policy); reading is compared with parsing
// the same commands' RESP AOF with RewindRESP's request parser; bytes on disk with the size of the
// same commands as a Redis AOF (SELECT and MULTI/EXEC included, as Redis writes them).
import Foundation
import RewindLog
import RewindRESP
import RewindReplay

struct Settings {
    var entryCount = 1_000_000
    var seed: UInt64 = 1
    var secondsPerCell = 3.0
    var directory = NSTemporaryDirectory() + "rewind-bench-\(getpid())"
    var writerCounts = [1, 8, 64]

    init(_ arguments: [String]) {
        var index = 1
        func value() -> String {
            index += 1
            guard index < arguments.count else { fatalError("missing value for \(arguments[index - 1])") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--entries": entryCount = Int(value())!
            case "--seed": seed = UInt64(value())!
            case "--seconds": secondsPerCell = Double(value())!
            case "--directory": directory = value()
            case "--writers": writerCounts = value().split(separator: ",").map { Int($0)! }
            default: fatalError("unknown argument \(arguments[index])")
            }
            index += 1
        }
    }
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func directoryByteCount(_ path: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.reduce(0) { total, name in
        let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + name)[.size] as? Int) ?? 0
        return total + (size ?? 0)
    }
}

/// The commands as Redis writes them to its AOF.
func aofBytes(_ items: [WorkloadGenerator.Item]) -> [[UInt8]] {
    var db: UInt32 = 0
    return items.map { item in
        var bytes: [UInt8] = []
        let entries = item.entries
        if entries[0].db != db {
            db = entries[0].db
            RESPEncoder.encodeCommand([Array("SELECT".utf8), Array(String(db).utf8)], into: &bytes)
        }
        if case .transaction = item { RESPEncoder.encodeCommand([Array("MULTI".utf8)], into: &bytes) }
        for entry in entries { RESPEncoder.encodeCommand(entry.arguments, into: &bytes) }
        if case .transaction = item { RESPEncoder.encodeCommand([Array("EXEC".utf8)], into: &bytes) }
        return bytes
    }
}

/// Hands out items to writer threads in small chunks until the list or the time runs out.
final class Dispenser: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    let count: Int
    let deadline: Double
    init(count: Int, seconds: Double) {
        self.count = count
        deadline = now() + seconds
    }
    func take(_ chunk: Int) -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count, now() < deadline else { return nil }
        let range = next..<min(next + chunk, count)
        next = range.upperBound
        return range
    }
    var taken: Int { lock.withLock { next } }
}

func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

struct Cell {
    var entries: Int
    var seconds: Double
    var inputBytes: Int
    var perSecond: Double { Double(entries) / seconds }
    var megabytesPerSecond: Double { Double(inputBytes) / seconds / 1e6 }
}

/// Appends with the log writer.
func appendCell(items: [WorkloadGenerator.Item], aof: [[UInt8]], policy: DurabilityPolicy, writers: Int, settings: Settings, path: String) throws -> Cell {
    try? FileManager.default.removeItem(atPath: path)
    let writer = try LogWriter.open(directory: path, options: .init(durability: policy))
    let dispenser = Dispenser(count: items.count, seconds: settings.secondsPerCell)
    let start = now()
    runThreads(writers) { _ in
        let chunk = policy == .always ? 16 : 64
        while let range = dispenser.take(chunk) {
            for index in range {
                switch items[index] {
                case .command(let entry): _ = try! writer.append(entry)
                case .transaction(let entries): _ = try! writer.append(contentsOf: entries, transaction: true)
                }
            }
        }
    }
    try writer.close()
    let seconds = now() - start
    let taken = dispenser.taken
    let entries = items[0..<taken].reduce(0) { $0 + $1.entries.count }
    return Cell(entries: entries, seconds: seconds, inputBytes: aof[0..<taken].reduce(0) { $0 + $1.count })
}

/// The reference: each command's RESP bytes written with write(2) to one file under a lock, with
/// the same fsync policy (always: fsync before returning; everysec: at most once a second; no: never).
func naiveCell(items: [WorkloadGenerator.Item], aof: [[UInt8]], policy: DurabilityPolicy, writers: Int, settings: Settings, path: String) -> Cell {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
    let lock = NSLock()
    nonisolated(unsafe) var lastSync = now()
    let dispenser = Dispenser(count: items.count, seconds: settings.secondsPerCell)
    let start = now()
    runThreads(writers) { _ in
        while let range = dispenser.take(1) {
            for index in range {
                lock.lock()
                aof[index].withUnsafeBytes { _ = write(descriptor, $0.baseAddress, $0.count) }
                if policy == .always || (policy == .everysec && now() - lastSync >= 1) {
                    fdatasync(descriptor)
                    lastSync = now()
                }
                lock.unlock()
            }
        }
    }
    close(descriptor)
    let seconds = now() - start
    let taken = dispenser.taken
    let entries = items[0..<taken].reduce(0) { $0 + $1.entries.count }
    return Cell(entries: entries, seconds: seconds, inputBytes: aof[0..<taken].reduce(0) { $0 + $1.count })
}

func formatted(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

let settings = Settings(CommandLine.arguments)
try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: settings.directory) }

print("rewind-bench: \(settings.entryCount) commands, seed \(settings.seed), CRC32C hardware: \(CRC32C.usesHardware)")
var generator = WorkloadGenerator(seed: settings.seed, commandCount: settings.entryCount)
var items: [WorkloadGenerator.Item] = []
while let item = generator.next() { items.append(item) }
let aof = aofBytes(items)
let aofTotal = aof.reduce(0) { $0 + $1.count }
let commandCount = items.reduce(0) { $0 + $1.entries.count }
print("workload: \(commandCount) commands in \(items.count) units; as a Redis AOF: \(aofTotal) bytes (\(formatted(Double(aofTotal) / Double(commandCount), 1)) bytes/command)")

print("\nappend (each cell runs up to \(settings.secondsPerCell) s or the whole workload)")
print("policy    writers   rewind entries/s   rewind MB/s   naive AOF entries/s   ratio")
for policy in DurabilityPolicy.allCases {
    for writers in settings.writerCounts {
        let cell = try appendCell(items: items, aof: aof, policy: policy, writers: writers, settings: settings, path: settings.directory + "/append.rwlog")
        let naive = naiveCell(items: items, aof: aof, policy: policy, writers: writers, settings: settings, path: settings.directory + "/naive.aof")
        print(
            policy.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(writers).padding(toLength: 10, withPad: " ", startingAt: 0)
                + formatted(cell.perSecond).padding(toLength: 19, withPad: " ", startingAt: 0)
                + formatted(cell.megabytesPerSecond, 1).padding(toLength: 14, withPad: " ", startingAt: 0)
                + formatted(naive.perSecond).padding(toLength: 22, withPad: " ", startingAt: 0)
                + formatted(cell.perSecond / naive.perSecond, 2) + "x")
    }
}

// The whole workload, written once, for size and read speed.
let fullPath = settings.directory + "/full.rwlog"
try? FileManager.default.removeItem(atPath: fullPath)
var fullSettings = settings
fullSettings.secondsPerCell = 3600
let full = try appendCell(items: items, aof: aof, policy: .no, writers: 1, settings: fullSettings, path: fullPath)
let diskBytes = directoryByteCount(fullPath)
print("\nsize: \(full.entries) commands; rewind \(diskBytes) bytes on disk (\(formatted(Double(diskBytes) / Double(full.entries), 1)) bytes/command); Redis AOF \(aofTotal) bytes; ratio \(formatted(Double(diskBytes) / Double(aofTotal), 3))")

var readSeconds = Double.infinity
var readEntries = 0
for _ in 0..<3 {
    let reader = try LogReader(directory: fullPath)
    var count = 0
    var argumentBytes = 0
    let start = now()
    let summary = try reader.forEachEntry(recovery: .absolute) { entry in
        count += 1
        argumentBytes &+= entry.arguments.count
    }
    readSeconds = min(readSeconds, now() - start)
    precondition(summary.damages.isEmpty && argumentBytes > 0)
    readEntries = count
}
var aofFile: [UInt8] = []
aofFile.reserveCapacity(aofTotal)
for bytes in aof { aofFile += bytes }
var parseSeconds = Double.infinity
for _ in 0..<3 {
    var parser = RESPParser()
    let start = now()
    parser.append(aofFile)
    var parsed = 0
    while let request = try parser.nextRequest() { parsed += request.arguments.count > 0 ? 1 : 0 }
    parseSeconds = min(parseSeconds, now() - start)
}
let readRate = Double(readEntries) / readSeconds
let parseRate = Double(commandCount) / parseSeconds
print("read + checksum + decompress + decode: \(formatted(readRate)) entries/s (\(readEntries) entries in \(formatted(readSeconds, 3)) s); RESP AOF parse: \(formatted(parseRate)) commands/s; ratio \(formatted(readRate / parseRate, 2))x")
