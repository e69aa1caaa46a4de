// String commands. See redis src/t_string.c (setGenericCommand, getexCommand, incrDecrCommand,
// incrbyfloatCommand, lcsCommand) and docs/DETERMINISM.md for what each write logs.

import RewindRESP

/// The largest string Redis builds (its `proto-max-bulk-len`, 512 MB); APPEND, SETRANGE and SETBIT
/// refuse to grow a string past it.
let stringByteCountMax = 512 * 1024 * 1024

/// The options of SET and GETEX (Redis `parseExtendedStringArgumentsOrReply`).
struct StringSetOptions {
    enum Condition { case always, ifAbsent, ifPresent }
    enum ExpiryUnit { case seconds, milliseconds, unixSeconds, unixMilliseconds }
    var condition = Condition.always
    var returnsOldValue = false
    var keepsTTL = false
    var persists = false
    var expiry: (unit: ExpiryUnit, argument: [UInt8])?
}

extension Keyspace {
    // MARK: - Shared workers

    /// Parses SET's (or, with `forGetex`, GETEX's) options from argument `start` on.
    ///
    /// Mirrors Redis's acceptance rules exactly: NX and XX exclude each other, KEEPTTL and PERSIST
    /// exclude every expiry, an expiry excludes the other expiry kinds but may repeat itself
    /// (`EX 1 EX 2` sets 2 seconds), and anything else is a syntax error.
    func parseStringSetOptions(_ context: CommandContext, from start: Int,
                               forGetex: Bool) throws(CommandError) -> StringSetOptions {
        var options = StringSetOptions()
        var index = start
        let arguments = context.arguments
        func hasExpiry(except unit: StringSetOptions.ExpiryUnit?) -> Bool {
            guard let current = options.expiry?.unit else { return false }
            return current != unit
        }
        while index < arguments.count {
            let option = arguments[index]
            let hasNext = index + 1 < arguments.count
            if !forGetex && argumentEquals(option, "NX") && options.condition != .ifPresent {
                options.condition = .ifAbsent
            } else if !forGetex && argumentEquals(option, "XX") && options.condition != .ifAbsent {
                options.condition = .ifPresent
            } else if !forGetex && argumentEquals(option, "GET") {
                options.returnsOldValue = true
            } else if !forGetex && argumentEquals(option, "KEEPTTL") && options.expiry == nil {
                options.keepsTTL = true
            } else if forGetex && argumentEquals(option, "PERSIST") && options.expiry == nil {
                options.persists = true
            } else if let unit = Self.expiryUnit(option), !options.keepsTTL, !options.persists,
                      !hasExpiry(except: unit), hasNext {
                options.expiry = (unit, arguments[index + 1])
                index += 1
            } else {
                throw ErrorReply.syntax
            }
            index += 1
        }
        return options
    }

    private static func expiryUnit(_ option: [UInt8]) -> StringSetOptions.ExpiryUnit? {
        if argumentEquals(option, "EX") { return .seconds }
        if argumentEquals(option, "PX") { return .milliseconds }
        if argumentEquals(option, "EXAT") { return .unixSeconds }
        if argumentEquals(option, "PXAT") { return .unixMilliseconds }
        return nil
    }

    /// The absolute expiry time in milliseconds an EX/PX/EXAT/PXAT argument names (Redis
    /// `getExpireMillisecondsOrReply`): positive, no overflow once converted and offset by now.
    func expiryMilliseconds(_ argument: [UInt8], unit: StringSetOptions.ExpiryUnit,
                            _ context: CommandContext) throws(CommandError) -> Int64 {
        guard let amount = parseInt64(argument) else { throw ErrorReply.notInteger }
        let invalid = ErrorReply.invalidExpireTime(context.commandName)
        let inSeconds = unit == .seconds || unit == .unixSeconds
        guard amount > 0, !(inSeconds && amount > Int64.max / 1000) else { throw invalid }
        var milliseconds = inSeconds ? amount * 1000 : amount
        if unit == .seconds || unit == .milliseconds {
            let (sum, overflow) = milliseconds.addingReportingOverflow(context.nowMilliseconds)
            guard !overflow else { throw invalid }
            milliseconds = sum
        }
        guard milliseconds > 0 else { throw invalid }
        return milliseconds
    }

    /// Whether an absolute expiry time already passed (Redis `checkAlreadyExpired`); never while
    /// replaying, as Redis never while loading.
    func isAlreadyExpired(_ whenMilliseconds: Int64, _ context: CommandContext) -> Bool {
        !context.session.isReplaying && whenMilliseconds <= context.nowMilliseconds
    }

