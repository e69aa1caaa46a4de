import Foundation
import RewindLog

/// One append: entries written together into one record (a transaction when `transaction`).
public struct LogBatch: Sendable {
    public var entries: [LogEntry]
    public var transaction: Bool

    public init(_ entries: [LogEntry], transaction: Bool = false) {
        self.entries = entries
        self.transaction = transaction
    }
}

/// What reading a log produced: the entries delivered, the summary, every damage the reporter
/// saw, and the error when the recovery mode refused the damage.
public struct ReadOutcome {
    /// Entries delivered, including those delivered before an error was thrown.
    public var entries: [LogEntry] = []
    public var summary: LogReader.Summary?
    public var reported: [LogDamage] = []
    public var error: Error?

    /// The `LogError` thrown, if any.
    public var logError: LogError? { error as? LogError }
    /// True when something told the caller the log is not what was written.
    public var detectedDamage: Bool { error != nil || !reported.isEmpty }
}

/// LevelDB's log-test fixture for Rewind: a real log directory built from known entries, with
/// mutators on its files and a way back to the bytes as written.
///
/// Every record is written on its own (the builder waits for each batch to be written before the
/// next), so the record layout is exactly the list of batches, rotations and the dictionary switch
/// aside. `records` lists where each record sits; the mutators change files in place and
/// `restore()` puts every file back as it was built.
public final class LogFixture {
    public let temporary: TemporaryDirectory
    public var path: String { temporary.path }
    /// Every entry of the clean log as read back, transaction markers included, by sequence.
    public let entries: [LogEntry]
    /// Every record of the clean log, in order.
    public let records: [LogReader.RecordInfo]
    public let manifest: Manifest
    /// The bytes of each file as built, by file name.
    public let original: [String: [UInt8]]
    private var dirty: Set<String> = []

