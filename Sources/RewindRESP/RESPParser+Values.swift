// The general RESP2/RESP3 value reader of RESPParser. See
// https://redis.io/docs/reference/protocol-spec/ for the types.

extension RESPParser {
    /// Returns the next complete RESP2 or RESP3 value, or nil until more bytes arrive.
    ///
    /// This reads replies strictly: every line must end in `\r\n`, and numbers must be well formed.
    /// RESP2 and RESP3 need no switch, because their type bytes do not overlap: `$-1` becomes
    /// ``RESPValue/null`` and `*-1` ``RESPValue/nullArray``, as does nothing in RESP3 (`_` is
    /// ``RESPValue/null``). A RESP3 blob error (`!`) becomes ``RESPValue/error(_:)``, and an
    /// attribute (`|`) is read and dropped, returning the value it annotates, because
    /// ``RESPValue`` has no case for either and Redis sends attributes only for client tracking.
    /// Simple strings, errors and verbatim formats are decoded as UTF-8, replacing invalid bytes.
    ///
    /// - Returns: The value, or nil if the buffered bytes hold no complete value yet.
    /// - Throws: ``RESPParseError`` for malformed or over-limit input.
    /// - Complexity: O(n) in the size of the value per attempt. An incomplete value is parsed again
    ///   from its start on the next call, but not before the bytes it was missing have arrived.
    public mutating func nextValue() throws -> RESPValue? {
        if let brokenError { throw brokenError }
        guard storageBaseByteOffset + storage.count >= valueRetryByteOffset, readIndex < storage.count else {
            return nil
        }
        let bytes = storage
        let base = storageBaseByteOffset
        var reader = ValueReader(limits: limits, baseByteOffset: base)
        let result: Result<RESPValue?, RESPParseError> = bytes.withUnsafeBufferPointer { buffer in
            reader.buffer = buffer
            var index = readIndex
            do {
                guard let value = try reader.readValue(at: &index, depth: 0) else { return .success(nil) }
                readIndex = index
                return .success(value)
            } catch let error as RESPParseError {
                return .failure(error)
            } catch {
                preconditionFailure("ValueReader throws only RESPParseError")
            }
        }
        switch result {
        case .success(let value):
            if value == nil { valueRetryByteOffset = base + reader.neededIndex }
            return value
        case .failure(let error):
            throw fail(error)
        }
    }
}

/// A recursive-descent reader over the buffered bytes. Methods return nil when the value is not
/// complete yet, after raising `neededIndex` to the buffer size at which a retry can make progress.
struct ValueReader {
    let limits: RESPLimits
    let baseByteOffset: Int
    var buffer = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var neededIndex = 0

    init(limits: RESPLimits, baseByteOffset: Int) {
        self.limits = limits
        self.baseByteOffset = baseByteOffset
    }

    private func error(_ code: RESPParseError.Code, at index: Int, found: UInt8? = nil) -> RESPParseError {
        RESPParseError(code: code, byteOffset: baseByteOffset + index, foundByte: found)
    }

    private mutating func incomplete(needing index: Int) -> RESPValue? {
        neededIndex = max(neededIndex, index)
        return nil
    }