    /// The engine behind SET, SETNX, SETEX and PSETEX (Redis `setGenericCommand`).
    ///
    /// Determinism: with any expiry the command is logged as `SET key value PXAT <ms>`, and with
    /// GET but no expiry it is logged without its GET arguments, as Redis 7.0 rewrites it.
    func setGeneric(_ context: inout CommandContext, key: [UInt8], value: [UInt8],
                    options: StringSetOptions, okReply: RESPValue = .ok,
                    abortReply: RESPValue = .null) throws(CommandError) -> RESPValue {
        var expiresAt: Int64?
        if let expiry = options.expiry {
            expiresAt = try expiryMilliseconds(expiry.argument, unit: expiry.unit, context)
        }
        var oldValueReply = RESPValue.null
        if options.returnsOldValue {
            oldValueReply = try lookupString(key, &context).map(RESPValue.bulkString) ?? .null
        }
        // One lookup serves both the condition and the write (`exists` then `setKey` hashed and
        // probed the key twice); lazy expiry first, as `exists` does.
        let db = context.db
        expireIfNeeded(key, &context, db: db)
        let slot = databases[db].entries.findSlot(of: key)
        let found = slot != nil
        if (options.condition == .ifAbsent && found) || (options.condition == .ifPresent && !found) {
            return options.returnsOldValue ? oldValueReply : abortReply
        }
        if let slot {
            databases[db].entries.setValue(.string(value), at: slot)
            if !options.keepsTTL { removeExpire(db: db, key) }
        } else {
            _ = databases[db].entries.insertNew(key: key, value: .string(value))
        }
        signalModified(db: db, key)
        context.dirty += 1
        if let expiresAt {
            setExpire(db: context.db, key, atMilliseconds: expiresAt)
            context.rewrittenArguments = [LoggedName.set, key, value, LoggedName.pxat, formatInt64(expiresAt)]
        } else if options.returnsOldValue {
            context.rewrittenArguments = context.arguments.enumerated()
                .filter { $0.offset < 3 || !argumentEquals($0.element, "GET") }.map(\.element)
        }
        return options.returnsOldValue ? oldValueReply : okReply
    }

    /// The engine behind INCR, DECR, INCRBY and DECRBY (Redis `incrDecrCommand`). Keeps the TTL.
    func incrementBy(_ increment: Int64, _ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let current = lookup(key, &context)
        var oldValue: Int64 = 0
        switch current {
        case nil: break
        case .integer(let value)?: oldValue = value
        case .bytes(let bytes)?:
            guard let value = parseInt64(bytes) else { throw ErrorReply.notInteger }
            oldValue = value
        default: throw ErrorReply.wrongType
        }
        let (newValue, overflow) = oldValue.addingReportingOverflow(increment)
        guard !overflow else { throw ErrorReply.overflow }
        setKey(db: context.db, key, .integer(newValue), keepingTTL: true)
        context.dirty += 1
        return .integer(newValue)
    }

    // MARK: - Commands

