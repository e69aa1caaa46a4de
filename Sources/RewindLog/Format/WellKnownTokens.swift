// The frozen token table of format version 1. See docs/FORMAT.md, "Well-known tokens".
//
// A first argument equal (byte for byte) to one of these is stored as its number, which saves the
// name's bytes before zstd even sees them. The log does not interpret them: they are just common
// byte strings. Never reorder or remove a token; a later format version may append new ones.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum WellKnownTokens {
    /// Upper-case names; token 2n is `names[n]` in upper case, token 2n+1 the same in lower case,
    /// because Redis propagates a command with the case its client sent.
    static let names: [String] = [
        "SET", "GET", "DEL", "UNLINK", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT", "APPEND",
        "SETRANGE", "SETBIT", "BITOP", "BITFIELD", "GETDEL", "GETSET", "GETEX", "MSET", "MSETNX", "SETNX",
        "SETEX", "PSETEX", "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "RENAME", "RENAMENX",
        "COPY", "MOVE", "SWAPDB", "FLUSHDB", "FLUSHALL", "SELECT", "MULTI", "EXEC", "LPUSH", "RPUSH",
        "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LSET", "LINSERT", "LREM", "LTRIM", "LMOVE", "RPOPLPUSH",
        "LMPOP", "HSET", "HSETNX", "HMSET", "HDEL", "HINCRBY", "HINCRBYFLOAT", "SADD", "SREM", "SPOP",
        "SMOVE", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "ZADD", "ZINCRBY", "ZREM", "ZREMRANGEBYRANK",
        "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZPOPMIN", "ZPOPMAX", "ZMPOP", "ZRANGESTORE", "ZUNIONSTORE",
        "ZINTERSTORE", "ZDIFFSTORE", "PFADD", "PFMERGE", "XADD", "XDEL", "XTRIM", "XGROUP", "XACK",
        "XCLAIM", "XAUTOCLAIM", "XSETID", "RESTORE", "EVAL", "EVALSHA", "FCALL", "FUNCTION", "SCRIPT",
        "PUBLISH", "PING", "HMGET", "HGET", "MGET", "EXISTS", "TYPE", "TTL", "PTTL", "GEOADD",
    ]

    static var count: Int { names.count * 2 }

    /// All token bytes, back to back, in memory that lives as long as the process, so that entry
    /// views can point at a token as they point into a record.
    private static let storage: (buffer: UnsafeMutableRawBufferPointer, spans: [ArgumentSpan]) = {
        let all = names.flatMap { [Array($0.utf8), Array($0.lowercased().utf8)] }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: all.reduce(0) { $0 + $1.count }, alignment: 1)
        var spans: [ArgumentSpan] = []
        var offset = 0
        for token in all {
            buffer.baseAddress!.advanced(by: offset).copyMemory(from: token, byteCount: token.count)
            spans.append(ArgumentSpan(base: UnsafeRawPointer(buffer.baseAddress!.advanced(by: offset)), byteCount: token.count))
            offset += token.count
        }
        return (buffer, spans)
    }()

    /// Token numbers by name: open addressing over 1024 slots (-1 empty), probed with FNV-1a.
    /// A `Dictionary<[UInt8], Int>` hashed the name a byte at a time through SipHash, which showed
    /// in profiles of `rewind serve` (every logged command asks).
    private static let slots: [Int16] = {
        var table = [Int16](repeating: -1, count: slotCount)
        for number in 0..<count {
            let span = storage.spans[number]
            var position = hash(UnsafeRawBufferPointer(start: span.base, count: span.byteCount)) & (slotCount - 1)
            while table[position] >= 0 { position = (position + 1) & (slotCount - 1) }
            table[position] = Int16(number)
        }
        return table
    }()

    private static var slotCount: Int { 1024 }

    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var value: UInt32 = 2_166_136_261
        for byte in bytes { value = (value ^ UInt32(byte)) &* 16_777_619 }
        return Int(value)
    }

    @inline(__always)
    static func number(of argument: [UInt8]) -> Int? {
        // Command names are short; skip the lookup for anything longer than the longest token.
        guard argument.count >= 3, argument.count <= 16 else { return nil }
        return argument.withUnsafeBytes { number(of: $0) }
    }

    @inline(__always)
    static func number(of bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 3, bytes.count <= 16 else { return nil }
        let table = slots
        var position = hash(bytes) & (slotCount - 1)
        while true {
            let number = Int(table[position])
            if number < 0 { return nil }
            let span = storage.spans[number]
            if span.byteCount == bytes.count, memcmp(span.base!, bytes.baseAddress!, bytes.count) == 0 { return number }
            position = (position + 1) & (slotCount - 1)
        }
    }

    /// Every token's span, by number (``count`` of them): a decoder takes it once per record
    /// rather than going through the lazily initialised storage for each token it meets.
    static var spans: [ArgumentSpan] { storage.spans }

    /// One array per token, made once: an argument stored as a token is handed out as this shared
    /// array (a retain) instead of a new copy (an allocation, and a free later) per entry.
    private static let arrays: [[UInt8]] = storage.spans.map { Array(UnsafeRawBufferPointer(start: $0.base, count: $0.byteCount)) }

    /// The token starting at each byte of the token storage (-1 inside a token).
    private static let tokenAtOffset: [Int16] = {
        var table = [Int16](repeating: -1, count: storage.buffer.count)
        let start = UnsafeRawPointer(storage.buffer.baseAddress!)
        for (number, span) in storage.spans.enumerated() where span.byteCount > 0 {
            table[span.base! - start] = Int16(number)
        }
        return table
    }()

    /// The shared array of the token `bytes` points at, when it points into the token storage.
    @inline(__always)
    static func sharedArray(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let base = bytes.baseAddress else { return nil }
        let tokens = storage.buffer
        let offset = base - UnsafeRawPointer(tokens.baseAddress!)
        guard offset >= 0, offset < tokens.count else { return nil }
        let number = Int(tokenAtOffset[offset])
        guard number >= 0, storage.spans[number].byteCount == bytes.count else { return nil }
        return arrays[number]
    }
}