    mutating func readValue(at index: inout Int, depth: Int) throws -> RESPValue? {
        guard index < buffer.count else { return incomplete(needing: index + 1) }
        let start = index
        let typeByte = buffer[start]
        switch typeByte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "#"),
            UInt8(ascii: "("), UInt8(ascii: "_"):
            guard let line = try readLine(at: &index) else { return incomplete(needing: buffer.count + 1) }
            return try lineValue(typeByte: typeByte, line: line, start: start)
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            return try readBlob(at: &index, typeByte: typeByte)
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            return try readAggregate(at: &index, typeByte: typeByte, depth: depth)
        default:
            throw error(.unexpectedByte, at: start, found: typeByte)
        }
    }

    /// Reads the rest of a line after its type byte; returns the content range, without CRLF.
    private mutating func readLine(at index: inout Int) throws -> Range<Int>? {
        let contentStart = index + 1
        var scan = contentStart
        while scan < buffer.count && buffer[scan] != 13 {
            if buffer[scan] == 10 { throw error(.unexpectedByte, at: scan, found: 10) }
            scan += 1
        }
        if scan - index > limits.lineByteCountMax {
            throw error(.lineTooLong, at: index)
        }
        guard scan + 1 < buffer.count else { return nil }
        guard buffer[scan + 1] == 10 else { throw error(.unexpectedByte, at: scan + 1, found: buffer[scan + 1]) }
        index = scan + 2
        return contentStart..<scan
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }

    private func lineValue(typeByte: UInt8, line: Range<Int>, start: Int) throws -> RESPValue {
        switch typeByte {
        case UInt8(ascii: "+"): return .simpleString(text(line))
        case UInt8(ascii: "-"): return .error(text(line))
        case UInt8(ascii: ":"):
            guard let value = parseInteger(line) else { throw error(.invalidInteger, at: line.lowerBound) }
            return .integer(value)
        case UInt8(ascii: ","):
            guard let value = parseDouble(line) else { throw error(.invalidDouble, at: line.lowerBound) }
            return .double(value)
        case UInt8(ascii: "#"):
            if line.count == 1 && buffer[line.lowerBound] == UInt8(ascii: "t") { return .boolean(true) }
            if line.count == 1 && buffer[line.lowerBound] == UInt8(ascii: "f") { return .boolean(false) }
            throw error(.invalidBoolean, at: line.lowerBound)
        case UInt8(ascii: "("):
            var digitStart = line.lowerBound
            if digitStart < line.upperBound && buffer[digitStart] == UInt8(ascii: "-") { digitStart += 1 }
            guard digitStart < line.upperBound, buffer[digitStart..<line.upperBound].allSatisfy({ $0 &- 48 <= 9 })
            else { throw error(.invalidBigNumber, at: line.lowerBound) }
            return .bigNumber(text(line))
        default:  // "_"
            guard line.isEmpty else { throw error(.unexpectedByte, at: line.lowerBound, found: buffer[line.lowerBound]) }
            return .null
        }
    }

    /// Reads a length line (`$`, `*`, ...) as a signed integer, or nil if incomplete.
    private mutating func readLength(at index: inout Int, invalid code: RESPParseError.Code) throws -> Int64? {
        let start = index
        guard let line = try readLine(at: &index) else { return nil }
        guard let length = parseInteger(line), length >= -1 else { throw error(code, at: start + 1) }
        return length
    }

    private mutating func readBlob(at index: inout Int, typeByte: UInt8) throws -> RESPValue? {
        let start = index
        guard let length = try readLength(at: &index, invalid: .invalidBulkLength) else {
            index = start
            return incomplete(needing: buffer.count + 1)
        }
        if length == -1 {
            guard typeByte == UInt8(ascii: "$") else { throw error(.invalidBulkLength, at: start + 1) }
            return .null
        }
        guard length <= limits.checkedBulkByteCountMax else { throw error(.bulkLengthTooLarge, at: start + 1) }
        let payloadStart = index
        let payloadEnd = payloadStart + Int(length)
        guard payloadEnd + 2 <= buffer.count else {
            index = start
            return incomplete(needing: payloadEnd + 2)
        }
        guard buffer[payloadEnd] == 13 else { throw error(.unexpectedByte, at: payloadEnd, found: buffer[payloadEnd]) }
        guard buffer[payloadEnd + 1] == 10 else {
            throw error(.unexpectedByte, at: payloadEnd + 1, found: buffer[payloadEnd + 1])
        }
        index = payloadEnd + 2
        let payload = Array(UnsafeBufferPointer(rebasing: buffer[payloadStart..<payloadEnd]))
        switch typeByte {
        case UInt8(ascii: "$"):
            return .bulkString(payload)
        case UInt8(ascii: "!"):
            return .error(String(decoding: payload, as: UTF8.self))
        default:  // "=": three bytes of format, a colon, the text.
            guard payload.count >= 4, payload[3] == UInt8(ascii: ":") else {
                throw error(.invalidVerbatimString, at: payloadStart)
            }
            return .verbatimString(format: String(decoding: payload[0..<3], as: UTF8.self), text: Array(payload[4...]))
        }
    }

    private mutating func readAggregate(at index: inout Int, typeByte: UInt8, depth: Int) throws -> RESPValue? {
        let start = index
        guard depth < limits.aggregateDepthMax else { throw error(.nestingTooDeep, at: start) }
        guard let count = try readLength(at: &index, invalid: .invalidMultibulkLength) else {
            index = start
            return incomplete(needing: buffer.count + 1)
        }
        if count == -1 {
            guard typeByte == UInt8(ascii: "*") else { throw error(.invalidMultibulkLength, at: start + 1) }
            return .nullArray
        }
        guard count <= limits.checkedMultibulkCountMax else { throw error(.multibulkCountTooLarge, at: start + 1) }
        let isPaired = typeByte == UInt8(ascii: "%") || typeByte == UInt8(ascii: "|")
        let elementCount = Int(count) * (isPaired ? 2 : 1)
        var elements: [RESPValue] = []
        // Every element takes at least 3 bytes (`_\r\n`), so never reserve more than that allows.
        elements.reserveCapacity(min(elementCount, (buffer.count - index) / 3))
        for _ in 0..<elementCount {
            guard let element = try readValue(at: &index, depth: depth + 1) else {
                index = start
                return nil
            }
            elements.append(element)
        }
        switch typeByte {
        case UInt8(ascii: "*"): return .array(elements)
        case UInt8(ascii: "~"): return .set(elements)
        case UInt8(ascii: ">"): return .push(elements)
        case UInt8(ascii: "%"): return .map(Self.pairs(elements))
        default:  // "|": an attribute annotates the value after it, which is what we return.
            guard let annotated = try readValue(at: &index, depth: depth) else {
                index = start
                return nil
            }
            return annotated
        }
    }

    private static func pairs(_ elements: [RESPValue]) -> [RESPPair] {
        stride(from: 0, to: elements.count, by: 2).map { RESPPair(elements[$0], elements[$0 + 1]) }
    }

    /// A decimal Int64 with an optional sign, as the RESP specification allows in replies.
    private func parseInteger(_ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        guard index < range.upperBound, range.count <= 20 else { return nil }
        var isNegative = false
        if buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
            isNegative = buffer[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < range.upperBound else { return nil }
        var magnitude: UInt64 = 0
        while index < range.upperBound {
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
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// `inf`, `-inf`, `nan` (any sign) or a decimal number with optional fraction and exponent.
    private func parseDouble(_ range: Range<Int>) -> Double? {
        let text = self.text(range)
        switch text.lowercased() {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan", "+nan": return .nan
        default: break
        }
        // Swift's parser also takes hex floats and "infinity"; RESP allows only decimal forms.
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 &- 48 <= 9) || "+-.eE".utf8.contains($0) }) else {
            return nil
        }
        return Double(text)
    }
}
