// Number parsing and printing exactly as Redis 7.0 does it. See redis src/util.c (string2ll,
// string2ld, ld2string, ll2string).

import CFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses a signed 64-bit integer the way Redis `string2ll` does: optional `-`, then digits with
/// no leading zero (except "0" itself), no `+`, no spaces, no overflow. "-0" and "01" are refused,
/// which is what makes the integer encoding of strings lossless.
func parseInt64(_ bytes: [UInt8]) -> Int64? {
    parseInt64(bytes[...])
}

func parseInt64(_ bytes: ArraySlice<UInt8>) -> Int64? {
    parseInt64(digits: bytes)
}

/// ``parseInt64(_:)`` over raw bytes (a replayed argument that was never copied into an array).
func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    parseInt64(digits: bytes)
}

@inline(__always)
private func parseInt64<Digits: RandomAccessCollection>(digits bytes: Digits) -> Int64? where Digits.Element == UInt8, Digits.Index == Int {
    guard let first = bytes.first, bytes.count <= 20 else { return nil }
    if bytes.count == 1 && first == UInt8(ascii: "0") { return 0 }
    var index = bytes.startIndex
    let negative = first == UInt8(ascii: "-")
    if negative {
        index += 1
        guard index < bytes.endIndex else { return nil }
    }
    guard bytes[index] >= UInt8(ascii: "1") && bytes[index] <= UInt8(ascii: "9") else { return nil }
    var magnitude: UInt64 = 0
    while index < bytes.endIndex {
        let byte = bytes[index]
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        guard !overflow1 && !overflow2 else { return nil }
        magnitude = sum
        index += 1
    }
    if negative {
        guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
        return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    guard magnitude <= UInt64(Int64.max) else { return nil }
    return Int64(magnitude)
}

/// Parses an unsigned 64-bit integer as Redis `string2ull` does for SCAN cursors: decimal digits
/// only (leading zeros allowed by strtoull), no sign, no overflow.
func parseCursor(_ bytes: [UInt8]) -> UInt64? {
    guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
    var value: UInt64 = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        guard !overflow1 && !overflow2 else { return nil }
        value = sum
    }
    return value
}

/// The decimal bytes of an integer (Redis `ll2string`).
func formatInt64(_ value: Int64) -> [UInt8] {
    if value >= 0 && value < 10 { return [UInt8(ascii: "0") + UInt8(value)] }
    var digits: [UInt8] = []
    digits.reserveCapacity(20)
    var magnitude = value.magnitude
    while magnitude > 0 {
        digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
        magnitude /= 10
    }
    if value < 0 { digits.append(UInt8(ascii: "-")) }
    digits.reverse()
    return digits
}

#if arch(x86_64) || arch(i386)
/// The long double Redis uses for INCRBYFLOAT and HINCRBYFLOAT (x87 80-bit on x86_64 Linux).
typealias LongDouble = Float80
#else
typealias LongDouble = Double
#endif

/// Parses a long double as Redis `string2ld` does: the whole string must be consumed by `strtold`,
/// no leading space, no NaN, no overflow to infinity and no underflow to zero from a range error.
func parseLongDouble(_ bytes: [UInt8]) -> LongDouble? {
    guard !bytes.isEmpty, bytes.count < 5 * 1024 else { return nil }
    let first = bytes[0]
    if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
    return (bytes + [0]).withUnsafeBufferPointer { buffer -> LongDouble? in
        buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            #if arch(x86_64) || arch(i386)
            let value = strtold(start, &end)
            #else
            let value = strtod(start, &end)
            #endif
            guard let end, end - UnsafeMutablePointer(mutating: start) == bytes.count else { return nil }
            if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
            if errno == EINVAL || value.isNaN { return nil }
            return value
        }
    }
}

/// Parses a double as Redis `getDoubleFromObject` (strtod, same rules as ``parseLongDouble``).
func parseDouble(_ bytes: [UInt8]) -> Double? {
    bytes.withUnsafeBytes { parseDouble($0) }
}

/// ``parseDouble(_:)`` over raw bytes. A canonical integer of at most 15 digits (the usual
/// score) is converted directly, which is exactly what `strtod` returns for it; anything else
/// goes through `strtod` on a NUL-terminated copy on the stack.
func parseDouble(_ bytes: UnsafeRawBufferPointer) -> Double? {
    guard !bytes.isEmpty, bytes.count < 5 * 1024 else { return nil }
    if bytes.count <= 16, let integer = parseInt64(bytes), integer.magnitude < 1_000_000_000_000_000 {
        return Double(integer)
    }
    let first = bytes[0]
    if first == 0x20 || (first >= 0x09 && first <= 0x0D) { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Double? in
        let start = buffer.baseAddress!
        UnsafeMutableRawPointer(start).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        start[bytes.count] = 0
        var end: UnsafeMutablePointer<CChar>?
        errno = 0
        let value = strtod(start, &end)
        guard let end, end - start == bytes.count else { return nil }
        if errno == ERANGE && (value.isInfinite || value == 0) { return nil }
        if value.isNaN { return nil }
        return value
    }
}

/// Prints a long double as Redis `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and a
/// trailing dot removed, "-0" printed as "0". Callers refuse infinities before printing.
func formatLongDouble(_ value: LongDouble) -> [UInt8] {
    var buffer = [CChar](repeating: 0, count: 5 * 1024)
    let length = buffer.withUnsafeMutableBufferPointer { pointer in
        withVaList([value]) { vsnprintf(pointer.baseAddress, pointer.count, "%.17Lf", $0) }
    }
    guard length > 0 else { return Array("0".utf8) }
    var bytes = buffer.prefix(min(Int(length), buffer.count - 1)).map { UInt8(bitPattern: $0) }
    if bytes.contains(UInt8(ascii: ".")) {
        while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
    }
    if bytes == Array("-0".utf8) { return Array("0".utf8) }
    return bytes
}

/// Parses a Redis timeout in seconds (BLPOP ... timeout) into milliseconds, as Redis 7.0
/// `getTimeoutFromObjectOrReply` does: a long double times 1000, rounded up, then converted to a
/// 64-bit integer. On x86_64 that conversion turns anything out of range (inf, 1e30) into
/// LLONG_MIN, which is why Redis calls those timeouts negative; the engine keeps that reply.
func parseTimeoutMilliseconds(_ bytes: [UInt8]) throws(CommandError) -> Int64 {
    guard let seconds = parseLongDouble(bytes) else { throw ErrorReply.timeoutNotFloat }
    let milliseconds = (seconds * 1000).rounded(.up)
    guard milliseconds >= 0 else { throw ErrorReply.timeoutNegative }
    guard milliseconds < 9_223_372_036_854_775_807 else { throw ErrorReply.timeoutNegative }
    return Int64(milliseconds)
}

/// Prints a double as Redis 7.0 replies a score in RESP2 (`addReplyDouble`): `%.17g`, with
/// infinities as "inf" and "-inf".
func formatScore(_ value: Double) -> [UInt8] {
    if value.isInfinite { return Array((value > 0 ? "inf" : "-inf").utf8) }
    return formatDouble17g(value)
}

/// C's `%.17g` of `value` (`inf`, `-inf`, `nan` and `-0` as C prints them).
func formatDouble17g(_ value: Double) -> [UInt8] {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
        let length = Int(rewind_format_double_17g(value, buffer.baseAddress, 64))
        return UnsafeRawBufferPointer(start: buffer.baseAddress, count: max(0, min(length, 63))).map { $0 }
    }
}
