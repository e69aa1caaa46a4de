// Checked reads over the bytes of an RDB file: every read is bounds-checked against the end of the
// input and fails with an `RDBError` naming the offset and the key being read; nothing traps.

/// A position in the RDB bytes, with the key being read for error messages.
struct RDBCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    /// The first byte not belonging to the input (the end of the buffer).
    let end: Int
    var offset: Int
    let fileName: String
    /// The key whose value is being read, for errors.
    var key: [UInt8]?
    /// The same, when the key is read without copying it (valid while its value is read).
    var keyBytes: UnsafeBufferPointer<UInt8>?
    /// LZF-compressed strings read so far (for the summary).
    var lzfStringCount = 0
    /// Plain (unpacked) quicklist nodes read so far.
    var plainNodeCount = 0

    init(bytes: UnsafeBufferPointer<UInt8>, offset: Int = 0, fileName: String) {
        self.bytes = bytes
        self.end = bytes.count
        self.offset = offset
        self.fileName = fileName
    }

    var remaining: Int { end - offset }

    func error(_ code: RDBError.Code, at byteOffset: Int? = nil, _ message: String) -> RDBError {
        RDBError(code, file: fileName, byteOffset: byteOffset ?? offset, key: key ?? keyBytes.map { Array($0) }, message)
    }

    /// Fails unless `count` more bytes are present.
    @inline(__always)
    func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= end - offset else {
            throw error(.truncated, "expected \(count) bytes of \(what()), found \(end - offset) before the end of the file")
        }
    }

    @inline(__always)
    mutating func byte(_ what: @autoclosure () -> String) throws -> UInt8 {
        guard offset < end else { throw error(.truncated, "expected \(what()), found the end of the file") }
        let value = bytes[offset]
        offset += 1
        return value
    }

    mutating func littleEndian<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        try need(size, what())
        var value: T = 0
        for index in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    mutating func bigEndian<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        try need(size, what())
        var value: T = 0
        for index in 0..<size { value = (value << 8) | T(truncatingIfNeeded: bytes[offset + index]) }
        offset += size
        return value
    }

    /// The next `count` bytes, copied.
    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try need(count, what())
        let result = Array(UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)]))
        offset += count
        return result
    }

    mutating func skip(_ count: Int, _ what: @autoclosure () -> String) throws {
        try need(count, what())
        offset += count
    }

    /// A length (rdbLoadLenByRef): returns the value and whether it is a special encoding instead.
    mutating func lengthOrEncoding(_ what: @autoclosure () -> String) throws -> (value: UInt64, isEncoding: Bool) {
        let first = try byte("the length of \(what())")
        switch first >> 6 {
        case RDBFormat.length6Bit:
            return (UInt64(first & 0x3f), false)
        case RDBFormat.length14Bit:
            let second = try byte("the second byte of the length of \(what())")
            return ((UInt64(first & 0x3f) << 8) | UInt64(second), false)
        case RDBFormat.lengthEncodedValue:
            return (UInt64(first & 0x3f), true)
        default:
            if first == RDBFormat.length32BitMarker {
                return (UInt64(try bigEndian(UInt32.self, "a 32-bit length of \(what())")), false)
            }
            if first == RDBFormat.length64BitMarker {
                return (try bigEndian(UInt64.self, "a 64-bit length of \(what())"), false)
            }
            throw error(.malformed, at: offset - 1, "expected the length of \(what()), found the unknown length prefix 0x\(String(first, radix: 16))")
        }
    }

    /// A plain length (no special encoding allowed).
    mutating func length(_ what: @autoclosure () -> String) throws -> UInt64 {
        let start = offset
        let (value, isEncoding) = try lengthOrEncoding(what())
        guard !isEncoding else { throw error(.malformed, at: start, "expected the length of \(what()), found a string encoding marker") }
        return value
    }

    /// A count of items, each taking at least `bytesEach` bytes, so it is checked against the bytes
    /// left before anything is allocated for it.
    mutating func count(_ what: @autoclosure () -> String, bytesEach: Int) throws -> Int {
        let start = offset
        let value = try length(what())
        guard value <= UInt64(remaining / max(bytesEach, 1)) else {
            throw error(.truncated, at: start, "\(what()) claims \(value) items, more than the \(remaining) bytes left can hold")
        }
        return Int(value)
    }

    /// A string (rdbGenericLoadStringObject): raw, an encoded integer (as its decimal text) or LZF.
    mutating func string(_ what: @autoclosure () -> String) throws -> [UInt8] {
        let start = offset
        let (value, isEncoding) = try lengthOrEncoding(what())
        if isEncoding {
            switch value {
            case RDBFormat.encodingInt8:
                return Array(String(Int8(bitPattern: try byte("an 8-bit integer"))).utf8)
            case RDBFormat.encodingInt16:
                return Array(String(Int16(bitPattern: try littleEndian(UInt16.self, "a 16-bit integer"))).utf8)
            case RDBFormat.encodingInt32:
                return Array(String(Int32(bitPattern: try littleEndian(UInt32.self, "a 32-bit integer"))).utf8)
            case RDBFormat.encodingLZF:
                lzfStringCount += 1
                return try lzfString(what(), start: start)
            default:
                throw error(.malformed, at: start, "expected \(what()), found the unknown string encoding \(value)")
            }
        }
        guard value <= UInt64(RDBLimits.stringByteCountMax) else {
            throw error(.tooLarge, at: start, "\(what()) claims \(value) bytes, above the 512 MiB string limit")
        }
        return try take(Int(value), what())
    }

    /// A string as bytes without building an array: a slice of the input when it is stored raw,
    /// else its decimal text or its LZF-decompressed bytes in `scratch`. Valid until `scratch` is
    /// used again (and while the input lives).
    @inline(__always)
    mutating func stringBytes(_ what: @autoclosure () -> String, scratch: RDBScratch) throws -> UnsafeBufferPointer<UInt8> {
        let start = offset
        guard offset < end else { throw error(.truncated, "expected the length of \(what()), found the end of the file") }
        let first = bytes[offset]
        if first >> 6 == RDBFormat.length6Bit {
            // The common case: a short raw string.
            let count = Int(first & 0x3f)
            guard count < end - offset else { return try stringBytesSlow(what(), scratch: scratch) }
            offset += 1 + count
            return UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(start + 1 + count)])
        }
        return try stringBytesSlow(what(), scratch: scratch)
    }

    private mutating func stringBytesSlow(_ what: String, scratch: RDBScratch) throws -> UnsafeBufferPointer<UInt8> {
        let start = offset
        let (value, isEncoding) = try lengthOrEncoding(what)
        if isEncoding {
            switch value {
            case RDBFormat.encodingInt8:
                return scratch.decimal(Int64(Int8(bitPattern: try byte("an 8-bit integer"))))
            case RDBFormat.encodingInt16:
                return scratch.decimal(Int64(Int16(bitPattern: try littleEndian(UInt16.self, "a 16-bit integer"))))
            case RDBFormat.encodingInt32:
                return scratch.decimal(Int64(Int32(bitPattern: try littleEndian(UInt32.self, "a 32-bit integer"))))
            case RDBFormat.encodingLZF:
                lzfStringCount += 1
                let (input, uncompressed, dataOffset) = try lzfInput(what, start: start)
                let output = scratch.buffer(byteCount: uncompressed)
                do {
                    try LZF.decompress(input, into: output)
                } catch let failure as LZF.Failure {
                    throw error(.malformed, at: dataOffset, "\(what): bad LZF data at byte \(failure.inputIndex) of \(input.count): \(failure.message)")
                }
                return UnsafeBufferPointer(output)
            default:
                throw error(.malformed, at: start, "expected \(what), found the unknown string encoding \(value)")
            }
        }
        guard value <= UInt64(RDBLimits.stringByteCountMax) else {
            throw error(.tooLarge, at: start, "\(what) claims \(value) bytes, above the 512 MiB string limit")
        }
        try need(Int(value), what)
        defer { offset += Int(value) }
        return UnsafeBufferPointer(rebasing: bytes[offset..<(offset + Int(value))])
    }

    /// Skips a string without building it.
    mutating func skipString(_ what: @autoclosure () -> String) throws {
        let start = offset
        let (value, isEncoding) = try lengthOrEncoding(what())
        if isEncoding {
            switch value {
            case RDBFormat.encodingInt8: try skip(1, "an 8-bit integer")
            case RDBFormat.encodingInt16: try skip(2, "a 16-bit integer")
            case RDBFormat.encodingInt32: try skip(4, "a 32-bit integer")
            case RDBFormat.encodingLZF:
                let compressed = try length("the compressed length of \(what())")
                _ = try length("the uncompressed length of \(what())")
                guard compressed <= UInt64(remaining) else { throw error(.truncated, at: start, "\(what()) claims \(compressed) compressed bytes, more than the \(remaining) left") }
                offset += Int(compressed)
            default:
                throw error(.malformed, at: start, "expected \(what()), found the unknown string encoding \(value)")
            }
            return
        }
        guard value <= UInt64(remaining) else { throw error(.truncated, at: start, "\(what()) claims \(value) bytes, more than the \(remaining) left") }
        offset += Int(value)
    }

    private mutating func lzfString(_ what: String, start: Int) throws -> [UInt8] {
        let (input, uncompressed, dataOffset) = try lzfInput(what, start: start)
        do {
            return try LZF.decompress(input, uncompressedByteCount: uncompressed)
        } catch let failure as LZF.Failure {
            throw error(.malformed, at: dataOffset, "\(what): bad LZF data at byte \(failure.inputIndex) of \(input.count): \(failure.message)")
        }
    }

    /// The compressed bytes of an LZF string (after its encoding marker), checked; the cursor moves past them.
    private mutating func lzfInput(_ what: String, start: Int) throws -> (UnsafeBufferPointer<UInt8>, Int, Int) {
        let compressed = try length("the compressed length of \(what)")
        let uncompressed = try length("the uncompressed length of \(what)")
        guard compressed <= UInt64(remaining) else {
            throw error(.truncated, at: start, "\(what) claims \(compressed) LZF-compressed bytes, more than the \(remaining) left")
        }
        guard uncompressed <= UInt64(RDBLimits.stringByteCountMax),
              uncompressed <= compressed &* UInt64(RDBLimits.lzfExpansionRatioMax) &+ 64 else {
            throw error(.tooLarge, at: start, "\(what) claims \(uncompressed) bytes from \(compressed) LZF-compressed bytes, more than LZF can produce")
        }
        let input = UnsafeBufferPointer(rebasing: bytes[offset..<(offset + Int(compressed))])
        let dataOffset = offset
        offset += Int(compressed)
        return (input, Int(uncompressed), dataOffset)
    }

    /// A score as ZSET (type 3) writes it: a length byte then ASCII (253 nan, 254 +inf, 255 -inf).
    mutating func textDouble(_ what: @autoclosure () -> String) throws -> Double {
        let start = offset
        let count = try byte("the length of \(what())")
        switch count {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let text = try take(Int(count), what())
            guard let value = Double(String(decoding: text, as: UTF8.self)) else {
                throw error(.malformed, at: start, "expected \(what()) as decimal text, found \(ByteQuoting.quoted(text))")
            }
            return value
        }
    }

    /// A binary double (little-endian IEEE 754), as ZSET_2 writes scores.
    mutating func binaryDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try littleEndian(UInt64.self, what()))
    }
}

