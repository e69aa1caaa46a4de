// `rewind replay --check`: the first entry whose logged reply hash differs from the hash of the
// engine's reply now, as a report in DESIGN §7's form (the key's history, the entry last).

import RewindEngine
import RewindLog
import RewindRESP

/// The first entry the engine answers differently from what the client got when it was logged.
public struct ReplyMismatch: Sendable {
    public var place: EntryPlace
    /// The entry's arguments, the command name first.
    public var arguments: [[UInt8]]
    /// The command as `rewind inspect` quotes it.
    public var command: String
    /// The hash logged with the entry (``ReplyHash``: XXH64 of the RESP2 reply).
    public var loggedHash: UInt64
    /// The hash of the engine's reply during this replay.
    public var replayedHash: UInt64
    /// The engine's reply during this replay.
    public var replayedReply: RESPValue
    /// The history of the command's first key up to and including the entry, oldest first, from
    /// ``withHistory(log:recovery:)``; empty until then or for a keyless command.
    public var history: BlameResult?

    /// How many history entries the report shows (the latest ones).
    public static let historyLineCountMax = 10

    public init(place: EntryPlace, arguments: [[UInt8]], command: String, loggedHash: UInt64, replayedHash: UInt64,
                replayedReply: RESPValue) {
        self.place = place
        self.arguments = arguments
        self.command = command
        self.loggedHash = loggedHash
        self.replayedHash = replayedHash
        self.replayedReply = replayedReply
    }

    /// The entry's first key, when the command table names one.
    public var key: [UInt8]? {
        guard let index = Keyspace.keyIndexes(of: arguments)?.first, index < arguments.count else { return nil }
        return arguments[index]
    }

    /// This mismatch with the history of its first key up to the entry, from a second replay of
    /// `log` (``Blame``) up to the entry. Costs a replay up to the entry.
    public func withHistory(log: String, recovery: RecoveryMode = .tolerateTail) throws -> ReplyMismatch {
        guard let key else { return self }
        var result = self
        result.history = try Blame.run(log: log, key: key, db: place.db, untilSequence: place.sequence, recovery: recovery)
        return result
    }

    /// The report: the key's history oldest first, the entry whose reply differs last, then the
    /// two hashes and the reply the engine gives now.
    public func report() -> Report {
        var lines: [Report.Line] = []
        var headline = "Reply differs at entry \(place)"
        var footer: [String] = []
        var shownHistory: [BlameResult.Entry] = []
        if let history, let key {
            var entries = history.entries
            // Blame stops before a transaction a stopping point falls inside: then the entry and
            // the value after it are not in the history.
            let afterKnown = entries.last?.place.sequence == place.sequence
            if !afterKnown {
                entries.append(.init(place: place, command: command, valueAfter: history.finalValue, error: nil))
            }
            shownHistory = Array(entries.suffix(Self.historyLineCountMax))
            let hidden = entries.count - shownHistory.count
            headline += "\nHistory of \(ByteQuoting.quoted(key)) in db \(place.db), oldest first"
                + (hidden > 0 ? " (\(counted(hidden, "earlier entry", "earlier entries")) not shown):" : ":")
            let before = afterKnown ? (entries.count >= 2 ? entries[entries.count - 2].valueAfter : nil) : history.finalValue
            footer.append("Value of \(ByteQuoting.quoted(key)):")
            footer.append("  before #\(place.sequence): " + BlameResult.render(before, full: false)
                          + (afterKnown ? "" : " (before its transaction)"))
            if afterKnown { footer.append("  after  #\(place.sequence): " + BlameResult.render(history.finalValue, full: false)) }
        }
        for entry in shownHistory.dropLast() {
            lines.append(Report.Line(place: entry.place, command: entry.command, details: ["= " + BlameResult.render(entry.valueAfter, full: false)]))
        }
        lines.append(Report.Line(place: place, command: command, details: ["reply now: " + Self.render(replayedReply)],
                                 marker: "reply differs here"))
        footer.append("Check: XXH64 of the RESP2 reply to #\(place.sequence) == the reply hash logged with it")
        footer.append("  logged:   \(Self.hex(loggedHash))")
        footer.append("  replayed: \(Self.hex(replayedHash))")
        return Report(kind: "check", headline: headline, lines: lines, footer: footer, fields: [
            ("reply_mismatch_seq", .integer(Int64(place.sequence))),
            ("logged_reply_hash", .string(Self.hex(loggedHash))),
            ("replayed_reply_hash", .string(Self.hex(replayedHash))),
            ("replayed_reply", .string(Self.render(replayedReply))),
            ("key", key.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null),
        ])
    }

    /// 16 lowercase hex digits, as `rewind inspect` prints a reply hash.
    public static func hex(_ hash: UInt64) -> String {
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A reply in one short line: `OK`, `(integer) 2`, `"v"`, `(nil)`, `1) "a" 2) "b"`, `(error) ERR …`.
    static func render(_ reply: RESPValue) -> String {
        switch reply {
        case .simpleString(let text): return text
        case .error(let text): return "(error) " + text
        case .integer(let number): return "(integer) \(number)"
        case .bulkString(let bytes): return bytes.withUnsafeBytes { EntryFormatting.quoted($0, full: false) }
        case .null, .nullArray: return "(nil)"
        case .array(let items), .set(let items), .push(let items):
            if items.isEmpty { return "(empty array)" }
            let shown = items.prefix(8).enumerated().map { "\($0.offset + 1)) " + render($0.element) }.joined(separator: " ")
            return items.count > 8 ? shown + " … (+\(items.count - 8) more)" : shown
        case .map(let pairs):
            return render(.array(pairs.flatMap { [$0.key, $0.value] }))
        case .double(let value): return "(double) \(value)"
        case .boolean(let value): return value ? "(true)" : "(false)"
        case .bigNumber(let text): return "(big number) " + text
        case .verbatimString(_, let text): return text.withUnsafeBytes { EntryFormatting.quoted($0, full: false) }
        }
    }
}
