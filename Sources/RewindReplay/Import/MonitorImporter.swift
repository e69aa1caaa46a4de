import Foundation
import RewindLog
import RewindRESP

/// Imports a capture of `redis-cli monitor` into a new Rewind log, keeping write commands only.
///
/// Each line looks like `1700000000.123456 [0 127.0.0.1:50000] "SET" "k" "v"`: a timestamp in
/// seconds with microseconds (kept to the millisecond), the database and the client (`lua` for
/// commands run by scripts, `unix:/path` for unix-socket clients), then the arguments quoted as
/// redis-cli quotes them, read back with `sdssplitargs` rules. A first line `OK` (redis-cli's reply
/// to MONITOR) and empty lines are skipped.
///
/// What is kept: commands whose name is in ``writeCommands`` (Redis 7.0's write commands), with
/// their timestamp and database. A client's `MULTI` … `EXEC` becomes one transaction (its writes,
/// if any); `DISCARD` drops it. Scripts (`EVAL`, `EVALSHA`, `FCALL`, …) are not kept, because
/// MONITOR shows the writes they make as `lua` lines, which are kept; the writes of one script
/// call become one transaction, as Redis propagates them.
///
/// MONITOR shows commands as clients sent them, not as Redis propagates them. Relative expiries
/// are rewritten to absolute times from the line's timestamp (``deterministic(_:at:)``), but
/// random choices (`SPOP`, `SRANDMEMBER`-based scripts), blocking pops and commands that failed
/// (MONITOR shows a WRONGTYPE failure like a success) are imported as sent, so replaying such a
/// capture need not give the original state. An AOF has none of these gaps; prefer it when you can.
public enum MonitorImporter {
    public struct Options: Sendable {
        public var writerOptions: LogWriter.Options
        public init(writerOptions: LogWriter.Options = LogWriter.Options(durability: .no)) {
            self.writerOptions = writerOptions
        }
    }

    /// One parsed MONITOR line.
    public struct Line: Hashable, Sendable {
        public var timestampMilliseconds: Int64
        public var db: UInt32
        /// `127.0.0.1:50000`, `lua`, `unix:/path`.
        public var client: String
        public var arguments: [[UInt8]]
    }

    /// Parses one MONITOR line; nil for lines that carry no command (`OK`, empty lines).
    ///
    /// - Throws: ``ImportError`` naming `file`, `lineNumber` and what was expected.
    public static func parse(_ line: [UInt8], file: String, lineNumber: Int) throws -> Line? {
        var line = line[...]
        if line.last == 13 { line = line.dropLast() }
        if line.isEmpty || line.elementsEqual("OK".utf8) { return nil }
        func bad(_ message: String) -> ImportError { ImportError(.malformed, file: file, line: lineNumber, message) }
        guard let space = line.firstIndex(of: 32) else { throw bad("expected a timestamp such as 1700000000.123456, a space and '['") }
        let stamp = line[line.startIndex..<space]
        guard let dot = stamp.firstIndex(of: 46), dot > stamp.startIndex,
            stamp[..<dot].allSatisfy({ $0 >= 48 && $0 <= 57 }), stamp[(dot + 1)...].allSatisfy({ $0 >= 48 && $0 <= 57 }),
            stamp.distance(from: dot, to: stamp.endIndex) == 7,
            let seconds = Int64(String(decoding: stamp[..<dot], as: UTF8.self)), seconds <= Int64.max / 1000,
            let micros = Int64(String(decoding: stamp[(dot + 1)...], as: UTF8.self))
        else { throw bad("expected a timestamp such as 1700000000.123456 (seconds, '.', six digits)") }
        var rest = line[(space + 1)...]
        guard rest.first == UInt8(ascii: "[") else { throw bad("expected '[' and the database after the timestamp") }
        rest = rest.dropFirst()
        guard let dbEnd = rest.firstIndex(of: 32), let db = UInt32(String(decoding: rest[..<dbEnd], as: UTF8.self)) else {
            throw bad("expected the database index after '['")
        }
        rest = rest[(dbEnd + 1)...]
        // The client ends at the first "] "; a unix socket path with "] " in it is not supported.
        var clientEnd: ArraySlice<UInt8>.Index?
        var index = rest.startIndex
        while index < rest.endIndex {
            if rest[index] == UInt8(ascii: "]") && (index + 1 == rest.endIndex || rest[index + 1] == 32) { clientEnd = index; break }
            index += 1
        }
        guard let clientEnd else { throw bad("expected ']' after the client address") }
        let client = String(decoding: rest[..<clientEnd], as: UTF8.self)
        let argumentBytes = Array(rest[min(clientEnd + 1, rest.endIndex)...])
        let arguments: [[UInt8]]
        do {
            arguments = try ByteQuoting.splitArguments(argumentBytes)
        } catch let error as RESPParseError {
            throw bad("unbalanced quotes in the arguments at column \(error.byteOffset + 1 + (clientEnd + 1 - line.startIndex))")
        }
        guard !arguments.isEmpty else { throw bad("expected a command after ']'") }
        return Line(timestampMilliseconds: seconds * 1000 + micros / 1000, db: db, client: client, arguments: arguments)
    }

