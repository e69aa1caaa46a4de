// `--shrink OUT`: delta debugging (Zeller's ddmin) down to a log that still fails the check,
// over whole units (a MULTI/EXEC transaction is never split), then over arguments.

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

/// What a shrink left: the units of the smallest failing log, and what it cost.
public struct ShrinkResult {
    public var units: [LogUnit]
    public var originalUnitCount: Int
    public var originalEntryCount: Int
    public var checkRunCount: Int
    public var seconds: Double
    /// With anonymizing: the check as it reads on the renamed log (probes renamed too).
    public var anonymizedCheck: String?
    /// With anonymizing: what could not be renamed, when the check stopped failing.
    public var anonymizeNote: String?

    /// Entries the shrunk log holds, transaction markers included.
    public var entryCount: Int { units.reduce(0) { $0 + $1.entries.count } }

    public var summaryLine: String {
        "\(counted(entryCount, "entry", "entries")) left of \(originalEntryCount) (\(counted(units.count, "unit")) of \(originalUnitCount)), \(counted(checkRunCount, "check run")), \(BisectResult.seconds(seconds)) s"
            + (anonymizeNote.map { "; " + $0 } ?? "")
    }

    /// Writes the units as a new log in `directory`, which must not exist or be empty.
    public func write(to directory: String) throws {
        let manager = FileManager.default
        if let contents = try? manager.contentsOfDirectory(atPath: directory), !contents.isEmpty {
            throw BisectError(.badBounds, "--shrink \(directory) exists and is not empty; choose a new directory")
        }
        let writer = try LogWriter.open(directory: directory, options: .init(durability: .no, trainsDictionary: false))
        for unit in units {
            let commands = unit.commands.map {
                LogEntry(timestampMilliseconds: $0.place.timestampMilliseconds, db: UInt32($0.place.db), arguments: $0.arguments)
            }
            guard !commands.isEmpty else { continue }
            try writer.append(contentsOf: commands, transaction: unit.isTransaction)
        }
        try writer.sync()
        try writer.close()
        try? manager.removeItem(atPath: directory + "/LOCK")
    }
}

