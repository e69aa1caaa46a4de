// Reads the commands and annotations of one Redis AOF file as Redis 7.0 loads them
// (`loadSingleAppendOnlyFile` in Redis's aof.c): `*N` then N times `$len` + bytes + CRLF, with
// lines starting with `#` being annotations such as `#TS:1700000000`.
//
// Why not `RESPParser.nextRequest()`: that parser reads what a server reads from a client, where
// `#TS:...` would be an inline command and errors are Redis's client-facing protocol errors. An
// AOF has its own grammar (annotations, no inline commands, a short read at the end of the last
// file that Redis tolerates) and its errors must name the file and what was expected there.

import Foundation

/// Streams the items of one RESP AOF file, each with the byte offset where it starts.
///
/// The file is read in chunks, so a large AOF does not have to fit in memory; a length field is
/// believed only up to ``AOFReader/Limits`` and only once the bytes it announces are in the file.
/// Stricter than Redis in one place: the two bytes after each bulk must be CRLF (Redis skips them
/// unchecked), so a damaged file is reported where the damage is rather than further on.
struct AOFReader {
    /// One item of an AOF file.
    enum Item {
        /// A `#...` line, without the `#` and the line end.
        case annotation(text: [UInt8], byteOffset: Int)
        /// A command: its arguments, where it starts and where it ends.
        case command(arguments: [[UInt8]], byteOffset: Int, endByteOffset: Int)
    }

    /// The bounds the reader checks before believing a length field (Redis 7.0's defaults).
    enum Limits {
        /// Redis's `proto-max-bulk-len` default: 512 MiB.
        static let bulkByteCountMax = 512 * 1024 * 1024
        /// Redis accepts 1,048,576 arguments per multibulk request by default.
        static let argumentCountMax = 1024 * 1024
        /// A `*N` or `$N` line holds at most 20 digits plus CRLF; anything longer is damage.
        static let headerLineByteCountMax = 32
        /// Annotations are short (`#TS:` plus ten digits); Redis itself reads them into a small buffer.
        static let annotationByteCountMax = 64 * 1024
        /// Bytes read from the file at a time.
        static let chunkByteCount = 1024 * 1024
    }

    let path: String
    /// The name used in error messages.
    let displayName: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var bufferBaseOffset = 0
    private var atEndOfFile = false

