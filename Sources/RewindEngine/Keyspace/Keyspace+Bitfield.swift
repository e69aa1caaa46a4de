// BITFIELD and BITFIELD_RO. See redis src/bitops.c (bitfieldGeneric, checkSignedBitfieldOverflow,
// checkUnsignedBitfieldOverflow).

import RewindRESP

/// One parsed BITFIELD operation.
private struct BitfieldOperation {
    enum Kind { case get, set, incrby }
    enum Overflow { case wrap, saturate, fail }
    var kind: Kind
    var isSigned: Bool
    var bitWidth: Int
    var offset: Int64
    var value: Int64
    var overflow: Overflow
}

extension Keyspace {
    func bitfieldCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try bitfieldGeneric(&context, readOnly: false)
    }

    func bitfieldROCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try bitfieldGeneric(&context, readOnly: true)
    }

    /// Parses `i8`, `u16`, ... (Redis `getBitfieldTypeFromArgument`): i1-i64 and u1-u63.
    private func bitfieldType(_ bytes: [UInt8]) throws(CommandError) -> (isSigned: Bool, bitWidth: Int) {
        guard let first = bytes.first else { throw ErrorReply.bitfieldType }
        let isSigned: Bool
        if first == UInt8(ascii: "i") || first == UInt8(ascii: "I") { isSigned = true }
        else if first == UInt8(ascii: "u") || first == UInt8(ascii: "U") { isSigned = false }
        else { throw ErrorReply.bitfieldType }
        guard let width = parseInt64(Array(bytes.dropFirst().prefix { $0 != 0 })), width >= 1,
              width <= (isSigned ? 64 : 63) else { throw ErrorReply.bitfieldType }
        return (isSigned, Int(width))
    }

    private func parseBitfieldOperations(_ context: CommandContext) throws(CommandError) -> [BitfieldOperation] {
        var operations: [BitfieldOperation] = []
        var overflow = BitfieldOperation.Overflow.wrap
        var index = 2
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            let kind: BitfieldOperation.Kind
            if context.argument(index, is: "GET") && remaining >= 2 { kind = .get }
            else if context.argument(index, is: "SET") && remaining >= 3 { kind = .set }
            else if context.argument(index, is: "INCRBY") && remaining >= 3 { kind = .incrby }
            else if context.argument(index, is: "OVERFLOW") && remaining >= 1 {
                if context.argument(index + 1, is: "WRAP") { overflow = .wrap }
                else if context.argument(index + 1, is: "SAT") { overflow = .saturate }
                else if context.argument(index + 1, is: "FAIL") { overflow = .fail }
                else { throw ErrorReply.bitfieldOverflowType }
                index += 2
                continue
            } else {
                throw ErrorReply.syntax
            }
            let type = try bitfieldType(context.arguments[index + 1])
            let offset = try bitOffset(context.arguments[index + 2], allowsMultiplier: true, bitWidth: Int64(type.bitWidth))
            var value: Int64 = 0
            if kind != .get { value = try context.integer(at: index + 3) }
            operations.append(BitfieldOperation(kind: kind, isSigned: type.isSigned, bitWidth: type.bitWidth,
                                                offset: offset, value: value, overflow: overflow))
            index += kind == .get ? 3 : 4
        }
        return operations
    }

    /// BITFIELD (Redis `bitfieldGeneric`): all operations are parsed before any runs; a FAIL
    /// overflow replies nil for that operation and writes nothing for it.
    private func bitfieldGeneric(_ context: inout CommandContext, readOnly: Bool) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let operations = try parseBitfieldOperations(context)
        let writes = operations.filter { $0.kind != .get }
        guard !writes.isEmpty else {
            let bytes = try lookupString(key, &context) ?? []
            return .array(operations.map { .integer(readField(bytes, $0.offset, $0.bitWidth, signed: $0.isSigned)) })
        }
        if readOnly { throw ErrorReply.bitfieldReadOnly }
        let highestBit = writes.map { $0.offset + Int64($0.bitWidth) - 1 }.max() ?? 0
        var (bytes, grew) = try stringForBitWrite(key, highestBit: highestBit, &context)
        var changes = 0
        var replies: [RESPValue] = []
        for operation in operations {
            if operation.kind == .get {
                replies.append(.integer(readField(bytes, operation.offset, operation.bitWidth, signed: operation.isSigned)))
                continue
            }
            let old = readField(bytes, operation.offset, operation.bitWidth, signed: operation.isSigned)
            let outcome = operation.isSigned ? signedOutcome(old, operation) : unsignedOutcome(old, operation)
            guard let newValue = outcome else {
                replies.append(.null)
                continue
            }
            replies.append(.integer(operation.kind == .set ? old : newValue))
            writeField(&bytes, operation.offset, operation.bitWidth, UInt64(bitPattern: newValue))
            if grew || old != newValue { changes += 1 }
        }
        // Redis creates or grows the string even when every write fails under OVERFLOW FAIL, but
        // then signals no change (a WATCH of the key stays clean) and logs nothing; the engine
        // logs that growth too, so a replay rebuilds the same bytes, but does not signal it.
        if changes > 0 {
            setKey(db: context.db, key, .string(bytes), keepingTTL: true)
            context.dirty += changes
        } else if grew {
            databases[context.db].entries.set(.string(bytes), forKey: key)
            context.dirty += 1
        }
        return .array(replies)
    }

    /// The value a signed SET/INCRBY writes, or nil when it overflows under FAIL.
    private func signedOutcome(_ old: Int64, _ operation: BitfieldOperation) -> Int64? {
        let bits = operation.bitWidth
        let maximum: Int64 = bits == 64 ? Int64.max : (Int64(1) << (bits - 1)) - 1
        let minimum = -maximum - 1
        let (value, increment) = operation.kind == .incrby ? (old, operation.value) : (operation.value, Int64(0))
        let maxIncrement = Int64(bitPattern: UInt64(bitPattern: maximum) &- UInt64(bitPattern: value))
        let minIncrement = minimum &- value
        let saturated: Int64
        if value > maximum || (bits != 64 && increment > maxIncrement) || (value >= 0 && increment > 0 && increment > maxIncrement) {
            saturated = maximum
        } else if value < minimum || (bits != 64 && increment < minIncrement) || (value < 0 && increment < 0 && increment < minIncrement) {
            saturated = minimum
        } else {
            return value &+ increment
        }
        switch operation.overflow {
        case .fail: return nil
        case .saturate: return saturated
        case .wrap:
            var sum = UInt64(bitPattern: value) &+ UInt64(bitPattern: increment)
            if bits < 64 {
                let mask = UInt64.max << UInt64(bits)
                sum = sum & (UInt64(1) << UInt64(bits - 1)) != 0 ? sum | mask : sum & ~mask
            }
            return Int64(bitPattern: sum)
        }
    }

    /// The value an unsigned SET/INCRBY writes, or nil when it overflows under FAIL.
    private func unsignedOutcome(_ oldSigned: Int64, _ operation: BitfieldOperation) -> Int64? {
        let bits = operation.bitWidth
        let maximum: UInt64 = (UInt64(1) << UInt64(bits)) - 1
        let old = UInt64(bitPattern: oldSigned)
        let (value, increment) = operation.kind == .incrby ? (old, operation.value) : (UInt64(bitPattern: operation.value), Int64(0))
        let maxIncrement = Int64(bitPattern: maximum &- value)
        let minIncrement = Int64(bitPattern: 0 &- value)
        var saturated: UInt64
        if value > maximum || (increment > 0 && increment > maxIncrement) {
            saturated = maximum
        } else if increment < 0 && increment < minIncrement {
            saturated = 0
        } else {
            return Int64(bitPattern: value &+ UInt64(bitPattern: increment))
        }
        switch operation.overflow {
        case .fail: return nil
        case .saturate: return Int64(bitPattern: saturated)
        case .wrap:
            saturated = (value &+ UInt64(bitPattern: increment)) & ~(UInt64.max << UInt64(bits))
            return Int64(bitPattern: saturated)
        }
    }

    /// Reads `bitWidth` bits at `offset`, most significant first, zero past the end.
    private func readField(_ bytes: [UInt8], _ offset: Int64, _ bitWidth: Int, signed: Bool) -> Int64 {
        var value: UInt64 = 0
        for position in 0..<Int64(bitWidth) {
            let bitOffset = offset + position
            let byteIndex = Int(bitOffset >> 3)
            let bit = byteIndex < bytes.count ? (bytes[byteIndex] >> (7 - UInt8(bitOffset & 7))) & 1 : 0
            value = value << 1 | UInt64(bit)
        }
        if signed && bitWidth < 64 && value & (UInt64(1) << UInt64(bitWidth - 1)) != 0 {
            value |= UInt64.max << UInt64(bitWidth)
        }
        return Int64(bitPattern: value)
    }

    /// Writes the low `bitWidth` bits of `value` at `offset`, most significant first.
    private func writeField(_ bytes: inout [UInt8], _ offset: Int64, _ bitWidth: Int, _ value: UInt64) {
        for position in 0..<bitWidth {
            let bit = (value >> UInt64(bitWidth - 1 - position)) & 1
            let bitOffset = offset + Int64(position)
            let byteIndex = Int(bitOffset >> 3)
            let mask = UInt8(1) << (7 - UInt8(bitOffset & 7))
            if bit == 1 { bytes[byteIndex] |= mask } else { bytes[byteIndex] &= ~mask }
        }
    }
}