public enum Shrinker {
    /// Shrinks the units of `log` up to `firstBad` to a 1-minimal set that still reproduces the
    /// flip (`check` good before the set's last unit, bad after it), then drops arguments where the engine accepts the
    /// result and the check still fails; with `anonymize`, renames keys and values.
    ///
    /// A candidate the engine refuses (an error reply) never counts: it is not a log Redis could
    /// have written.
    public static func shrink(log: String, upTo firstBad: UInt64, check: StateCheck, recovery: RecoveryMode,
                              anonymize: Bool = false, progress: ((String) -> Void)? = nil) throws -> ShrinkResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let all = try LogUnits.units(log: log, in: 1...firstBad, recovery: recovery)
        var runs = 0
        var activeCheck = check
        /// A candidate reproduces when the check is good on the state before its last unit and
        /// bad after it, and the engine accepts every command.
        func fails(_ units: [LogUnit]) throws -> Bool {
            guard let lastUnit = units.last else { return false }
            let keyspace = Keyspace(randomSeed: 0)
            var last: (UInt64, Int64) = (0, units.first?.entries.first?.place.timestampMilliseconds ?? 0)
            func apply(_ unit: LogUnit) -> Bool {
                for entry in unit.commands {
                    let reply = keyspace.apply(LoggedCommand(db: entry.place.db, arguments: entry.arguments), nowMilliseconds: entry.place.timestampMilliseconds)
                    if case .error = reply { return false }
                    last = (entry.place.sequence, entry.place.timestampMilliseconds)
                }
                return true
            }
            for unit in units.dropLast() where !apply(unit) { return false }
            runs += 1
            if runs % 16 == 0 { progress?("shrink: \(units.count) units, \(runs) check runs") }
            guard try activeCheck.judge(keyspace, after: last.0, timestampMilliseconds: last.1).verdict == .good else { return false }
            guard apply(lastUnit) else { return false }
            runs += 1
            return try activeCheck.judge(keyspace, after: last.0, timestampMilliseconds: last.1).verdict == .bad
        }
        guard try fails(all) else {
            throw BisectError(.checkFailed, "the log up to #\(firstBad) does not reproduce the flip when replayed on its own (good before #\(firstBad), bad after it); the check may be flaky or depend on more than the state, so there is nothing to shrink")
        }
        var units = try ddmin(all, fails)
        units = try shrinkArguments(units, fails)
        var result = ShrinkResult(units: units, originalUnitCount: all.count, originalEntryCount: all.reduce(0) { $0 + $1.entries.count },
                                  checkRunCount: 0, seconds: 0)
        if anonymize {
            let renaming = Renaming(units)
            for attempt in [(true, true), (true, false), (false, true)] {
                let renamed = units.map { renaming.apply(to: $0, keys: attempt.0, values: attempt.1) }
                let renamedCheck = renaming.apply(to: check, keys: attempt.0, values: attempt.1)
                activeCheck = renamedCheck ?? check
                if try fails(renamed) {
                    result.units = renamed
                    result.anonymizedCheck = renamedCheck.map(\.summary)
                    if !(attempt.0 && attempt.1) { result.anonymizeNote = attempt.0 ? "values kept (renaming them made the check pass)" : "keys kept (renaming them made the check pass)" }
                    break
                }
                result.anonymizeNote = "not anonymized: the check passes on every renamed log"
            }
            activeCheck = check
        }
        result.checkRunCount = runs
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// Shrinks the units of `log` up to `firstBad` to a 1-minimal set for which `reproduces` still
    /// holds: the form `--against` uses, where the check is a whole run of the candidate beside
    /// a reference server rather than a judgement of one state. Arguments and names are then
    /// reduced as for a state check.
    public static func shrink(log: String, upTo firstBad: UInt64, recovery: RecoveryMode, anonymize: Bool = false,
                              reproduces: @escaping ([LogUnit]) throws -> Bool,
                              progress: ((String) -> Void)? = nil) throws -> ShrinkResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let all = try LogUnits.units(log: log, in: 1...firstBad, recovery: recovery)
        var runs = 0
        func fails(_ units: [LogUnit]) throws -> Bool {
            guard !units.isEmpty else { return false }
            runs += 1
            if runs % 16 == 0 { progress?("shrink: \(units.count) units, \(runs) check runs") }
            return try reproduces(units)
        }
        guard try fails(all) else {
            throw BisectError(.checkFailed, "the log up to #\(firstBad) does not part ways with the reference when written into it on its own, so there is nothing to shrink")
        }
        var units = try ddmin(all, fails)
        units = try shrinkArguments(units, fails)
        var result = ShrinkResult(units: units, originalUnitCount: all.count, originalEntryCount: all.reduce(0) { $0 + $1.entries.count },
                                  checkRunCount: 0, seconds: 0)
        if anonymize {
            let renaming = Renaming(units)
            result.anonymizeNote = "not anonymized: the logs part ways with no renaming tried"
            for attempt in [(true, true), (true, false), (false, true)] {
                let renamed = units.map { renaming.apply(to: $0, keys: attempt.0, values: attempt.1) }
                if try fails(renamed) {
                    result.units = renamed
                    result.anonymizeNote = attempt.0 && attempt.1 ? nil
                        : (attempt.0 ? "values kept (renaming them made the divergence go away)" : "keys kept (renaming them made the divergence go away)")
                    break
                }
            }
        }
        result.checkRunCount = runs
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// ddmin over `items`, complements only past the first split, removing as many chunks per
    /// round as keep failing; the result is 1-minimal (removing any single item makes it pass).
    static func ddmin<T>(_ items: [T], _ fails: ([T]) throws -> Bool) throws -> [T] {
        var current = items
        var granularity = 2
        while current.count >= 2 {
            var chunks = split(current, into: granularity)
            var reduced = false
            if chunks.count == 2 {
                for chunk in chunks where try fails(chunk) {
                    current = chunk
                    reduced = true
                    break
                }
                if reduced { granularity = 2; continue }
            }
            var index = 0
            while index < chunks.count && chunks.count > 1 {
                var complement = chunks
                complement.remove(at: index)
                if try fails(complement.flatMap { $0 }) {
                    chunks = complement
                    reduced = true
                } else {
                    index += 1
                }
            }
            if reduced {
                current = chunks.flatMap { $0 }
                granularity = max(2, chunks.count)
                continue
            }
            if granularity >= current.count { break }
            granularity = min(current.count, granularity * 2)
        }
        if current.count == 1, items.count > 1 {
            return current
        }
        return current
    }

    static func split<T>(_ items: [T], into count: Int) -> [[T]] {
        let count = max(1, min(count, items.count))
        var chunks: [[T]] = []
        var start = 0
        for index in 0..<count {
            let end = items.count * (index + 1) / count
            chunks.append(Array(items[start..<end]))
            start = end
        }
        return chunks.filter { !$0.isEmpty }
    }