    func getCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try lookupString(context.arguments[1], &context).map(RESPValue.bulkString) ?? .null
    }

    func setCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let options = try parseStringSetOptions(context, from: 3, forGetex: false)
        return try setGeneric(&context, key: context.arguments[1], value: context.arguments[2], options: options)
    }

    func setnxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var options = StringSetOptions()
        options.condition = .ifAbsent
        return try setGeneric(&context, key: context.arguments[1], value: context.arguments[2], options: options,
                              okReply: .integer(1), abortReply: .integer(0))
    }

    func setexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var options = StringSetOptions()
        options.expiry = (.seconds, context.arguments[2])
        return try setGeneric(&context, key: context.arguments[1], value: context.arguments[3], options: options)
    }

    func psetexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var options = StringSetOptions()
        options.expiry = (.milliseconds, context.arguments[2])
        return try setGeneric(&context, key: context.arguments[1], value: context.arguments[3], options: options)
    }

    /// GETSET: logged as `SET key value`, as Redis 7.0 rewrites it.
    func getsetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let old = try lookupString(key, &context)
        setKey(db: context.db, key, .string(context.arguments[2]))
        context.dirty += 1
        context.rewrittenArguments = [LoggedName.set, key, context.arguments[2]]
        return old.map(RESPValue.bulkString) ?? .null
    }

    /// GETDEL: logged as `DEL key`, as Redis 7.0 rewrites it.
    func getdelCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let old = try lookupString(key, &context) else { return .null }
        deleteKey(db: context.db, key)
        context.dirty += 1
        context.rewrittenArguments = [LoggedName.del, key]
        return .bulkString(old)
    }

    /// GETEX: logged as `PEXPIREAT key <ms>`, `PERSIST key`, or `DEL key` when an absolute time
    /// already passed, as Redis 7.0 `getexCommand` rewrites it.
    func getexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let options = try parseStringSetOptions(context, from: 2, forGetex: true)
        // Redis 7.0 looks the key up before it validates the expiry, so a missing key replies nil
        // even with an invalid time.
        guard let value = try lookupString(key, &context) else { return .null }
        var expiresAt: Int64?
        if let expiry = options.expiry {
            expiresAt = try expiryMilliseconds(expiry.argument, unit: expiry.unit, context)
        }
        let isAbsolute = options.expiry?.unit == .unixSeconds || options.expiry?.unit == .unixMilliseconds
        if let expiresAt, isAbsolute, isAlreadyExpired(expiresAt, context) {
            deleteKey(db: context.db, key)
            context.dirty += 1
            context.rewrittenArguments = [LoggedName.del, key]
        } else if let expiresAt {
            setExpire(db: context.db, key, atMilliseconds: expiresAt)
            signalModified(db: context.db, key)
            context.dirty += 1
            context.rewrittenArguments = [LoggedName.pexpireat, key, formatInt64(expiresAt)]
        } else if options.persists, removeExpire(db: context.db, key) {
            signalModified(db: context.db, key)
            context.dirty += 1
            context.rewrittenArguments = [LoggedName.persist, key]
        }
        return .bulkString(value)
    }

    func mgetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var replies: [RESPValue] = []
        replies.reserveCapacity(context.argumentCount - 1)
        for key in context.arguments.dropFirst() {
            replies.append(lookup(key, &context)?.stringBytes.map(RESPValue.bulkString) ?? .null)
        }
        return .array(replies)
    }

    func msetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.argumentCount % 2 == 1 else { throw ErrorReply.wrongArity(context.commandName) }
        for index in stride(from: 1, to: context.argumentCount, by: 2) {
            let key = context.arguments[index]
            expireIfNeeded(key, &context)
            setKey(db: context.db, key, .string(context.arguments[index + 1]))
        }
        context.dirty += 1
        return .ok
    }

    func msetnxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.argumentCount % 2 == 1 else { throw ErrorReply.wrongArity(context.commandName) }
        for index in stride(from: 1, to: context.argumentCount, by: 2) where exists(context.arguments[index], &context) {
            return .integer(0)
        }
        for index in stride(from: 1, to: context.argumentCount, by: 2) {
            setKey(db: context.db, context.arguments[index], .string(context.arguments[index + 1]))
        }
        context.dirty += 1
        return .integer(1)
    }

    func appendCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let suffix = context.arguments[2]
        guard let current = try lookupString(key, &context) else {
            setKey(db: context.db, key, .string(suffix))
            context.dirty += 1
            return .integer(Int64(suffix.count))
        }
        guard current.count + suffix.count <= stringByteCountMax else { throw ErrorReply.stringTooLong }
        let combined = current + suffix
        setKey(db: context.db, key, .string(combined), keepingTTL: true)
        context.dirty += 1
        return .integer(Int64(combined.count))
    }

    func strlenCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupString(context.arguments[1], &context)?.count ?? 0))
    }

    func setrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let patch = context.arguments[3]
        let offset = try context.integer(at: 2)
        guard offset >= 0 else { throw ErrorReply.offsetOutOfRange }
        let current = try lookupString(key, &context)
        if patch.isEmpty { return .integer(Int64(current?.count ?? 0)) }
        guard offset <= Int64(stringByteCountMax) - Int64(patch.count) else { throw ErrorReply.stringTooLong }
        var bytes = current ?? []
        let start = Int(offset)
        if bytes.count < start + patch.count {
            bytes += [UInt8](repeating: 0, count: start + patch.count - bytes.count)
        }
        bytes.replaceSubrange(start..<(start + patch.count), with: patch)
        setKey(db: context.db, key, .string(bytes), keepingTTL: true)
        context.dirty += 1
        return .integer(Int64(bytes.count))
    }

    func getrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var start = try context.integer(at: 2)
        var end = try context.integer(at: 3)
        guard let bytes = try lookupString(context.arguments[1], &context) else { return .bulkString([]) }
        let length = Int64(bytes.count)
        // Redis 7.0 `getrangeCommand`: both negative and reversed is empty; otherwise negative
        // indexes count from the end and are clamped to 0, so GETRANGE s -100 -50 is the first byte.
        if start < 0 && end < 0 && start > end { return .bulkString([]) }
        if start < 0 { start += length }
        if end < 0 { end += length }
        start = max(start, 0)
        end = max(end, 0)
        if end >= length { end = length - 1 }
        guard start <= end, length > 0 else { return .bulkString([]) }
        return .bulkString(Array(bytes[Int(start)...Int(end)]))
    }

    func substrCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try getrangeCommand(&context)
    }

    func incrCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try incrementBy(1, &context)
    }

    func decrCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try incrementBy(-1, &context)
    }

    func incrbyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try incrementBy(try context.integer(at: 2), &context)
    }

    func decrbyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let decrement = try context.integer(at: 2)
        guard decrement != Int64.min else { throw ErrorReply.decrementOverflow }
        return try incrementBy(-decrement, &context)
    }

    /// INCRBYFLOAT: logged as `SET key <result> KEEPTTL` so replay never redoes the long double
    /// arithmetic, as Redis 7.0 `incrbyfloatCommand` rewrites it.
    func incrbyfloatCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let current = try lookupString(key, &context)
        var value: LongDouble = 0
        if let current {
            guard let parsed = parseLongDouble(current) else { throw ErrorReply.notFloat }
            value = parsed
        }
        guard let increment = parseLongDouble(context.arguments[2]) else { throw ErrorReply.notFloat }
        value += increment
        guard value.isFinite else { throw ErrorReply.floatNaNOrInfinity }
        let printed = formatLongDouble(value)
        setKey(db: context.db, key, .string(printed), keepingTTL: true)
        context.dirty += 1
        context.rewrittenArguments = [LoggedName.set, key, printed, LoggedName.keepttl]
        return .bulkString(printed)
    }
}

