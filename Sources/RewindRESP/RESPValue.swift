// RESP2 and RESP3 values. See https://redis.io/docs/reference/protocol-spec/.

/// One value of the Redis serialization protocol, RESP2 or RESP3.
///
/// Byte strings are `[UInt8]` because Redis strings are binary-safe. RESP2 has two distinct nulls
/// (the null bulk string `$-1` and the null array `*-1`); both become RESP3's `_` when encoded for
/// RESP3. Aggregate RESP3 types (map, set, push) fall back to arrays when encoded for RESP2, the way
/// Redis does it (a map becomes a flat array of key, value, key, value).
public enum RESPValue: Hashable, Sendable {
    /// `+OK`: a short, non-binary status line.
    case simpleString(String)
    /// `-ERR ...`: an error reply. The text starts with its code (`ERR`, `WRONGTYPE`, ...).
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$3\r\nfoo`: a binary-safe string.
    case bulkString([UInt8])
    /// RESP2 `$-1`, RESP3 `_`: the absence of a string.
    case null
    /// RESP2 `*-1`, RESP3 `_`: the absence of an array (EXEC after a failed WATCH, BLPOP timeout).
    case nullArray
    /// `*N`: an ordered list of values.
    case array([RESPValue])
    /// RESP3 `%N`: key/value pairs in order. RESP2: a flat array.
    case map([RESPPair])
    /// RESP3 `~N`: an unordered collection. RESP2: an array.
    case set([RESPValue])
    /// RESP3 `,1.5`: a double. RESP2: a bulk string as Redis formats it.
    case double(Double)
    /// RESP3 `#t` / `#f`. RESP2: the integer 1 or 0.
    case boolean(Bool)
    /// RESP3 `(12345...`: an integer too big for 64 bits, as decimal digits.
    case bigNumber(String)
    /// RESP3 `=`: a string with a three-letter format (`txt`, `mkd`). RESP2: a bulk string.
    case verbatimString(format: String, text: [UInt8])
    /// RESP3 `>N`: an out-of-band message (pub/sub, invalidation). RESP2: an array.
    case push([RESPValue])

    /// `+OK`, shared because it is the most common reply.
    public static let ok = RESPValue.simpleString("OK")

    /// A bulk string from UTF-8 text.
    public static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}

/// One key/value pair of a RESP3 map.
public struct RESPPair: Hashable, Sendable {
    public var key: RESPValue
    public var value: RESPValue

    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// The protocol version a connection speaks; HELLO switches it.
public enum RESPVersion: Int, Sendable, CaseIterable {
    case resp2 = 2
    case resp3 = 3
}
