// Hash commands. See redis src/t_hash.c (hsetCommand, hincrbyfloatCommand, hrandfieldCommand).

import RewindRESP

extension Keyspace {
    // MARK: - Shared workers

    /// The hash at `key`, created empty when absent (Redis `hashTypeLookupWriteOrCreate`).
    func hashForWrite(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> HashValue {
        if let hash = try lookupHash(key, &context) { return hash }
        let created = HashValue()
        addKey(db: context.db, key, .hash(created))
        return created
    }

    /// Removes `key` when its hash became empty, and signals the change.
    func finishHashWrite(_ key: [UInt8], _ hash: HashValue, db: Int) {
        if hash.fields.isEmpty { deleteKey(db: db, key) } else { signalModified(db: db, key) }
    }

    /// The most elements a negative-count HRANDFIELD, SRANDMEMBER or ZRANDMEMBER builds.
    ///
    /// Redis streams such a reply, so `SRANDMEMBER key -9223372036854775807` runs until its client
    /// output buffer exhausts memory. The engine builds replies whole, so it refuses counts whose
    /// reply would not fit in memory with an error instead of trapping.
    static let repeatedPickCountMax: UInt64 = 16_777_216

    /// `count`'s magnitude, or an error when it is beyond ``repeatedPickCountMax``.
    static func repeatedPickCount(_ count: Int64) throws(CommandError) -> Int {
        guard count.magnitude <= repeatedPickCountMax else {
            throw CommandError("ERR count is out of range: Rewind replies at most \(repeatedPickCountMax) repeated random elements")
        }
        return Int(count.magnitude)
    }

    /// Parses a count that may be negative (SRANDMEMBER, HRANDFIELD): Redis accepts
    /// `[-LONG_MAX, LONG_MAX]` and names those bounds when the value is outside.
    func signedCount(_ bytes: [UInt8]) throws(CommandError) -> Int64 {
        guard let value = parseInt64(bytes) else { throw ErrorReply.notInteger }
        guard value != Int64.min else { throw ErrorReply.valueNotBetween(-Int64.max, Int64.max) }
        return value
    }

    /// `count` slot indexes of `map`: distinct when `count >= 0` (all of them when `count`
    /// reaches the size), drawn with repetition when negative. Shared by HRANDFIELD and
    /// SRANDMEMBER; the order is random, as Redis's is.
    func randomSlotIndexes<Value>(of map: SlotMap<Value>, count: Int64) throws(CommandError) -> [Int] {
        if count < 0 {
            let wanted = try Self.repeatedPickCount(count)
            var picked: [Int] = []
            picked.reserveCapacity(wanted)
            for _ in 0..<wanted {
                if let index = map.randomSlotIndex(using: &random) { picked.append(index) }
            }
            return picked
        }
        var all = (0..<map.slotCount).filter { map.isOccupied($0) }
        if count >= Int64(all.count) { return all }
        let wanted = Int(count)
        for position in 0..<wanted {
            let chosen = position + Int(random.next(below: UInt64(all.count - position)))
            all.swapAt(position, chosen)
        }
        return Array(all.prefix(wanted))
    }

    // MARK: - Writing

    func hsetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try setFields(&context)))
    }

    func hmsetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        _ = try setFields(&context)
        return .ok
    }

    /// HSET and HMSET: returns how many fields were new.
    private func setFields(_ context: inout CommandContext) throws(CommandError) -> Int {
        guard context.argumentCount % 2 == 0 else { throw ErrorReply.wrongArity(context.commandName) }
        let key = context.arguments[1]
        let hash = try hashForWrite(key, &context)
        var created = 0
        for index in stride(from: 2, to: context.argumentCount, by: 2) {
            if hash.fields.set(context.arguments[index + 1], forKey: context.arguments[index]).inserted { created += 1 }
        }
        signalModified(db: context.db, key)
        context.dirty += (context.argumentCount - 2) / 2
        return created
    }

    func hsetnxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let hash = try hashForWrite(key, &context)
        guard hash.fields.slotIndex(of: context.arguments[2]) == nil else { return .integer(0) }
        hash.fields.set(context.arguments[3], forKey: context.arguments[2])
        signalModified(db: context.db, key)
        context.dirty += 1
        return .integer(1)
    }

    func hdelCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let hash = try lookupHash(key, &context) else { return .integer(0) }
        var deleted: Int64 = 0
        for field in context.arguments.dropFirst(2) {
            if hash.fields.removeValue(forKey: field) != nil { deleted += 1 }
            if hash.fields.isEmpty { break }
        }
        guard deleted > 0 else { return .integer(0) }
        finishHashWrite(key, hash, db: context.db)
        context.dirty += Int(deleted)
        return .integer(deleted)
    }

    func hincrbyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let increment = try context.integer(at: 3)
        let key = context.arguments[1]
        let field = context.arguments[2]
        let hash = try hashForWrite(key, &context)
        var current: Int64 = 0
        if let stored = hash.fields[field] {
            guard let value = parseInt64(stored) else { throw ErrorReply.hashValueNotInteger }
            current = value
        }
        let (sum, overflow) = current.addingReportingOverflow(increment)
        guard !overflow else { throw ErrorReply.overflow }
        hash.fields.set(formatInt64(sum), forKey: field)
        signalModified(db: context.db, key)
        context.dirty += 1
        return .integer(sum)
    }

    /// HINCRBYFLOAT: logged as `HSET key field <result>`, as Redis 7.0 rewrites it, so replay
    /// never redoes the long double arithmetic.
    func hincrbyfloatCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let increment = parseLongDouble(context.arguments[3]) else { throw ErrorReply.notFloat }
        guard increment.isFinite else { throw ErrorReply.hashIncrementNaN }
        let key = context.arguments[1]
        let field = context.arguments[2]
        let hash = try hashForWrite(key, &context)
        var current: LongDouble = 0
        if let stored = hash.fields[field] {
            guard let value = parseLongDouble(stored) else { throw ErrorReply.hashValueNotFloat }
            current = value
        }
        let sum = current + increment
        guard sum.isFinite else { throw ErrorReply.floatNaNOrInfinity }
        let printed = formatLongDouble(sum)
        hash.fields.set(printed, forKey: field)
        signalModified(db: context.db, key)
        context.dirty += 1
        context.rewrittenArguments = [LoggedName.hset, key, field, printed]
        return .bulkString(printed)
    }

    // MARK: - Reading

    func hgetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try lookupHash(context.arguments[1], &context)?.fields[context.arguments[2]].map(RESPValue.bulkString) ?? .null
    }

    func hmgetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let hash = try lookupHash(context.arguments[1], &context)
        return .array(context.arguments.dropFirst(2).map { hash?.fields[$0].map(RESPValue.bulkString) ?? .null })
    }

    func hlenCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupHash(context.arguments[1], &context)?.fields.count ?? 0))
    }

    func hstrlenCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupHash(context.arguments[1], &context)?.fields[context.arguments[2]]?.count ?? 0))
    }

    func hexistsCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let found = try lookupHash(context.arguments[1], &context)?.fields.slotIndex(of: context.arguments[2]) != nil
        return .integer(found ? 1 : 0)
    }

    func hkeysCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let hash = try lookupHash(context.arguments[1], &context)
        return .array(hash?.fields.occupied.map { RESPValue.bulkString($0.key) } ?? [])
    }

    func hvalsCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let hash = try lookupHash(context.arguments[1], &context)
        return .array(hash?.fields.occupied.map { RESPValue.bulkString($0.value) } ?? [])
    }

    func hgetallCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let hash = try lookupHash(context.arguments[1], &context)
        return .map(hash?.fields.occupied.map { RESPPair(.bulkString($0.key), .bulkString($0.value)) } ?? [])
    }

    /// HRANDFIELD key [count [WITHVALUES]] (Redis `hrandfieldCommand`); WITHVALUES replies a flat
    /// field, value, ... array in RESP2 and [field, value] pairs in RESP3.
    func hrandfieldCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard context.argumentCount >= 3 else {
            guard let hash = try lookupHash(key, &context),
                  let index = hash.fields.randomSlotIndex(using: &random),
                  let field = hash.fields.key(at: index) else { return .null }
            return .bulkString(field)
        }
        let count = try signedCount(context.arguments[2])
        var withValues = false
        if context.argumentCount > 4 || (context.argumentCount == 4 && !context.argument(3, is: "WITHVALUES")) {
            throw ErrorReply.syntax
        } else if context.argumentCount == 4 {
            withValues = true
            guard count >= -Int64.max / 2 && count <= Int64.max / 2 else { throw ErrorReply.valueOutOfRange }
        }
        guard let hash = try lookupHash(key, &context), count != 0 else { return .array([]) }
        var reply: [RESPValue] = []
        let pairs = withValues && context.session.protocolVersion == .resp3
        for index in try randomSlotIndexes(of: hash.fields, count: count) {
            guard let slot = hash.fields.slot(at: index) else { continue }
            if pairs {
                reply.append(.array([.bulkString(slot.key), .bulkString(slot.value)]))
                continue
            }
            reply.append(.bulkString(slot.key))
            if withValues { reply.append(.bulkString(slot.value)) }
        }
        return .array(reply)
    }

    /// HSCAN key cursor [MATCH pattern] [COUNT count]. Hashes of at most 128 fields come back
    /// whole with cursor 0, as Redis's listpack-encoded hashes do.
    func hscanCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let cursor = try parseScanCursor(context.arguments[2])
        let options = try parseScanOptions(context, from: 3, allowsType: false)
        guard let hash = try lookupHash(context.arguments[1], &context) else {
            return .array([.bulkString(Array("0".utf8)), .array([])])
        }
        let (slots, nextCursor) = scanSlots(hash.fields, cursor: cursor, count: options.count)
        var reply: [RESPValue] = []
        for slot in slots {
            if let pattern = options.pattern, !globMatches(pattern: pattern, string: slot.key) { continue }
            reply.append(.bulkString(slot.key))
            reply.append(.bulkString(slot.value))
        }
        return .array([.bulkString(Array(String(nextCursor).utf8)), .array(reply)])
    }

    /// The slots one SCAN step visits in a hash or set, and the cursor to return.
    func scanSlots<Value>(_ map: SlotMap<Value>, cursor: UInt64, count: Int) -> ([SlotMap<Value>.Slot], UInt64) {
        if map.count <= 128 { return (Array(map.occupied), 0) }
        var visited: [SlotMap<Value>.Slot] = []
        var index = map.scanStart(cursor: cursor)
        while index < map.slotCount && visited.count < count {
            if let slot = map.slot(at: index) { visited.append(slot) }
            index += 1
        }
        return (visited, map.scanCursor(nextSlotIndex: index))
    }
}