import RewindRESP

/// LZF decompression (liblzf's `lzf_decompress`, which Redis uses for compressed strings), with
/// every read and back reference checked.
enum LZF {
    struct Failure: Error {
        var inputIndex: Int
        var message: String
    }

    static func decompress(_ input: UnsafeBufferPointer<UInt8>, uncompressedByteCount: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: uncompressedByteCount)
        try output.withUnsafeMutableBufferPointer { try decompress(input, into: $0) }
        return output
    }

    /// Decompresses `input` into exactly the bytes of `out`.
    static func decompress(_ input: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) throws {
        let uncompressedByteCount = out.count
        var written = 0
        var index = 0
        do {
            while index < input.count {
                let control = Int(input[index])
                index += 1
                if control < 32 {
                    // A literal run of control + 1 bytes.
                    let run = control + 1
                    guard index + run <= input.count else { throw Failure(inputIndex: index - 1, message: "a literal run of \(run) bytes runs past the input") }
                    guard written + run <= out.count else { throw Failure(inputIndex: index - 1, message: "output longer than the \(out.count) bytes announced") }
                    // Both ranges were just checked.
                    (out.baseAddress! + written).update(from: input.baseAddress! + index, count: run)
                    index += run
                    written += run
                } else {
                    // A back reference: length (control >> 5) + 2, plus an extra byte when it is 7.
                    var length = control >> 5
                    if length == 7 {
                        guard index < input.count else { throw Failure(inputIndex: index, message: "a back reference is cut short") }
                        length += Int(input[index])
                        index += 1
                    }
                    guard index < input.count else { throw Failure(inputIndex: index, message: "a back reference is cut short") }
                    let distance = ((control & 0x1f) << 8) + Int(input[index]) + 1
                    index += 1
                    length += 2
                    guard distance <= written else { throw Failure(inputIndex: index - 2, message: "a back reference points before the start of the output") }
                    guard written + length <= out.count else { throw Failure(inputIndex: index - 2, message: "output longer than the \(out.count) bytes announced") }
                    // Checked above: from >= 0 and written + length <= out.count. A reference may
                    // overlap what it produces (distance < length: a repeated pattern), so it is
                    // copied byte by byte, forward; without overlap, at once.
                    let from = written - distance
                    let output = out.baseAddress!
                    if distance >= length {
                        (output + written).update(from: output + from, count: length)
                    } else {
                        for k in 0..<length { output[written + k] = output[from + k] }
                    }
                    written += length
                }
            }
        }
        guard written == uncompressedByteCount else {
            throw Failure(inputIndex: input.count, message: "decompressed to \(written) bytes, not the \(uncompressedByteCount) announced")
        }
    }
}

/// Reusable memory for strings the reader has to build (decimal text of integers, LZF output),
/// so that reading a value allocates nothing per element. One scratch holds one string at a time.
final class RDBScratch {
    private var storage: UnsafeMutableBufferPointer<UInt8>

    init(byteCount: Int = 256) {
        storage = .allocate(capacity: max(byteCount, 32))
    }

    deinit { storage.deallocate() }

    /// `byteCount` bytes of storage (their contents undefined), valid until the next call.
    func buffer(byteCount: Int) -> UnsafeMutableBufferPointer<UInt8> {
        if storage.count < byteCount {
            storage.deallocate()
            storage = .allocate(capacity: max(byteCount, storage.count * 2))
        }
        return UnsafeMutableBufferPointer(rebasing: storage[0..<byteCount])
    }

    /// `value` as decimal text, as `String(value)` writes it.
    func decimal(_ value: Int64) -> UnsafeBufferPointer<UInt8> {
        let out = buffer(byteCount: 20)
        var magnitude = value.magnitude
        var index = 20
        repeat {
            index -= 1
            out[index] = UInt8(truncatingIfNeeded: 48 &+ magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            index -= 1
            out[index] = 45
        }
        return UnsafeBufferPointer(rebasing: out[index..<20])
    }
}