    /// Opens `path`; `displayName` is how errors name the file.
    init(path: String, displayName: String) throws {
        self.path = path
        self.displayName = displayName
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImportError(.fileSystem, file: displayName, "cannot open the file for reading")
        }
        self.handle = handle
    }

    /// The byte offset of the next byte to be read.
    var byteOffset: Int { bufferBaseOffset + position }

    /// True when the file starts with the RDB magic `REDIS` (an RDB-preamble base file).
    mutating func startsWithRDBPreamble() throws -> Bool {
        try fill(atLeast: 5)
        return buffer.count - position >= 5 && Array(buffer[position..<(position + 5)]) == Array("REDIS".utf8)
    }

    /// Moves to `offset` (forward or back), dropping what was buffered: the AOF part of an
    /// RDB-preamble file starts after its RDB.
    mutating func seek(to offset: Int) throws {
        do {
            try handle.seek(toOffset: UInt64(offset))
        } catch {
            throw ImportError(.fileSystem, file: displayName, byteOffset: offset, "seek failed: \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
        position = 0
        bufferBaseOffset = offset
        atEndOfFile = false
    }

    /// Returns the next item, or nil at the end of the file.
    ///
    /// - Throws: ``ImportError`` `.truncated` (with the offset of the command that was cut short)
    ///   when the file ends inside a command; `.malformed` or `.tooLarge` with the offset of the
    ///   offending byte otherwise.
    mutating func next() throws -> Item? {
        try fill(atLeast: 1)
        guard position < buffer.count else { return nil }
        let start = byteOffset
        switch buffer[position] {
        case UInt8(ascii: "#"):
            guard let line = try readLine(maxByteCount: Limits.annotationByteCountMax, what: "annotation") else {
                throw ImportError(.truncated, file: displayName, byteOffset: start, "the file ends inside an annotation line (expected '\\n')")
            }
            return .annotation(text: Array(line.dropFirst()), byteOffset: start)
        case UInt8(ascii: "*"):
            let count = try readHeader(marker: "*", commandStart: start, what: "an argument count", max: Limits.argumentCountMax)
            guard count >= 1 else {
                throw ImportError(.malformed, file: displayName, byteOffset: start, "expected an argument count of at least 1, found \(count)")
            }
            var arguments: [[UInt8]] = []
            arguments.reserveCapacity(count)
            for index in 0..<count {
                let length = try readHeader(marker: "$", commandStart: start, what: "the length of argument \(index + 1) of \(count)", max: Limits.bulkByteCountMax)
                try fill(atLeast: length + 2)
                guard buffer.count - position >= length + 2 else {
                    throw ImportError(.truncated, file: displayName, byteOffset: start,
                        "the file ends inside the command starting here (expected \(length) bytes of argument \(index + 1) of \(count) and CRLF, \(buffer.count - position) left)")
                }
                arguments.append(Array(buffer[position..<(position + length)]))
                position += length
                guard buffer[position] == 13, buffer[position + 1] == 10 else {
                    throw ImportError(.malformed, file: displayName, byteOffset: byteOffset,
                        "expected CRLF after the \(length) bytes of argument \(index + 1) of \(count), found \(Self.describe(buffer[position]))")
                }
                position += 2
            }
            return .command(arguments: arguments, byteOffset: start, endByteOffset: byteOffset)
        default:
            throw ImportError(.malformed, file: displayName, byteOffset: start,
                "expected '*' (a command) or '#' (an annotation), found \(Self.describe(buffer[position]))")
        }
    }

    // MARK: - Lines and buffering

    /// Reads `*N` or `$N` and its line end; returns N.
    private mutating func readHeader(marker: Unicode.Scalar, commandStart: Int, what: @autoclosure () -> String, max: Int) throws -> Int {
        // Fast path: the marker, 1 to 18 digits and CRLF, all buffered.
        try fill(atLeast: Limits.headerLineByteCountMax)
        var index = position
        if index < buffer.count && buffer[index] == UInt8(ascii: marker) {
            index += 1
            var value = 0
            let digitsStart = index
            while index < buffer.count && index - digitsStart < 18 && buffer[index] >= 48 && buffer[index] <= 57 {
                value = value * 10 + Int(buffer[index] - 48)
                index += 1
            }
            if index > digitsStart && index + 1 < buffer.count && buffer[index] == 13 && buffer[index + 1] == 10 && value <= max {
                position = index + 2
                return value
            }
        }
        return try readHeaderSlowly(marker: marker, commandStart: commandStart, what: what(), max: max)
    }

    /// The general case, and every error message: an `\n` line end, long digit strings, limits.
    private mutating func readHeaderSlowly(marker: Unicode.Scalar, commandStart: Int, what: String, max: Int) throws -> Int {
        let lineStart = byteOffset
        guard let line = try readLine(maxByteCount: Limits.headerLineByteCountMax, what: what) else {
            throw ImportError(.truncated, file: displayName, byteOffset: commandStart,
                "the file ends inside the command starting here (expected '\(marker)' and \(what))")
        }
        var digits = line[...]
        if digits.last == 13 { digits = digits.dropLast() }
        guard digits.first == UInt8(ascii: marker), digits.count >= 2,
            digits.count <= 20, digits.dropFirst().allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Self.decimal(digits.dropFirst())
        else {
            let found: String
            if let first = digits.first, first == UInt8(ascii: marker) {
                found = digits.dropFirst().first { $0 < 48 || $0 > 57 }.map(Self.describe) ?? "no digits"
            } else {
                found = line.first.map(Self.describe) ?? "an empty line"
            }
            throw ImportError(.malformed, file: displayName, byteOffset: lineStart,
                "expected '\(marker)' and \(what) in decimal digits, found \(found)")
        }
        guard value <= max else {
            throw ImportError(.tooLarge, file: displayName, byteOffset: lineStart, "\(what) is \(value), above the limit of \(max)")
        }
        return value
    }

    /// Reads up to and including the next `\n`; returns the line without it, or nil at the end of
    /// the file with no `\n`.
    private mutating func readLine(maxByteCount: Int, what: String) throws -> ArraySlice<UInt8>? {
        var scanned = 0
        while true {
            if let newline = buffer[(position + scanned)...].firstIndex(of: 10) {
                guard newline - position <= maxByteCount else { break }
                let line = buffer[position..<newline]
                position = newline + 1
                return line
            }
            scanned = buffer.count - position
            if scanned > maxByteCount { break }
            if atEndOfFile { return nil }
            try fill(atLeast: scanned + 1)
        }
        throw ImportError(.malformed, file: displayName, byteOffset: byteOffset,
            "expected \(what) on a line of at most \(maxByteCount) bytes, found no line end")
    }

    /// Reads chunks until `count` bytes from `position` are buffered or the file ends.
    private mutating func fill(atLeast count: Int) throws {
        while buffer.count - position < count && !atEndOfFile {
            if position > 0 && position >= buffer.count / 2 {
                buffer.removeFirst(position)
                bufferBaseOffset += position
                position = 0
            }
            // One chunk at a time, whatever the length field claims: memory grows only with
            // bytes that are really in the file.
            let data: Data
            do {
                data = try handle.read(upToCount: Limits.chunkByteCount) ?? Data()
            } catch {
                throw ImportError(.fileSystem, file: displayName, byteOffset: byteOffset, "read failed: \(error.localizedDescription)")
            }
            if data.isEmpty { atEndOfFile = true } else { buffer.append(contentsOf: data) }
        }
    }

    /// The value of ASCII decimal digits, nil on overflow.
    static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for digit in digits {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit - 48))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte <= 0x7E { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }
}
