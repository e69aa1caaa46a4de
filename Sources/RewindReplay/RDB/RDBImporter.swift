// `rewind import --format rdb`: an RDB file becomes the entries that rebuild each key.

import Foundation
import RewindLog

/// Imports a Redis RDB file into a new Rewind log.
///
/// Each key becomes the commands that rebuild it, stamped with the RDB's time (its `ctime` AUX
/// field, in milliseconds; 0 when the file has none), in the key's database:
/// `SET`, or `RPUSH`/`SADD`/`HSET`/`ZADD` in chunks of at most ``Options/chunkElementCountMax``
/// elements (and about a megabyte), then `PEXPIREAT` for a TTL. As Redis does when it loads an RDB
/// as a primary, a key whose TTL had passed at the RDB's time is left out, and so is an empty
/// collection; both are counted as skipped.
///
/// ```swift
/// let summary = try RDBImporter.importRDB(from: "dump.rdb", to: "app.rwlog")
/// ```
public enum RDBImporter {
    public struct Options: Sendable {
        /// Read past stream keys (listing them) instead of failing.
        public var skipsStreams: Bool
        /// Elements (or field-value pairs) per entry for big collections.
        public var chunkElementCountMax: Int
        /// Argument bytes per entry for big collections (a chunk stops at whichever comes first).
        public var chunkByteCountMax: Int
        /// How the new log is written; synced once at the end.
        ///
        /// By default zstd level 1 and no trained dictionary: an import writes records of about
        /// 128 KiB, where level 1 compresses as well as level 3 (11.3 MB against 11.4 MB for the
        /// benchmark's state) in less time, and a dictionary saves nothing (it is for small
        /// records) while training it took 100-150 ms. The first writer that appends to the log
        /// later (`rewind serve`) trains one on its own entries, as it does for any log without one.
        public var writerOptions: LogWriter.Options

        /// The writer options an RDB import uses unless told otherwise.
        public static var defaultWriterOptions: LogWriter.Options {
            LogWriter.Options(durability: .no, compressionLevel: 1, trainsDictionary: false)
        }

        public init(skipsStreams: Bool = false, chunkElementCountMax: Int = 1024, chunkByteCountMax: Int = 1 << 20,
                    writerOptions: LogWriter.Options = Options.defaultWriterOptions) {
            precondition(chunkElementCountMax >= 1 && chunkByteCountMax >= 1)
            self.skipsStreams = skipsStreams
            self.chunkElementCountMax = chunkElementCountMax
            self.chunkByteCountMax = chunkByteCountMax
            self.writerOptions = writerOptions
        }
    }

