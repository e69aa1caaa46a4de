// `rewind blame`: the entries that made a key what it is, oldest first (DESIGN §6, §7).

import RewindEngine
import RewindLog
import RewindRESP

/// The history of one key: every entry that touched it, with its value after each.
///
/// An entry touches the key when the command table names it among the command's keys in the
/// key's database (RENAME, SMOVE, *STORE, MSET and COPY included), when MOVE or COPY ... DB
/// brings it into the database, or when a keyless command (FLUSHALL, FLUSHDB, SWAPDB) changed
/// its value. The whole log up to the stopping point is replayed, so each value is exact.
public struct BlameResult: Sendable {
    public struct Entry: Sendable {
        public var place: EntryPlace
        /// The command as `rewind inspect` quotes it (long arguments shortened unless `full`).
        public var command: String
        /// The key after the entry; nil when it no longer exists.
        public var valueAfter: StoredKey?
        /// The engine's error reply, when it refused the command.
        public var error: String?
    }

    public var key: [UInt8]
    public var db: Int
    public var entries: [Entry]
    /// Entries read from the log.
    public var readEntryCount: Int
    /// The last entry replayed.
    public var lastSequence: UInt64
    /// The key's value at the stopping point.
    public var finalValue: StoredKey?
}

public enum Blame {
    /// Replays `log` up to `untilSequence` (or its end) and collects the history of `key` in `db`.
    ///
    /// - Throws: ``ReplayError`` for a stopping point beyond the end or a bad database;
    ///   `LogError` for damage the recovery mode refuses.
    public static func run(log: String, key: [UInt8], db: Int = 0, untilSequence: UInt64? = nil, full: Bool = false,
                           recovery: RecoveryMode = .tolerateTail) throws -> BlameResult {
        let keyspace = Keyspace(randomSeed: 0)
        guard (0..<keyspace.databaseCount).contains(db) else {
            throw ReplayError(.badDatabase, "--db \(db) is out of range; pass a database from 0 to \(keyspace.databaseCount - 1)")
        }
        let reader = StateReader(keyspace: keyspace)
        var entries: [BlameResult.Entry] = []
        var lastValue: StoredKey?
        let options = ReplayOptions(untilSequence: untilSequence, recovery: recovery)
        let summary = try Replayer(log: log).replay(into: keyspace, options: options, observer: { applied in
            let touched = touches(applied.command, key: key, db: db)
            guard touched != .no else { return }
            let value = reader.read(key, db: db)
            if touched == .ifChanged && value == lastValue { return }
            var error: String?
            if case .error(let message) = applied.reply { error = message }
            entries.append(.init(place: applied.place, command: ReplayRun.text(applied.command.arguments, full: full),
                                 valueAfter: value, error: error))
            lastValue = value
        })
        return BlameResult(key: key, db: db, entries: entries, readEntryCount: summary.readEntryCount,
                           lastSequence: summary.lastSequence, finalValue: reader.read(key, db: db))
    }

    enum Touch { case no, yes, ifChanged }

    static func touches(_ command: LoggedCommand, key: [UInt8], db: Int) -> Touch {
        let arguments = command.arguments
        guard let indexes = Keyspace.keyIndexes(of: arguments) else { return .no }
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        if indexes.isEmpty {
            // FLUSHALL, FLUSHDB, SWAPDB: touch every key; listed when the value changed.
            return name == "FLUSHALL" || command.db == db || name == "SWAPDB" ? .ifChanged : .no
        }
        switch name {
        case "MOVE" where arguments.count >= 3:
            if arguments[1] == key && (command.db == db || Int(String(decoding: arguments[2], as: UTF8.self)) == db) { return .yes }
            return .no
        case "COPY":
            var destinationDb = command.db
            var index = 3
            while index + 1 < arguments.count {
                if String(decoding: arguments[index], as: UTF8.self).uppercased() == "DB" {
                    destinationDb = Int(String(decoding: arguments[index + 1], as: UTF8.self)) ?? command.db
                }
                index += 1
            }
            if command.db == db && arguments[1] == key { return .yes }
            if destinationDb == db && arguments.count > 2 && arguments[2] == key { return .yes }
            return .no
        default:
            guard command.db == db else { return .no }
            return indexes.contains { arguments[$0] == key } ? .yes : .no
        }
    }
}

extension BlameResult {
    /// The history as a report: oldest first, the last change last and marked.
    public func report(full: Bool = false) -> Report {
        let name = ByteQuoting.quoted(key)
        let lines = entries.enumerated().map { index, entry -> Report.Line in
            var details = ["= " + Self.render(entry.valueAfter, full: full)]
            if let error = entry.error { details.append("! refused: \(error)") }
            return Report.Line(place: entry.place, command: entry.command, details: details,
                               marker: index == entries.count - 1 ? "last change" : nil)
        }
        let headline: String
        var footer: [String] = []
        if entries.isEmpty {
            headline = "No entry up to #\(lastSequence) touched \(name) in db \(db) (\(counted(readEntryCount, "entry")) read)."
        } else {
            headline = "History of \(name) in db \(db), oldest first (\(counted(entries.count, "entry")) of \(readEntryCount) read, up to #\(lastSequence)):"
            footer.append("Value at #\(lastSequence): " + Self.render(finalValue, full: full))
        }
        return Report(kind: "blame", headline: headline, lines: lines, footer: footer, fields: [
            ("key", .string(String(decoding: key, as: UTF8.self))),
            ("db", .integer(Int64(db))),
            ("last_seq", .integer(Int64(lastSequence))),
            ("read_entries", .integer(Int64(readEntryCount))),
            ("value", finalValue.map { .string(Self.render($0, full: true)) } ?? .null),
        ])
    }

    /// `"alice"`, `list ["a", "b"]`, `hash {"name": "alice"}`, `(nil)`, with ` (expires …)`.
    public static func render(_ stored: StoredKey?, full: Bool) -> String {
        guard let stored else { return "(nil)" }
        let itemLimit = full ? Int.max : 8
        func quote(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { EntryFormatting.quoted($0, full: full) } }
        func items(_ texts: [String]) -> String {
            let shown = texts.prefix(itemLimit).joined(separator: ", ")
            return texts.count > itemLimit ? shown + ", … (+\(texts.count - itemLimit) more)" : shown
        }
        var text: String
        switch stored.value {
        case .string(let bytes): text = quote(bytes)
        case .list(let elements): text = "list [" + items(elements.map(quote)) + "]"
        case .set(let members): text = "set {" + items(members.map(quote)) + "}"
        case .hash(let pairs): text = "hash {" + items(pairs.map { quote($0.0) + ": " + quote($0.1) }) + "}"
        case .sortedSet(let pairs): text = "zset [" + items(pairs.map { quote($0.0) + " " + StateDigest.formatG17($0.1) }) + "]"
        }
        if let when = stored.expiresAtMilliseconds { text += " (expires \(EntryFormatting.isoTime(milliseconds: when)))" }
        return text
    }
}
