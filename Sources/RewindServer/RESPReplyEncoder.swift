// Replies written straight into NIO's buffers. The bytes are RewindRESP's RESPEncoder's, which
// were compared with redis-server 7.0.15's; RESPReplyEncoderTests checks the two agree.

import NIOCore
import RewindRESP

extension ByteBuffer {
    /// Writes `value` as Redis 7.0 sends it to a client speaking `version`, and returns the number
    /// of bytes written.
    ///
    /// The replies almost every command gives (`+OK`, an integer, a bulk string, a null) are
    /// written directly; anything else goes through `RESPEncoder` into `scratch` (whose storage
    /// is kept between calls) and is copied in.
    @discardableResult
    @inline(__always)
    mutating func writeRESPReply(_ value: RESPValue, version: RESPVersion, scratch: inout [UInt8]) -> Int {
        switch value {
        case .simpleString(let text) where text == "OK":
            return writeStaticString("+OK\r\n")
        case .integer(let number):
            return writeRESPHeader(type: UInt8(ascii: ":"), number)
        case .bulkString(let bytes):
            var count = writeRESPHeader(type: UInt8(ascii: "$"), Int64(bytes.count))
            count += writeBytes(bytes)
            return count + writeStaticString("\r\n")
        case .null:
            return writeStaticString(version == .resp3 ? "_\r\n" : "$-1\r\n")
        default:
            scratch.removeAll(keepingCapacity: true)
            RESPEncoder.encode(value, version: version, into: &scratch)
            return writeBytes(scratch)
        }
    }

    /// Writes a type byte, `number` in decimal and CRLF, as RESPEncoder's headers.
    @inline(__always)
    mutating func writeRESPHeader(type: UInt8, _ number: Int64) -> Int {
        // At most 1 type byte, 1 sign, 20 digits and CRLF.
        writeWithUnsafeMutableBytes(minimumWritableBytes: 24) { pointer in
            var magnitude = number.magnitude
            var digitCount = 1
            var remaining = magnitude
            while remaining >= 10 {
                remaining /= 10
                digitCount += 1
            }
            var index = 0
            pointer[index] = type
            index += 1
            if number < 0 {
                pointer[index] = UInt8(ascii: "-")
                index += 1
            }
            var position = index + digitCount - 1
            repeat {
                pointer[position] = 48 + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                position -= 1
            } while magnitude > 0
            index += digitCount
            pointer[index] = 13
            pointer[index + 1] = 10
            return index + 2
        }
    }
}
