// `--against HOST:PORT`: replay the log into the engine and into a reference server side by side;
// the first entry whose reply or resulting state (DEBUG DIGEST) differs is the answer.

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

/// Replays a log into the engine and a reference Redis-compatible server and finds where they
/// part ways: every reply is compared (pipelined, a batch of units at a time), and DEBUG DIGEST
/// every ``digestEveryEntryCount`` entries and at the end. When a digest differs while every reply
/// agreed, both sides are reset to the last point whose digests matched and the window is
/// replayed one unit at a time with a digest after each.
///
/// The reference runs at its own wall clock, so absolute expiry times (PEXPIREAT, EXPIREAT,
/// SET/GETEX PXAT/EXAT) are shifted by the time between the log's first entry and now, keeping
/// every key alive as long after its write as it was in the log (DEBUG DIGEST marks that a key
/// has a TTL, not its value, so digests still compare); active expiry is switched off with
/// `DEBUG SET-ACTIVE-EXPIRE 0` for the run. The reference must start empty: it receives the log.
public final class ReferenceComparison {
    public let host: String
    public let port: Int
    public let digestEveryEntryCount: Int
    /// Units sent per pipelined batch.
    static let batchUnitCount = 256

    public init(host: String, port: Int, digestEveryEntryCount: Int) {
        self.host = host
        self.port = port
        self.digestEveryEntryCount = max(1, digestEveryEntryCount)
    }

    private var connection: RESPConnection!
    private var keyspace = Keyspace(randomSeed: 0)
    private var serverDb = 0
    private var offsetMilliseconds: Int64 = 0
    private var result = BisectResult(lastGood: 0)
    private var previousEnd: UInt64 = 0
    private var lastMatch: (sequence: UInt64, commands: [(db: Int, arguments: [[UInt8]])], timestamp: Int64) = (0, [], 0)
    private var lastTimestamp: Int64 = 0

    private struct Found: Error {}

