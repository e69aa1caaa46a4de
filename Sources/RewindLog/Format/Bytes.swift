// Little-endian integers and LEB128 varints, written into arrays and read back with bounds checks.
// Every read from a file goes through `ByteCursor`, which returns nil instead of trapping.

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { append(contentsOf: $0) }
    }

    /// Unsigned LEB128: seven bits a byte, low groups first, high bit set on all but the last.
    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        append(UInt8(truncatingIfNeeded: remaining))
    }

    /// Zigzag then LEB128, so small negative deltas stay small.
    @inline(__always)
    mutating func appendSignedVarint(_ value: Int64) {
        appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at byteOffset: Int) {
        var little = value.littleEndian
        Swift.withUnsafeBytes(of: &little) { source in
            for index in 0..<source.count { self[byteOffset + index] = source[index] }
        }
    }
}

/// A forward reader over untrusted bytes. Every read checks the bytes left and returns nil when
/// they are not there; nothing here can trap on any input.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    @inline(__always)
    mutating func readByte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inline(__always)
    mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A varint of at most ten bytes whose value fits in 64 bits.
    @inline(__always)
    mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    @inline(__always)
    mutating func readSignedVarint() -> Int64? {
        guard let raw = readVarint() else { return nil }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A varint that must fit in `Int` and not exceed `limit`.
    @inline(__always)
    mutating func readCount(max limit: Int) -> Int? {
        guard let raw = readVarint(), raw <= UInt64(limit) else { return nil }
        return Int(raw)
    }

    /// `count` bytes as a slice of the underlying buffer, or nil when fewer are left.
    @inline(__always)
    mutating func readSlice(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }
}
