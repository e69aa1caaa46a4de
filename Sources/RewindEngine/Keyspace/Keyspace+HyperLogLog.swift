// HyperLogLog commands over the Values/HyperLogLog representation. See redis src/hyperloglog.c
// (pfaddCommand, pfcountCommand, pfmergeCommand). An HLL is a string value, as in Redis.

import RewindRESP

extension Keyspace {
    /// The HLL bytes at `key`: nil when missing, WRONGTYPE for a non-string. Whether the string
    /// is a valid HLL is checked by the HyperLogLog functions themselves.
    private func hyperLogLogString(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> [UInt8]? {
        guard let value = lookup(key, &context) else { return nil }
        guard let bytes = value.stringBytes else { throw ErrorReply.wrongType }
        return bytes
    }

    /// The HLL bytes of each key, checked in argument order as Redis `isHLLObjectOrReply` does:
    /// the first key that is not a string, or not a valid HLL, decides the error.
    private func validatedHyperLogLogStrings(_ keys: ArraySlice<[UInt8]>,
                                             _ context: inout CommandContext) throws(CommandError) -> [[UInt8]?] {
        var strings: [[UInt8]?] = []
        for key in keys {
            let string = try hyperLogLogString(key, &context)
            if let string {
                // Decoding every register finds both a foreign string and damaged registers, in
                // the order Redis meets them while merging key by key.
                do { _ = try HyperLogLog.count([string]) } catch { throw CommandError(error.replyText) }
                if !Self.sparseRunsCoverAllRegisters(string) { throw CommandError(HyperLogLogError.corrupted.replyText) }
            }
            strings.append(string)
        }
        return strings
    }

    /// PFADD key [element ...]: replies 1 when a register changed or the key was created.
    func pfaddCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var string = try hyperLogLogString(key, &context)
        let existed = string != nil
        let changed: Bool
        do {
            changed = try HyperLogLog.pfadd(Array(context.arguments.dropFirst(2)), to: &string)
        } catch {
            // Redis keeps the elements added before the damaged part; so does the engine.
            if error == .corrupted, let string, existed {
                setKey(db: context.db, key, .string(string), keepingTTL: true)
            }
            throw CommandError(error.replyText)
        }
        guard changed, let string else { return .integer(0) }
        setKey(db: context.db, key, .string(string), keepingTTL: true)
        context.dirty += 1
        return .integer(1)
    }

    /// PFCOUNT key [key ...]. With one key the estimate is cached in the value's header, which
    /// Redis counts as a write and logs (the PFCOUNT itself replays deterministically).
    func pfcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.argumentCount == 2 {
            let key = context.arguments[1]
            guard var string = try hyperLogLogString(key, &context) else { return .integer(0) }
            do {
                let (cardinality, changed) = try HyperLogLog.countCachingResult(&string)
                if changed {
                    setKey(db: context.db, key, .string(string), keepingTTL: true)
                    context.dirty += 1
                }
                return .integer(Int64(cardinality))
            } catch {
                throw CommandError(error.replyText)
            }
        }
        let strings = try validatedHyperLogLogStrings(context.arguments.dropFirst(), &context)
        do {
            return .integer(try HyperLogLog.count(strings))
        } catch {
            throw CommandError(error.replyText)
        }
    }

    /// PFMERGE destkey [sourcekey ...]: always a write, even with nothing to merge.
    func pfmergeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let destinationKey = context.arguments[1]
        let strings = try validatedHyperLogLogStrings(context.arguments.dropFirst(), &context)
        var destination = strings[0]
        let sources = Array(strings.dropFirst())
        do {
            try HyperLogLog.merge(into: &destination, sources: sources)
        } catch {
            throw CommandError(error.replyText)
        }
        if let destination { setKey(db: context.db, destinationKey, .string(destination), keepingTTL: true) }
        context.dirty += 1
        return .ok
    }

    /// Whether a sparse HLL's opcodes describe exactly 16384 registers, the check Redis's
    /// `hllMerge` makes (it replies INVALIDOBJ otherwise). Dense and foreign strings pass here;
    /// the HyperLogLog functions judge those.
    ///
    /// Sparse opcodes (Redis hyperloglog.c): ZERO `00xxxxxx` covers x+1 registers, XZERO
    /// `01xxxxxx yyyyyyyy` covers (x<<8|y)+1, VAL `1vvvvvxx` covers x+1 registers of value v+1.
    /// A VAL run that would pass the last register makes the value corrupt, as redis-server
    /// 7.0.15 (Debian) judges it; older 7.0 releases stopped the walk there instead.
    static func sparseRunsCoverAllRegisters(_ string: [UInt8]) -> Bool {
        let headerByteCount = 16
        let registerCount = 16384
        guard string.count >= headerByteCount, string[4] == 1 else { return true }
        var registers = 0
        var index = headerByteCount
        while index < string.count {
            let opcode = string[index]
            if opcode & 0xC0 == 0x00 {
                registers += Int(opcode & 0x3F) + 1
                index += 1
            } else if opcode & 0xC0 == 0x40 {
                let next = index + 1 < string.count ? Int(string[index + 1]) : 0
                registers += (Int(opcode & 0x3F) << 8 | next) + 1
                index += 2
            } else {
                let runLength = Int(opcode & 0x03) + 1
                if registers + runLength > registerCount { return false }
                registers += runLength
                index += 1
            }
        }
        return registers == registerCount
    }
}
