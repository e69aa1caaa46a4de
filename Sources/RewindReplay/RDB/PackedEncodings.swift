// The compact blobs Redis stores small collections in, decoded with every offset checked:
// ziplist (Redis ≤ 6.2), listpack (Redis ≥ 7.0), intset and zipmap (Redis ≤ 2.4).
// Each decoder calls its body with every element in order, as a slice of the blob or an integer
// (`forEach`), or returns them all as byte strings, integers as their decimal text as Redis returns
// them to a client (`elements`); damage is a `PackedBlobFailure` with the offset inside the blob.
// With `forEach`, elements before the damage have already been delivered.

/// What is wrong inside a blob, and where (relative to the blob's first byte).
struct PackedBlobFailure: Error {
    var blobOffset: Int
    var message: String
}

/// One element of a packed blob: bytes of the blob, or an integer the blob stores as one.
enum PackedElement {
    case bytes(UnsafeBufferPointer<UInt8>)
    case integer(Int64)

    /// The element as a byte string, integers as decimal text.
    var array: [UInt8] {
        switch self {
        case .bytes(let slice): Array(slice)
        case .integer(let value): Array(String(value).utf8)
        }
    }
}

/// Collects every element of a blob into arrays (the materializing readers).
@inline(__always)
private func collect(_ reserve: Int, _ forEach: ((PackedElement) throws -> Void) throws -> Void) throws -> [[UInt8]] {
    var elements: [[UInt8]] = []
    elements.reserveCapacity(reserve)
    try forEach { elements.append($0.array) }
    return elements
}

private struct BlobReader {
    let blob: UnsafeBufferPointer<UInt8>
    var index = 0
    let kind: String

    func fail(_ message: String, at position: Int? = nil) -> PackedBlobFailure {
        PackedBlobFailure(blobOffset: position ?? index, message: "\(kind): \(message)")
    }

    func need(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= blob.count - index else {
            throw fail("expected \(count) bytes of \(what), found \(blob.count - index) before the end of the blob")
        }
    }

    mutating func byte(_ what: String) throws -> UInt8 {
        try need(1, what)
        defer { index += 1 }
        return blob[index]
    }

    mutating func littleEndian(_ size: Int, _ what: String) throws -> UInt64 {
        try need(size, what)
        var value: UInt64 = 0
        for k in 0..<size { value |= UInt64(blob[index + k]) << (8 * k) }
        index += size
        return value
    }

    /// A signed little-endian integer of `size` bytes.
    mutating func signed(_ size: Int, _ what: String) throws -> Int64 {
        let raw = try littleEndian(size, what)
        let shift = UInt64(64 - 8 * size)
        return Int64(bitPattern: raw << shift) >> Int64(shift)
    }

    mutating func bytes(_ count: Int, _ what: String) throws -> PackedElement {
        try need(count, what)
        defer { index += count }
        return .bytes(UnsafeBufferPointer(rebasing: blob[index..<(index + count)]))
    }
}

enum Ziplist {
    /// The entries of a ziplist: `zlbytes` u32, `zltail` u32, `zllen` u16, entries, 0xFF.
    static func elements(_ blob: UnsafeBufferPointer<UInt8>) throws -> [[UInt8]] {
        try collect(min(blob.count / 2, 1 << 16)) { try forEach(blob, $0) }
    }