// MARK: - LCS

extension Keyspace {
    /// The most DP cells LCS allocates (4 bytes each); beyond it Redis would also fail to
    /// allocate, and replies the same error.
    static var lcsCellCountMax: Int { 1 << 28 }

    /// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (Redis 7.0 `lcsCommand`): the
    /// classic dynamic programme, then a walk back from the end that emits matched ranges, last
    /// match first, exactly as Redis does.
    func lcsCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let first = lookup(context.arguments[1], &context)
        let second = lookup(context.arguments[2], &context)
        if let first, !first.isString { throw ErrorReply.lcsNotStrings }
        if let second, !second.isString { throw ErrorReply.lcsNotStrings }
        let a = first?.stringBytes ?? []
        let b = second?.stringBytes ?? []
        var wantsIndexes = false, wantsLength = false, withMatchLength = false
        var minimumMatchLength: Int64 = 0
        var index = 3
        while index < context.argumentCount {
            if context.argument(index, is: "IDX") { wantsIndexes = true }
            else if context.argument(index, is: "LEN") { wantsLength = true }
            else if context.argument(index, is: "WITHMATCHLEN") { withMatchLength = true }
            else if context.argument(index, is: "MINMATCHLEN") && index + 1 < context.argumentCount {
                minimumMatchLength = max(try context.integer(at: index + 1), 0)
                index += 1
            } else {
                throw ErrorReply.syntax
            }
            index += 1
        }
        if wantsIndexes && wantsLength { throw ErrorReply.lcsBothIdxAndLen }
        let width = b.count + 1
        guard (a.count + 1).multipliedReportingOverflow(by: width).partialValue <= Self.lcsCellCountMax else {
            throw CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        }
        var table = [UInt32](repeating: 0, count: (a.count + 1) * width)
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                table[i * width + j] = a[i - 1] == b[j - 1]
                    ? table[(i - 1) * width + j - 1] + 1
                    : max(table[(i - 1) * width + j], table[i * width + j - 1])
            }
        }
        let length = Int(table[a.count * width + b.count])
        if wantsLength && !wantsIndexes { return .integer(Int64(length)) }
        var result = [UInt8](repeating: 0, count: length)
        var matches: [RESPValue] = []
        var remaining = length
        var i = a.count, j = b.count
        var aStart = a.count, aEnd = 0, bStart = 0, bEnd = 0  // aStart == a.count: no range open
        while i > 0 && j > 0 {
            var emit = false
            if a[i - 1] == b[j - 1] {
                result[remaining - 1] = a[i - 1]
                if aStart == a.count {
                    (aStart, aEnd, bStart, bEnd) = (i - 1, i - 1, j - 1, j - 1)
                } else if aStart == i && bStart == j {
                    aStart -= 1
                    bStart -= 1
                } else {
                    emit = true
                }
                if aStart == 0 || bStart == 0 { emit = true }
                remaining -= 1; i -= 1; j -= 1
            } else {
                if table[(i - 1) * width + j] > table[i * width + j - 1] { i -= 1 } else { j -= 1 }
                if aStart != a.count { emit = true }
            }
            let matchLength = aEnd - aStart + 1
            if emit {
                if wantsIndexes && (minimumMatchLength == 0 || Int64(matchLength) >= minimumMatchLength) {
                    var match: [RESPValue] = [.array([.integer(Int64(aStart)), .integer(Int64(aEnd))]),
                                              .array([.integer(Int64(bStart)), .integer(Int64(bEnd))])]
                    if withMatchLength { match.append(.integer(Int64(matchLength))) }
                    matches.append(.array(match))
                }
                aStart = a.count
            }
        }
        guard wantsIndexes else { return .bulkString(result) }
        return .map([RESPPair(.bulk("matches"), .array(matches)), RESPPair(.bulk("len"), .integer(Int64(length)))])
    }
}