    /// Builds a log from `batches`, each written as one record.
    public init(batches: [LogBatch], options: LogWriter.Options = LogFixture.smallOptions) throws {
        temporary = try TemporaryDirectory(prefix: "rewind-fixture")
        let writer = try LogWriter.open(directory: temporary.path, options: options)
        for batch in batches {
            let range = try writer.append(contentsOf: batch.entries, transaction: batch.transaction)
            try writer.waitUntilWritten(range.upperBound)
        }
        try writer.close()
        try? FileManager.default.removeItem(atPath: temporary.path + "/LOCK")
        let reader = try LogReader(directory: temporary.path)
        manifest = reader.manifest
        var records: [LogReader.RecordInfo] = []
        var entries: [LogEntry] = []
        let summary = try reader.forEachEntry(recovery: .absolute, onRecord: { records.append($0) }) {
            entries.append($0.materialize())
        }
        precondition(summary.damages.isEmpty, "a freshly built log reads with damage")
        self.records = records
        self.entries = entries
        var original: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: temporary.path) {
            original[name] = Array(try Data(contentsOf: URL(fileURLWithPath: temporary.path + "/" + name)))
        }
        self.original = original
    }

    /// Options that make small logs: no group-commit timer (the builder asks for each write), a
    /// small dictionary trained early.
    public static let smallOptions = LogWriter.Options(
        durability: .no, segmentByteCountTarget: 1200, dictionaryByteCountMax: 2048,
        dictionarySampleEntryCount: 40, flushIntervalMilliseconds: 60_000)

    // MARK: - Files

    public var segmentFileNames: [String] { manifest.segments.map(\.fileName) }
    public var dictionaryFileNames: [String] { manifest.dictionaries.map(\.fileName) }
    public var lastSegmentFileName: String { manifest.segments.last!.fileName }
    /// The manifest, every dictionary and every segment: the files a reader trusts.
    public var logFileNames: [String] { [LogFormat.manifestFileName] + dictionaryFileNames + segmentFileNames }

    public func filePath(_ name: String) -> String { path + "/" + name }

    public func bytes(of name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: filePath(name))))
    }

    public func write(_ bytes: [UInt8], to name: String) throws {
        dirty.insert(name)
        try Data(bytes).write(to: URL(fileURLWithPath: filePath(name)))
    }

    public func remove(_ name: String) throws {
        dirty.insert(name)
        try FileManager.default.removeItem(atPath: filePath(name))
    }

    /// Puts back every file changed since the log was built, and removes files added since.
    public func restore() throws {
        for name in dirty {
            if let bytes = original[name] {
                try Data(bytes).write(to: URL(fileURLWithPath: filePath(name)))
            } else {
                try? FileManager.default.removeItem(atPath: filePath(name))
            }
        }
        dirty.removeAll()
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where original[name] == nil {
            try FileManager.default.removeItem(atPath: filePath(name))
        }
    }

    /// Copies the log's files (not LOCK) into `directory`, which is created.
    public func copy(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name != "LOCK" {
            try Data(bytes(of: name)).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
    }

    // MARK: - Mutators (LevelDB log_test.cc)

    /// Flips bit `bitOffset % 8` of byte `bitOffset / 8`.
    public func flipBit(at bitOffset: Int, in name: String) throws {
        var data = try bytes(of: name)
        data[bitOffset / 8] ^= UInt8(1) << UInt8(bitOffset % 8)
        try write(data, to: name)
    }

    /// Cuts `count` bytes off the end of the file.
    public func truncate(_ name: String, by count: Int) throws {
        let data = try bytes(of: name)
        try write(Array(data.prefix(data.count - count)), to: name)
    }

    /// Keeps the first `byteCount` bytes of the file.
    public func truncate(_ name: String, to byteCount: Int) throws {
        try write(Array(try bytes(of: name).prefix(byteCount)), to: name)
    }

    /// Adds `delta` (wrapping) to one byte.
    public func increment(byteAt offset: Int, by delta: UInt8 = 1, in name: String) throws {
        var data = try bytes(of: name)
        data[offset] &+= delta
        try write(data, to: name)
    }

    /// Replaces bytes starting at `offset` (the file grows when they run past its end).
    public func overwrite(_ replacement: [UInt8], at offset: Int, in name: String) throws {
        var data = try bytes(of: name)
        if data.count < offset + replacement.count { data += [UInt8](repeating: 0, count: offset + replacement.count - data.count) }
        data.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
        try write(data, to: name)
    }

    /// Stores a little-endian integer at `offset`.
    public func store<T: FixedWidthInteger>(_ value: T, at offset: Int, in name: String) throws {
        try overwrite(ForgedRecord.littleEndian(value), at: offset, in: name)
    }

    /// Recomputes the checksum of the record at `offset` after its bytes were edited, using the
    /// stored byte count now in its header, so that the edit reaches the code behind the checksum.
    public func fixChecksum(recordAt offset: Int, in name: String) throws {
        var data = try bytes(of: name)
        ForgedRecord.fixChecksum(&data, recordAt: offset)
        try write(data, to: name)
    }

    // MARK: - Reading

    /// Reads the whole log, collecting every damage reported and the error thrown.
    public func read(_ recovery: RecoveryMode, from sequence: UInt64 = 1) -> ReadOutcome {
        LogFixture.read(directory: path, recovery: recovery, from: sequence)
    }

    public static func read(directory: String, recovery: RecoveryMode, from sequence: UInt64 = 1) -> ReadOutcome {
        var outcome = ReadOutcome()
        let collector = DamageCollector()
        // Entries delivered before an error are kept: a caller has seen them.
        var entries: [LogEntry] = []
        do {
            let reader = try LogReader(directory: directory)
            outcome.summary = try reader.forEachEntry(from: sequence, recovery: recovery, reporter: collector) {
                entries.append($0.materialize())
            }
        } catch {
            outcome.error = error
        }
        outcome.reported = collector.damages
        outcome.entries = entries
        return outcome
    }

    /// Where each record of the log in `directory` sits (LogReader's `RecordInfo`), read in
    /// absolute mode.
    public static func records(in directory: String) throws -> [LogReader.RecordInfo] {
        var records: [LogReader.RecordInfo] = []
        try LogReader(directory: directory).forEachEntry(recovery: .absolute, onRecord: { records.append($0) }) { _ in }
        return records
    }

    /// The records of one segment file.
    public func records(in segmentFileName: String) -> [LogReader.RecordInfo] {
        records.filter { $0.segmentFileName == segmentFileName }
    }

    /// The entries whose sequence numbers fall outside `lost`.
    public func entries(excluding lost: [ClosedRange<UInt64>]) -> [LogEntry] {
        entries.filter { entry in !lost.contains { $0.contains(entry.sequence) } }
    }

    /// The sequence numbers held by the segment at `index` in the manifest.
    public func sequences(ofSegment index: Int) -> ClosedRange<UInt64>? {
        let first = manifest.segments[index].firstSequence
        let end = index + 1 < manifest.segments.count ? manifest.segments[index + 1].firstSequence : (entries.last?.sequence ?? 0) + 1
        return end > first ? first...(end - 1) : nil
    }
}

/// Byte-level construction of records and payloads, for forging records that carry a valid
/// checksum but say something absurd. Independent of RewindLog's internals on purpose: it follows
/// docs/FORMAT.md, so a disagreement shows up as a test failure.
public enum ForgedRecord {
    public static let headerByteCount = LogFormat.recordHeaderByteCount

