// What a replay applies and where it stops. See docs/CLI.md (`rewind replay`).

import Foundation
import RewindLog

/// Which entries a replay applies, and where it stops.
///
/// A replay never modifies the log. Stopping points are inclusive: `untilSequence: 120` applies
/// entry #120. A transaction is applied whole or not at all: a stopping point inside one stops
/// before it, and the summary says so.
public struct ReplayOptions: Sendable {
    /// Apply entries up to and including this sequence number; nil for the whole log.
    public var untilSequence: UInt64?
    /// Apply entries whose timestamp is at or before this Unix time in milliseconds.
    public var untilTimestampMilliseconds: Int64?
    /// Skip these entries (commands only; each must exist in the log).
    public var excludedSequences: Set<UInt64>
    /// Skip every command with one of these names (any case), such as an accidental FLUSHALL.
    public var excludedCommands: Set<String>
    /// Apply only entries logged in this database.
    public var onlyDatabase: Int?
    /// Apply only entries with a key that matches this pattern, and keyless commands
    /// (FLUSHALL, FLUSHDB, SWAPDB), which touch every key.
    public var onlyKeys: KeyPattern?
    /// What damage in the log means.
    public var recovery: RecoveryMode
    /// Read, check, decompress and decode the log on a second thread while this one applies.
    ///
    /// On by default when the machine has more than one core. The reading thread hands over
    /// batches with every argument in one buffer, and the applying thread makes the argument
    /// arrays it will free itself (docs/REPLAY.md).
    public var decodesConcurrently = ProcessInfo.processInfo.activeProcessorCount > 1
    /// Compare the state's digest with the digest of every checkpoint entry (`--check`).
    public var checksCheckpoints = false
    /// Compare the hash of the engine's reply to each entry with the reply hash logged with it,
    /// where there is one (`--check`; docs/FORMAT.md, "Reply hashes").
    public var checksReplyHashes = false

    public init(untilSequence: UInt64? = nil, untilTimestampMilliseconds: Int64? = nil,
                excludedSequences: Set<UInt64> = [], excludedCommands: Set<String> = [],
                onlyDatabase: Int? = nil, onlyKeys: KeyPattern? = nil, recovery: RecoveryMode = .tolerateTail) {
        self.untilSequence = untilSequence
        self.untilTimestampMilliseconds = untilTimestampMilliseconds
        self.excludedSequences = excludedSequences
        self.excludedCommands = Set(excludedCommands.map { $0.uppercased() })
        self.onlyDatabase = onlyDatabase
        self.onlyKeys = onlyKeys
        self.recovery = recovery
    }
}

/// A glob pattern as KEYS takes it: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
///
/// Redis accepts any bytes as a pattern; this type refuses the two shapes that are almost always
/// typing mistakes (an empty pattern, a `[` class that is never closed, a trailing lone `\`), so a
/// replay does not silently match nothing.
public struct KeyPattern: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// - Throws: ``ReplayError`` with code `.badPattern` for an empty or malformed pattern.
    public init(_ pattern: String) throws {
        let bytes = Array(pattern.utf8)
        if bytes.isEmpty { throw ReplayError(.badPattern, "the key pattern is empty; pass a glob such as 'user:*'") }
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"):
                if index == bytes.count - 1 {
                    throw ReplayError(.badPattern, "the key pattern '\(pattern)' ends with a lone backslash; write '\\\\' for a literal one")
                }
                index += 2
                continue
            case UInt8(ascii: "["):
                var close = index + 1
                if close < bytes.count && bytes[close] == UInt8(ascii: "^") { close += 1 }
                while close < bytes.count && bytes[close] != UInt8(ascii: "]") {
                    if bytes[close] == UInt8(ascii: "\\") { close += 1 }
                    close += 1
                }
                if close >= bytes.count {
                    throw ReplayError(.badPattern, "the key pattern '\(pattern)' opens a '[' class at byte \(index) that is never closed")
                }
                index = close + 1
                continue
            default:
                index += 1
            }
        }
        self.bytes = bytes
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether `key` matches, as KEYS would match it.
    public func matches(_ key: some Collection<UInt8>) -> Bool {
        let key = Array(key)
        return bytes.withUnsafeBufferPointer { p in key.withUnsafeBufferPointer { s in Self.match(p[...], s[...]) } }
    }

    private static func match(_ pattern: Slice<UnsafeBufferPointer<UInt8>>, _ string: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var p = pattern.startIndex, s = string.startIndex
        while p < pattern.endIndex {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p < pattern.endIndex && pattern[p] == UInt8(ascii: "*") { p += 1 }
                if p == pattern.endIndex { return true }
                var start = s
                while start <= string.endIndex {
                    if match(pattern[p...], string[start...]) { return true }
                    start += 1
                }
                return false
            case UInt8(ascii: "?"):
                if s == string.endIndex { return false }
                s += 1
                p += 1
            case UInt8(ascii: "["):
                if s == string.endIndex { return false }
                p += 1
                let negated = pattern[p] == UInt8(ascii: "^")
                if negated { p += 1 }
                var matched = false
                let byte = string[s]
                while pattern[p] != UInt8(ascii: "]") {
                    if pattern[p] == UInt8(ascii: "\\") {
                        p += 1
                        if pattern[p] == byte { matched = true }
                        p += 1
                    } else if p + 2 < pattern.endIndex && pattern[p + 1] == UInt8(ascii: "-") && pattern[p + 2] != UInt8(ascii: "]") {
                        let low = min(pattern[p], pattern[p + 2]), high = max(pattern[p], pattern[p + 2])
                        if byte >= low && byte <= high { matched = true }
                        p += 3
                    } else {
                        if pattern[p] == byte { matched = true }
                        p += 1
                    }
                }
                p += 1
                if matched == negated { return false }
                s += 1
            case UInt8(ascii: "\\"):
                p += 1
                fallthrough
            default:
                if s == string.endIndex || pattern[p] != string[s] { return false }
                s += 1
                p += 1
            }
        }
        return s == string.endIndex
    }
}

/// Why a replay, a blame or a query could not run; one line, with what to do next.
public struct ReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// `--until` names a sequence number past the last entry of the log.
        public static let untilBeyondEnd = Code("until beyond end")
        /// `--until` names an entry that compaction replaced by the base (the state after it).
        public static let compactedAway = Code("compacted away")
        /// `--exclude` names a sequence number that is not a command in the log.
        public static let unknownSequence = Code("unknown sequence")
        /// A key pattern is empty or malformed.
        public static let badPattern = Code("bad pattern")
        /// A time could not be parsed.
        public static let badTime = Code("bad time")
        /// A database index is out of range.
        public static let badDatabase = Code("bad database")
        /// `--to-aof` could not write or rename its file.
        public static let writeFailed = Code("write failed")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