    /// Imports the RDB at `source` into a new log at `log`.
    ///
    /// - Throws: ``RDBError`` naming the byte offset (and key) of truncated, corrupt or unsupported
    ///   input; `LogError` when the log cannot be written or `log` exists. Nothing is left at `log`.
    public static func importRDB(from source: String, to log: String, options: Options = Options(),
                                 progress: ((ImportProgress) -> Void)? = nil) throws -> ImportSummary {
        let clock = Stopwatch()
        let name = (source as NSString).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? Int) ?? 0
        guard FileManager.default.fileExists(atPath: source) else {
            throw RDBError(.fileSystem, file: source, byteOffset: 0, "no such file")
        }
        let destination = try ImportDestination(path: log, writerOptions: options.writerOptions)
        do {
            destination.setSource(files: [name], byteCount: size)
            _ = try appendRDB(path: source, displayName: name, to: destination, options: options) { offset in
                progress?(ImportProgress(sourceBytesRead: offset, sourceByteCount: size, entryCount: destination.summary.entryCount))
            }
            destination.setSeconds(clock.seconds)
            var summary = try destination.commit()
            summary.seconds = clock.seconds
            return summary
        } catch {
            destination.abandon()
            throw error
        }
    }

    /// Reads the RDB at `path` (a whole file, or the preamble of an AOF) and appends its entries
    /// to `destination`. Returns what the file held besides keys (its end offset, its time).
    ///
    /// Keys go straight from the mapped file into the log's entry encoding (`RDBEntryEncoder`);
    /// the entries are those `RebuildCommands` builds from the values `RDBReader` reads.
    static func appendRDB(path: String, displayName: String, to destination: ImportDestination, options: Options,
                          progress: (Int) -> Void) throws -> RDBFileSummary {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw RDBError(.fileSystem, file: displayName, byteOffset: 0, "cannot read the file: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { raw in
            try appendRDB(raw.bindMemory(to: UInt8.self), displayName: displayName, to: destination, options: options, progress: progress)
        }
    }

    static func appendRDB(_ bytes: UnsafeBufferPointer<UInt8>, displayName: String, to destination: ImportDestination,
                          options: Options, progress: (Int) -> Void) throws -> RDBFileSummary {
        let (summary, skippedKeys, notes) = try encodeRDB(bytes, displayName: displayName, options: options, progress: progress) {
            try destination.append(encoded: &$0)
        }
        destination.addSkipped(skippedKeys + summary.skipped.count, notes: notes, rdbKeyCount: summary.keyCount)
        return summary
    }

    /// Reads an RDB held in memory and encodes its entries, handing each full batch to `emit`;
    /// returns what the file held besides keys, the keys skipped and the notes to show. (`package`
    /// for tools/rdb-bench, whose fuzz run reads damaged files through it.)
    package static func encodeRDB(_ bytes: UnsafeBufferPointer<UInt8>, displayName: String, options: Options, progress: (Int) -> Void,
                          emit: @escaping (inout LogEntryBatch) throws -> Void) throws -> (RDBFileSummary, Int, [String]) {
        let databaseCount = Keyspace.defaultDatabaseCount
        var encoder = RDBEntryEncoder(
            chunkElementCountMax: options.chunkElementCountMax, chunkByteCountMax: options.chunkByteCountMax,
            batchByteCountTarget: options.writerOptions.recordByteCountTarget, emit: emit)
        var timestamp: Int64 = 0
        var keysSinceProgress = 0
        var skippedKeys = 0
        var notes: [String] = []
        let readerOptions = RDBReader.Options(skipsStreams: options.skipsStreams)
        let summary = try RDBReader.scan(bytes, fileName: displayName, options: readerOptions, onAux: { name, value in
            // AUX fields come before the keys in every RDB Redis writes, so ctime is known by the first key.
            if name == "ctime", let seconds = Int64(String(decoding: value, as: UTF8.self)), seconds > 0, seconds < Int64.max / 1000 {
                timestamp = seconds * 1000
            }
        }) { cursor, record, summary in
            encoder.timestamp = timestamp
            let expired = record.expiresAtMilliseconds.map { timestamp > 0 && $0 < timestamp } ?? false
            if record.db < databaseCount && !expired && RDBEntryEncoder.streams(type: record.type) {
                if let emptyType = try encoder.encode(&cursor, record) {
                    skippedKeys += 1
                    if notes.count < 10 { notes.append("@\(record.byteOffset): skipped empty \(emptyType) \(ByteQuoting.quoted(cursor.keyBytes!.prefix(200))), as Redis skips it") }
                }
            } else if let (key, value) = try RDBReader.readKey(&cursor, type: record.type, typeOffset: record.typeOffset,
                                                                options: readerOptions, summary: &summary) {
                guard record.db < databaseCount else {
                    throw RDBError(.unsupported, file: displayName, byteOffset: record.byteOffset, key: key,
                        "database \(record.db) is beyond the \(databaseCount) databases Rewind replays")
                }
                if expired {
                    skippedKeys += 1
                    if notes.count < 10 { notes.append("@\(record.byteOffset): skipped key \(quoted(key)): its TTL had passed when the RDB was written") }
                } else if try !encoder.encode(key: key, value: value, db: record.db, expiresAt: record.expiresAtMilliseconds) {
                    skippedKeys += 1
                    if notes.count < 10 { notes.append("@\(record.byteOffset): skipped empty \(value.typeName) \(quoted(key)), as Redis skips it") }
                }
            }
            keysSinceProgress += 1
            if keysSinceProgress >= 4096 {
                keysSinceProgress = 0
                progress(record.byteOffset)
            }
        }
        try encoder.flush()
        progress(summary.endByteOffset)
        for skipped in summary.skipped.prefix(20) { notes.append("\(displayName) \(skipped)") }
        if summary.skipped.count > 20 { notes.append("\(displayName): \(summary.skipped.count - 20) more records skipped") }
        if summary.lruIdleCount + summary.lfuFrequencyCount > 0 {
            notes.append("\(displayName): dropped \(summary.lruIdleCount) LRU idle times and \(summary.lfuFrequencyCount) LFU frequencies (eviction hints the log does not keep)")
        }
        if skippedKeys > 10 { notes.append("\(displayName): \(skippedKeys) keys skipped in all (expired or empty)") }
        if !summary.checksumVerified && summary.version >= 5 {
            notes.append("\(displayName): no CRC-64 to check (written with rdbchecksum no)")
        }
        return (summary, skippedKeys, notes)
    }

    static func quoted(_ key: [UInt8]) -> String { ByteQuoting.quoted(key.prefix(200)) }
}

