// Bounds on what the RESP parser accepts. Each default mirrors Redis 7.0's own limit, checked
// against redis-server 7.0.15, so Rewind refuses exactly what Redis refuses.

/// The largest frames, counts and lines the RESP parser accepts before it reports an error.
///
/// The parser checks every length prefix against these bounds *before* it waits for, or reserves
/// room for, the bytes the prefix announces, so a hostile peer or a damaged file cannot make it
/// allocate more than it has actually been given. The defaults are Redis 7.0's; a caller may
/// tighten any of them (a test harness, a server that wants small requests):
///
/// ```swift
/// var limits = RESPLimits.redis
/// limits.bulkByteCountMax = 1 << 20
/// var parser = RESPParser(limits: limits)
/// ```
public struct RESPLimits: Hashable, Sendable {
    /// The longest bulk string payload, in bytes: 512 MiB by default.
    ///
    /// This is Redis's `proto-max-bulk-len` default (536,870,912 bytes). Redis refuses a larger
    /// `$` length with `Protocol error: invalid bulk length`, and Redis strings cannot be longer
    /// anyway, so accepting more would only let a peer make us buffer data Redis never would.
    public var bulkByteCountMax: Int

    /// The largest element count of an aggregate (`*`, `%`, `~`, `>`), by default `Int32.max`.
    ///
    /// Redis 7.0 refuses a multibulk count above `INT_MAX` with `Protocol error: invalid multibulk
    /// length` and accepts anything below, because its argument count is a C `int`. The parser
    /// never reserves this many slots up front (it reserves at most one slot per byte already
    /// received), so the generous default costs nothing; tighten it to bound work per request.
    public var multibulkCountMax: Int

    /// How many aggregates may be nested inside one another, 100 by default.
    ///
    /// The value parser descends recursively, so this bounds its stack depth on hostile input.
    /// valkey-swift uses the same bound; Redis never sends replies nested anywhere near this deep.
    /// Request parsing is flat (an array of bulk strings) and ignores it.
    public var aggregateDepthMax: Int

    /// The most bytes the parser buffers while looking for the end of a line, 64 KiB by default.
    ///
    /// This is Redis's `PROTO_INLINE_MAX_SIZE` (65,536 bytes). Redis reports `too big inline
    /// request`, `too big mbulk count string` or `too big bulk count string` once *more* than this
    /// many bytes are buffered without the line's terminator; the parser does the same, so a peer
    /// that never sends a newline cannot grow the buffer without bound.
    public var lineByteCountMax: Int

    /// Creates limits; every parameter defaults to Redis 7.0's value.
    public init(
        bulkByteCountMax: Int = 512 * 1024 * 1024,
        multibulkCountMax: Int = Int(Int32.max),
        aggregateDepthMax: Int = 100,
        lineByteCountMax: Int = 64 * 1024
    ) {
        self.bulkByteCountMax = bulkByteCountMax
        self.multibulkCountMax = multibulkCountMax
        self.aggregateDepthMax = aggregateDepthMax
        self.lineByteCountMax = lineByteCountMax
    }

    /// Redis 7.0's defaults.
    public static let redis = RESPLimits()
}

extension RESPLimits {
    /// ``bulkByteCountMax``, capped so that offset arithmetic on a length cannot overflow.
    var checkedBulkByteCountMax: Int64 { Int64(min(max(bulkByteCountMax, 0), Int.max / 4)) }
    /// ``multibulkCountMax``, capped so that doubling a map's count cannot overflow.
    var checkedMultibulkCountMax: Int64 { Int64(min(max(multibulkCountMax, 0), Int.max / 4)) }
}
