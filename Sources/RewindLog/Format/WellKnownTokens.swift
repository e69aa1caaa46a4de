// The frozen token table of format version 1. See docs/FORMAT.md, "Well-known tokens".
//
// A first argument equal (byte for byte) to one of these is stored as its number, which saves the
// name's bytes before zstd even sees them. The log does not interpret them: they are just common
// byte strings. Never reorder or remove a token; a later format version may append new ones.

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

    private static let numbers: [[UInt8]: Int] = {
        var table: [[UInt8]: Int] = [:]
        for (index, name) in names.enumerated() {
            table[Array(name.utf8)] = index * 2
            table[Array(name.lowercased().utf8)] = index * 2 + 1
        }
        return table
    }()

    @inline(__always)
    static func number(of argument: [UInt8]) -> Int? {
        // Command names are short; skip the hash lookup for anything longer than the longest token.
        guard argument.count >= 3, argument.count <= 16 else { return nil }
        return numbers[argument]
    }

    static func span(_ number: Int) -> ArgumentSpan { storage.spans[number] }
}