    /// Drops arguments after the first key, one at a time and in pairs (field and value), from
    /// the last, wherever the engine still accepts the command and the check still fails.
    static func shrinkArguments(_ units: [LogUnit], _ fails: ([LogUnit]) throws -> Bool) throws -> [LogUnit] {
        var units = units
        for unitIndex in units.indices {
            for entryIndex in units[unitIndex].entries.indices where units[unitIndex].entries[entryIndex].kind == .command {
                for width in [2, 1] {
                    var position = units[unitIndex].entries[entryIndex].arguments.count - width
                    while position >= 2 {
                        var candidate = units
                        candidate[unitIndex].entries[entryIndex].arguments.removeSubrange(position..<(position + width))
                        if try fails(candidate) { units = candidate }
                        position -= 1
                        position = min(position, units[unitIndex].entries[entryIndex].arguments.count - width)
                    }
                }
            }
        }
        return units
    }
}

/// Neutral names for keys (`key:1`, ...) and values (`value:1`, ...), the same bytes always
/// getting the same name; numbers and option words (PXAT, NX, WITHSCORES ...) are kept.
struct Renaming {
    private(set) var keys: [[UInt8]: [UInt8]] = [:]
    private(set) var values: [[UInt8]: [UInt8]] = [:]

    init(_ units: [LogUnit]) {
        for unit in units {
            for entry in unit.commands {
                let keyIndexes = Set(Keyspace.keyIndexes(of: entry.arguments) ?? [])
                for (index, argument) in entry.arguments.enumerated().dropFirst() {
                    if keyIndexes.contains(index) {
                        if keys[argument] == nil { keys[argument] = Array("key:\(keys.count + 1)".utf8) }
                    } else if Self.isRenamable(argument), values[argument] == nil {
                        values[argument] = Array("value:\(values.count + 1)".utf8)
                    }
                }
            }
        }
    }

    static let optionWords: Set<String> = [
        "NX", "XX", "GT", "LT", "PX", "EX", "PXAT", "EXAT", "KEEPTTL", "GET", "CH", "INCR", "WITHSCORES", "LIMIT",
        "BEFORE", "AFTER", "LEFT", "RIGHT", "REPLACE", "DB", "COUNT", "MATCH", "TYPE", "AGGREGATE", "WEIGHTS", "SUM",
        "MIN", "MAX", "BYSCORE", "BYLEX", "REV", "PERSIST", "AND", "OR", "XOR", "NOT", "BIT", "BYTE", "IDX", "LEN",
        "RANK", "MAXLEN", "OVERFLOW", "WRAP", "SAT", "FAIL", "SET", "INCRBY", "ABSTTL", "IDLETIME", "FREQ", "ASYNC",
        "SYNC", "WITHMATCHLEN", "MINMATCHLEN", "ALPHA", "ASC", "DESC", "STORE", "BY",
    ]

    static func isRenamable(_ argument: [UInt8]) -> Bool {
        let text = String(decoding: argument, as: UTF8.self)
        if Double(text) != nil || text.hasPrefix("(") || text.hasPrefix("[") || text == "-" || text == "+" { return false }
        return !optionWords.contains(text.uppercased())
    }

    func apply(to unit: LogUnit, keys renamesKeys: Bool, values renamesValues: Bool) -> LogUnit {
        var unit = unit
        for index in unit.entries.indices where unit.entries[index].kind == .command {
            unit.entries[index].arguments = apply(to: unit.entries[index].arguments, keys: renamesKeys, values: renamesValues)
        }
        return unit
    }

    func apply(to arguments: [[UInt8]], keys renamesKeys: Bool, values renamesValues: Bool) -> [[UInt8]] {
        let keyIndexes = Set(Keyspace.keyIndexes(of: arguments) ?? [])
        var result = arguments
        for index in arguments.indices.dropFirst() {
            if keyIndexes.contains(index) {
                if renamesKeys, let name = keys[arguments[index]] { result[index] = name }
            } else if renamesValues, let name = values[arguments[index]] {
                result[index] = name
            }
        }
        return result
    }

    /// The check with its probes renamed the same way; nil when it cannot be renamed (an
    /// external command is run as written).
    func apply(to check: StateCheck, keys renamesKeys: Bool, values renamesValues: Bool) -> StateCheck? {
        guard let probeCheck = check as? ProbeCheck else { return nil }
        let probes = probeCheck.probes.compactMap { probe -> Probe? in
            var expectation = probe.expectation
            if renamesValues, case .notation(var text) = expectation {
                for (old, new) in values { text = text.replacingOccurrences(of: ByteQuoting.quoted(old), with: ByteQuoting.quoted(new)) }
                expectation = .notation(text)
            }
            return try? Probe(arguments: apply(to: probe.arguments, keys: renamesKeys, values: renamesValues), db: probe.db, expectation: expectation)
        }
        return probes.count == probeCheck.probes.count ? ProbeCheck(probes: probes) : nil
    }
}
