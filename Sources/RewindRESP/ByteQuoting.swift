// redis-cli's binary-safe quoting (Redis `sdscatrepr`) and its inverse, the argument splitter Redis
// uses for inline commands and redis-cli input (Redis `sdssplitargs`). Behaviour checked against
// redis-server 7.0.15 by sending inline commands and reading back what ECHO returned.

/// Converts byte strings to and from the quoted form redis-cli prints and Redis reads inline.
///
/// `quoted` is what `redis-cli --no-raw` and `MONITOR` show for a value; `splitArguments` reads such
/// a line back, so `splitArguments(quoted(x)) == [x]` for every byte string `x`.
public enum ByteQuoting {
    /// Quotes a byte string the way Redis's `sdscatrepr` does.
    ///
    /// The result is wrapped in double quotes; `\` and `"` are escaped, `\n`, `\r`, `\t`, `\a` and
    /// `\b` use their C escapes, other printable ASCII (0x20 through 0x7E) is kept, and every other
    /// byte becomes `\xHH` with lowercase hex digits, so the result is always printable ASCII.
    ///
    /// - Parameter bytes: Any bytes, not necessarily UTF-8.
    /// - Returns: The quoted text, for example `"a\x00\"b"`.
    public static func quoted(_ bytes: some Sequence<UInt8>) -> String {
        var result: [UInt8] = [34]
        for byte in bytes {
            switch byte {
            case 92: result += [92, 92]
            case 34: result += [92, 34]
            case 10: result += [92, 110]
            case 13: result += [92, 114]
            case 9: result += [92, 116]
            case 7: result += [92, 97]
            case 8: result += [92, 98]
            case 0x20...0x7E: result.append(byte)
            default: result += [92, 120, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            }
        }
        result.append(34)
        return String(decoding: result, as: UTF8.self)
    }

    /// Splits a line into arguments exactly as Redis's `sdssplitargs` does.
    ///
    /// Arguments are separated by whitespace. Inside double quotes, `\xHH` is a byte, `\n`, `\r`,
    /// `\t`, `\b` and `\a` are control characters, and a backslash before any other character
    /// keeps that character. Inside single quotes only `\'` is an escape. A quote may open in the
    /// middle of a word (`a"b c"` is `ab c`), but a closing quote must be followed by whitespace or
    /// the end of the line. Like the C original, the line ends at its first NUL byte.
    ///
    /// ```swift
    /// try ByteQuoting.splitArguments(Array(#"SET "a b" '\'x'"#.utf8))  // ["SET", "a b", "'x"]
    /// ```
    ///
    /// - Parameter line: One line, without its newline.
    /// - Returns: The arguments, possibly none.
    /// - Throws: ``RESPParseError`` with code ``RESPParseError/Code/unbalancedQuotes`` and the
    ///   offset, within `line`, of the quote that does not close properly.
    /// - Complexity: O(n) in the length of the line.
    public static func splitArguments(_ line: [UInt8]) throws -> [[UInt8]] {
        try line.withUnsafeBufferPointer { buffer in
            var arguments: [[UInt8]] = []
            if let errorIndex = splitArguments(buffer, from: 0, to: buffer.count, into: &arguments) {
                throw RESPParseError(
                    code: .unbalancedQuotes, byteOffset: errorIndex,
                    redisMessage: RESPParseError.RedisMessage.unbalancedQuotes)
            }
            return arguments
        }
    }

    /// Splits `buffer[start..<end]` as `sdssplitargs` does, appending to `arguments`.
    ///
    /// Returns nil on success, or the index in `buffer` of the quote that opened the unbalanced
    /// string. Shared by the public entry point and the request parser, which works in place.
    static func splitArguments(
        _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, into arguments: inout [[UInt8]]
    ) -> Int? {
        var index = start
        // The C original stops at NUL; byte(at:) returns 0 past the end, as the terminator would.
        var stop = start
        while stop < end && buffer[stop] != 0 { stop += 1 }
        @inline(__always) func byte(at position: Int) -> UInt8 { position < stop ? buffer[position] : 0 }

        while true {
            while index < stop && isSpace(buffer[index]) { index += 1 }
            if index >= stop { return nil }
            var current: [UInt8] = []
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var quoteIndex = index
            var done = false
            while !done {
                let character = byte(at: index)
                if inDoubleQuotes {
                    if character == 92 && byte(at: index + 1) == 120,
                        let high = hexValue(byte(at: index + 2)), let low = hexValue(byte(at: index + 3))
                    {
                        current.append(high << 4 | low)
                        index += 3
                    } else if character == 92 && byte(at: index + 1) != 0 {
                        index += 1
                        switch buffer[index] {
                        case 110: current.append(10)
                        case 114: current.append(13)
                        case 116: current.append(9)
                        case 98: current.append(8)
                        case 97: current.append(7)
                        default: current.append(buffer[index])
                        }
                    } else if character == 34 {
                        // A closing quote must be followed by a space or nothing at all.
                        let next = byte(at: index + 1)
                        if next != 0 && !isSpace(next) { return quoteIndex }
                        done = true
                    } else if character == 0 {
                        return quoteIndex  // The line ended inside the quotes.
                    } else {
                        current.append(character)
                    }
                } else if inSingleQuotes {
                    if character == 92 && byte(at: index + 1) == 39 {
                        index += 1
                        current.append(39)
                    } else if character == 39 {
                        let next = byte(at: index + 1)
                        if next != 0 && !isSpace(next) { return quoteIndex }
                        done = true
                    } else if character == 0 {
                        return quoteIndex
                    } else {
                        current.append(character)
                    }
                } else {
                    switch character {
                    // Unquoted words end only at these four and NUL; \v and \f stay in the word,
                    // although they count as space between words (Redis uses isspace there).
                    case 32, 10, 13, 9, 0: done = true
                    case 34: inDoubleQuotes = true; quoteIndex = index
                    case 39: inSingleQuotes = true; quoteIndex = index
                    default: current.append(character)
                    }
                }
                if index < stop { index += 1 }
            }
            arguments.append(current)
        }
    }

    /// C's `isspace` in the C locale: space, \t, \n, \v, \f, \r.
    @inline(__always) static func isSpace(_ byte: UInt8) -> Bool {
        byte == 32 || (byte >= 9 && byte <= 13)
    }

    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: return byte - 48
        case 97...102: return byte - 87
        case 65...70: return byte - 55
        default: return nil
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