import RewindEngine
import RewindRESP

extension Keyspace {
    /// The database count a keyspace gets by default (Redis's `databases 16`).
    static var defaultDatabaseCount: UInt32 { 16 }
}

/// Turns one key into the commands that rebuild it, big collections in chunks. (`package` for
/// tools/rdb-bench, which times it apart from the log writer.)
package struct RebuildCommands {
    let chunkElementCountMax: Int
    let chunkByteCountMax: Int

    package init(chunkElementCountMax: Int, chunkByteCountMax: Int) {
        self.chunkElementCountMax = chunkElementCountMax
        self.chunkByteCountMax = chunkByteCountMax
    }

    static let set = Array("SET".utf8), rpush = Array("RPUSH".utf8), sadd = Array("SADD".utf8)
    static let hset = Array("HSET".utf8), zadd = Array("ZADD".utf8), pexpireat = Array("PEXPIREAT".utf8)

    /// Calls `emit` with each command for `item`; false when there was nothing to write (an empty
    /// collection).
    package mutating func append(_ item: RDBKeyValue, _ emit: ([[UInt8]]) throws -> Void) throws -> Bool {
        let key = item.key
        switch item.value {
        case .string(let bytes):
            try emit([Self.set, key, bytes])
        case .list(let elements):
            guard !elements.isEmpty else { return false }
            try chunks(Self.rpush, key, elements.count, stride: 1, emit) { elements[$0] }
        case .set(let members):
            guard !members.isEmpty else { return false }
            try chunks(Self.sadd, key, members.count, stride: 1, emit) { members[$0] }
        case .hash(let pairs):
            guard !pairs.isEmpty else { return false }
            try chunks(Self.hset, key, pairs.count * 2, stride: 2, emit) { $0 % 2 == 0 ? pairs[$0 / 2].0 : pairs[$0 / 2].1 }
        case .sortedSet(let pairs):
            guard !pairs.isEmpty else { return false }
            try chunks(Self.zadd, key, pairs.count * 2, stride: 2, emit) {
                $0 % 2 == 0 ? Self.scoreText(pairs[$0 / 2].1) : pairs[$0 / 2].0
            }
        }
        if let expiresAt = item.expiresAtMilliseconds {
            try emit([Self.pexpireat, key, Array(String(expiresAt).utf8)])
        }
        return true
    }

    /// A score as ZADD reads it back exactly: integers in decimal, others in Swift's shortest
    /// round-trip form (`2.5`, `1e-300`, `inf`), which strtod parses to the same double.
    /// (`String(format: "%.17g")` gives the same doubles but costs 6% of an import.)
    static func scoreText(_ score: Double) -> [UInt8] {
        if score == score.rounded(), abs(score) < 1e15, !(score == 0 && score.sign == .minus) { return Array(String(Int64(score)).utf8) }
        return Array(score.description.utf8)
    }

    /// Emits `command key a1 a2 …` for `count` arguments, cut into chunks at a multiple of `stride`.
    private func chunks(_ command: [UInt8], _ key: [UInt8], _ count: Int, stride: Int,
                        _ emit: ([[UInt8]]) throws -> Void, _ argument: (Int) -> [UInt8]) throws {
        var arguments: [[UInt8]] = [command, key]
        arguments.reserveCapacity(min(count, chunkElementCountMax * stride) + 2)
        var bytes = 0
        var index = 0
        while index < count {
            for k in 0..<stride {
                let value = argument(index + k)
                bytes += value.count
                arguments.append(value)
            }
            index += stride
            if index < count && (arguments.count - 2 >= chunkElementCountMax * stride || bytes >= chunkByteCountMax) {
                try emit(arguments)
                arguments.removeSubrange(2...)
                bytes = 0
            }
        }
        try emit(arguments)
    }
}
