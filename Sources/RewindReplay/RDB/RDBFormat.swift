// The constants of Redis's RDB format, as Redis 7.0 (RDB version 10) and earlier write them.
// Names follow Redis's rdb.h so the two can be read side by side. See docs/RDB.md.

/// Opcodes, value types and encodings of the RDB format.
public enum RDBFormat {
    /// The file starts with `REDIS` and four decimal digits of version.
    static let magic: [UInt8] = Array("REDIS".utf8)
    /// The oldest version this reader accepts (Redis 2.x wrote 1-6; every structure they use is read).
    public static let versionMin = 1
    /// The newest version read: 10 is Redis 7.0; 11 (Redis 7.2) adds set listpacks, also read.
    public static let versionMax = 11
    /// The version `RDBWriter` writes: Redis 7.0's.
    public static let writtenVersion = 10

    // Record opcodes (rdb.h RDB_OPCODE_*).
    static let opcodeFunctionPreGA: UInt8 = 246
    static let opcodeFunction2: UInt8 = 245
    static let opcodeModuleAux: UInt8 = 247
    static let opcodeIdle: UInt8 = 248
    static let opcodeFrequency: UInt8 = 249
    static let opcodeAux: UInt8 = 250
    static let opcodeResizeDB: UInt8 = 251
    static let opcodeExpireTimeMilliseconds: UInt8 = 252
    static let opcodeExpireTimeSeconds: UInt8 = 253
    static let opcodeSelectDB: UInt8 = 254
    static let opcodeEOF: UInt8 = 255

    // Value types (rdb.h RDB_TYPE_*).
    static let typeString: UInt8 = 0
    static let typeList: UInt8 = 1
    static let typeSet: UInt8 = 2
    static let typeSortedSet: UInt8 = 3
    static let typeHash: UInt8 = 4
    static let typeSortedSet2: UInt8 = 5
    static let typeModulePreGA: UInt8 = 6
    static let typeModule2: UInt8 = 7
    static let typeHashZipmap: UInt8 = 9
    static let typeListZiplist: UInt8 = 10
    static let typeSetIntset: UInt8 = 11
    static let typeSortedSetZiplist: UInt8 = 12
    static let typeHashZiplist: UInt8 = 13
    static let typeListQuicklist: UInt8 = 14
    static let typeStreamListpacks: UInt8 = 15
    static let typeHashListpack: UInt8 = 16
    static let typeSortedSetListpack: UInt8 = 17
    static let typeListQuicklist2: UInt8 = 18
    static let typeStreamListpacks2: UInt8 = 19
    static let typeSetListpack: UInt8 = 20
    static let typeStreamListpacks3: UInt8 = 21

    // Length encodings: the top two bits of the first byte.
    static let length6Bit: UInt8 = 0
    static let length14Bit: UInt8 = 1
    static let length32Or64Bit: UInt8 = 2
    static let lengthEncodedValue: UInt8 = 3
    static let length32BitMarker: UInt8 = 0x80
    static let length64BitMarker: UInt8 = 0x81

    // Special string encodings (low six bits when the top two are 11).
    static let encodingInt8: UInt64 = 0
    static let encodingInt16: UInt64 = 1
    static let encodingInt32: UInt64 = 2
    static let encodingLZF: UInt64 = 3

    // Quicklist 2 node containers.
    static let quicklistNodePlain: UInt64 = 1
    static let quicklistNodePacked: UInt64 = 2

    // Module value opcodes (RDB_MODULE_OPCODE_*).
    static let moduleOpcodeEOF: UInt64 = 0
    static let moduleOpcodeSignedInteger: UInt64 = 1
    static let moduleOpcodeUnsignedInteger: UInt64 = 2
    static let moduleOpcodeFloat: UInt64 = 3
    static let moduleOpcodeDouble: UInt64 = 4
    static let moduleOpcodeString: UInt64 = 5

    /// A human name for a value type, for reports.
    static func typeName(_ type: UInt8) -> String {
        switch type {
        case typeString: "string"
        case typeList: "list (linked list)"
        case typeSet: "set (hashtable)"
        case typeSortedSet: "sorted set (skiplist, text scores)"
        case typeHash: "hash (hashtable)"
        case typeSortedSet2: "sorted set (skiplist)"
        case typeModulePreGA, typeModule2: "module value"
        case typeHashZipmap: "hash (zipmap)"
        case typeListZiplist: "list (ziplist)"
        case typeSetIntset: "set (intset)"
        case typeSortedSetZiplist: "sorted set (ziplist)"
        case typeHashZiplist: "hash (ziplist)"
        case typeListQuicklist: "list (quicklist of ziplists)"
        case typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3: "stream"
        case typeHashListpack: "hash (listpack)"
        case typeSortedSetListpack: "sorted set (listpack)"
        case typeListQuicklist2: "list (quicklist of listpacks)"
        case typeSetListpack: "set (listpack)"
        default: "type \(type)"
        }
    }
}

/// The bounds the reader checks every length against before it allocates or slices.
public enum RDBLimits {
    /// One string: Redis's `proto-max-bulk-len` default, 512 MiB.
    public static let stringByteCountMax = 512 * 1024 * 1024
    /// LZF never expands its input by more than about 88 times (a 3-byte back reference makes at
    /// most 264 bytes); a claimed uncompressed length beyond this ratio is damage.
    public static let lzfExpansionRatioMax = 100
}
