import Foundation
import RewindLog

/// What an import did, for the one-line summary `rewind import` prints.
public struct ImportSummary: Hashable, Sendable, CustomStringConvertible {
    /// The source files read, in order (an appenddir's base and incr files).
    public var files: [String] = []
    /// Command entries written (SELECT, MULTI and EXEC are not commands of their own).
    public var commandCount = 0
    /// Transactions written, each one record framed by MULTI/EXEC markers.
    public var transactionCount = 0
    /// Sequence numbers used: commands plus two markers per transaction.
    public var entryCount = 0
    /// Records the log holds after the import.
    public var recordCount = 0
    /// Source lines or commands that were read but not imported (MONITOR: reads and scripts).
    public var skippedCount = 0
    /// Bytes of the source files.
    public var sourceByteCount = 0
    /// Wall-clock seconds the import took.
    public var seconds = 0.0
    /// Where a truncated last file was cut, when `allowsTruncatedTail` let the import go on.
    public var truncation: ImportError?
    /// Keys read from RDB files (an RDB import or an RDB-preamble AOF), nil when there were none.
    public var rdbKeyCount: Int?
    /// What was read past and not imported, one line each with its place (RDB function
    /// libraries, module data, streams with `--skip-streams`, expired or empty keys).
    public var notes: [String] = []

    public init() {}

    public var description: String {
        var text = "imported \(counted(entryCount, "entry")) (\(counted(commandCount, "command")), \(counted(transactionCount, "transaction"))) in \(counted(recordCount, "record"))"
        if let rdbKeyCount { text += " for \(counted(rdbKeyCount, "RDB key", "RDB keys"))" }
        text += " from \(sourceByteCount) bytes in \(String(format: "%.2f", seconds)) s"
        if skippedCount > 0 { text += ", \(skippedCount) skipped" }
        if let truncation { text += "; dropped the truncated tail at \(truncation.file) @\(truncation.byteOffset ?? 0)" }
        return text
    }
}

/// How far an import has got, for a progress line.
public struct ImportProgress: Sendable {
    public var sourceBytesRead: Int
    public var sourceByteCount: Int
    public var entryCount: Int
}

/// Writes imported entries into a new log, atomically: the log appears under its name only once
/// every entry is written, synced and read back; on any failure nothing is left behind.
///
/// Entries go to a sibling directory `<log>.importing-<pid>`, which is renamed to `<log>` at the
/// end. A destination that already exists is refused (unless it is an empty directory), so an
/// import never writes into, or half-replaces, an existing log.
final class ImportDestination {
    let finalPath: String
    let workingPath: String
    private var writer: LogWriter?
    private(set) var summary = ImportSummary()
    private var transaction: [LogEntry]?
    /// Entries not yet handed to the writer: one `append(contentsOf:)` per batch instead of one
    /// call (lock, flusher wake-up) per entry.
    private var batch: [LogEntry] = []
    static let batchEntryCount = 256

