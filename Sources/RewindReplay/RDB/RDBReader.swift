// Reads a Redis RDB file (versions 1 through 11; Redis 6.x writes 9, Redis 7.0 writes 10) into
// plain keys and values. The structure follows Redis's rdbLoadRioWithLoadingCtx; the code is our own.

import Foundation
import RewindRESP

/// One key read from an RDB file.
public struct RDBKeyValue: Sendable {
    public var db: UInt32
    public var key: [UInt8]
    public var value: StateValue
    /// Unix milliseconds at which the key expires, nil without a TTL.
    public var expiresAtMilliseconds: Int64?
    /// Where the key's record (its first opcode: expiry, LRU/LFU or type) starts in the file.
    public var byteOffset: Int
}

/// Something in an RDB file that was read past, not imported.
public struct RDBSkippedRecord: Hashable, Sendable, CustomStringConvertible {
    public var byteOffset: Int
    /// What it was: `function library`, `module aux data (module id 0x...)`, `stream "key"`.
    public var what: String
    public var description: String { "@\(byteOffset): skipped \(what)" }
}

/// What reading an RDB file found besides its keys.
public struct RDBFileSummary: Sendable {
    /// The RDB version from the header (`REDIS0010` is 10).
    public var version = 0
    /// The AUX fields, in file order (`redis-ver`, `ctime`, `used-mem`, `aof-base`, …).
    public var auxFields: [(name: String, value: [UInt8])] = []
    /// The `ctime` AUX field: when the file was written, in Unix seconds.
    public var creationSeconds: Int64?
    /// Keys read (including keys skipped by the consumer).
    public var keyCount = 0
    /// How many values of each type and encoding were read, by name: `string`,
    /// `list (quicklist of listpacks)`, `set (intset)`, …, plus `LZF-compressed string` and
    /// `plain quicklist node`. Shows which encodings a file uses.
    public var encodingCounts: [String: Int] = [:]
    /// LRU idle times (`IDLE`) and LFU frequencies (`FREQ`) read and dropped: Rewind keeps no
    /// eviction state. Redis writes them under an LRU or LFU `maxmemory-policy`.
    public var lruIdleCount = 0
    public var lfuFrequencyCount = 0
    /// Records and values read past: functions, module data, streams when skipped.
    public var skipped: [RDBSkippedRecord] = []
    /// Whether the CRC-64 trailer was checked (false when the file was written with
    /// `rdbchecksum no`, which stores 0, or by a version before 5, which stores none).
    public var checksumVerified = false
    /// The offset just past the RDB (after its checksum): an RDB-preamble AOF continues there.
    public var endByteOffset = 0
}

/// Reads the keys of an RDB file, one at a time, checking every length against the file.
///
/// ```swift
/// let summary = try RDBReader.read(path: "dump.rdb") { key in print(key.key, key.value.typeName) }
/// ```
///
/// Streams are an error naming the key and offset unless `skipsStreams` is set; then they are
/// read past (their structure checked) and listed in ``RDBFileSummary/skipped``. Module values
/// of a key are an error (their contents belong to the module); module AUX data and function
/// libraries are read past and listed.
public struct RDBReader {
    public struct Options: Sendable {
        /// Read past stream keys (listing each) instead of failing on the first.
        public var skipsStreams: Bool
        /// Check the CRC-64 trailer (Redis's own loader does too, unless `rdbchecksum no` wrote 0).
        public var verifiesChecksum: Bool

        public init(skipsStreams: Bool = false, verifiesChecksum: Bool = true) {
            self.skipsStreams = skipsStreams
            self.verifiesChecksum = verifiesChecksum
        }
    }

    /// Reads the RDB file at `path`; `displayName` names it in errors (the path by default).
    ///
    /// - Parameters:
    ///   - body: called with each key, in file order.
    ///   - onAux: called with each AUX field as it is read (they come before the keys).
    public static func read(path: String, displayName: String? = nil, options: Options = Options(),
                            _ body: (RDBKeyValue) throws -> Void,
                            onAux: ((String, [UInt8]) -> Void)? = nil) throws -> RDBFileSummary {
        let name = displayName ?? path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw RDBError(.fileSystem, file: name, byteOffset: 0, "cannot read the file: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { raw in
            try read(raw.bindMemory(to: UInt8.self), fileName: name, options: options, body, onAux: onAux)
        }
    }

