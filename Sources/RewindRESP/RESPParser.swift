// An incremental RESP parser. See https://redis.io/docs/reference/protocol-spec/ and, for requests,
// Redis 7.0's processMultibulkBuffer and processInlineBuffer, whose behaviour it reproduces.

/// An incremental parser for RESP2 and RESP3: append bytes as they arrive, pull complete frames.
///
/// A parser is a value type owned by one reader (a connection, a file importer); it is not shared
/// between threads. Bytes may arrive in any chunking, including empty chunks and one byte at a time;
/// a frame is returned once all of it is buffered, and the bytes it used are released.
///
/// There are two ways to read frames, and a stream may use either, frame by frame:
/// - ``nextRequest()`` reads what a Redis server reads from a client, and what an AOF file holds:
///   a multibulk array of bulk strings, or an inline command line. It follows Redis 7.0 byte for
///   byte, including its leniencies, and reports where each command starts and ends.
/// - ``nextValue()`` reads any RESP2 or RESP3 value, strictly, as a client reads replies.
///
/// Hostile input is safe: the parser never traps, every call consumes input or returns nil, and
/// every length prefix is checked against ``RESPLimits`` before the parser waits for the bytes it
/// announces; storage grows only with bytes actually appended. After an error the stream has no
/// reliable frame boundary any more (Redis closes the connection), so every later call throws the
/// same error again.
///
/// ```swift
/// var parser = RESPParser()
/// parser.append(Array("*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n".utf8))
/// while let command = try parser.nextRequest() {
///     print(command.arguments.count, command.startByteOffset, command.endByteOffset)  // 2 0 20, 1 20 26
/// }
/// ```
public struct RESPParser: Sendable {
    /// The bounds this parser enforces.
    public let limits: RESPLimits
    /// Whether the peer still has to authenticate (a server with `requirepass`). Requests then get
    /// Redis 7.0's tighter bounds before any of their bytes are buffered: at most 10 arguments
    /// ("Protocol error: unauthenticated multibulk length") of at most 16,384 bytes each
    /// ("Protocol error: unauthenticated bulk length"), so an unauthenticated client cannot make
    /// the server hold a 512 MB argument. The server flips it as the connection authenticates.
    public var requiresAuthentication = false
    /// Whether multibulk requests collect their arguments back to back in one reused buffer
    /// (``nextPackedRequest()``) instead of an array each. Either way both ways of reading a
    /// request work; this decides which one costs no conversion. Servers set it: a pipelined
    /// read then allocates nothing per request.
    public var packsArguments = false

    /// Received bytes; those before `readIndex` are consumed and released from time to time.
    var storage: [UInt8] = []
    /// Index in `storage` of the first byte not yet consumed.
    var readIndex = 0
    /// Absolute stream offset of `storage[0]`.
    var storageBaseByteOffset = 0
    /// The error every call rethrows once the stream is broken.
    var brokenError: RESPParseError?
    /// A multibulk request read partly: Redis keeps the same state between reads.
    var request = PartialRequest()
    /// ``nextValue()`` does not retry before the stream reaches this absolute offset, so a large
    /// frame arriving in small pieces is not re-scanned for every piece.
    var valueRetryByteOffset = 0

    /// Creates an empty parser.
    /// - Parameter limits: The bounds to enforce; Redis 7.0's by default.
    public init(limits: RESPLimits = .redis) {
        self.limits = limits
    }

    /// Bytes appended but not yet returned as part of a frame (including a partly read request).
    public var bufferedByteCount: Int { storage.count - readIndex }

    /// The absolute stream offset of the next byte to be parsed: the number of bytes consumed.
    public var byteOffset: Int { storageBaseByteOffset + readIndex }

    /// Bytes of storage the parser holds, for tests that check memory stays bounded.
    package var storageCapacityByteCount: Int { storage.capacity }

