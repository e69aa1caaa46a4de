// Writing an RDB file (version 10, as Redis 7.0 writes it) that redis-server 7.0 loads.

import Foundation
import RewindEngine
import RewindLog

/// Builds the bytes of an RDB file with simple encodings: plain strings (integer-encoded where
/// Redis would encode them), and collections in their plain form (`LIST`, `SET`, `HASH`,
/// `ZSET_2` with binary scores), which Redis converts to its compact encodings as it loads them.
/// No LZF compression. The CRC-64 trailer is computed as the bytes are written.
public struct RDBWriter {
    public private(set) var bytes: [UInt8] = []
    private var finished = false

    /// Starts a file: the `REDIS0010` header and AUX fields as Redis 7.0 writes them.
    public init(creationSeconds: Int64, redisVersion: String = "7.0.15") {
        bytes.append(contentsOf: RDBFormat.magic)
        bytes.append(contentsOf: Array(String(format: "%04d", RDBFormat.writtenVersion).utf8))
        aux("redis-ver", Array(redisVersion.utf8))
        aux("redis-bits", Array("64".utf8))
        aux("ctime", Array(String(creationSeconds).utf8))
        aux("used-mem", Array("0".utf8))
        aux("aof-base", Array("0".utf8))
    }

    private mutating func aux(_ name: String, _ value: [UInt8]) {
        bytes.append(RDBFormat.opcodeAux)
        string(Array(name.utf8))
        string(value)
    }

    /// Starts database `db`, with its key and TTL counts (RESIZEDB, a sizing hint for the loader).
    public mutating func selectDB(_ db: Int, keyCount: Int, expiryCount: Int) {
        bytes.append(RDBFormat.opcodeSelectDB)
        length(UInt64(db))
        bytes.append(RDBFormat.opcodeResizeDB)
        length(UInt64(keyCount))
        length(UInt64(expiryCount))
    }

    /// Writes one key. Empty collections are not written (Redis would skip them as it loads).
    public mutating func writeKey(_ key: [UInt8], value: StateValue, expiresAtMilliseconds: Int64?) {
        precondition(!finished, "writeKey after finish")
        if let expiresAtMilliseconds {
            bytes.append(RDBFormat.opcodeExpireTimeMilliseconds)
            let raw = UInt64(bitPattern: expiresAtMilliseconds)
            for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: raw >> (8 * index))) }
        }
        switch value {
        case .string(let value):
            bytes.append(RDBFormat.typeString)
            string(key)
            string(value)
        case .list(let elements):
            bytes.append(RDBFormat.typeList)
            string(key)
            length(UInt64(elements.count))
            for element in elements { string(element) }
        case .set(let members):
            bytes.append(RDBFormat.typeSet)
            string(key)
            length(UInt64(members.count))
            for member in members { string(member) }
        case .hash(let pairs):
            bytes.append(RDBFormat.typeHash)
            string(key)
            length(UInt64(pairs.count))
            for (field, value) in pairs {
                string(field)
                string(value)
            }
        case .sortedSet(let pairs):
            bytes.append(RDBFormat.typeSortedSet2)
            string(key)
            length(UInt64(pairs.count))
            // Redis writes a skiplist from its tail, so it can load by inserting at the head;
            // any order loads.
            for (member, score) in pairs.reversed() {
                string(member)
                let raw = score.bitPattern
                for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: raw >> (8 * index))) }
            }
        }
    }

    /// Ends the file: the EOF opcode and the CRC-64 of everything before it, little-endian.
    public mutating func finish() -> [UInt8] {
        if !finished {
            bytes.append(RDBFormat.opcodeEOF)
            let crc = CRC64.checksum(bytes)
            for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: crc >> (8 * index))) }
            finished = true
        }
        return bytes
    }

    private mutating func length(_ value: UInt64) {
        if value < 64 {
            bytes.append(UInt8(value))
        } else if value < 16384 {
            bytes.append(UInt8(value >> 8) | 0x40)
            bytes.append(UInt8(value & 0xff))
        } else if value <= UInt64(UInt32.max) {
            bytes.append(RDBFormat.length32BitMarker)
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        } else {
            bytes.append(RDBFormat.length64BitMarker)
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
    }

    /// A string, integer-encoded when Redis would (rdbTryIntegerEncoding: canonical decimal text
    /// of at most 11 bytes whose value fits in 32 bits).
    private mutating func string(_ value: [UInt8]) {
        if value.count <= 11, let integer = Self.canonicalInteger(value), let small = Int32(exactly: integer) {
            let encoded = UInt8(0xC0)
            if let byte = Int8(exactly: small) {
                bytes.append(encoded | UInt8(RDBFormat.encodingInt8))
                bytes.append(UInt8(bitPattern: byte))
            } else if let short = Int16(exactly: small) {
                bytes.append(encoded | UInt8(RDBFormat.encodingInt16))
                let raw = UInt16(bitPattern: short)
                bytes.append(UInt8(raw & 0xff))
                bytes.append(UInt8(raw >> 8))
            } else {
                bytes.append(encoded | UInt8(RDBFormat.encodingInt32))
                let raw = UInt32(bitPattern: small)
                for index in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: raw >> (8 * UInt32(index)))) }
            }
            return
        }
        length(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// The value of `text` when it is exactly the decimal form of an Int64 (no sign '+', no
    /// leading zeros, not "-0").
    static func canonicalInteger(_ text: [UInt8]) -> Int64? {
        guard !text.isEmpty, let value = Int64(String(decoding: text, as: UTF8.self)) else { return nil }
        return Array(String(value).utf8) == text ? value : nil
    }
}