    /// Reads an RDB held in memory. Bytes after the checksum are left alone (an RDB-preamble AOF
    /// continues with commands there); ``RDBFileSummary/endByteOffset`` says where they start.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>, fileName: String, options: Options = Options(),
                            _ body: (RDBKeyValue) throws -> Void,
                            onAux: ((String, [UInt8]) -> Void)? = nil) throws -> RDBFileSummary {
        try scan(bytes, fileName: fileName, options: options, onAux: onAux) { cursor, record, summary in
            if let (key, value) = try readKey(&cursor, type: record.type, typeOffset: record.typeOffset, options: options, summary: &summary) {
                try body(RDBKeyValue(db: record.db, key: key, value: value, expiresAtMilliseconds: record.expiresAtMilliseconds,
                                     byteOffset: record.byteOffset))
            }
        }
    }

    /// Where a key's record starts and what came before its value.
    struct KeyRecord {
        var db: UInt32
        /// The value type byte, and where it is.
        var type: UInt8
        var typeOffset: Int
        var expiresAtMilliseconds: Int64?
        /// Where the record (its first opcode: expiry, LRU/LFU or type) starts.
        var byteOffset: Int
    }

    /// Reads the file's records, calling `readKey` with the cursor just after each key's type byte:
    /// it must read the key and its value (or throw). The file's structure, the AUX fields and the
    /// CRC-64 are handled here.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, fileName: String, options: Options,
                     onAux: ((String, [UInt8]) -> Void)?,
                     readKey: (inout RDBCursor, KeyRecord, inout RDBFileSummary) throws -> Void) throws -> RDBFileSummary {
        var cursor = RDBCursor(bytes: bytes, fileName: fileName)
        var summary = RDBFileSummary()
        summary.version = try readHeader(&cursor)
        var db: UInt32 = 0
        var expiresAt: Int64?
        var recordStart: Int?
        // Counted by type byte, named once at the end (a dictionary update per key showed in profiles).
        var typeCounts = [Int](repeating: 0, count: 256)
        while true {
            let opcodeOffset = cursor.offset
            let opcode = try cursor.byte("a record opcode (or the EOF opcode 0xff)")
            switch opcode {
            case RDBFormat.opcodeEOF:
                guard expiresAt == nil && recordStart == nil else {
                    throw cursor.error(.malformed, at: opcodeOffset, "EOF right after an expiry or LRU/LFU field, where a key belongs")
                }
                try readChecksum(&cursor, eofOffset: opcodeOffset, version: summary.version, options: options, summary: &summary)
                summary.endByteOffset = cursor.offset
                for (type, count) in typeCounts.enumerated() where count > 0 {
                    summary.encodingCounts[RDBFormat.typeName(UInt8(type)), default: 0] += count
                }
                if cursor.lzfStringCount > 0 { summary.encodingCounts["LZF-compressed string"] = cursor.lzfStringCount }
                if cursor.plainNodeCount > 0 { summary.encodingCounts["plain quicklist node"] = cursor.plainNodeCount }
                return summary
            case RDBFormat.opcodeSelectDB:
                let index = try cursor.length("the database index")
                guard index <= UInt64(UInt32.max) else { throw cursor.error(.malformed, at: opcodeOffset, "database index \(index) is out of range") }
                db = UInt32(index)
            case RDBFormat.opcodeResizeDB:
                _ = try cursor.length("the RESIZEDB key count")
                _ = try cursor.length("the RESIZEDB expiry count")
            case RDBFormat.opcodeAux:
                let name = try cursor.string("an AUX field name")
                let value = try cursor.string("the value of AUX field \(ByteQuoting.quoted(name))")
                let text = String(decoding: name, as: UTF8.self)
                summary.auxFields.append((text, value))
                onAux?(text, value)
                if text == "ctime", let seconds = Int64(String(decoding: value, as: UTF8.self)) { summary.creationSeconds = seconds }
            case RDBFormat.opcodeExpireTimeSeconds:
                recordStart = recordStart ?? opcodeOffset
                let seconds = Int32(bitPattern: try cursor.littleEndian(UInt32.self, "a 4-byte expiry time in seconds"))
                expiresAt = Int64(seconds) * 1000
            case RDBFormat.opcodeExpireTimeMilliseconds:
                recordStart = recordStart ?? opcodeOffset
                expiresAt = Int64(bitPattern: try cursor.littleEndian(UInt64.self, "an 8-byte expiry time in milliseconds"))
            case RDBFormat.opcodeIdle:
                recordStart = recordStart ?? opcodeOffset
                _ = try cursor.length("the LRU idle time")
                summary.lruIdleCount += 1
            case RDBFormat.opcodeFrequency:
                recordStart = recordStart ?? opcodeOffset
                _ = try cursor.byte("the LFU frequency")
                summary.lfuFrequencyCount += 1
            case RDBFormat.opcodeModuleAux:
                let moduleID = try cursor.length("a module id")
                let whenOpcode = try cursor.length("the module aux 'when' opcode")
                guard whenOpcode == RDBFormat.moduleOpcodeUnsignedInteger else {
                    throw cursor.error(.malformed, at: opcodeOffset, "module aux data with 'when' opcode \(whenOpcode), expected 2")
                }
                _ = try cursor.length("the module aux 'when' value")
                try skipModuleValue(&cursor)
                summary.skipped.append(RDBSkippedRecord(byteOffset: opcodeOffset, what: "module aux data (\(moduleName(moduleID)))"))
            case RDBFormat.opcodeFunction2:
                try cursor.skipString("a function library")
                summary.skipped.append(RDBSkippedRecord(byteOffset: opcodeOffset, what: "function library (load it with FUNCTION LOAD; functions are not logged)"))
            case RDBFormat.opcodeFunctionPreGA:
                throw cursor.error(.unsupported, at: opcodeOffset, "a function record in the format of Redis 7.0 release candidates; save the file again with Redis 7.0 GA")
            default:
                let record = KeyRecord(db: db, type: opcode, typeOffset: opcodeOffset, expiresAtMilliseconds: expiresAt,
                                       byteOffset: recordStart ?? opcodeOffset)
                try readKey(&cursor, record, &summary)
                summary.keyCount += 1
                typeCounts[Int(opcode)] += 1
                cursor.key = nil
                cursor.keyBytes = nil
                expiresAt = nil
                recordStart = nil
            }
        }
    }

    private static func readHeader(_ cursor: inout RDBCursor) throws -> Int {
        let magic = try cursor.take(min(5, cursor.remaining), "the magic")
        guard magic == RDBFormat.magic else {
            throw cursor.error(.malformed, at: 0, "expected the magic 'REDIS' of an RDB file, found \(ByteQuoting.quoted(magic))")
        }
        let digits = try cursor.take(4, "the four version digits")
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), let version = Int(String(decoding: digits, as: UTF8.self)) else {
            throw cursor.error(.malformed, at: 5, "expected four version digits after 'REDIS', found \(ByteQuoting.quoted(digits))")
        }
        guard (RDBFormat.versionMin...RDBFormat.versionMax).contains(version) else {
            throw cursor.error(.unsupported, at: 5, "RDB version \(version) is not read (versions \(RDBFormat.versionMin) to \(RDBFormat.versionMax) are: Redis up to 7.2)")
        }
        return version
    }

    private static func readChecksum(_ cursor: inout RDBCursor, eofOffset: Int, version: Int, options: Options, summary: inout RDBFileSummary) throws {
        guard version >= 5 else { return }
        let checksumOffset = cursor.offset
        let stored = try cursor.littleEndian(UInt64.self, "the 8-byte CRC-64 after the EOF opcode")
        guard stored != 0, options.verifiesChecksum else { return }
        var crc = CRC64()
        crc.update(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(cursor.bytes)[0..<(eofOffset + 1)]))
        guard crc.value == stored else {
            throw cursor.error(.checksumMismatch, at: checksumOffset,
                "the CRC-64 of bytes 0 to \(eofOffset) is \(hex(crc.value)) but the file stores \(hex(stored)): the file is damaged")
        }
        summary.checksumVerified = true
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Redis module ids hold the module's 9-character name in 6-bit characters and a version.
    static func moduleName(_ id: UInt64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var name = ""
        for index in 0..<9 {
            let shift = UInt64(64 - (index + 1) * 6)
            name.append(alphabet[Int((id >> shift) & 63)])
        }
        return "module \(name), version \(id & 1023)"
    }

    /// Skips a module value that was saved with its opcodes (RDB_MODULE_OPCODE_*), up to its EOF.
    static func skipModuleValue(_ cursor: inout RDBCursor) throws {
        while true {
            let start = cursor.offset
            let opcode = try cursor.length("a module value opcode")
            switch opcode {
            case RDBFormat.moduleOpcodeEOF: return
            case RDBFormat.moduleOpcodeSignedInteger, RDBFormat.moduleOpcodeUnsignedInteger: _ = try cursor.length("a module integer")
            case RDBFormat.moduleOpcodeFloat: try cursor.skip(4, "a module float")
            case RDBFormat.moduleOpcodeDouble: try cursor.skip(8, "a module double")
            case RDBFormat.moduleOpcodeString: try cursor.skipString("a module string")
            default: throw cursor.error(.malformed, at: start, "unknown module value opcode \(opcode)")
            }
        }
    }
}
