import RewindLog

/// Random log entries of every shape: binary and empty arguments, many arguments, large values,
/// reply hashes, several databases, timestamps that go backwards as well as forwards.
public enum RandomEntries {
    public static func bytes(count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    public static func entry(index: Int, using generator: inout SeededGenerator, largeArgumentByteCount: Int = 70_000) -> LogEntry {
        let names = ["SET", "set", "HSET", "LPUSH", "ZADD", "DEL", "Set", "X-CUSTOM"]
        var arguments: [[UInt8]] = [Array(names[Int.random(in: 0..<names.count, using: &generator)].utf8)]
        let shape = Int.random(in: 0..<20, using: &generator)
        switch shape {
        case 0: arguments.append([])
        case 1: arguments.append(bytes(count: Int.random(in: 0...largeArgumentByteCount, using: &generator), using: &generator))
        case 2: arguments += (0..<Int.random(in: 0...300, using: &generator)).map { _ in bytes(count: Int.random(in: 0...8, using: &generator), using: &generator) }
        default:
            arguments.append(Array("key:\(Int.random(in: 0..<1000, using: &generator))".utf8))
            arguments.append(bytes(count: Int.random(in: 0...40, using: &generator), using: &generator))
        }
        return LogEntry(
            timestampMilliseconds: 1_700_000_000_000 + Int64(index) * 3 - Int64.random(in: 0...5, using: &generator),
            db: Bool.random(using: &generator) ? 0 : UInt32.random(in: 0...15, using: &generator),
            arguments: arguments,
            replyHash: Bool.random(using: &generator) ? UInt64.random(in: 0...UInt64.max, using: &generator) : nil)
    }
}