    /// Appends bytes received from the stream.
    /// - Complexity: Amortized O(n) in the number of bytes appended.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        releaseConsumedBytes()
        storage.append(contentsOf: bytes)
    }

    /// Appends bytes received from the stream, without an intermediate copy.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        releaseConsumedBytes()
        storage.append(contentsOf: bytes)
    }

    /// Drops consumed bytes once they are at least half the storage, so the memmove that drops
    /// them costs O(1) amortized per byte, and frees storage a huge frame left behind.
    private mutating func releaseConsumedBytes() {
        guard readIndex > 0 else { return }
        if readIndex == storage.count {
            if storage.capacity > 1 << 20 {
                storage = []
            } else {
                storage.removeAll(keepingCapacity: true)
            }
        } else if readIndex >= 4096 && readIndex * 2 >= storage.count {
            storage.removeSubrange(0..<readIndex)
        } else {
            return
        }
        storageBaseByteOffset += readIndex
        readIndex = 0
    }

    mutating func fail(_ error: RESPParseError) -> RESPParseError {
        brokenError = error
        return error
    }
}

/// One command read by ``RESPParser/nextRequest()``, with where it sits in the stream.
public struct RESPRequest: Hashable, Sendable {
    /// The command name and its arguments, binary-safe.
    public var arguments: [[UInt8]]
    /// Absolute offset of the command's first byte (`*`, or the first byte of an inline line).
    public var startByteOffset: Int
    /// Absolute offset just past the command's last byte.
    public var endByteOffset: Int
    /// Whether the command was an inline line rather than a multibulk array.
    public var isInline: Bool

    public init(arguments: [[UInt8]], startByteOffset: Int, endByteOffset: Int, isInline: Bool) {
        self.arguments = arguments
        self.startByteOffset = startByteOffset
        self.endByteOffset = endByteOffset
        self.isInline = isInline
    }

    /// The command's bytes in the stream.
    public var byteRange: Range<Int> { startByteOffset..<endByteOffset }
}

/// The part of a multibulk request already read, as Redis keeps it in its client struct.
struct PartialRequest: Sendable {
    var arguments: [[UInt8]] = []
    /// With ``RESPParser/packsArguments``: the arguments read so far, back to back, and where each ends.
    var packedBytes: [UInt8] = []
    var packedEnds: [Int] = []
    var isPacked = false
    /// Arguments still to read; 0 when no multibulk request is in progress.
    var remainingArgumentCount = 0
    /// Length of the bulk whose header was read, or -1 before its `$` line.
    var bulkByteCount = -1
    var startByteOffset = 0
}

// MARK: - Requests

extension RESPParser {
    /// Returns the next complete command, or nil until more bytes arrive.
    ///
    /// This reads requests exactly as Redis 7.0 does (`processInputBuffer`):
    /// - A frame starting with `*` is a multibulk request: `*N\r\n` then N times `$len\r\n` and
    ///   `len` bytes. A count of zero or below is an empty command and is skipped. Like Redis, the
    ///   two bytes after each payload and the byte after each header's `\r` are skipped unchecked,
    ///   and a header line is searched only up to its first NUL (Redis uses `strchr`), so a NUL
    ///   there leaves the request waiting until the line exceeds the line limit.
    /// - Anything else is an inline command: one line ending in `\n` (a `\r` before it is dropped),
    ///   split like `sdssplitargs`. Empty lines are skipped.
    ///
    /// - Returns: The command with its absolute start and end offsets, or nil if the buffered bytes
    ///   hold no complete command yet.
    /// - Throws: ``RESPParseError`` with Redis's client-facing message in
    ///   ``RESPParseError/redisMessage``.
    /// - Complexity: O(n) in the bytes consumed; a partly read multibulk request is resumed, not
    ///   re-parsed, when more bytes arrive.
    public mutating func nextRequest() throws -> RESPRequest? {
        switch try nextFrame() {
        case .none: return nil
        case .inline(let command): return command
        case .multibulk:
            let arguments = request.isPacked ? packedArgumentArrays() : request.arguments
            request.arguments = []
            return RESPRequest(arguments: arguments, startByteOffset: request.startByteOffset, endByteOffset: byteOffset, isInline: false)
        }
    }

    /// Reads the next complete command as ``nextRequest()`` does, into the parser's packed
    /// buffer instead of an array per argument: afterwards ``withPackedRequest(_:)`` shows it,
    /// until the next call. Returns false until a whole command is buffered.
    public mutating func nextPackedRequest() throws -> Bool {
        switch try nextFrame() {
        case .none: return false
        case .inline(let command):
            // Inline commands are rare (a person at a terminal): packed from their arrays.
            pack(command.arguments)
            return true
        case .multibulk:
            if !request.isPacked {
                pack(request.arguments)
                request.arguments = []
            }
            return true
        }
    }

