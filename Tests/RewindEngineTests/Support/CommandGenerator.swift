// Seeded random command lines over every implemented family, for differential and replay tests.

import RewindEngine

/// How a reply is compared with Redis's.
enum ReplyComparison {
    case exact
    /// Top-level array order is hash order in Redis: compare as multisets.
    case unordered
    /// A flat field/value array in hash order: compare as multisets of pairs.
    case unorderedPairs
    /// A random choice: compare only the shape (error text, nil-ness, element count).
    case shapeOnly
    /// A TTL-like integer that drifts with the clock: equal within `tolerance` when both >= 0.
    case drifting(tolerance: Int64)
}

/// Generates random command lines from a seed. Keys, fields and values come from small pools so
/// that commands collide on keys, hit wrong types, and reach edge values (overflow, empty,
/// binary, non-canonical integers).
struct CommandGenerator {
    var random: SplitMix64
    /// Whether expiry arguments may be relative times short enough to pass during the run.
    var allowsShortExpiry = false
    /// The time absolute expiry arguments are chosen around.
    var nowMilliseconds: Int64 = 0

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    static let keys: [[UInt8]] = ["a", "b", "c", "d", "e", "list", "set", "hash", ""].map { Array($0.utf8) }
        + [[0x6B, 0x00, 0xFF]]
    static let fields: [[UInt8]] = ["f1", "f2", "f3", "0", "1", ""].map { Array($0.utf8) } + [[0xC3, 0x28]]
    static let values: [[UInt8]] = [
        "", "0", "1", "-1", "7", "10", "123", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "01", "+1", " 1", "1.5", "-0.5", "1e3", "3.0", "inf", "-inf", "nan", "abc",
        "hello world", "0.1", "5e-324", "1e308", "a*b?", "[a-c]", "x\\y", "f1", "m1",
    ].map { Array($0.utf8) } + [[0x00, 0x01, 0x0A], [0xFF, 0xFE, 0x80], Array(repeating: 0x61, count: 70)]
    static let integers: [String] = [
        "-1", "0", "1", "2", "3", "5", "-2", "-3", "-100", "100", "9223372036854775807",
        "-9223372036854775808", "x", "1.5", "", "+1", "007",
    ]

    mutating func sortedSetCommandWithComparison() -> ([[UInt8]], ReplyComparison) {
        let arguments = sortedSetCommand()
        return (arguments, arguments[0] == Array("ZRANDMEMBER".utf8) ? .shapeOnly : .exact)
    }

    mutating func chance(_ percent: UInt64) -> Bool { random.next(below: 100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next(below: UInt64(items.count)))] }
    mutating func key() -> [UInt8] { pick(Self.keys) }
    mutating func field() -> [UInt8] { pick(Self.fields) }
    mutating func value() -> [UInt8] { chance(15) ? Array(String(Int64(random.next(below: 2000)) - 1000).utf8) : pick(Self.values) }
    mutating func integer() -> [UInt8] { chance(60) ? Array(String(Int64(random.next(below: 13)) - 6).utf8) : Array(pick(Self.integers).utf8) }
    mutating func keys(_ maximum: UInt64) -> [[UInt8]] { (0...random.next(below: maximum)).map { _ in key() } }

    /// A relative expiry in seconds (or milliseconds when `milliseconds`).
    mutating func relativeExpiry(milliseconds: Bool) -> [UInt8] {
        var options = milliseconds ? ["100000", "1000000", "-5", "0", "9223372036854775807", "x", "10000000"]
                                   : ["100", "1000", "-1", "0", "9223372036854775807", "x", "922337203685477"]
        if allowsShortExpiry { options += milliseconds ? ["1", "5", "20", "50"] : ["1", "2"] }
        return Array(pick(options).utf8)
    }

    /// An absolute expiry in Unix seconds or milliseconds, past, future or extreme.
    mutating func absoluteExpiry(milliseconds: Bool) -> [UInt8] {
        let now = milliseconds ? nowMilliseconds : nowMilliseconds / 1000
        let future = now + (milliseconds ? 500_000 : 500) + Int64(random.next(below: 1000))
        var options = ["1", "1000", String(future), String(future), "-5", "9223372036854775807"]
        if allowsShortExpiry { options.append(String(now + (milliseconds ? 30 : 1))) }
        return Array(pick(options).utf8)
    }

    mutating func setOptions() -> [[UInt8]] {
        var options: [[UInt8]] = []
        for _ in 0..<random.next(below: 4) {
            switch random.next(below: 9) {
            case 0: options.append(Array("NX".utf8))
            case 1: options.append(Array("XX".utf8))
            case 2: options.append(Array("GET".utf8))
            case 3: options.append(Array("KEEPTTL".utf8))
            case 4: options += [Array("EX".utf8), relativeExpiry(milliseconds: false)]
            case 5: options += [Array("PX".utf8), relativeExpiry(milliseconds: true)]
            case 6: options += [Array("EXAT".utf8), absoluteExpiry(milliseconds: false)]
            case 7: options += [Array("PXAT".utf8), absoluteExpiry(milliseconds: true)]
            default: options.append(Array("px".utf8))
            }
        }
        return options
    }

    /// One command line and how its reply is compared.
    mutating func next() -> (arguments: [[UInt8]], comparison: ReplyComparison) {
        var (arguments, comparison) = nextWellFormed()
        if chance(2) && arguments.count > 1 { arguments.removeLast() }
        if chance(1) { arguments.append(value()) }
        if chance(1) { arguments[0] = Array(pick(["nosuchcommand", "GETT", "sett"]).utf8) }
        return (arguments, comparison)
    }

    private mutating func nextWellFormed() -> ([[UInt8]], ReplyComparison) {
        switch random.next(below: 100) {
        case 0..<22: return (stringCommand(), .exact)
        case 22..<34: return keyCommand()
        case 34..<40: return sortedSetCommandWithComparison()
        case 40..<48: return expiryCommand()
        case 48..<62: return (listCommand(), .exact)
        case 62..<74: return hashCommand()
        case 74..<88: return setCommand()
        case 88..<91: return (bitCommand(), .exact)
        case 91..<94: return (hyperLogLogCommand(), .exact)
        default: return sortedSetCommandWithComparison()
        }
    }
}
