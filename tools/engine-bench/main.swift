// rewind-engine-bench: the engine alone, in a process that links neither Foundation nor SwiftNIO,
// so its resident memory is the engine's (plus the Swift runtime), comparable with redis-server's
// used_memory_rss. Build and run in release:
//
//   swift build -c release --product rewind-engine-bench
//   .build/release/rewind-engine-bench getset [--operations N] [--keys K]
//   .build/release/rewind-engine-bench zadd [--operations N] [--range R]
//   .build/release/rewind-engine-bench apply LOG      # prints one line: key=value pairs
//
// `getset` measures single-threaded GET/SET through `Keyspace.execute` (the full command path:
// lookup, arity, context, reply, the entry to log) beside the naive reference measured in the
// same run: a Swift `Dictionary<[UInt8], [UInt8]>` doing the same gets and sets with no command
// processing at all. `apply` replays every command of a Rewind log into a keyspace and reports
// VmRSS/VmHWM; tools/replay-bench runs it beside redis-server loading the same commands.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RewindEngine
import RewindLog

/// glibc's malloc_trim, which the Glibc module does not export.
@_silgen_name("malloc_trim")
func glibcMallocTrim(_ pad: Int) -> Int32

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// A field of /proc/self/status in bytes (0 where there is none).
func statusBytes(_ field: String) -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(cString: line)
        if text.hasPrefix(field) {
            let digits = text.dropFirst(field.count).filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
    }
    return 0
}

func option(_ name: String, default value: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let parsed = Int(arguments[index + 1]) else { return value }
    return parsed
}

func getSet() {
    let operationCount = option("--operations", default: 10_000_000)
    let keyCount = option("--keys", default: 100_000)
    let keys = (0..<keyCount).map { Array("key:\($0)".utf8) }
    let set = Array("SET".utf8), get = Array("GET".utf8), value = Array("value-0123456789".utf8)

    // The naive reference: a dictionary, no commands.
    var dictionary: [[UInt8]: [UInt8]] = [:]
    var found = 0
    var start = nanoseconds()
    for index in 0..<operationCount {
        let key = keys[(index / 2) % keyCount]
        if index % 2 == 0 { dictionary[key] = value } else if dictionary[key] != nil { found &+= 1 }
    }
    let naiveSeconds = Double(nanoseconds() - start) / 1e9

    let keyspace = Keyspace(randomSeed: 1)
    var session = ClientSession()
    var replies = 0
    start = nanoseconds()
    for index in 0..<operationCount {
        let key = keys[(index / 2) % keyCount]
        let result = index % 2 == 0
            ? keyspace.execute([set, key, value], session: &session, nowMilliseconds: 1_700_000_000_000)
            : keyspace.execute([get, key], session: &session, nowMilliseconds: 1_700_000_000_000)
        if case .bulkString = result.reply { replies &+= 1 }
    }
    let engineSeconds = Double(nanoseconds() - start) / 1e9
    let engineRate = Double(operationCount) / engineSeconds
    let naiveRate = Double(operationCount) / naiveSeconds
    print("GET/SET, \(operationCount) operations over \(keyCount) keys, one thread:")
    print("  Keyspace.execute: \(Int(engineRate)) ops/s (target >= 2,000,000)")
    print("  naive Dictionary<[UInt8], [UInt8]> get/set, no command processing: \(Int(naiveRate)) ops/s")
    print("  engine / naive: \(Double(Int(engineRate / naiveRate * 100)) / 100)x  (checks: \(found + replies))")
}

/// redis-benchmark's ZADD (`ZADD myzset <rand> element:<rand>`, both below --range) through
/// `Keyspace.execute`, one thread, beside the naive reference measured in the same run: the same
/// pairs stored in a `Dictionary<[UInt8], Double>` (the member-to-score half, with no order).
func zadd() {
    let operationCount = option("--operations", default: 2_000_000)
    let range = option("--range", default: 100_000)
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    func next() -> Int {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return Int(state % UInt64(range))
    }
    func padded(_ number: Int) -> [UInt8] {
        let digits = Array(String(number).utf8)
        return [UInt8](repeating: UInt8(ascii: "0"), count: 12 - digits.count) + digits
    }
    let pairs = (0..<operationCount).map { _ in (padded(next()), Array("element:".utf8) + padded(next())) }
    let zaddName = Array("ZADD".utf8), key = Array("myzset".utf8)
    let keyspace = Keyspace(randomSeed: 1)
    var session = ClientSession()
    var added = 0
    var start = nanoseconds()
    for (score, member) in pairs {
        if case .integer(let count) = keyspace.execute([zaddName, key, score, member], session: &session,
                                                        nowMilliseconds: 1_700_000_000_000).reply { added += Int(count) }
    }
    let engineSeconds = Double(nanoseconds() - start) / 1e9
    let engineAdded = added
    // The reference: only the member -> score half, a Dictionary, no order and no commands.
    var scores: [[UInt8]: Double] = [:]
    start = nanoseconds()
    for (scoreText, member) in pairs {
        let score = Double(String(decoding: scoreText, as: UTF8.self))!
        if scores.updateValue(score, forKey: member) == nil { added -= 1 }
    }
    let naiveSeconds = Double(nanoseconds() - start) / 1e9
    print("ZADD as redis-benchmark sends it, \(operationCount) operations, scores and members below \(range), one thread:")
    print("  Keyspace.execute: \(Int(Double(operationCount) / engineSeconds)) ops/s, \(Int(engineSeconds * 1e9 / Double(operationCount))) ns each (\(engineAdded) added)")
    print("  naive Dictionary<[UInt8], Double> of scores, no order, no commands: \(Int(Double(operationCount) / naiveSeconds)) ops/s (\(scores.count) members; check \(added) = 0)")
    print("  engine / naive: \(Double(Int(naiveSeconds / engineSeconds * 100)) / 100)x")
}

func apply(_ path: String) throws {
    let baseline = statusBytes("VmRSS:")
    let keyspace = Keyspace(randomSeed: 0)
    var commands = 0
    let start = nanoseconds()
    do {
        let reader = try LogReader(directory: path)
        _ = try reader.forEachEntry { entry in
            guard entry.kind == .command else { return }
            let arguments = entry.arguments.map { Array($0) }
            keyspace.apply(LoggedCommand(db: Int(entry.db), arguments: arguments), nowMilliseconds: entry.timestampMilliseconds)
            commands += 1
        }
    }
    let seconds = Double(nanoseconds() - start) / 1e9
    var keys = 0
    for db in 0..<keyspace.databaseCount { keys += keyspace.keyCount(db: db) }
    let rss = statusBytes("VmRSS:")
    // What the process holds once glibc gives back the free pages in its heap (replay churn).
    _ = glibcMallocTrim(0)
    print("commands=\(commands) keys=\(keys) seconds=\(seconds) baseline_rss_bytes=\(baseline) rss_bytes=\(rss) trimmed_rss_bytes=\(statusBytes("VmRSS:")) peak_rss_bytes=\(statusBytes("VmHWM:"))")
}

let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "getset": getSet()
case "zadd": zadd()
case "apply" where arguments.count > 2: try apply(arguments[2])
default:
    print("usage: rewind-engine-bench getset [--operations N] [--keys K] | zadd [--operations N] [--range R] | apply LOG")
    exit(2)
}
