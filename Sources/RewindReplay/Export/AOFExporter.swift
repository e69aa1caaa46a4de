import Foundation
import RewindLog

/// Encodes log entries as the RESP commands of a Redis AOF, the way Redis 7.0 writes them.
///
/// `SELECT n` is written before the first entry and whenever the database changes (inside a
/// transaction too, which Redis accepts); a transaction's markers become `MULTI` and `EXEC`;
/// checkpoint entries are not written. With `writesTimestamps`, a `#TS:<unix seconds>` line goes
/// before an entry whose second differs from the previous annotation's, as Redis writes it with
/// `aof-timestamp-enabled yes`; entries with timestamp 0 (unknown) get none.
///
/// ``LogStatistics`` uses this same encoder to count what an export would write.
public struct AOFEncoder {
    public var writesTimestamps: Bool
    private var selectedDB: UInt32?
    private var annotatedSecond: Int64?

    public init(writesTimestamps: Bool = false) {
        self.writesTimestamps = writesTimestamps
    }

    /// Appends the bytes for `entry` to `buffer`; returns whether it wrote a command.
    @discardableResult
    public mutating func encode(_ entry: EntryView, into buffer: inout [UInt8]) -> Bool {
        switch entry.kind {
        case .checkpoint:
            return false
        case .transactionEnd:
            Self.appendCommand(["EXEC"], into: &buffer)
            return true
        case .transactionBegin, .command:
            guard entry.kind == .transactionBegin || !entry.arguments.isEmpty else { return false }
            annotate(entry.timestampMilliseconds, into: &buffer)
            if selectedDB != entry.db {
                Self.appendCommand(["SELECT", String(entry.db)], into: &buffer)
                selectedDB = entry.db
            }
            if entry.kind == .transactionBegin {
                Self.appendCommand(["MULTI"], into: &buffer)
            } else {
                Self.appendHeader(UInt8(ascii: "*"), entry.arguments.count, into: &buffer)
                for argument in entry.arguments {
                    Self.appendHeader(UInt8(ascii: "$"), argument.count, into: &buffer)
                    buffer.append(contentsOf: argument)
                    buffer.append(contentsOf: [13, 10])
                }
            }
            return true
        }
    }

    private mutating func annotate(_ milliseconds: Int64, into buffer: inout [UInt8]) {
        guard writesTimestamps, milliseconds > 0 else { return }
        let second = milliseconds / 1000
        guard second != annotatedSecond else { return }
        annotatedSecond = second
        buffer.append(contentsOf: Array("#TS:\(second)\r\n".utf8))
    }

    static func appendCommand(_ arguments: [String], into buffer: inout [UInt8]) {
        appendHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            let bytes = Array(argument.utf8)
            appendHeader(UInt8(ascii: "$"), bytes.count, into: &buffer)
            buffer.append(contentsOf: bytes)
            buffer.append(contentsOf: [13, 10])
        }
    }

    @inline(__always)
    static func appendHeader(_ marker: UInt8, _ value: Int, into buffer: inout [UInt8]) {
        buffer.append(marker)
        buffer.append(contentsOf: String(value).utf8)
        buffer.append(contentsOf: [13, 10])
    }
}

/// Writes a log as a Redis AOF that redis-server 7.0 loads to the same data set.
///
/// The file is written under a temporary name beside `file` and renamed over it at the end, so
/// a failed export never leaves a partial AOF under the name asked for.
///
/// ```swift
/// let summary = try AOFExporter.export(log: "app.rwlog", to: "appendonly.aof", options: .init(until: 5000))
/// ```
public enum AOFExporter {
    public struct Options: Sendable {
        /// The last sequence number to export; nil for the whole log. A transaction that is not
        /// whole by then is left out entirely, so the AOF never holds half of one.
        public var until: UInt64?
        /// Write `#TS:` annotation lines.
        public var writesTimestamps: Bool
        /// How damage in the log is treated while reading it.
        public var recovery: RecoveryMode

