// Builds RDB files by hand, for the encodings only older Redis versions write (ziplist, zipmap,
// quicklist of ziplists, text scores, expiry in seconds) and for records redis-server 7.0 does
// not write unless a module or function is loaded. Each structure is encoded as Redis's
// ziplist.c, zipmap.c, intset.c and rdb.c describe it; the tests check the results against
// redis-server 7.0 itself by loading the same file there and comparing DEBUG DIGEST.

@testable import RewindReplay

struct RDBFixtureBuilder {
    var bytes: [UInt8]

    init(version: Int = 9) {
        bytes = Array("REDIS".utf8) + Array(String(format: "%04d", version).utf8)
    }

    mutating func length(_ value: Int) {
        if value < 64 {
            bytes.append(UInt8(value))
        } else if value < 16384 {
            bytes += [UInt8(value >> 8) | 0x40, UInt8(value & 0xff)]
        } else {
            bytes += [0x80, UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        }
    }

    mutating func string(_ value: [UInt8]) {
        length(value.count)
        bytes += value
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }

    /// A string stored LZF-compressed (the encoding Redis uses for strings over 20 bytes).
    mutating func lzfString(_ value: [UInt8]) {
        let compressed = Self.lzfCompress(value)
        bytes.append(0xC3)
        length(compressed.count)
        length(value.count)
        bytes += compressed
    }

    mutating func aux(_ name: String, _ value: String) {
        bytes.append(0xFA)
        string(name)
        string(value)
    }

    mutating func opcode(_ byte: UInt8) { bytes.append(byte) }

    mutating func littleEndian(_ value: UInt64, byteCount: Int) {
        for index in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * index))) }
    }

    /// EOF and the CRC-64 trailer.
    mutating func finish() -> [UInt8] {
        bytes.append(0xFF)
        let crc = CRC64.checksum(bytes)
        littleEndian(crc, byteCount: 8)
        return bytes
    }

    // MARK: - LZF

    /// A valid LZF stream for `value`: runs of repeated 3-byte patterns as back references,
    /// everything else as literal runs (not a good compressor; a correct one).
    static func lzfCompress(_ value: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var literal: [UInt8] = []
        func flushLiteral() {
            var start = 0
            while start < literal.count {
                let run = min(32, literal.count - start)
                output.append(UInt8(run - 1))
                output += literal[start..<(start + run)]
                start += run
            }
            literal.removeAll()
        }
        var index = 0
        while index < value.count {
            // A match with the bytes 3 back, as long as it goes (at most 264).
            var match = 0
            if index >= 3 {
                while index + match < value.count && match < 264 && value[index + match] == value[index + match - 3] { match += 1 }
            }
            if match >= 3 {
                flushLiteral()
                let length = match - 2
                let distance = 3 - 1
                if length < 7 {
                    output.append(UInt8(length << 5 | distance >> 8))
                } else {
                    output.append(UInt8(7 << 5 | distance >> 8))
                    output.append(UInt8(length - 7))
                }
                output.append(UInt8(distance & 0xff))
                index += match
            } else {
                literal.append(value[index])
                index += 1
            }
        }
        flushLiteral()
        return output
    }

    // MARK: - Ziplist, zipmap, intset

    enum Element {
        case bytes([UInt8])
        case integer(Int64)
        static func text(_ text: String) -> Element { .bytes(Array(text.utf8)) }
    }

    static func ziplist(_ elements: [Element]) -> [UInt8] {
        var body: [UInt8] = []
        var previousLength = 0
        var tailOffset = 10
        for element in elements {
            var entry: [UInt8] = previousLength < 254 ? [UInt8(previousLength)] : [0xFE] + le(UInt64(previousLength), 4)
            switch element {
            case .bytes(let bytes):
                if bytes.count < 64 {
                    entry.append(UInt8(bytes.count))
                } else if bytes.count < 16384 {
                    entry += [0x40 | UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)]
                } else {
                    entry += [0x80, UInt8(bytes.count >> 24 & 0xff), UInt8(bytes.count >> 16 & 0xff), UInt8(bytes.count >> 8 & 0xff), UInt8(bytes.count & 0xff)]
                }
                entry += bytes
            case .integer(let value):
                let raw = UInt64(bitPattern: value)
                if (0...12).contains(value) {
                    entry.append(0xF1 + UInt8(value))
                } else if Int8(exactly: value) != nil {
                    entry += [0xFE] + le(raw, 1)
                } else if Int16(exactly: value) != nil {
                    entry += [0xC0] + le(raw, 2)
                } else if (-(1 << 23)..<(1 << 23)).contains(value) {
                    entry += [0xF0] + le(raw, 3)
                } else if Int32(exactly: value) != nil {
                    entry += [0xD0] + le(raw, 4)
                } else {
                    entry += [0xE0] + le(raw, 8)
                }
            }
            tailOffset = 10 + body.count
            body += entry
            previousLength = entry.count
        }
        let total = 10 + body.count + 1
        return le(UInt64(total), 4) + le(UInt64(elements.isEmpty ? 10 : tailOffset), 4) + le(UInt64(elements.count), 2) + body + [0xFF]
    }

    /// A listpack (Redis 7 listpack.c): total bytes u32, count u16, elements each followed by its
    /// back-length, 0xFF.
    static func listpack(_ elements: [Element]) -> [UInt8] {
        var body: [UInt8] = []
        for element in elements {
            var entry: [UInt8]
            switch element {
            case .integer(let value):
                let raw = UInt64(bitPattern: value)
                if (0...127).contains(value) {
                    entry = [UInt8(value)]
                } else if (-4096...4095).contains(value) {
                    let bits = raw & 0x1fff
                    entry = [0xC0 | UInt8(bits >> 8), UInt8(bits & 0xff)]
                } else if Int16(exactly: value) != nil {
                    entry = [0xF1] + le(raw, 2)
                } else if (-(1 << 23)..<(1 << 23)).contains(value) {
                    entry = [0xF2] + le(raw, 3)
                } else if Int32(exactly: value) != nil {
                    entry = [0xF3] + le(raw, 4)
                } else {
                    entry = [0xF4] + le(raw, 8)
                }
            case .bytes(let bytes):
                if bytes.count < 64 {
                    entry = [0x80 | UInt8(bytes.count)]
                } else if bytes.count < 4096 {
                    entry = [0xE0 | UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)]
                } else {
                    entry = [0xF0] + le(UInt64(bytes.count), 4)
                }
                entry += bytes
            }
            let size = entry.count
            if size <= 127 {
                entry.append(UInt8(size))
            } else if size < 16383 {
                entry += [UInt8(size >> 7), UInt8(size & 127) | 128]
            } else {
                entry += [UInt8(size >> 14), UInt8((size >> 7) & 127) | 128, UInt8(size & 127) | 128]
            }
            body += entry
        }
        return le(UInt64(6 + body.count + 1), 4) + le(UInt64(elements.count), 2) + body + [0xFF]
    }

    static func zipmap(_ pairs: [(String, String)]) -> [UInt8] {
        var blob: [UInt8] = [UInt8(min(pairs.count, 254))]
        for (field, value) in pairs {
            blob.append(UInt8(field.utf8.count))
            blob += Array(field.utf8)
            blob.append(UInt8(value.utf8.count))
            blob.append(1)  // one free byte after the value
            blob += Array(value.utf8)
            blob.append(0)
        }
        blob.append(0xFF)
        return blob
    }

    static func intset(_ values: [Int64], width: Int) -> [UInt8] {
        var blob = le(UInt64(width), 4) + le(UInt64(values.count), 4)
        for value in values.sorted() { blob += le(UInt64(bitPattern: value), width) }
        return blob
    }

    static func le(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) }
    }
}