    init(path: String, writerOptions: LogWriter.Options) throws {
        var writerOptions = writerOptions
        // `commit` relies on it: each record is checked against its entries as it is written.
        writerOptions.verifiesRecords = true
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        finalPath = path
        workingPath = path + ".importing-\(getpid())"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            let contents = isDirectory.boolValue ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]) : ["?"]
            guard contents.isEmpty else {
                throw LogError(.fileSystem, path: path, "already exists; import writes a new log, so choose a path that does not exist")
            }
        }
        try? FileManager.default.removeItem(atPath: workingPath)
        writer = try LogWriter.open(directory: workingPath, options: writerOptions)
    }

    /// True while a MULTI block is being collected.
    var inTransaction: Bool { transaction != nil }

    func append(_ entry: LogEntry) throws {
        if transaction != nil {
            transaction!.append(entry)
            return
        }
        guard writer != nil else { return }
        batch.append(entry)
        summary.commandCount += 1
        summary.entryCount += 1
        if batch.count >= Self.batchEntryCount { try flushBatch() }
    }

    /// Appends entries encoded by the caller (the RDB import's fast path) after those appended
    /// before; `batch` comes back empty.
    func append(encoded batch: inout LogEntryBatch) throws {
        precondition(transaction == nil, "an encoded batch inside a MULTI block")
        guard let writer else {
            batch.removeAll()
            return
        }
        try flushBatch()
        let count = batch.entryCount
        try writer.append(&batch)
        summary.commandCount += count
        summary.entryCount += count
    }

    private func flushBatch() throws {
        guard !batch.isEmpty, let writer else { return }
        try writer.append(contentsOf: batch)
        batch.removeAll(keepingCapacity: true)
    }

    func beginTransaction() { transaction = [] }

    /// Writes the collected MULTI block as one transaction record; an empty block writes nothing,
    /// as Redis propagates nothing for a MULTI/EXEC without writes.
    func endTransaction() throws {
        guard let entries = transaction else { return }
        transaction = nil
        guard !entries.isEmpty, let writer else { return }
        try flushBatch()
        let range = try writer.append(contentsOf: entries, transaction: true)
        summary.commandCount += entries.count
        summary.transactionCount += 1
        summary.entryCount += range.count
    }

    /// Drops a MULTI block that never reached EXEC.
    func discardTransaction() { transaction = nil }

    /// Closes the writer, reads the new log back, checks it holds what was written and gives it
    /// its final name.
    func commit() throws -> ImportSummary {
        try flushBatch()
        try writer?.close()
        writer = nil
        do {
            // By the time `close` returned, the writer had decompressed every record it wrote and
            // compared it with the entries encoded into it (`verifiesRecords`); here every record
            // is read back from the files and its header and CRC32C checked, with dense sequence
            // numbers (any damage or gap is an error in `.absolute`), and the entries counted: the
            // files hold exactly what was written. See docs/RDB.md, "Bad input".
            let reader = try LogReader(directory: workingPath)
            var readBackCount = 0
            let readBack = try reader.forEachRecord(recovery: .absolute) { readBackCount += $0.entryCount }
            guard readBackCount == summary.entryCount, readBack.lastSequence == UInt64(summary.entryCount) else {
                throw LogError(.damaged, path: workingPath, "read back \(readBackCount) entries up to #\(readBack.lastSequence) after writing \(summary.entryCount)")
            }
            summary.recordCount = readBack.recordCount
            if FileManager.default.fileExists(atPath: finalPath) { try FileManager.default.removeItem(atPath: finalPath) }
            try FileManager.default.moveItem(atPath: workingPath, toPath: finalPath)
            // Make the rename itself durable, as the log's own manifest replacement does.
            let parent = (finalPath as NSString).deletingLastPathComponent
            let descriptor = open(parent.isEmpty ? "." : parent, O_RDONLY)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                close(descriptor)
            }
        } catch {
            abandon()
            throw error
        }
        return summary
    }

    /// Removes everything written so far.
    func abandon() {
        if let writer { try? writer.close() }
        writer = nil
        try? FileManager.default.removeItem(atPath: workingPath)
    }

    deinit { if writer != nil { abandon() } }

    func setSkipped(_ count: Int) { summary.skippedCount = count }
    func addSkipped(_ count: Int, notes: [String], rdbKeyCount: Int) {
        summary.skippedCount += count
        summary.notes += notes
        summary.rdbKeyCount = (summary.rdbKeyCount ?? 0) + rdbKeyCount
    }
    func setSource(files: [String], byteCount: Int) {
        summary.files = files
        summary.sourceByteCount = byteCount
    }
    func setTruncation(_ error: ImportError) { summary.truncation = error }
    func setSeconds(_ seconds: Double) { summary.seconds = seconds }
}

/// A small clock for the import summary, monotonic so that a clock step cannot make it negative.
struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