    public func run(log: String, options: BisectOptions, progress: ((String) -> Void)? = nil) throws -> BisectResult {
        let start = DispatchTime.now().uptimeNanoseconds
        connection = try RESPConnection(host: host, port: port)
        result = BisectResult(lastGood: 0)
        result.method = "side by side"
        let initial = try connection.call(["DEBUG", "DIGEST"])
        guard let digest = Self.text(initial) else {
            throw BisectError(.checkFailed, "the reference server \(connection.name) refused DEBUG DIGEST (\(ReplyNotation.format(initial))); start it with --enable-debug-command yes (or local)")
        }
        guard digest == String(repeating: "0", count: 40) else {
            throw BisectError(.checkFailed, "the reference server \(connection.name) holds data (DEBUG DIGEST \(digest)); --against writes the log into it, so give it an empty server")
        }
        _ = try connection.call(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
        defer { _ = try? connection.call(["DEBUG", "SET-ACTIVE-EXPIRE", "1"]) }
        result.steps.append(BisectStep(sequence: 0, verdict: .good, replayed: false))
        var batch: [LogUnit] = []
        var sinceDigest = 0
        var lastSequence: UInt64 = 0
        var firstTimestamp: Int64?
        do {
            try LogUnits.forEach(log: log, recovery: options.recovery) { unit in
                if let firstBad = options.firstBad, unit.endSequence > firstBad { return false }
                lastSequence = unit.endSequence
                if unit.entries[0].kind == .checkpoint { return true }
                if firstTimestamp == nil {
                    let first = unit.entries[0].place.timestampMilliseconds
                    firstTimestamp = first
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    offsetMilliseconds = now > first ? now - first : 0
                }
                batch.append(unit)
                sinceDigest += unit.commands.count
                if batch.count >= Self.batchUnitCount || sinceDigest >= digestEveryEntryCount {
                    try send(batch)
                    batch.removeAll()
                }
                if sinceDigest >= digestEveryEntryCount {
                    sinceDigest = 0
                    try compareDigests(at: unit.endSequence, log: log, options: options)
                    progress?("bisect --against: #\(unit.endSequence), digests equal")
                }
                return true
            }
            try send(batch)
            try compareDigests(at: previousEnd, log: log, options: options)
        } catch is Found {
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            result.logLastSequence = lastSequence
            return result
        }
        result.logLastSequence = lastSequence
        throw BisectError(.goodAtEnd, "no divergence: every reply and the final DEBUG DIGEST of \(connection.name) equal rewind's, up to #\(previousEnd)")
    }

    /// Whether `units`, written on their own into the emptied reference server and into a fresh
    /// engine, make them part ways: a reply that differs, or different DEBUG DIGESTs at the end.
    /// This is the check `--shrink` minimizes with `--against`. The reference server's data is
    /// replaced (FLUSHALL) at every call, so give it a server of its own.
    public func reproduces(_ units: [LogUnit]) throws -> Bool {
        if connection == nil {
            connection = try RESPConnection(host: host, port: port)
            _ = try connection.call(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
        }
        _ = try connection.call(["SELECT", "0"])
        _ = try connection.call(["FLUSHALL"])
        serverDb = 0
        keyspace = Keyspace(randomSeed: 0)
        previousEnd = 0
        if let first = units.first?.entries.first?.place.timestampMilliseconds {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            offsetMilliseconds = now > first ? now - first : 0
        }
        do {
            try send(units.filter { $0.entries.first?.kind != .checkpoint })
        } catch is Found {
            return true
        }
        let (ours, theirs) = try digests()
        return ours != theirs
    }

    /// Turns the reference server's active expiry back on after ``reproduces(_:)`` calls.
    public func finish() {
        guard connection != nil else { return }
        _ = try? connection.call(["DEBUG", "SET-ACTIVE-EXPIRE", "1"])
    }

    static func text(_ reply: RESPValue) -> String? {
        switch reply {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// Sends the units pipelined, applies them to the engine, and compares every reply.
    private func send(_ units: [LogUnit]) throws {
        guard !units.isEmpty else { return }
        var db = serverDb
        for unit in units {
            let commands = unit.commands
            guard let first = commands.first else { continue }
            if first.place.db != db {
                connection.queue([Array("SELECT".utf8), Array(String(first.place.db).utf8)])
                db = first.place.db
            }
            if unit.isTransaction { connection.queue([Array("MULTI".utf8)]) }
            for command in commands { connection.queue(Self.shifted(command.arguments, by: offsetMilliseconds)) }
            if unit.isTransaction { connection.queue([Array("EXEC".utf8)]) }
        }
        try connection.flush()
        for unit in units {
            let commands = unit.commands
            guard let first = commands.first else { continue }
            if first.place.db != serverDb {
                _ = try connection.reply()
                serverDb = first.place.db
            }
            var theirs: [RESPValue] = []
            if unit.isTransaction {
                _ = try connection.reply()
                for _ in commands { _ = try connection.reply() }
                let exec = try connection.reply()
                if case .array(let replies) = exec { theirs = replies } else { theirs = Array(repeating: exec, count: commands.count) }
            } else {
                theirs = [try connection.reply()]
            }
            var ours: [RESPValue] = []
            for command in commands {
                ours.append(keyspace.apply(LoggedCommand(db: command.place.db, arguments: command.arguments),
                                           nowMilliseconds: command.place.timestampMilliseconds))
            }
            lastTimestamp = unit.entries.last!.place.timestampMilliseconds
            for (index, command) in commands.enumerated() {
                let mine = ReplyNotation.resp2(ours[index])
                let other = index < theirs.count ? ReplyNotation.resp2(theirs[index]) : .null
                if mine != other {
                    result.firstBad = unit.endSequence
                    result.lastGood = previousEnd
                    result.decisive = unit
                    result.before = CheckAnswer(verdict: .good, lines: ["every reply equal"])
                    result.after = CheckAnswer(verdict: .bad, lines: [
                        "#\(command.place.sequence) \(ReplayRun.text(command.arguments)): rewind replied \(ReplyNotation.format(mine).replacingOccurrences(of: "\n", with: " ")), \(connection.name) replied \(ReplyNotation.format(other).replacingOccurrences(of: "\n", with: " "))",
                    ])
                    result.steps.append(BisectStep(sequence: unit.endSequence, verdict: .bad, replayed: false))
                    throw Found()
                }
            }
            previousEnd = unit.endSequence
        }
    }

    private func digests() throws -> (ours: String, theirs: String) {
        let ours = StateDigest.digest(of: keyspace)
        let reply = try connection.call(["DEBUG", "DIGEST"])
        return (ours, Self.text(reply) ?? ReplyNotation.format(reply))
    }

    private func compareDigests(at sequence: UInt64, log: String, options: BisectOptions) throws {
        result.checkRunCount += 1
        let (ours, theirs) = try digests()
        if ours == theirs {
            var commands: [(db: Int, arguments: [[UInt8]])] = []
            StateDump.commands(of: keyspace) { db, arguments in commands.append((db, arguments)) }
            lastMatch = (previousEnd, commands, lastTimestamp)
            result.steps.append(BisectStep(sequence: previousEnd, verdict: .good, replayed: false))
            return
        }
        result.steps.append(BisectStep(sequence: previousEnd, verdict: .bad, replayed: false))
        try localize(upTo: previousEnd, log: log, options: options)
    }

    /// Both sides back to the last matching point, then one unit at a time with digests.
    private func localize(upTo end: UInt64, log: String, options: BisectOptions) throws {
        keyspace = Keyspace(randomSeed: 0)
        _ = try connection.call(["FLUSHALL"])
        _ = try connection.call(["SELECT", "0"])
        serverDb = 0
        var queued = 0
        for (db, arguments) in lastMatch.commands {
            keyspace.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: lastMatch.timestamp)
            if db != serverDb {
                connection.queue([Array("SELECT".utf8), Array(String(db).utf8)])
                serverDb = db
                queued += 1
            }
            connection.queue(Self.shifted(arguments, by: offsetMilliseconds))
            queued += 1
        }
        try connection.flush()
        for _ in 0..<queued { _ = try connection.reply() }
        previousEnd = lastMatch.sequence
        let units = try LogUnits.units(log: log, in: (lastMatch.sequence + 1)...max(end, lastMatch.sequence + 1), recovery: options.recovery)
        for unit in units where unit.entries[0].kind != .checkpoint {
            let before = previousEnd
            try send([unit])
            result.checkRunCount += 1
            let (ours, theirs) = try digests()
            if ours != theirs {
                result.firstBad = unit.endSequence
                result.lastGood = before
                result.decisive = unit
                result.before = CheckAnswer(verdict: .good, lines: ["replies and DEBUG DIGEST equal"])
                result.after = CheckAnswer(verdict: .bad, lines: ["every reply equal, but DEBUG DIGEST: rewind \(ours), \(connection.name) \(theirs)"])
                throw Found()
            }
        }
        throw BisectError(.checkFailed, "the digests differed at #\(end) but not when the entries from #\(lastMatch.sequence + 1) were replayed again one at a time; the reference server is not deterministic, or something else writes to it")
    }

    /// The command with absolute expiry times moved by `offset` milliseconds.
    static func shifted(_ arguments: [[UInt8]], by offset: Int64) -> [[UInt8]] {
        guard offset != 0, let name = arguments.first else { return arguments }
        var result = arguments
        func shift(_ index: Int, milliseconds: Bool) {
            guard index < result.count, let value = Int64(String(decoding: result[index], as: UTF8.self)) else { return }
            let (moved, overflow) = value.addingReportingOverflow(milliseconds ? offset : offset / 1000 + 1)
            if !overflow { result[index] = Array(String(moved).utf8) }
        }
        switch String(decoding: name, as: UTF8.self).uppercased() {
        case "PEXPIREAT": shift(2, milliseconds: true)
        case "EXPIREAT": shift(2, milliseconds: false)
        case "SET", "GETEX":
            var index = 2
            while index < result.count {
                let option = String(decoding: result[index], as: UTF8.self).uppercased()
                if option == "PXAT" { shift(index + 1, milliseconds: true) }
                if option == "EXAT" { shift(index + 1, milliseconds: false) }
                index += 1
            }
        default: break
        }
        return result
    }
}
