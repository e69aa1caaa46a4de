import RewindEngine
import RewindLog

/// A seeded, repeatable mixed Redis write workload with Zipf-skewed keys, for benchmarks and
/// large tests.
///
/// The commands are already in the deterministic form a log holds (relative expiry written as
/// PEXPIREAT), the mix resembles a cache-plus-counters application, and values are partly
/// structured text and partly random, as real data is. The same seed gives the same workload on
/// every machine and every run (its randomness is the engine's `SplitMix64`).
public struct WorkloadGenerator: Sequence, IteratorProtocol {
    /// One unit of the workload: a single command, or a MULTI/EXEC transaction.
    public enum Item: Sendable {
        case command(LogEntry)
        case transaction([LogEntry])

        public var entries: [LogEntry] {
            switch self {
            case .command(let entry): [entry]
            case .transaction(let entries): entries
            }
        }

        /// The entries moved `milliseconds` later: their timestamps and PEXPIREAT's times. The
        /// workload's clock starts in 2023; moved some years on, a redis-server loading it now
        /// keeps the keys with a TTL instead of expiring them while it loads.
        public func entries(movedLaterBy milliseconds: Int64) -> [LogEntry] {
            entries.map { entry in
                var moved = entry
                moved.timestampMilliseconds += milliseconds
                if moved.arguments.first == Array("PEXPIREAT".utf8), moved.arguments.count > 2,
                   let when = Int64(String(decoding: moved.arguments[2], as: UTF8.self)) {
                    moved.arguments[2] = Array(String(when + milliseconds).utf8)
                }
                return moved
            }
        }
    }

    /// Five years, the shift the benchmarks and the tests against redis-server use.
    public static let fiveYearsMilliseconds: Int64 = 5 * 365 * 86_400_000

    public let commandCountMax: Int
    private var random: SplitMix64
    private let zipf: ZipfDistribution
    private var produced = 0
    private var nowMilliseconds: Int64 = 1_700_000_000_000

    /// - Parameters:
    ///   - seed: the same seed gives the same workload.
    ///   - commandCount: how many commands to produce (a transaction's commands count).
    ///   - keyCount: distinct keys per type.
    ///   - zipfExponent: the skew; 0.99 is the YCSB default.
    public init(seed: UInt64, commandCount: Int, keyCount: Int = 100_000, zipfExponent: Double = 0.99) {
        commandCountMax = commandCount
        random = SplitMix64(seed: seed)
        zipf = ZipfDistribution(count: keyCount, exponent: zipfExponent)
    }

    public mutating func next() -> Item? {
        guard produced < commandCountMax else { return nil }
        if random.next() % 8 == 0 { nowMilliseconds += 1 }
        let db: UInt32 = random.next() % 20 == 0 ? 1 : 0
        if random.next() % 100 < 3 && commandCountMax - produced >= 3 {
            let entries = (0..<3).map { _ in command(db: db, allowTransactionalOnly: true) }
            produced += entries.count
            return .transaction(entries)
        }
        produced += 1
        return .command(command(db: db, allowTransactionalOnly: false))
    }

    private mutating func command(db: UInt32, allowTransactionalOnly: Bool) -> LogEntry {
        let key = zipf.sample(&random)
        let roll = random.next() % 100
        let arguments: [String]
        switch roll {
        case 0..<30: arguments = ["SET", "user:\(key)", value()]
        case 30..<40: arguments = ["INCR", "counter:\(key)"]
        case 40..<45: arguments = ["APPEND", "log:\(key)", "event=\(random.next() % 1000);"]
        case 45..<60: arguments = ["HSET", "profile:\(key)", ["name", "email", "visits", "plan"][Int(random.next() % 4)], value()]
        case 60..<70: arguments = ["LPUSH", "queue:\(key % 1000)", "job:\(random.next() % 1_000_000)"]
        case 70..<80: arguments = ["SADD", "tags:\(key)", "tag\(random.next() % 200)"]
        case 80..<88:
            arguments = ["ZADD", "leaderboard:\(key % 100)", String(random.next() % 100_000), "player:\(key)"]
        case 88..<92: arguments = ["DEL", "user:\(key)"]
        default:
            arguments = ["PEXPIREAT", "user:\(key)", String(nowMilliseconds + Int64(random.next() % 3_600_000))]
        }
        return LogEntry.command(arguments, at: nowMilliseconds, db: db)
    }

    private mutating func value() -> String {
        let id = random.next() % 1_000_000
        switch random.next() % 4 {
        case 0: return "{\"id\":\(id),\"name\":\"user\(id)\",\"score\":\(random.next() % 1000),\"active\":true}"
        case 1: return String(id)
        default:
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
            let length = 8 + Int(random.next() % 48)
            return String((0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
        }
    }
}

/// Zipf-distributed ranks 0..<count, sampled by binary search in a precomputed CDF.
struct ZipfDistribution: Sendable {
    private let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var running = 0.0
        var values: [Double] = []
        values.reserveCapacity(count)
        for rank in 1...max(count, 1) {
            running += 1.0 / pow(Double(rank), exponent)
            values.append(running)
        }
        cumulative = values.map { $0 / running }
    }

    func sample(_ random: inout SplitMix64) -> Int {
        let target = Double(random.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