/// `rewind export --format rdb`: replays a log and writes the state as an RDB file.
public enum RDBExporter {
    /// What an export wrote.
    public struct Summary: Sendable, CustomStringConvertible {
        public var keyCount = 0
        public var databaseCount = 0
        public var byteCount = 0
        /// The last sequence number replayed.
        public var lastSequence: UInt64 = 0
        public var seconds = 0.0
        public var damages: [LogDamage] = []

        public var description: String {
            "exported \(counted(keyCount, "key", "keys")) in \(counted(databaseCount, "database")) (up to #\(lastSequence)) as \(byteCount) bytes of RDB in \(String(format: "%.2f", seconds)) s"
        }
    }

    /// Replays `log` up to `until` and writes its state to `file` as an RDB (version 10),
    /// through `FILE.tmp-<pid>`, fsync and rename. The RDB's `ctime` is the time of the last
    /// entry replayed.
    public static func export(log: String, to file: String, until: UInt64? = nil,
                              recovery: RecoveryMode = .tolerateTail) throws -> Summary {
        let clock = Stopwatch()
        let keyspace = Keyspace(randomSeed: 0)
        let replay = try Replayer(log: log).replay(into: keyspace, options: ReplayOptions(untilSequence: until, recovery: recovery))
        var summary = Summary()
        summary.lastSequence = replay.lastSequence
        summary.damages = replay.damages
        let bytes = rdbBytes(of: keyspace, creationSeconds: replay.lastTimestampMilliseconds / 1000, summary: &summary)
        try writeAtomically(bytes, to: file)
        summary.byteCount = bytes.count
        summary.seconds = clock.seconds
        return summary
    }

    /// The RDB of `keyspace`'s state.
    public static func rdbBytes(of keyspace: Keyspace, creationSeconds: Int64) -> [UInt8] {
        var summary = Summary()
        return rdbBytes(of: keyspace, creationSeconds: creationSeconds, summary: &summary)
    }

    static func rdbBytes(of keyspace: Keyspace, creationSeconds: Int64, summary: inout Summary) -> [UInt8] {
        var writer = RDBWriter(creationSeconds: creationSeconds)
        let reader = StateReader(keyspace: keyspace)
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            let stored = reader.keys(db: db).compactMap { reader.read($0, db: db) }.filter { !$0.value.isEmptyCollection }
            guard !stored.isEmpty else { continue }
            writer.selectDB(db, keyCount: stored.count, expiryCount: stored.filter { $0.expiresAtMilliseconds != nil }.count)
            for key in stored { writer.writeKey(key.key, value: key.value, expiresAtMilliseconds: key.expiresAtMilliseconds) }
            summary.keyCount += stored.count
            summary.databaseCount += 1
        }
        return writer.finish()
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ReplayError(.writeFailed, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw ReplayError(.writeFailed, "cannot write \(temporary): \(failure)")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ReplayError(.writeFailed, "cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}

extension StateValue {
    var isEmptyCollection: Bool {
        switch self {
        case .string: false
        case .list(let items), .set(let items): items.isEmpty
        case .hash(let pairs): pairs.isEmpty
        case .sortedSet(let pairs): pairs.isEmpty
        }
    }
}