    public static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    public static func varint(_ value: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(remaining))
        return bytes
    }

    public static func signedVarint(_ value: Int64) -> [UInt8] {
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// A record (header and payload) with a correct checksum over whatever the fields say.
    public static func record(
        payload: [UInt8], storedByteCount: UInt32? = nil, uncompressedByteCount: UInt32? = nil,
        firstSequence: UInt64, entryCount: UInt32, flags: UInt8 = 0, reserved: [UInt8] = [0, 0, 0],
        baseTimestampMilliseconds: Int64 = 1_700_000_000_000
    ) -> [UInt8] {
        var bytes = littleEndian(LogFormat.recordMagic) + littleEndian(UInt32(0))
        bytes += littleEndian(storedByteCount ?? UInt32(payload.count))
        bytes += littleEndian(uncompressedByteCount ?? UInt32(payload.count))
        bytes += littleEndian(firstSequence) + littleEndian(entryCount) + [flags] + reserved
        bytes += littleEndian(baseTimestampMilliseconds) + payload
        fixChecksum(&bytes, recordAt: 0)
        return bytes
    }

    /// Recomputes the masked CRC32C of the record at `offset` over bytes 8 ..< 40 + stored, the
    /// stored count taken from the header (clamped to the bytes present).
    public static func fixChecksum(_ bytes: inout [UInt8], recordAt offset: Int) {
        let stored = Int(UInt32(bytes[offset + 8]) | UInt32(bytes[offset + 9]) << 8 | UInt32(bytes[offset + 10]) << 16
            | UInt32(bytes[offset + 11]) << 24)
        let end = min(bytes.count, offset + headerByteCount + stored)
        let crc = CRC32C.mask(CRC32C.checksum(Array(bytes[(offset + 8)..<end])))
        bytes.replaceSubrange((offset + 4)..<(offset + 8), with: littleEndian(crc))
    }

    /// One entry of a payload: flags, optional db, timestamp delta, argument count, arguments
    /// (the first as a literal: length shifted left by one), optional reply hash.
    public static func entry(
        flags: UInt8 = 0, db: UInt64? = nil, timestampDelta: Int64 = 0, arguments: [[UInt8]], replyHash: UInt64? = nil
    ) -> [UInt8] {
        var bytes = [flags | (db == nil ? 0 : 0b1000) | (replyHash == nil ? 0 : 0b100)]
        if let db { bytes += varint(db) }
        bytes += signedVarint(timestampDelta) + varint(UInt64(arguments.count))
        for (index, argument) in arguments.enumerated() {
            bytes += varint(UInt64(argument.count) << (index == 0 ? 1 : 0)) + argument
        }
        if let replyHash { bytes += littleEndian(replyHash) }
        return bytes
    }
}

extension LogFixture {
    /// The batches of the standard small log: 64 entries in about 50 records, a transaction, a
    /// checkpoint, binary and empty arguments, reply hashes, several databases; with
    /// `smallOptions` it has a plain first segment, a dictionary, and later segments compressed
    /// with it.
    public static func standardBatches(seed: UInt64 = 1) -> [LogBatch] {
        var generator = SeededGenerator(seed: seed)
        var batches: [LogBatch] = []
        var time: Int64 = 1_700_000_000_000
        func next(_ index: Int) -> LogEntry {
            time += Int64.random(in: 0...40, using: &generator)
            let key = Array("user:\(Int.random(in: 0..<40, using: &generator)):profile".utf8)
            var arguments: [[UInt8]]
            switch index % 7 {
            case 0: arguments = [Array("HSET".utf8), key, Array("name".utf8), Array("alice-\(index)".utf8)]
            case 1: arguments = [Array("set".utf8), key, RandomEntries.bytes(count: Int.random(in: 0...24, using: &generator), using: &generator)]
            case 2: arguments = [Array("INCR".utf8), Array("counter:\(index % 3)".utf8)]
            case 3: arguments = [Array("X-CUSTOM".utf8), [], [0, 255, 10, 13]]
            default: arguments = [Array("SET".utf8), key, Array("{\"visits\":\(index),\"plan\":\"pro\"}".utf8)]
            }
            return LogEntry(
                timestampMilliseconds: time, db: index % 5 == 0 ? 3 : 0, arguments: arguments,
                replyHash: index % 4 == 0 ? UInt64.random(in: 0...UInt64.max, using: &generator) : nil)
        }
        var index = 0
        while index < 64 {
            switch index {
            case 10:
                batches.append(LogBatch([next(index), next(index + 1), next(index + 2)], transaction: true))
                index += 3
            case 20:
                batches.append(LogBatch([LogEntry(timestampMilliseconds: time, kind: .checkpoint, arguments: [Array(repeating: 0xAB, count: 20)])]))
                index += 1
            case 30, 50:
                batches.append(LogBatch([next(index), next(index + 1)]))
                index += 2
            default:
                batches.append(LogBatch([next(index)]))
                index += 1
            }
        }
        return batches
    }

    /// The standard small log (see `standardBatches`).
    public static func standard(seed: UInt64 = 1) throws -> LogFixture {
        try LogFixture(batches: standardBatches(seed: seed))
    }
}

/// Nil when the two entry lists are equal; otherwise a one-line account of the first difference,
/// short enough for a failure message (comparing arrays directly prints every argument).
public func entryDifference(_ got: [LogEntry], _ expected: [LogEntry]) -> String? {
    if got == expected { return nil }
    if got.count != expected.count {
        return "got \(got.count) entries (#\(got.first?.sequence ?? 0)-#\(got.last?.sequence ?? 0)), expected \(expected.count) (#\(expected.first?.sequence ?? 0)-#\(expected.last?.sequence ?? 0))"
    }
    let index = got.indices.first { got[$0] != expected[$0] }!
    return "entry \(index) differs: got #\(got[index].sequence) \(got[index].kind) \(got[index].arguments.map(\.count)) bytes, expected #\(expected[index].sequence)"
}