    static func forEach(_ blob: UnsafeBufferPointer<UInt8>, _ body: (PackedElement) throws -> Void) throws {
        var reader = BlobReader(blob: blob, kind: "ziplist")
        let totalBytes = try reader.littleEndian(4, "the ziplist byte count")
        guard totalBytes == UInt64(blob.count) else {
            throw reader.fail("the header says \(totalBytes) bytes but the blob has \(blob.count)", at: 0)
        }
        _ = try reader.littleEndian(4, "the tail offset")
        let declaredCount = try reader.littleEndian(2, "the entry count")
        var elementCount = 0
        while true {
            let start = reader.index
            let first = try reader.byte("an entry or the end marker")
            if first == 0xFF { break }
            // The previous entry's length: one byte, or 0xFE and four bytes.
            if first == 0xFE { try reader.need(4, "a 4-byte previous-entry length"); reader.index += 4 }
            let encoding = try reader.byte("an entry encoding")
            let element: PackedElement
            switch encoding >> 6 {
            case 0:
                element = try reader.bytes(Int(encoding & 0x3f), "a string entry")
            case 1:
                let low = try reader.byte("the second byte of a 14-bit length")
                element = try reader.bytes(Int(encoding & 0x3f) << 8 | Int(low), "a string entry")
            case 2:
                guard encoding == 0x80 else { throw reader.fail("unknown string encoding 0x\(String(encoding, radix: 16))", at: reader.index - 1) }
                var length = 0
                for _ in 0..<4 { length = length << 8 | Int(try reader.byte("a 32-bit length")) }
                element = try reader.bytes(length, "a string entry")
            default:
                switch encoding {
                case 0xC0: element = .integer(try reader.signed(2, "a 16-bit integer"))
                case 0xD0: element = .integer(try reader.signed(4, "a 32-bit integer"))
                case 0xE0: element = .integer(try reader.signed(8, "a 64-bit integer"))
                case 0xF0: element = .integer(try reader.signed(3, "a 24-bit integer"))
                case 0xFE: element = .integer(try reader.signed(1, "an 8-bit integer"))
                case 0xF1...0xFD: element = .integer(Int64(encoding & 0x0F) - 1)
                default: throw reader.fail("unknown entry encoding 0x\(String(encoding, radix: 16))", at: start)
                }
            }
            elementCount += 1
            try body(element)
        }
        guard reader.index == blob.count else { throw reader.fail("\(blob.count - reader.index) bytes after the end marker") }
        if declaredCount != 0xFFFF && declaredCount != UInt64(elementCount) {
            throw reader.fail("the header counts \(declaredCount) entries but \(elementCount) were found", at: 8)
        }
    }
}

enum Listpack {
    /// The entries of a listpack: total bytes u32, count u16, entries (each followed by its
    /// back-length), 0xFF.
    static func elements(_ blob: UnsafeBufferPointer<UInt8>) throws -> [[UInt8]] {
        try collect(min(blob.count, 1 << 16)) { try forEach(blob, $0) }
    }

    static func forEach(_ blob: UnsafeBufferPointer<UInt8>, _ body: (PackedElement) throws -> Void) throws {
        var reader = BlobReader(blob: blob, kind: "listpack")
        let totalBytes = try reader.littleEndian(4, "the listpack byte count")
        guard totalBytes == UInt64(blob.count) else {
            throw reader.fail("the header says \(totalBytes) bytes but the blob has \(blob.count)", at: 0)
        }
        let declaredCount = try reader.littleEndian(2, "the element count")
        var elementCount = 0
        while true {
            let start = reader.index
            let encoding = try reader.byte("an element or the end marker")
            if encoding == 0xFF { break }
            let element: PackedElement
            if encoding & 0x80 == 0 {
                element = .integer(Int64(encoding))
            } else if encoding & 0xC0 == 0x80 {
                element = try reader.bytes(Int(encoding & 0x3f), "a string element")
            } else if encoding & 0xE0 == 0xC0 {
                let low = try reader.byte("the second byte of a 13-bit integer")
                let raw = Int64(encoding & 0x1f) << 8 | Int64(low)
                element = .integer(raw >= 4096 ? raw - 8192 : raw)
            } else if encoding & 0xF0 == 0xE0 {
                let low = try reader.byte("the second byte of a 12-bit length")
                element = try reader.bytes(Int(encoding & 0x0f) << 8 | Int(low), "a string element")
            } else {
                switch encoding {
                case 0xF0:
                    let length = try reader.littleEndian(4, "a 32-bit length")
                    guard length <= UInt64(blob.count) else { throw reader.fail("a string element claims \(length) bytes, more than the blob holds", at: start) }
                    element = try reader.bytes(Int(length), "a string element")
                case 0xF1: element = .integer(try reader.signed(2, "a 16-bit integer"))
                case 0xF2: element = .integer(try reader.signed(3, "a 24-bit integer"))
                case 0xF3: element = .integer(try reader.signed(4, "a 32-bit integer"))
                case 0xF4: element = .integer(try reader.signed(8, "a 64-bit integer"))
                default: throw reader.fail("unknown element encoding 0x\(String(encoding, radix: 16))", at: start)
                }
            }
            // The back-length: the element's size (encoding and data) in 1 to 5 bytes.
            let size = reader.index - start
            let backLengthSize = size <= 127 ? 1 : size < 16383 ? 2 : size < 2_097_151 ? 3 : size < 268_435_455 ? 4 : 5
            try reader.need(backLengthSize, "the back-length of an element")
            reader.index += backLengthSize
            elementCount += 1
            try body(element)
        }
        guard reader.index == blob.count else { throw reader.fail("\(blob.count - reader.index) bytes after the end marker") }
        if declaredCount != 0xFFFF && declaredCount != UInt64(elementCount) {
            throw reader.fail("the header counts \(declaredCount) elements but \(elementCount) were found", at: 4)
        }
    }
}