    /// Puts `arguments` in the packed buffer, replacing what it held.
    private mutating func pack(_ arguments: [[UInt8]]) {
        request.packedBytes.removeAll(keepingCapacity: true)
        request.packedEnds.removeAll(keepingCapacity: true)
        for argument in arguments {
            request.packedBytes.append(contentsOf: argument)
            request.packedEnds.append(request.packedBytes.count)
        }
    }

    /// The command the last ``nextPackedRequest()`` read: its arguments back to back, and where
    /// each ends (argument `i` is `bytes[ends[i - 1] ..< ends[i]]`, the first starting at 0).
    public func withPackedRequest<Result>(_ body: (UnsafeRawBufferPointer, UnsafeBufferPointer<Int>) throws -> Result) rethrows -> Result {
        try request.packedBytes.withUnsafeBytes { bytes in
            try request.packedEnds.withUnsafeBufferPointer { ends in try body(bytes, ends) }
        }
    }

    /// The command the last ``nextPackedRequest()`` read, an array per argument.
    public func packedArgumentArrays() -> [[UInt8]] {
        request.packedBytes.withUnsafeBufferPointer { bytes in
            var arguments: [[UInt8]] = []
            arguments.reserveCapacity(request.packedEnds.count)
            var start = 0
            for end in request.packedEnds {
                arguments.append(Array(UnsafeBufferPointer(rebasing: bytes[start..<end])))
                start = end
            }
            return arguments
        }
    }

    /// Calls `body` with the second argument (a command's key, usually) of each whole multibulk
    /// request buffered after the ones read so far, at most `limit` of them, consuming nothing.
    /// A hint, for a server to start loading the keys a pipelined read is about to use: the
    /// frames are only scanned as far as finding them needs (it stops at anything unusual, an
    /// inline command, a partly read request, a frame not whole yet), never validated.
    /// Returns how many requests it went through (those with one argument included).
    @discardableResult
    public func scanBufferedRequests(limit: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        guard request.remainingArgumentCount == 0 else { return 0 }
        return storage.withUnsafeBytes { buffer in
            var position = readIndex
            var found = 0
            while found < limit, position < buffer.count, buffer[position] == UInt8(ascii: "*") {
                guard let (count, afterCount) = Self.scanLength(buffer, from: position + 1), count >= 1, count <= 4096 else { break }
                var next = afterCount
                var key: UnsafeRawBufferPointer?
                for index in 0..<count {
                    guard next < buffer.count, buffer[next] == UInt8(ascii: "$"),
                          let (length, payloadStart) = Self.scanLength(buffer, from: next + 1),
                          length <= buffer.count - payloadStart - 2 else { return found }
                    if index == 1 { key = UnsafeRawBufferPointer(rebasing: buffer[payloadStart..<payloadStart + length]) }
                    next = payloadStart + length + 2
                }
                if let key { body(key) }
                position = next
                found += 1
            }
            return found
        }
    }

    /// Digits then `\r` and one more byte, from `start`: the number and where the line ends.
    @inline(__always)
    private static func scanLength(_ buffer: UnsafeRawBufferPointer, from start: Int) -> (Int, Int)? {
        var value = 0
        var position = start
        while position < buffer.count, buffer[position] >= 48, buffer[position] <= 57, position - start < 12 {
            value = value * 10 + Int(buffer[position] - 48)
            position += 1
        }
        guard position > start, position + 1 < buffer.count, buffer[position] == 13 else { return nil }
        return (value, position + 2)
    }

    private enum Frame {
        case none
        case inline(RESPRequest)
        /// A multibulk request is whole in `request`.
        case multibulk
    }

    private mutating func nextFrame() throws -> Frame {
        if let brokenError { throw brokenError }
        // The storage is moved out while it is read, rather than copied (a retain and a release
        // per request): the parsing below mutates the rest of `self`.
        var bytes: [UInt8] = []
        swap(&bytes, &storage)
        defer { swap(&bytes, &storage) }
        return try bytes.withUnsafeBufferPointer { buffer in
            while readIndex < buffer.count || request.remainingArgumentCount > 0 {
                if request.remainingArgumentCount == 0 {
                    guard readIndex < buffer.count else { return .none }
                    if buffer[readIndex] == UInt8(ascii: "*") {
                        guard try readMultibulkCount(buffer) else { return .none }
                        if request.remainingArgumentCount == 0 { continue }  // Empty: skipped.
                    } else {
                        switch try readInlineLine(buffer) {
                        case .incomplete: return .none
                        case .empty: continue
                        case .command(let command): return .inline(command)
                        }
                    }
                }
                guard try readBulkArguments(buffer) else { return .none }
                return .multibulk
            }
            return .none
        }
    }

