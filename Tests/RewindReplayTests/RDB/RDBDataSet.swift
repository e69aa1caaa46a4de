import Foundation
import RewindTestSupport

/// A seeded data set that makes redis-server 7.0 use every encoding it has for strings, lists,
/// sets, sorted sets and hashes, in three databases, with TTLs. Which encoding a key gets depends
/// on the server's `*-max-*` settings, so the tests load it with low limits and with defaults.
enum RDBDataSet {
    /// Settings that make even small collections use their big encodings.
    static let lowLimits = [
        "--list-max-listpack-size", "4", "--hash-max-listpack-entries", "4", "--hash-max-listpack-value", "8",
        "--set-max-intset-entries", "4", "--zset-max-listpack-entries", "4", "--zset-max-listpack-value", "8",
    ]
    /// Settings that keep everything in this data set that can be compact compact.
    static let highLimits = [
        "--list-max-listpack-size", "-5", "--hash-max-listpack-entries", "1024", "--hash-max-listpack-value", "1024",
        "--set-max-intset-entries", "2048", "--zset-max-listpack-entries", "1024", "--zset-max-listpack-value", "1024",
    ]

    /// The commands, `scale` times over with different keys (scale 1 is a few hundred keys).
    static func commands(seed: UInt64, scale: Int = 1, expireAtMilliseconds: Int64) -> [[[UInt8]]] {
        var random = SeededGenerator(seed: seed)
        var commands: [[[UInt8]]] = []
        func command(_ words: [String]) { commands.append(words.map { Array($0.utf8) }) }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789:_-")
        func text(_ count: Int) -> String {
            String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
        }
        for round in 0..<scale {
            for db in 0..<3 {
                command(["SELECT", String(db)])
                let p = "r\(round):d\(db):"
                // Strings: every integer width, short, long compressible (LZF), binary.
                for (index, value) in ["0", "7", "-128", "300", "-32768", "70000", "-2147483648", "2147483647",
                                       "2147483648", "9223372036854775807", "007", "+5", "-0", "1e3"].enumerated() {
                    command(["SET", "\(p)int:\(index)", value])
                }
                for index in 0..<20 { command(["SET", "\(p)short:\(index)", text(Int.random(in: 0...40, using: &random))]) }
                for index in 0..<10 { command(["SET", "\(p)long:\(index)", String(repeating: "compress-me-", count: 40 + index) + text(10)]) }
                commands.append([Array("SET".utf8), Array("\(p)binary".utf8), [0, 255, 13, 10, 0x80] + Array("tail".utf8)])
                // Lists: small, many nodes, big elements (plain nodes below the packed threshold).
                command(["RPUSH", "\(p)list:small", "a", "1", "-5", text(5)])
                command(["RPUSH", "\(p)list:long"] + (0..<300).map { index in index % 3 == 0 ? String(index * 1000) : text(Int.random(in: 1...30, using: &random)) })
                command(["RPUSH", "\(p)list:bigelements", "small", String(repeating: "B", count: 3000), "x", String(repeating: "C", count: 2500)])
                // Sets: intset, listpack-less hashtable of strings, big intset that becomes a hashtable.
                command(["SADD", "\(p)set:tinyints", "3", "-1", "2"])
                command(["SADD", "\(p)set:ints"] + ["1", "-2", "300", "70000", "5000000000"])
                command(["SADD", "\(p)set:manyints"] + (0..<700).map { String($0 * 7 - 1000) })
                command(["SADD", "\(p)set:strings"] + (0..<50).map { "m\($0)" + text(3) })
                // Hashes: small, big, one long value.
                command(["HSET", "\(p)hash:small", "f1", "v1", "f2", "2", "n", "-77"])
                command(["HSET", "\(p)hash:big"] + (0..<200).flatMap { ["field\($0)", text(Int.random(in: 0...20, using: &random))] })
                command(["HSET", "\(p)hash:longvalue", "f", String(repeating: "L", count: 300)])
                // Sorted sets: small, big, odd scores.
                command(["ZADD", "\(p)zset:small", "1", "a", "2.5", "b", "-3", "c"])
                command(["ZADD", "\(p)zset:big"] + (0..<300).flatMap { [String(Double($0) / 7), "m\($0)"] })
                command(["ZADD", "\(p)zset:odd", "inf", "top", "-inf", "bottom", "0", "zero", "1e-300", "tiny", "123456789012345678", "large", "0.1", "tenth", "-1.5e308", "huge"])
                // TTLs on a string and on each collection type.
                for name in ["short:0", "list:small", "set:ints", "hash:small", "zset:small", "zset:big"] {
                    command(["PEXPIREAT", "\(p)\(name)", String(expireAtMilliseconds + Int64(round * 10 + db))])
                }
            }
        }
        command(["SELECT", "0"])
        return commands
    }
}