enum Intset {
    /// The members of an intset: encoding u32 (2, 4 or 8 bytes per member), count u32, members.
    static func elements(_ blob: UnsafeBufferPointer<UInt8>) throws -> [[UInt8]] {
        try collect(min(blob.count / 2, 1 << 16)) { try forEach(blob, $0) }
    }

    static func forEach(_ blob: UnsafeBufferPointer<UInt8>, _ body: (PackedElement) throws -> Void) throws {
        var reader = BlobReader(blob: blob, kind: "intset")
        let width = try reader.littleEndian(4, "the intset encoding")
        guard width == 2 || width == 4 || width == 8 else { throw reader.fail("unknown encoding \(width) (expected 2, 4 or 8)", at: 0) }
        let count = try reader.littleEndian(4, "the member count")
        guard count * width == UInt64(blob.count - 8) else {
            throw reader.fail("\(count) members of \(width) bytes do not fill the \(blob.count - 8) bytes after the header", at: 4)
        }
        for _ in 0..<count { try body(.integer(try reader.signed(Int(width), "a member"))) }
    }
}

enum Zipmap {
    /// The field-value pairs of a zipmap (Redis ≤ 2.4 small hashes), flattened.
    static func elements(_ blob: UnsafeBufferPointer<UInt8>) throws -> [[UInt8]] {
        try collect(0) { try forEach(blob, $0) }
    }

    static func forEach(_ blob: UnsafeBufferPointer<UInt8>, _ body: (PackedElement) throws -> Void) throws {
        var reader = BlobReader(blob: blob, kind: "zipmap")
        _ = try reader.byte("the zipmap length")
        func length(_ what: String) throws -> Int? {
            let first = try reader.byte(what)
            if first == 0xFF { return nil }
            if first < 254 { return Int(first) }
            if first == 254 { return Int(try reader.littleEndian(4, "a 4-byte \(what)")) }
            throw reader.fail("unknown length prefix 0x\(String(first, radix: 16))", at: reader.index - 1)
        }
        while true {
            guard let fieldLength = try length("a field length or the end marker") else { break }
            try body(try reader.bytes(fieldLength, "a field"))
            guard let valueLength = try length("a value length") else { throw reader.fail("the end marker where a value length belongs", at: reader.index - 1) }
            let free = Int(try reader.byte("the free-byte count"))
            let value = try reader.bytes(valueLength, "a value")
            try reader.need(free, "free bytes after a value")
            reader.index += free
            try body(value)
        }
        guard reader.index == blob.count else { throw reader.fail("\(blob.count - reader.index) bytes after the end marker") }
    }
}