    /// Reads `*N\r\n`. Returns false if the line is incomplete.
    private mutating func readMultibulkCount(_ buffer: UnsafeBufferPointer<UInt8>) throws -> Bool {
        let start = readIndex
        guard let carriageReturn = findHeaderEnd(buffer, from: start) else {
            if buffer.count - start > limits.lineByteCountMax {
                throw fail(RESPParseError(
                    code: .multibulkCountLineTooLong, byteOffset: storageBaseByteOffset + start,
                    redisMessage: RESPParseError.RedisMessage.multibulkCountLineTooLong))
            }
            return false
        }
        // Redis needs one byte after the \r (it assumes \n and skips it unchecked).
        guard carriageReturn + 1 < buffer.count else { return false }
        guard let count = Self.parseRedisInteger(buffer, from: start + 1, to: carriageReturn) else {
            throw fail(RESPParseError(
                code: .invalidMultibulkLength, byteOffset: storageBaseByteOffset + start + 1,
                redisMessage: RESPParseError.RedisMessage.invalidMultibulkLength))
        }
        if count > limits.checkedMultibulkCountMax {
            throw fail(RESPParseError(
                code: .multibulkCountTooLarge, byteOffset: storageBaseByteOffset + start + 1,
                redisMessage: RESPParseError.RedisMessage.invalidMultibulkLength))
        }
        if requiresAuthentication && count > 10 {
            throw fail(RESPParseError(
                code: .unauthenticatedMultibulkLength, byteOffset: storageBaseByteOffset + start + 1,
                redisMessage: RESPParseError.RedisMessage.unauthenticatedMultibulkLength))
        }
        readIndex = carriageReturn + 2
        guard count > 0 else { return true }
        request.startByteOffset = storageBaseByteOffset + start
        request.remainingArgumentCount = Int(count)
        request.bulkByteCount = -1
        request.isPacked = packsArguments
        if packsArguments {
            // A huge request's buffer is not kept for the small ones after it.
            if request.packedBytes.capacity > 1 << 20 { request.packedBytes = [] }
            if request.packedEnds.capacity > 1 << 16 { request.packedEnds = [] }
            request.packedBytes.removeAll(keepingCapacity: true)
            request.packedEnds.removeAll(keepingCapacity: true)
            return true
        }
        request.arguments = []
        // Reserve at most one slot per 6 bytes already here (`$0\r\n\r\n` is the smallest argument),
        // never what the count claims.
        request.arguments.reserveCapacity(min(Int(count), (buffer.count - readIndex) / 6 + 1))
        return true
    }

