// DEBUG OBJECT, DEBUG PROTOCOL and MEMORY USAGE, in the shapes redis-server 7.0 gives them
// (redis src/debug.c debugCommand, src/object.c memoryCommand). Redis's own test suite reads them.

import RewindEngine
import RewindRESP

extension ServerCore {
    /// Whether Redis 7.0 would store `value` as one of its shared integers 0...9999
    /// (`OBJ_SHARED_INTEGERS`, used when no LRU/LFU maxmemory policy is set).
    static func isSharedIntegerCandidate(_ value: [UInt8]) -> Bool {
        guard !value.isEmpty, value.count <= 4, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return value.count == 1 || value[0] != 48
    }

    /// DEBUG OBJECT key: `Value at:ADDR refcount:N encoding:E serializedlength:N lru:N lru_seconds_idle:N`,
    /// with the quicklist fields for lists. The address is a stable stand-in derived from the key,
    /// so in-place updates keep it, as Redis's INCR does for unshared integers.
    func debugObject(_ key: [UInt8], _ connection: ConnectionHandler, now: Int64) {
        guard case .simpleString(let typeName) = internalCommand(["TYPE", key], connection, now: now), typeName != "none" else {
            reply(connection, .error("ERR no such key"))
            return
        }
        var shared = false
        var serializedByteCount = 0
        if typeName == "string", case .bulkString(let value) = internalCommand(["GET", key], connection, now: now) {
            shared = Self.isSharedIntegerCandidate(value)
            serializedByteCount = value.count + 1
        }
        let encodingName = objectEncoding(of: key, type: typeName, connection, now: now)
        var address: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { address = (address ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        address = 0x7f00_0000_0000 | (address & 0x00ff_ffff_fff0)
        var text = "Value at:0x\(String(address, radix: 16)) refcount:\(shared ? Int32.max : 1) encoding:\(encodingName)"
        text += " serializedlength:\(serializedByteCount) lru:\((now / 1000) & 0xff_ffff) lru_seconds_idle:0"
        if typeName == "list", case .integer(let length) = internalCommand(["LLEN", key], connection, now: now) {
            text += " ql_nodes:1 ql_avg_node:\(length).00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:\(length)"
        }
        reply(connection, .simpleString(text))
    }

    /// DEBUG PROTOCOL type: one reply of each RESP3 type, as Redis 7.0 sends them (the encoder
    /// turns them into their RESP2 forms for RESP2 clients). Attributes have no `RESPValue`
    /// case, so `attrib` sends only the reply that follows the attribute.
    static func debugProtocolReply(_ name: String, version: RESPVersion) -> RESPValue {
        switch name {
        case "string": return .bulk("Hello World")
        case "integer": return .integer(12345)
        case "double": return .double(3.141)
        case "bignum": return .bigNumber("1234567999999999999999999999999999999")
        case "null": return .null
        case "array": return .array((0..<3).map { .integer($0) })
        case "set": return .set((0..<3).map { .integer($0) })
        case "map": return .map((0..<3).map { RESPPair(.integer($0), .boolean($0 == 1)) })
        case "attrib": return .bulk("Some real reply following the attribute")
        case "push":
            guard version == .resp3 else { return .error("ERR RESP2 is not supported by this command") }
            return .push([.bulk("server-cpu-usage"), .integer(42)])
        case "verbatim": return .verbatimString(format: "txt", text: Array("This is a verbatim\nstring".utf8))
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        default:
            return .error("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
        }
    }

    /// MEMORY USAGE key [SAMPLES n] and MEMORY DOCTOR/STATS/PURGE/MALLOC-STATS/HELP.
    /// USAGE is an estimate from the value's serialized size (key, elements, and a fixed
    /// per-object overhead), not allocator truth: Rewind's representations are not Redis's.
    func memoryCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, now: Int64) {
        switch Clock.lowercased(arguments[1]) {
        case "usage":
            guard arguments.count == 3 || (arguments.count == 5 && Clock.lowercased(arguments[3]) == "samples") else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            guard case .simpleString(let typeName) = internalCommand(["TYPE", arguments[2]], connection, now: now), typeName != "none" else {
                reply(connection, .null)
                return
            }
            let key = arguments[2]
            let read: [Any]
            switch typeName {
            case "string": read = ["GET", key]
            case "list": read = ["LRANGE", key, "0", "-1"]
            case "hash": read = ["HGETALL", key]
            case "set": read = ["SMEMBERS", key]
            case "zset": read = ["ZRANGE", key, "0", "-1", "WITHSCORES"]
            default: read = ["TYPE", key]
            }
            func byteCount(of value: RESPValue) -> Int {
                switch value {
                case .bulkString(let bytes): return bytes.count + 8
                case .array(let values), .set(let values): return values.reduce(16) { $0 + byteCount(of: $1) }
                case .map(let pairs): return pairs.reduce(16) { $0 + byteCount(of: $1.key) + byteCount(of: $1.value) }
                default: return 8
                }
            }
            let byteCount = 56 + key.count + byteCount(of: internalCommand(read, connection, now: now))
            reply(connection, .integer(Int64(byteCount)))
        case "purge": reply(connection, .ok)
        case "doctor": reply(connection, .bulk("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."))
        case "malloc-stats": reply(connection, .bulk("Stats not supported for the current allocator"))
        case "stats":
            reply(connection, .map([RESPPair(.bulk("keys.count"), .integer(0))]))
        default:
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try MEMORY HELP."))
        }
    }
}
