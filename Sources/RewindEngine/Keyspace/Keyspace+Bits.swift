// Bit commands. See redis src/bitops.c (setbitCommand, bitcountCommand, bitposCommand,
// bitopCommand, bitfieldGeneric). Bits are numbered from the most significant bit of byte 0.

import RewindRESP

extension Keyspace {
    // MARK: - Shared workers

    /// Parses a bit offset as Redis `getBitOffsetFromArgument`: an integer, or `#n` meaning
    /// `n * bitWidth` when `allowsMultiplier`; refused when negative or past the 512 MB limit.
    func bitOffset(_ bytes: [UInt8], allowsMultiplier: Bool = false, bitWidth: Int64 = 0) throws(CommandError) -> Int64 {
        let usesMultiplier = allowsMultiplier && bytes.count > 1 && bytes[0] == UInt8(ascii: "#")
        guard var offset = parseInt64(usesMultiplier ? Array(bytes.dropFirst()) : bytes) else { throw ErrorReply.bitOffset }
        if usesMultiplier {
            let (product, overflow) = offset.multipliedReportingOverflow(by: bitWidth)
            guard !overflow else { throw ErrorReply.bitOffset }
            offset = product
        }
        guard offset >= 0, offset >> 3 < Int64(stringByteCountMax) else { throw ErrorReply.bitOffset }
        return offset
    }

    /// The string at `key` grown with zero bytes to hold bit `highestBit` (Redis
    /// `lookupStringForBitCommand`); `grew` tells whether it was created or lengthened.
    func stringForBitWrite(_ key: [UInt8], highestBit: Int64,
                           _ context: inout CommandContext) throws(CommandError) -> (bytes: [UInt8], grew: Bool) {
        let byteCount = Int(highestBit >> 3) + 1
        let existing = try lookupString(key, &context)
        var bytes = existing ?? []
        let grew = existing == nil || bytes.count < byteCount
        if bytes.count < byteCount { bytes += [UInt8](repeating: 0, count: byteCount - bytes.count) }
        return (bytes, grew)
    }

    /// Resolves a BITCOUNT/BITPOS range to an inclusive bit range, Redis style: negative
    /// positions count from the end, both are clamped, the end is cut at the string's end.
    private func bitRange(start: Int64, end: Int64, byteCount: Int, inBits: Bool) -> (first: Int64, last: Int64)? {
        let total = Int64(byteCount) * (inBits ? 8 : 1)
        var start = start < 0 ? start &+ total : start
        var end = end < 0 ? end &+ total : end
        start = max(start, 0)
        end = max(end, 0)
        if end >= total { end = total - 1 }
        guard start <= end else { return nil }
        return inBits ? (start, end) : (start * 8, end * 8 + 7)
    }

    private func bit(_ bytes: [UInt8], at offset: Int64) -> Int {
        let byteIndex = Int(offset >> 3)
        guard byteIndex < bytes.count else { return 0 }
        return Int(bytes[byteIndex] >> (7 - UInt8(offset & 7))) & 1
    }

    // MARK: - Commands

