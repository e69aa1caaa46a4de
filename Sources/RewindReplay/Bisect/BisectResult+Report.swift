// The bisect report (DESIGN §7): the history of the keys the decisive entry touched, oldest
// first, the decisive entry last, then the check's answers just before and just after.

import RewindEngine
import RewindLog
import RewindRESP

/// The entries that touched some keys before a point, oldest first.
public struct KeyHistory: Sendable {
    public var keys: [(db: Int, key: [UInt8])]
    /// The most recent entries, oldest first, at most the limit asked for.
    public var entries: [LogUnit.Entry]
    /// How many earlier entries touched the keys but are left out.
    public var omittedCount: Int

    /// Reads `log` up to `limit` (exclusive) and keeps the entries that touch the keys of `unit`
    /// (the command table's keys, as blame finds them), the last `count` of them.
    public static func before(_ unit: LogUnit, log: String, count: Int = 12, recovery: RecoveryMode) throws -> KeyHistory {
        var keys: [(db: Int, key: [UInt8])] = []
        for entry in unit.commands {
            guard let indexes = Keyspace.keyIndexes(of: entry.arguments) else { continue }
            for index in indexes where !keys.contains(where: { $0.db == entry.place.db && $0.key == entry.arguments[index] }) {
                keys.append((entry.place.db, entry.arguments[index]))
            }
        }
        keys = Array(keys.prefix(4))
        var kept: [LogUnit.Entry] = []
        var total = 0
        let firstSequence = unit.entries.first?.place.sequence ?? 0
        if !keys.isEmpty && firstSequence > 1 {
            let reader = try LogReader(directory: log)
            let names = reader.manifest.segments.map(\.fileName)
            var record: LogReader.RecordInfo?
            struct Stop: Error {}
            do {
                try reader.forEachEntry(recovery: recovery, onRecord: { record = $0 }) { view in
                    guard view.sequence < firstSequence else { throw Stop() }
                    guard view.kind == .command, let record else { return }
                    let arguments = view.arguments.map { Array($0) }
                    let command = LoggedCommand(db: Int(view.db), arguments: arguments)
                    guard keys.contains(where: { Blame.touches(command, key: $0.key, db: $0.db) != .no }) else { return }
                    total += 1
                    let place = EntryPlace(sequence: view.sequence, segmentIndex: record.segmentIndex, segmentFileName: names[record.segmentIndex],
                                           byteOffset: record.byteOffset, timestampMilliseconds: view.timestampMilliseconds, db: Int(view.db))
                    kept.append(LogUnit.Entry(place: place, kind: .command, arguments: arguments, replyHash: view.replyHash))
                    if kept.count > count { kept.removeFirst() }
                }
            } catch is Stop {}
        }
        return KeyHistory(keys: keys, entries: kept, omittedCount: total - kept.count)
    }
}

extension BisectResult {
    /// The result as a report. `check` describes the check; `history` the keys' earlier entries.
    public func report(check: String, history: KeyHistory?, options: BisectOptions = BisectOptions()) -> Report {
        var lines: [Report.Line] = []
        var headline: String
        var footer: [String] = []
        let bad = options.badTerm
        if let firstBad, let decisive {
            let first = decisive.entries.first { $0.kind == .command } ?? decisive.entries[0]
            let lastPlace = decisive.entries.last!.place
            headline = "Check flipped at entry \(EntryPlace(sequence: firstBad, segmentIndex: lastPlace.segmentIndex, segmentFileName: lastPlace.segmentFileName, byteOffset: lastPlace.byteOffset, timestampMilliseconds: lastPlace.timestampMilliseconds, db: first.place.db))"
            if decisive.isTransaction {
                headline += ", a transaction #\(decisive.entries[0].place.sequence)-#\(firstBad)"
            }
            if let history, !history.keys.isEmpty {
                let names = history.keys.map { ByteQuoting.quoted($0.key) + ($0.db == 0 ? "" : " (db \($0.db))") }.joined(separator: ", ")
                headline += "\nHistory of \(names), oldest first:"
                if history.omittedCount > 0 { headline += " (\(counted(history.omittedCount, "earlier entry", "earlier entries")) not shown)" }
                lines += history.entries.map { Report.Line(place: $0.place, command: ReplayRun.text($0.arguments)) }
            } else {
                headline += "\nThe decisive entry:"
            }
            let shown = decisive.entries[0].kind == .checkpoint ? decisive.entries : decisive.entries.filter { $0.kind != .checkpoint }
            for (index, entry) in shown.enumerated() {
                let text: String
                switch entry.kind {
                case .transactionBegin: text = "MULTI"
                case .transactionEnd: text = "EXEC"
                case .checkpoint: text = "CHECKPOINT"
                default: text = ReplayRun.text(entry.arguments)
                }
                lines.append(Report.Line(place: entry.place, command: text,
                                         marker: index == shown.count - 1 ? "check is \(bad) from here" : nil))
            }
        } else {
            headline = "Only skipped points are left: the first \(bad) entry is one of #\(candidates.map(String.init).joined(separator: ", #"))"
        }
        footer.append("Check: \(check)")
        if let before {
            footer.append("  before #\(firstBad ?? lastGood) (at #\(lastGood)): " + before.lines.joined(separator: "; "))
        }
        if let after, let firstBad {
            footer.append("  after  #\(firstBad): " + after.lines.joined(separator: "; "))
        }
        if let goodAgainAt {
            footer.append("Note: the check was \(options.goodTerm) again at #\(goodAgainAt); this is the first \(bad) entry after the last \(options.goodTerm) run of states.")
        }
        footer.append("\(counted(checkRunCount, "check run")) (\(method)) in \(Self.seconds(seconds)) s, \(Self.seconds(checkSeconds)) s of them in the check")
        var fields: [(String, JSONValue)] = [
            ("first_bad_seq", firstBad.map { .integer(Int64($0)) } ?? .null),
            ("last_good_seq", .integer(Int64(lastGood))),
            ("probes", .integer(Int64(checkRunCount))),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
            ("check_seconds", .double((checkSeconds * 1000).rounded() / 1000)),
            ("method", .string(method)),
            ("check", .string(check)),
            ("before", before.map { .strings($0.lines) } ?? .null),
            ("after", after.map { .strings($0.lines) } ?? .null),
            ("candidates", .strings(candidates.map(String.init))),
            ("log_last_seq", .integer(Int64(logLastSequence))),
        ]
        fields.append(("good_again_seq", goodAgainAt.map { .integer(Int64($0)) } ?? .null))
        return Report(kind: "bisect", headline: headline, lines: lines, footer: footer, fields: fields)
    }

    static func seconds(_ value: Double) -> String {
        let milliseconds = Int((value * 1000).rounded())
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