        public init(until: UInt64? = nil, writesTimestamps: Bool = false, recovery: RecoveryMode = .tolerateTail) {
            self.until = until
            self.writesTimestamps = writesTimestamps
            self.recovery = recovery
        }
    }

    /// What an export wrote.
    public struct Summary: Hashable, Sendable, CustomStringConvertible {
        /// Entries read from the log (markers and checkpoints included).
        public var entryCount = 0
        /// Commands written, not counting SELECT, MULTI and EXEC.
        public var commandCount = 0
        public var transactionCount = 0
        /// The last sequence number exported (0 when none).
        public var lastSequence: UInt64 = 0
        /// Bytes of the AOF written.
        public var byteCount = 0
        /// Entries of a transaction left out because `until` fell inside it.
        public var droppedTransactionEntryCount = 0
        /// Damage the reader reported and the recovery mode accepted (a torn tail, by default).
        public var damages: [LogDamage] = []
        public var seconds = 0.0

        public var description: String {
            var text = "exported \(counted(commandCount, "command")) (\(counted(transactionCount, "transaction")), up to #\(lastSequence)) as \(byteCount) bytes in \(String(format: "%.2f", seconds)) s"
            if droppedTransactionEntryCount > 0 { text += "; left out a transaction of \(counted(droppedTransactionEntryCount, "entry")) that --until cut in two" }
            if !damages.isEmpty { text += "; \(counted(damages.count, "damaged range")) skipped" }
            return text
        }
    }

    /// Exports `log` to the AOF `file`.
    ///
    /// - Throws: `LogError` when the log cannot be read or the damage is not accepted by the
    ///   recovery mode; `LogError(.fileSystem)` when the file cannot be written.
    public static func export(log: String, to file: String, options: Options = Options()) throws -> Summary {
        let clock = Stopwatch()
        let reader = try LogReader(directory: log)
        let temporary = file + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw LogError(.fileSystem, path: file, "cannot create \(temporary)")
        }
        var summary = Summary()
        do {
            defer { try? handle.close() }
            var encoder = AOFEncoder(writesTimestamps: options.writesTimestamps)
            var buffer: [UInt8] = []
            var transaction: (bytes: [UInt8], entries: Int, commands: Int)?
            let collector = DamageCollector()
            struct Stop: Error {}
            func flush() throws {
                try handle.write(contentsOf: buffer)
                summary.byteCount += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
            do {
                try reader.forEachEntry(recovery: options.recovery, reporter: collector) { entry in
                    if let until = options.until, entry.sequence > until { throw Stop() }
                    summary.entryCount += 1
                    if transaction != nil {
                        let wrote = encoder.encode(entry, into: &transaction!.bytes)
                        transaction!.entries += 1
                        if entry.kind == .command && wrote { transaction!.commands += 1 }
                        if entry.kind == .transactionEnd {
                            buffer += transaction!.bytes
                            summary.commandCount += transaction!.commands
                            summary.transactionCount += 1
                            summary.lastSequence = entry.sequence
                            transaction = nil
                        }
                    } else if entry.kind == .transactionBegin {
                        transaction = ([], 1, 0)
                        encoder.encode(entry, into: &transaction!.bytes)
                    } else {
                        if encoder.encode(entry, into: &buffer) { summary.commandCount += 1 }
                        summary.lastSequence = entry.sequence
                    }
                    if buffer.count >= 1 << 20 { try flush() }
                }
            } catch is Stop {}
            if let transaction { summary.droppedTransactionEntryCount = transaction.entries }
            try flush()
            try handle.synchronize()
            summary.damages = collector.damages
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        if rename(temporary, file) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw LogError(.fileSystem, path: file, "cannot rename \(temporary) to it: \(reason)")
        }
        let parent = (file as NSString).deletingLastPathComponent
        let descriptor = open(parent.isEmpty ? "." : parent, O_RDONLY)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
        summary.seconds = clock.seconds
        return summary
    }
}