    func setbitCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let offset = try bitOffset(context.arguments[2])
        guard let on = parseInt64(context.arguments[3]), on == 0 || on == 1 else { throw ErrorReply.bitValue }
        var (bytes, grew) = try stringForBitWrite(key, highestBit: offset, &context)
        let byteIndex = Int(offset >> 3)
        let mask = UInt8(1) << (7 - UInt8(offset & 7))
        let old: Int64 = bytes[byteIndex] & mask != 0 ? 1 : 0
        if grew || old != on {
            if on == 1 { bytes[byteIndex] |= mask } else { bytes[byteIndex] &= ~mask }
            setKey(db: context.db, key, .string(bytes), keepingTTL: true)
            context.dirty += 1
        }
        return .integer(old)
    }

    func getbitCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let offset = try bitOffset(context.arguments[2])
        guard let bytes = try lookupString(context.arguments[1], &context) else { return .integer(0) }
        return .integer(Int64(bit(bytes, at: offset)))
    }

    /// BITCOUNT key [start end [BYTE|BIT]] (Redis 7.0 `bitcountCommand`).
    func bitcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let bytes = try lookupString(context.arguments[1], &context) else { return .integer(0) }
        guard context.argumentCount == 2 || context.argumentCount == 4 || context.argumentCount == 5 else {
            throw ErrorReply.syntax
        }
        var range: (first: Int64, last: Int64)? = bytes.isEmpty ? nil : (0, Int64(bytes.count) * 8 - 1)
        if context.argumentCount >= 4 {
            let start = try context.integer(at: 2)
            let end = try context.integer(at: 3)
            // Redis 7.0 answers an empty negative range before it reads the BYTE|BIT argument.
            if start < 0 && end < 0 && start > end { return .integer(0) }
            var inBits = false
            if context.argumentCount == 5 {
                if context.argument(4, is: "BIT") { inBits = true }
                else if !context.argument(4, is: "BYTE") { throw ErrorReply.syntax }
            }
            range = bitRange(start: start, end: end, byteCount: bytes.count, inBits: inBits)
        }
        guard let range else { return .integer(0) }
        var count: Int64 = 0
        var offset = range.first
        while offset <= range.last {
            if offset & 7 == 0 && offset + 7 <= range.last {
                count += Int64(bytes[Int(offset >> 3)].nonzeroBitCount)
                offset += 8
            } else {
                count += Int64(bit(bytes, at: offset))
                offset += 1
            }
        }
        return .integer(count)
    }

    /// BITPOS key bit [start [end [BYTE|BIT]]] (Redis 7.0 `bitposCommand`): a missing key is all
    /// zeros; looking for 0 without an explicit end may answer the first bit past the string.
    func bitposCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let wanted = parseInt64(context.arguments[2]) else { throw ErrorReply.notInteger }
        guard wanted == 0 || wanted == 1 else { throw ErrorReply.bitPositionArgument }
        guard let bytes = try lookupString(context.arguments[1], &context) else { return .integer(wanted == 1 ? -1 : 0) }
        guard context.argumentCount <= 6 else { throw ErrorReply.syntax }
        var range: (first: Int64, last: Int64)? = bytes.isEmpty ? nil : (0, Int64(bytes.count) * 8 - 1)
        let endGiven = context.argumentCount >= 5
        if context.argumentCount >= 4 {
            let start = try context.integer(at: 3)
            var inBits = false
            if context.argumentCount == 6 {
                if context.argument(5, is: "BIT") { inBits = true }
                else if !context.argument(5, is: "BYTE") { throw ErrorReply.syntax }
            }
            let end = endGiven ? try context.integer(at: 4) : Int64(bytes.count) * (inBits ? 8 : 1) - 1
            range = bitRange(start: start, end: end, byteCount: bytes.count, inBits: inBits)
        }
        guard let range else { return .integer(-1) }
        let skipByte: UInt8 = wanted == 1 ? 0x00 : 0xFF
        var offset = range.first
        while offset <= range.last {
            if offset & 7 == 0 && offset + 7 <= range.last && bytes[Int(offset >> 3)] == skipByte {
                offset += 8
                continue
            }
            if bit(bytes, at: offset) == Int(wanted) { return .integer(offset) }
            offset += 1
        }
        if wanted == 1 || endGiven { return .integer(-1) }
        return .integer(range.last + 1)
    }

    /// BITOP AND|OR|XOR|NOT destkey key...: stores the result (missing keys are empty strings,
    /// shorter strings are zero-padded), or deletes destkey when every source is empty.
    func bitopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        enum Operation { case and, or, xor, not }
        let operation: Operation
        if context.argument(1, is: "AND") { operation = .and }
        else if context.argument(1, is: "OR") { operation = .or }
        else if context.argument(1, is: "XOR") { operation = .xor }
        else if context.argument(1, is: "NOT") { operation = .not }
        else { throw ErrorReply.syntax }
        if operation == .not && context.argumentCount != 4 { throw ErrorReply.bitopNotSingleSource }
        var sources: [[UInt8]] = []
        for key in context.arguments.dropFirst(3) { sources.append(try lookupString(key, &context) ?? []) }
        let destination = context.arguments[2]
        let length = sources.map(\.count).max() ?? 0
        guard length > 0 else {
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        var result = [UInt8](repeating: 0, count: length)
        for index in 0..<length {
            var output = index < sources[0].count ? sources[0][index] : 0
            if operation == .not { output = ~output }
            for source in sources.dropFirst() {
                let byte = index < source.count ? source[index] : 0
                switch operation {
                case .and: output &= byte
                case .or: output |= byte
                case .xor: output ^= byte
                case .not: break
                }
            }
            result[index] = output
        }
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .string(result))
        context.dirty += 1
        return .integer(Int64(length))
    }
}
