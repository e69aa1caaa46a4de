// Encodes RESPValue as Redis 7.0 sends it. See https://redis.io/docs/reference/protocol-spec/; the
// bytes were compared with replies captured from redis-server 7.0.15 (RESPEncoderTests).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes RESP values and commands into byte buffers, byte for byte as Redis 7.0 does.
///
/// For RESP2, RESP3-only types fall back the way Redis falls back: a map becomes a flat array of
/// keys and values, a set or push an array, a double or big number a bulk string, a boolean the
/// integer 1 or 0, a verbatim string a bulk string of its text; both nulls become `_` in RESP3.
///
/// ```swift
/// var bytes: [UInt8] = []
/// RESPEncoder.encode(.double(0.1), version: .resp3, into: &bytes)  // ",0.10000000000000001\r\n"
/// ```
public enum RESPEncoder {
    /// Appends the encoding of `value` for `version` to `buffer`.
    ///
    /// Simple strings and errors cannot hold CR or LF on the wire, so each one in their text is
    /// written as a space, as Redis does for formatted errors; anything else would break framing.
    ///
    /// - Parameters:
    ///   - value: The value to encode.
    ///   - version: The protocol the connection speaks.
    ///   - buffer: Where the bytes go; existing contents are kept.
    /// - Complexity: O(n) in the encoded size.
    public static func encode(_ value: RESPValue, version: RESPVersion, into buffer: inout [UInt8]) {
        let isRESP3 = version == .resp3
        switch value {
        case .simpleString(let text):
            appendLine(type: UInt8(ascii: "+"), text: text, into: &buffer)
        case .error(let text):
            appendLine(type: UInt8(ascii: "-"), text: text, into: &buffer)
        case .integer(let number):
            appendHeader(type: UInt8(ascii: ":"), number, into: &buffer)
        case .bulkString(let bytes):
            appendBulk(bytes, into: &buffer)
        case .null:
            buffer += isRESP3 ? [95, 13, 10] : [36, 45, 49, 13, 10]  // "_\r\n" : "$-1\r\n"
        case .nullArray:
            buffer += isRESP3 ? [95, 13, 10] : [42, 45, 49, 13, 10]  // "_\r\n" : "*-1\r\n"
        case .array(let elements):
            appendAggregate(type: UInt8(ascii: "*"), elements, version: version, into: &buffer)
        case .set(let elements):
            appendAggregate(type: UInt8(ascii: isRESP3 ? "~" : "*"), elements, version: version, into: &buffer)
        case .push(let elements):
            appendAggregate(type: UInt8(ascii: isRESP3 ? ">" : "*"), elements, version: version, into: &buffer)
        case .map(let pairs):
            if isRESP3 {
                appendHeader(type: UInt8(ascii: "%"), Int64(pairs.count), into: &buffer)
            } else {
                appendHeader(type: UInt8(ascii: "*"), Int64(pairs.count) * 2, into: &buffer)
            }
            for pair in pairs {
                encode(pair.key, version: version, into: &buffer)
                encode(pair.value, version: version, into: &buffer)
            }
        case .double(let number):
            let text = formatDouble(number)
            if isRESP3 {
                buffer.append(UInt8(ascii: ","))
                buffer += text
                buffer += [13, 10]
            } else {
                appendBulk(text, into: &buffer)
            }
        case .boolean(let flag):
            if isRESP3 {
                buffer += [35, flag ? 116 : 102, 13, 10]  // "#t\r\n" / "#f\r\n"
            } else {
                buffer += [58, flag ? 49 : 48, 13, 10]  // ":1\r\n" / ":0\r\n"
            }
        case .bigNumber(let digits):
            if isRESP3 {
                appendLine(type: UInt8(ascii: "("), text: digits, into: &buffer)
            } else {
                appendBulk(Array(digits.utf8), into: &buffer)
            }
        case .verbatimString(let format, let text):
            if isRESP3 {
                // Redis always writes exactly three format bytes; pad or cut to keep the frame valid.
                var formatBytes = Array(format.utf8.prefix(3))
                while formatBytes.count < 3 { formatBytes.append(32) }
                appendHeader(type: UInt8(ascii: "="), Int64(text.count + 4), into: &buffer)
                buffer += formatBytes
                buffer.append(UInt8(ascii: ":"))
                buffer += text
                buffer += [13, 10]
            } else {
                appendBulk(text, into: &buffer)
            }
        }
    }