    /// Reads `$len\r\n<payload>\r\n` while arguments remain. Returns false if bytes are missing.
    private mutating func readBulkArguments(_ buffer: UnsafeBufferPointer<UInt8>) throws -> Bool {
        while request.remainingArgumentCount > 0 {
            if request.bulkByteCount < 0 {
                let start = readIndex
                guard let carriageReturn = findHeaderEnd(buffer, from: start) else {
                    if buffer.count - start > limits.lineByteCountMax {
                        throw fail(RESPParseError(
                            code: .bulkLengthLineTooLong, byteOffset: storageBaseByteOffset + start,
                            redisMessage: RESPParseError.RedisMessage.bulkLengthLineTooLong))
                    }
                    return false
                }
                guard carriageReturn + 1 < buffer.count else { return false }
                let typeByte = buffer[start]
                guard typeByte == UInt8(ascii: "$") else {
                    throw fail(RESPParseError(
                        code: .unexpectedByte, byteOffset: storageBaseByteOffset + start, foundByte: typeByte,
                        redisMessage: RESPParseError.RedisMessage.expectedDollar(got: typeByte)))
                }
                guard let length = Self.parseRedisInteger(buffer, from: start + 1, to: carriageReturn),
                    length >= 0
                else {
                    throw fail(RESPParseError(
                        code: .invalidBulkLength, byteOffset: storageBaseByteOffset + start + 1,
                        redisMessage: RESPParseError.RedisMessage.invalidBulkLength))
                }
                guard length <= limits.checkedBulkByteCountMax else {
                    throw fail(RESPParseError(
                        code: .bulkLengthTooLarge, byteOffset: storageBaseByteOffset + start + 1,
                        redisMessage: RESPParseError.RedisMessage.invalidBulkLength))
                }
                guard !requiresAuthentication || length <= 16_384 else {
                    throw fail(RESPParseError(
                        code: .unauthenticatedBulkLength, byteOffset: storageBaseByteOffset + start + 1,
                        redisMessage: RESPParseError.RedisMessage.unauthenticatedBulkLength))
                }
                readIndex = carriageReturn + 2
                request.bulkByteCount = Int(length)
            }
            let payloadStart = readIndex
            // Redis waits for the payload and the two bytes after it, which it skips unchecked.
            guard buffer.count - payloadStart >= request.bulkByteCount + 2 else { return false }
            let payloadEnd = payloadStart + request.bulkByteCount
            if request.isPacked {
                request.packedBytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[payloadStart..<payloadEnd]))
                request.packedEnds.append(request.packedBytes.count)
            } else {
                request.arguments.append(Array(UnsafeBufferPointer(rebasing: buffer[payloadStart..<payloadEnd])))
            }
            readIndex = payloadEnd + 2
            request.bulkByteCount = -1
            request.remainingArgumentCount -= 1
        }
        return true
    }

    private enum InlineResult {
        case incomplete, empty
        case command(RESPRequest)
    }

    /// Reads one inline command line.
    private mutating func readInlineLine(_ buffer: UnsafeBufferPointer<UInt8>) throws -> InlineResult {
        let start = readIndex
        // Redis finds the newline with strchr, so a NUL before it hides it.
        var newline = start
        while newline < buffer.count {
            let byte = buffer[newline]
            if byte == 10 { break }
            if byte == 0 { newline = buffer.count; break }
            newline += 1
        }
        guard newline < buffer.count else {
            if buffer.count - start > limits.lineByteCountMax {
                throw fail(RESPParseError(
                    code: .inlineRequestTooLong, byteOffset: storageBaseByteOffset + start,
                    redisMessage: RESPParseError.RedisMessage.inlineRequestTooLong))
            }
            return .incomplete
        }
        var lineEnd = newline
        if lineEnd > start && buffer[lineEnd - 1] == 13 { lineEnd -= 1 }
        var arguments: [[UInt8]] = []
        if let quoteIndex = ByteQuoting.splitArguments(buffer, from: start, to: lineEnd, into: &arguments) {
            throw fail(RESPParseError(
                code: .unbalancedQuotes, byteOffset: storageBaseByteOffset + quoteIndex,
                redisMessage: RESPParseError.RedisMessage.unbalancedQuotes))
        }
        readIndex = newline + 1
        guard !arguments.isEmpty else { return .empty }
        return .command(RESPRequest(
            arguments: arguments, startByteOffset: storageBaseByteOffset + start,
            endByteOffset: storageBaseByteOffset + readIndex, isInline: true))
    }

    /// Finds the `\r` ending a header line, as `strchr` would: a NUL first means "not found".
    @inline(__always)
    private func findHeaderEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index < buffer.count {
            let byte = buffer[index]
            if byte == 13 { return index }
            if byte == 0 { return nil }
            index += 1
        }
        return nil
    }

    /// Parses a decimal integer as Redis's `string2ll` does: an optional `-`, then digits with no
    /// leading zero (except `0` itself), no `+`, no spaces, within Int64. Nil if invalid.
    static func parseRedisInteger(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int64? {
        let length = end - start
        guard length > 0 && length <= 20 else { return nil }
        if length == 1 && buffer[start] == 48 { return 0 }
        var index = start
        let isNegative = buffer[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        guard index < end, buffer[index] >= 49 && buffer[index] <= 57 else { return nil }
        var magnitude: UInt64 = 0
        while index < end {
            let digit = buffer[index] &- 48
            guard digit <= 9 else { return nil }
            let (shifted, overflowShift) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflowShift && !overflowAdd else { return nil }
            magnitude = sum
            index += 1
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
