// Writing a replayed state out: as a Redis AOF of the commands that rebuild it, or as a new
// Rewind log. Both are compacted: one command per key (plus its expiry), as BGREWRITEAOF writes.

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

/// Turns a keyspace's state into the commands that rebuild it, and writes them.
public enum StateDump {
    /// What a dump wrote.
    public struct Summary: Hashable, Sendable {
        public var keyCount = 0
        public var commandCount = 0
        public var byteCount = 0
    }

    /// The commands that rebuild `keyspace` from empty, database by database, as
    /// `(db, arguments)`: SET, RPUSH, SADD, HSET or ZADD per key, then PEXPIREAT for a TTL.
    public static func commands(of keyspace: Keyspace, _ body: (Int, [[UInt8]]) throws -> Void) rethrows {
        let reader = StateReader(keyspace: keyspace)
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            for key in reader.keys(db: db) {
                guard let stored = reader.read(key, db: db) else { continue }
                for arguments in rebuildCommands(stored) { try body(db, arguments) }
            }
        }
    }

    static func rebuildCommands(_ stored: StoredKey) -> [[[UInt8]]] {
        let key = stored.key
        var commands: [[[UInt8]]] = []
        switch stored.value {
        case .string(let bytes):
            commands.append([Array("SET".utf8), key, bytes])
        case .list(let items):
            commands.append([Array("RPUSH".utf8), key] + items)
        case .set(let members):
            commands.append([Array("SADD".utf8), key] + members)
        case .hash(let pairs):
            commands.append([Array("HSET".utf8), key] + pairs.flatMap { [$0.0, $0.1] })
        case .sortedSet(let pairs):
            commands.append([Array("ZADD".utf8), key] + pairs.flatMap { [Array(StateDigest.formatG17($0.1).utf8), $0.0] })
        }
        if let when = stored.expiresAtMilliseconds {
            commands.append([Array("PEXPIREAT".utf8), key, Array(String(when).utf8)])
        }
        return commands
    }

    /// Writes the state as a single-file Redis AOF (RESP commands with SELECT), atomically:
    /// a temporary file, fsync, rename.
    public static func writeAOF(of keyspace: Keyspace, to path: String) throws -> Summary {
        var buffer: [UInt8] = []
        var summary = Summary()
        var selected = -1
        var lastKey: [UInt8]?
        commands(of: keyspace) { db, arguments in
            if db != selected {
                RESPEncoder.encodeCommand([Array("SELECT".utf8), Array(String(db).utf8)], into: &buffer)
                selected = db
            }
            RESPEncoder.encodeCommand(arguments, into: &buffer)
            summary.commandCount += 1
            if lastKey != arguments[1] { summary.keyCount += 1; lastKey = arguments[1] }
        }
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(buffer)) else {
            throw ReplayError(.writeFailed, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        if rename(temporary, path) != 0 {
            throw ReplayError(.writeFailed, "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
        summary.byteCount = buffer.count
        return summary
    }

    /// Writes the state as a new Rewind log in `directory` (which must not hold a log yet), every
    /// entry stamped with `timestampMilliseconds` (the time of the last entry replayed).
    public static func writeLog(of keyspace: Keyspace, to directory: String, timestampMilliseconds: Int64) throws -> Summary {
        if FileManager.default.fileExists(atPath: directory + "/MANIFEST") {
            throw ReplayError(.writeFailed, "\(directory) already holds a log; pass --to-log a new directory")
        }
        let writer = try LogWriter.open(directory: directory, options: LogWriter.Options(durability: .no))
        var summary = Summary()
        var lastKey: [UInt8]?
        var batch: [LogEntry] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            _ = try writer.append(contentsOf: batch)
            batch.removeAll(keepingCapacity: true)
        }
        try commands(of: keyspace) { db, arguments in
            batch.append(LogEntry(sequence: 0, timestampMilliseconds: timestampMilliseconds, db: UInt32(db), kind: .command, arguments: arguments))
            summary.commandCount += 1
            summary.byteCount += arguments.reduce(0) { $0 + $1.count }
            if lastKey != arguments[1] { summary.keyCount += 1; lastKey = arguments[1] }
            if batch.count >= 256 { try flush() }
        }
        try flush()
        try writer.sync()
        try writer.close()
        return summary
    }
}

/// Parsing the times `--until-time` takes.
public enum ReplayTime {
    /// Unix milliseconds from `2026-11-26T10:15:03.120Z`, `2026-11-26T10:15:03Z`,
    /// `2026-11-26T10:15:03+01:00`, `2026-11-26` (midnight UTC), or plain milliseconds.
    public static func parseMilliseconds(_ text: String) throws -> Int64 {
        if let milliseconds = Int64(text) { return milliseconds }
        let bad = ReplayError(.badTime, "cannot read '\(text)' as a time; pass ISO 8601 such as 2026-11-26T10:15:03.120Z, or Unix milliseconds")
        let characters = Array(text)
        func number(_ range: Range<Int>) throws -> Int64 {
            guard range.upperBound <= characters.count, let value = Int64(String(characters[range])),
                  characters[range].allSatisfy(\.isNumber) else { throw bad }
            return value
        }
        guard characters.count >= 10, characters[4] == "-", characters[7] == "-" else { throw bad }
        let year = try number(0..<4), month = try number(5..<7), day = try number(8..<10)
        guard (1...12).contains(month), (1...31).contains(day) else { throw bad }
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, millisecond: Int64 = 0, offsetMinutes: Int64 = 0
        var index = 10
        if index < characters.count {
            guard characters[index] == "T" || characters[index] == " ", characters.count >= 16, characters[13] == ":" else { throw bad }
            hour = try number(11..<13)
            minute = try number(14..<16)
            index = 16
            if index < characters.count, characters[index] == ":" {
                second = try number(17..<19)
                index = 19
                if index < characters.count, characters[index] == "." {
                    var end = index + 1
                    while end < characters.count, characters[end].isNumber { end += 1 }
                    let digits = String(characters[(index + 1)..<end])
                    guard !digits.isEmpty else { throw bad }
                    millisecond = Int64(String((digits + "00").prefix(3)))!
                    index = end
                }
            }
            if index < characters.count {
                switch characters[index] {
                case "Z" where index == characters.count - 1: break
                case "+", "-":
                    guard characters.count == index + 6, characters[index + 3] == ":" else { throw bad }
                    let sign: Int64 = characters[index] == "+" ? 1 : -1
                    offsetMinutes = sign * (try number((index + 1)..<(index + 3)) * 60 + number((index + 4)..<(index + 6)))
                default: throw bad
                }
            }
            guard hour < 24, minute < 60, second < 61 else { throw bad }
        }
        // Howard Hinnant's days-from-civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offsetMinutes * 60) * 1000 + millisecond
    }
}