    /// Appends a command as a client sends it: `*N\r\n` then `$len\r\narg\r\n` for each argument.
    ///
    /// This is also the AOF's encoding of one command.
    /// - Complexity: O(n) in the encoded size, with one reservation of the exact size.
    public static func encodeCommand(_ arguments: [[UInt8]], into buffer: inout [UInt8]) {
        var byteCount = 3 + decimalDigitCount(UInt64(arguments.count))
        for argument in arguments {
            byteCount += 5 + decimalDigitCount(UInt64(argument.count)) + argument.count
        }
        buffer.reserveCapacity(buffer.count + byteCount)
        appendHeader(type: UInt8(ascii: "*"), Int64(arguments.count), into: &buffer)
        for argument in arguments {
            appendBulk(argument, into: &buffer)
        }
    }

    /// Formats a double as Redis 7.0 replies with it: `inf`, `-inf`, otherwise C's `%.17g`.
    ///
    /// `%.17g` gives 17 significant digits, enough to read back the same double, which is why
    /// ZSCORE of 0.1 is `0.10000000000000001`. Infinities are spelled out explicitly, as Redis
    /// does, because C libraries disagree on them; NaN is left to the C library (`nan` or `-nan`
    /// with glibc), as Redis leaves it.
    public static func formatDouble(_ number: Double) -> [UInt8] {
        if number.isInfinite { return Array((number > 0 ? "inf" : "-inf").utf8) }
        var characters = [CChar](repeating: 0, count: 40)
        let count = withVaList([number]) { arguments in
            characters.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.17g", arguments) }
        }
        return characters.prefix(max(0, min(Int(count), characters.count - 1))).map { UInt8(bitPattern: $0) }
    }

    // MARK: - Pieces

    @inline(__always)
    private static func appendBulk(_ bytes: [UInt8], into buffer: inout [UInt8]) {
        appendHeader(type: UInt8(ascii: "$"), Int64(bytes.count), into: &buffer)
        buffer += bytes
        buffer += [13, 10]
    }

    private static func appendAggregate(
        type: UInt8, _ elements: [RESPValue], version: RESPVersion, into buffer: inout [UInt8]
    ) {
        appendHeader(type: type, Int64(elements.count), into: &buffer)
        for element in elements {
            encode(element, version: version, into: &buffer)
        }
    }

    private static func appendLine(type: UInt8, text: String, into buffer: inout [UInt8]) {
        buffer.append(type)
        for byte in text.utf8 {
            buffer.append(byte == 13 || byte == 10 ? 32 : byte)
        }
        buffer += [13, 10]
    }

    /// Appends the type byte, the decimal number and CRLF, without allocating.
    @inline(__always)
    static func appendHeader(type: UInt8, _ number: Int64, into buffer: inout [UInt8]) {
        buffer.append(type)
        if number < 0 { buffer.append(UInt8(ascii: "-")) }
        let magnitude = number.magnitude
        let digitCount = decimalDigitCount(magnitude)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(48, count: digitCount))
        var remaining = magnitude
        var index = start + digitCount - 1
        repeat {
            buffer[index] = 48 + UInt8(remaining % 10)
            remaining /= 10
            index -= 1
        } while remaining > 0
        buffer.append(13)
        buffer.append(10)
    }

    @inline(__always)
    static func decimalDigitCount(_ number: UInt64) -> Int {
        var count = 1
        var remaining = number
        while remaining >= 10 {
            remaining /= 10
            count += 1
        }
        return count
    }
}

extension RESPValue {
    /// This value's bytes for `version`, as Redis 7.0 would send them.
    public func encoded(for version: RESPVersion) -> [UInt8] {
        var buffer: [UInt8] = []
        RESPEncoder.encode(self, version: version, into: &buffer)
        return buffer
    }
}
