// The entry filters of `rewind inspect` and `rewind tail`: by key pattern, by command name, by a
// regular expression over the arguments.

import Foundation
import RewindEngine
import RewindLog

/// Which entries `inspect` and `tail` show. An empty filter shows everything; a non-empty one
/// shows only commands (not transaction markers or checkpoints) that pass every part of it.
public struct EntryFilter: @unchecked Sendable {
    /// Commands with a key that matches (key positions from the engine's command table).
    public let keyPattern: KeyPattern?
    /// Commands with one of these names (upper case).
    public let commandNames: Set<String>
    /// Commands with an argument (the name included) that this regular expression matches.
    public let grep: String?
    private let regex: NSRegularExpression?

    /// - Throws: ``ReplayError`` with code `.badPattern` for a malformed glob or regular expression.
    public init(keyPattern: String? = nil, commandNames: [String] = [], grep: String? = nil) throws {
        self.keyPattern = try keyPattern.map(KeyPattern.init)
        self.commandNames = Set(commandNames.map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty })
        self.grep = grep
        if let grep {
            do {
                regex = try NSRegularExpression(pattern: grep)
            } catch {
                throw ReplayError(.badPattern, "the regular expression '\(grep)' is malformed; check its brackets and escapes")
            }
        } else {
            regex = nil
        }
    }

    public var isEmpty: Bool { keyPattern == nil && commandNames.isEmpty && regex == nil }

    public func matches(_ entry: EntryView) -> Bool {
        if isEmpty { return true }
        guard entry.kind == .command, let name = entry.arguments.first else { return false }
        if !commandNames.isEmpty && !commandNames.contains(String(decoding: name, as: UTF8.self).uppercased()) { return false }
        if let keyPattern {
            let arguments = entry.arguments.map { Array($0) }
            guard let indexes = Keyspace.keyIndexes(of: arguments),
                  indexes.contains(where: { keyPattern.matches(arguments[$0]) }) else { return false }
        }
        if let regex {
            let found = entry.arguments.contains { argument in
                let text = String(decoding: argument, as: UTF8.self)
                return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            }
            if !found { return false }
        }
        return true
    }
}

/// Follows a log as it grows, like `tail -f`: the last entries first, then each new one.
///
/// Each ``poll(_:)`` opens the log again (its manifest may name new segments) and reads from the
/// entry after the last one seen. A record being written shows as a torn tail, which is not
/// damage here: it is read whole at a later poll. Any other damage is an error.
public final class LogTailer {
    public let log: String
    public let filter: EntryFilter
    /// The sequence number the next poll starts at.
    public private(set) var nextSequence: UInt64

    public init(log: String, filter: EntryFilter = try! EntryFilter(), from sequence: UInt64 = 1) {
        self.log = log
        self.filter = filter
        self.nextSequence = sequence
    }

    /// The last `count` matching entries, formatted by `format`, and positions the tailer after
    /// the end of the log.
    public func last(_ count: Int, _ format: (EntryView) -> String) throws -> [String] {
        var lines: [String] = []
        lines.reserveCapacity(count)
        var oldest = 0
        try read { entry in
            guard count > 0 else { return }
            if lines.count < count { lines.append(format(entry)) } else {
                lines[oldest] = format(entry)
                oldest = (oldest + 1) % count
            }
        }
        return Array(lines[oldest...] + lines[..<oldest])
    }

    /// The matching entries appended since the last call, formatted by `format`, oldest first.
    /// Empty while the log directory does not exist yet.
    public func poll(_ format: (EntryView) -> String) throws -> [String] {
        var lines: [String] = []
        try read { lines.append(format($0)) }
        return lines
    }

    private func read(_ body: (EntryView) -> Void) throws {
        guard FileManager.default.fileExists(atPath: log + "/MANIFEST") else { return }
        let reader = try LogReader(directory: log)
        try reader.forEachEntry(from: nextSequence, recovery: .tolerateTail) { entry in
            nextSequence = entry.sequence + 1
            if filter.matches(entry) { body(entry) }
        }
    }
}
