import Foundation
import RewindLog

/// Counts and sizes of a log: what `rewind stats` prints.
///
/// `aofByteCount` is the size of the same commands written as a Redis AOF, computed by running
/// every entry through the exporter's own ``AOFEncoder`` (SELECTs, MULTI/EXEC, no `#TS:` lines),
/// so it is exactly the size `rewind export --format aof` writes for the whole log.
public struct LogStatistics: Hashable, Sendable {
    /// Entries, markers and checkpoints included (sequence numbers used).
    public var entryCount = 0
    /// Command entries.
    public var commandCount = 0
    public var transactionCount = 0
    public var checkpointCount = 0
    public var recordCount = 0
    public var segmentCount = 0
    public var dictionaryCount = 0
    /// Bytes of every file in the log directory (segments, manifest, dictionaries, lock file).
    public var bytesOnDisk = 0
    /// Bytes the same entries take as a Redis AOF (see the type's comment).
    public var aofByteCount = 0
    /// Record payload bytes before and after compression.
    public var uncompressedPayloadByteCount = 0
    public var storedPayloadByteCount = 0
    public var firstSequence: UInt64 = 0
    public var lastSequence: UInt64 = 0
    public var firstTimestampMilliseconds: Int64 = 0
    public var lastTimestampMilliseconds: Int64 = 0
    /// Database indexes used, ascending.
    public var databases: [UInt32] = []
    /// The most frequent command names (uppercased), most frequent first, ties by name.
    public var topCommands: [CommandCount] = []
    /// Damage the recovery mode accepted while reading (a torn tail, by default).
    public var damages: [LogDamage] = []

    public struct CommandCount: Hashable, Sendable {
        public var name: String
        public var count: Int
    }

    /// `aofByteCount / bytesOnDisk`: how many times smaller the log is than the AOF.
    public var compressionRatio: Double {
        bytesOnDisk == 0 ? 0 : Double(aofByteCount) / Double(bytesOnDisk)
    }

    /// Reads the whole log in `directory` and counts.
    ///
    /// - Parameters:
    ///   - topCommandCount: how many command names to keep in `topCommands`.
    ///   - recovery: how damage is treated while reading.
    /// - Throws: `LogError` when the log cannot be read or the recovery mode refuses its damage.
    public static func compute(directory: String, topCommandCount: Int = 10, recovery: RecoveryMode = .tolerateTail) throws -> LogStatistics {
        let reader = try LogReader(directory: directory)
        var statistics = LogStatistics()
        statistics.segmentCount = reader.manifest.segments.count
        statistics.dictionaryCount = reader.manifest.dictionaries.count
        var encoder = AOFEncoder()
        var buffer: [UInt8] = []
        var counts: [[UInt8]: Int] = [:]
        var databases = Set<UInt32>()
        let collector = DamageCollector()
        let summary = try reader.forEachEntry(recovery: recovery, reporter: collector, onRecord: { info in
            statistics.uncompressedPayloadByteCount += info.uncompressedPayloadByteCount
            statistics.storedPayloadByteCount += info.storedPayloadByteCount
        }) { entry in
            if statistics.entryCount == 0 {
                statistics.firstSequence = entry.sequence
                statistics.firstTimestampMilliseconds = entry.timestampMilliseconds
            }
            statistics.entryCount += 1
            statistics.lastSequence = entry.sequence
            statistics.lastTimestampMilliseconds = entry.timestampMilliseconds
            switch entry.kind {
            case .command:
                statistics.commandCount += 1
                databases.insert(entry.db)
                if let name = entry.arguments.first {
                    counts[name.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, default: 0] += 1
                }
            case .transactionBegin: statistics.transactionCount += 1
            case .checkpoint: statistics.checkpointCount += 1
            case .transactionEnd: break
            }
            buffer.removeAll(keepingCapacity: true)
            encoder.encode(entry, into: &buffer)
            statistics.aofByteCount += buffer.count
        }
        statistics.recordCount = summary.recordCount
        statistics.damages = collector.damages
        statistics.databases = databases.sorted()
        statistics.topCommands = counts
            .map { CommandCount(name: String(decoding: $0.key, as: UTF8.self), count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.name < $1.name }
            .prefix(topCommandCount).map { $0 }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
            statistics.bytesOnDisk += size
        }
        return statistics
    }

    /// The statistics as readable lines, the ratio last.
    public func renderText() -> String {
        var lines: [String] = []
        lines.append("entries          \(entryCount) (#\(firstSequence)-#\(lastSequence); \(commandCount) commands, \(transactionCount) transactions, \(checkpointCount) checkpoints)")
        if entryCount > 0 {
            lines.append("time             \(EntryFormatting.isoTime(milliseconds: firstTimestampMilliseconds)) to \(EntryFormatting.isoTime(milliseconds: lastTimestampMilliseconds))")
        }
        lines.append("databases        \(databases.map(String.init).joined(separator: " "))")
        lines.append("records          \(recordCount)")
        lines.append("segments         \(segmentCount) (\(dictionaryCount) dictionaries)")
        lines.append("payload          \(uncompressedPayloadByteCount) bytes uncompressed, \(storedPayloadByteCount) stored")
        lines.append("top commands     " + topCommands.map { "\($0.name) \($0.count)" }.joined(separator: ", "))
        for damage in damages { lines.append("damage           \(damage)") }
        lines.append("bytes on disk    \(bytesOnDisk)")
        lines.append("as a Redis AOF   \(aofByteCount) bytes")
        lines.append(String(format: "ratio            %.2fx smaller than the AOF (%.3f of its size)", compressionRatio, compressionRatio == 0 ? 0 : 1 / compressionRatio))
        return lines.joined(separator: "\n")
    }

    /// The statistics as one JSON object (field names in docs/CLI.md).
    public func renderJSON() -> String {
        var object = JSONObject()
        object.add("entries", entryCount)
        object.add("commands", commandCount)
        object.add("transactions", transactionCount)
        object.add("checkpoints", checkpointCount)
        object.add("records", recordCount)
        object.add("segments", segmentCount)
        object.add("dictionaries", dictionaryCount)
        object.add("bytes_on_disk", bytesOnDisk)
        object.add("aof_bytes", aofByteCount)
        object.add("compression_ratio", (compressionRatio * 1000).rounded() / 1000)
        object.add("payload_uncompressed_bytes", uncompressedPayloadByteCount)
        object.add("payload_stored_bytes", storedPayloadByteCount)
        object.add("first_seq", firstSequence)
        object.add("last_seq", lastSequence)
        object.add("first_time_ms", firstTimestampMilliseconds)
        object.add("last_time_ms", lastTimestampMilliseconds)
        object.add("databases", integers: databases.map(Int.init))
        object.add("top_commands", objects: topCommands.map { command in
            var item = JSONObject()
            item.add("command", command.name)
            item.add("count", command.count)
            return item
        })
        object.add("damages", strings: damages.map(\.description))
        return object.text
    }
}