    /// Imports the MONITOR capture at `source` into a new log at `log`.
    ///
    /// - Throws: ``ImportError`` naming the line; `LogError` when the log cannot be written or
    ///   already exists. Nothing is left at `log` then.
    public static func importMonitor(
        from source: String, to log: String, options: Options = Options(),
        progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportSummary {
        let clock = Stopwatch()
        let name = (source as NSString).lastPathComponent
        guard let size = (try? FileManager.default.attributesOfItem(atPath: source))?[.size] as? Int else {
            throw ImportError(.fileSystem, file: source, "no such file")
        }
        var reader = try LineReader(path: source, displayName: name)
        let destination = try ImportDestination(path: log, writerOptions: options.writerOptions)
        do {
            destination.setSource(files: [name], byteCount: size)
            var skipped = 0
            /// MULTI blocks by client: their write commands, in order.
            var transactions: [String: [LogEntry]] = [:]
            /// The writes of the script call being shown (consecutive `lua` lines).
            var script: [LogEntry] = []
            func flushScript() throws {
                defer { script = [] }
                if script.count == 1 { try destination.append(script[0]) }
                if script.count > 1 {
                    destination.beginTransaction()
                    for entry in script { try destination.append(entry) }
                    try destination.endTransaction()
                }
            }
            var lineNumber = 0
            while let text = try reader.nextLine() {
                lineNumber += 1
                guard let line = try parse(text, file: name, lineNumber: lineNumber) else { continue }
                if line.client != "lua" { try flushScript() }
                let command = String(decoding: line.arguments[0], as: UTF8.self).lowercased()
                let logged = deterministic(line.arguments, at: line.timestampMilliseconds)
                let entry = LogEntry(timestampMilliseconds: line.timestampMilliseconds, db: line.db, arguments: logged ?? [])
                switch command {
                case "multi":
                    transactions[line.client] = []
                case "exec":
                    if let entries = transactions.removeValue(forKey: line.client), !entries.isEmpty {
                        destination.beginTransaction()
                        for entry in entries { try destination.append(entry) }
                        try destination.endTransaction()
                    }
                case "discard":
                    transactions[line.client] = nil
                default:
                    guard writeCommands.contains(command), logged != nil else {
                        skipped += 1
                        continue
                    }
                    if line.client == "lua" {
                        script.append(entry)
                    } else if transactions[line.client] != nil {
                        transactions[line.client]!.append(entry)
                    } else {
                        try destination.append(entry)
                    }
                }
                if lineNumber % 10_000 == 0 {
                    progress?(ImportProgress(sourceBytesRead: reader.byteOffset, sourceByteCount: size, entryCount: destination.summary.entryCount))
                }
            }
            try flushScript()
            destination.setSkipped(skipped)
            var summary = try destination.commit()
            summary.seconds = clock.seconds
            return summary
        } catch {
            destination.abandon()
            throw error
        }
    }

    /// Redis 7.0's commands that change the data set (those `COMMAND INFO` flags `write`, less
    /// the scripting commands whose effects MONITOR shows as `lua` lines), lowercase.
    ///
    /// The log itself never interprets commands; this list exists only to filter a MONITOR
    /// capture, which shows reads as well as writes.
    public static let writeCommands: Set<String> = [
        "append", "bitfield", "bitop", "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop", "bzpopmax",
        "bzpopmin", "copy", "decr", "decrby", "del", "expire", "expireat", "flushall", "flushdb", "geoadd",
        "georadius", "georadiusbymember", "geosearchstore", "getdel", "getex", "getset", "hdel", "hincrby",
        "hincrbyfloat", "hmset", "hset", "hsetnx", "incr", "incrby", "incrbyfloat", "linsert", "lmove", "lmpop",
        "lpop", "lpush", "lpushx", "lrem", "lset", "ltrim", "migrate", "move", "mset", "msetnx", "persist",
        "pexpire", "pexpireat", "pfadd", "pfcount", "pfdebug", "pfmerge", "psetex", "rename", "renamenx",
        "restore", "restore-asking", "rpop", "rpoplpush", "rpush", "rpushx", "sadd", "sdiffstore", "set",
        "setbit", "setex", "setnx", "setrange", "sinterstore", "smove", "sort", "spop", "srem", "sunionstore",
        "swapdb", "unlink", "xack", "xadd", "xautoclaim", "xclaim", "xdel", "xgroup", "xreadgroup", "xsetid",
        "xtrim", "zadd", "zdiffstore", "zincrby", "zinterstore", "zmpop", "zpopmax", "zpopmin", "zrangestore",
        "zrem", "zremrangebylex", "zremrangebyrank", "zremrangebyscore", "zunionstore",
    ]
}
