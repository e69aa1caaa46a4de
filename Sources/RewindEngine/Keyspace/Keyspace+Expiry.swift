// Expiry commands and active expiry. See redis src/expire.c (expireGenericCommand,
// ttlGenericCommand, persistCommand, activeExpireCycle).

import RewindRESP

extension Keyspace {
    // MARK: - Commands

    func expireCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try expireGeneric(&context, baseMilliseconds: context.nowMilliseconds, inSeconds: true)
    }

    func pexpireCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try expireGeneric(&context, baseMilliseconds: context.nowMilliseconds, inSeconds: false)
    }

    func expireatCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try expireGeneric(&context, baseMilliseconds: 0, inSeconds: true)
    }

    func pexpireatCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try expireGeneric(&context, baseMilliseconds: 0, inSeconds: false)
    }

    /// The conditions EXPIRE and friends accept after the time (Redis 7.0 `EXPIRE_NX` ...).
    private struct ExpireConditions {
        var nx = false, xx = false, gt = false, lt = false
    }

    private func parseExpireConditions(_ context: CommandContext) throws(CommandError) -> ExpireConditions {
        var conditions = ExpireConditions()
        for option in context.arguments.dropFirst(3) {
            if argumentEquals(option, "NX") { conditions.nx = true }
            else if argumentEquals(option, "XX") { conditions.xx = true }
            else if argumentEquals(option, "GT") { conditions.gt = true }
            else if argumentEquals(option, "LT") { conditions.lt = true }
            else { throw ErrorReply.unsupportedOption(option) }
        }
        if conditions.nx && (conditions.xx || conditions.gt || conditions.lt) { throw ErrorReply.expireNXAndOthers }
        if conditions.gt && conditions.lt { throw ErrorReply.expireGTAndLT }
        return conditions
    }

    /// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (Redis `expireGenericCommand`).
    ///
    /// Determinism: logged as `PEXPIREAT key <absolute ms> [condition]`; a time already passed
    /// deletes the key and is logged as `DEL key`, as Redis 7.0 propagates both.
    private func expireGeneric(_ context: inout CommandContext, baseMilliseconds: Int64,
                               inSeconds: Bool) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let conditions = try parseExpireConditions(context)
        var when = try context.integer(at: 2)
        let invalid = ErrorReply.invalidExpireTime(context.commandName)
        if inSeconds {
            guard when <= Int64.max / 1000 && when >= Int64.min / 1000 else { throw invalid }
            when *= 1000
        }
        guard when <= Int64.max - baseMilliseconds else { throw invalid }
        when += baseMilliseconds
        guard exists(key, &context) else { return .integer(0) }
        let current = expireTime(db: context.db, key)
        if conditions.nx && current != nil { return .integer(0) }
        if conditions.xx && current == nil { return .integer(0) }
        if conditions.gt && (current.map { when <= $0 } ?? true) { return .integer(0) }
        if conditions.lt, let current, when >= current { return .integer(0) }
        context.dirty += 1
        if isAlreadyExpired(when, context) {
            deleteKey(db: context.db, key)
            context.rewrittenArguments = [LoggedName.del, key]
            return .integer(1)
        }
        setExpire(db: context.db, key, atMilliseconds: when)
        signalModified(db: context.db, key)
        var logged = context.arguments
        logged[0] = LoggedName.pexpireat
        logged[2] = formatInt64(when)
        context.rewrittenArguments = logged
        return .integer(1)
    }

    /// TTL, PTTL, EXPIRETIME and PEXPIRETIME (Redis `ttlGenericCommand`): -2 for a missing key,
    /// -1 without a TTL; seconds are rounded to the nearest, as Redis does with `(ms + 500) / 1000`.
    private func ttlGeneric(_ context: inout CommandContext, inMilliseconds: Bool, absolute: Bool) -> RESPValue {
        let key = context.arguments[1]
        guard exists(key, &context) else { return .integer(-2) }
        guard let expiresAt = expireTime(db: context.db, key) else { return .integer(-1) }
        var remaining = absolute ? expiresAt : expiresAt &- context.nowMilliseconds
        if remaining < 0 { remaining = 0 }
        // (ms + 500) / 1000 without overflow: Redis's C expression yields the exact quotient
        // even for expiry times near Int64.max.
        return .integer(inMilliseconds ? remaining : remaining / 1000 + (remaining % 1000 + 500) / 1000)
    }

    func ttlCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        ttlGeneric(&context, inMilliseconds: false, absolute: false)
    }

    func pttlCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        ttlGeneric(&context, inMilliseconds: true, absolute: false)
    }

    func expiretimeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        ttlGeneric(&context, inMilliseconds: false, absolute: true)
    }

    func pexpiretimeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        ttlGeneric(&context, inMilliseconds: true, absolute: true)
    }

    func persistCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard exists(key, &context), removeExpire(db: context.db, key) else { return .integer(0) }
        signalModified(db: context.db, key)
        context.dirty += 1
        return .integer(1)
    }

    // MARK: - Active expiry

    /// How many keys with a TTL one pass samples per database (Redis `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
    static var activeExpireSampleCount: Int { 20 }
    /// The pass repeats while more than this percentage of a sample had expired
    /// (Redis `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`).
    static var activeExpireAcceptableStalePercent: Int { 10 }
    /// A bound on passes per database per call, in place of Redis's time budget, which would
    /// need a clock.
    static var activeExpirePassCountMax: Int { 16 }

    /// Deletes a random sample of expired keys, as Redis's `activeExpireCycle` does from its cron,
    /// and returns one `DEL` entry per deleted key for the log.
    ///
    /// Each database is sampled ``activeExpireSampleCount`` keys at a time from its keys with a
    /// TTL, using the keyspace's seeded generator; the pass repeats while more than
    /// ``activeExpireAcceptableStalePercent`` percent of a sample had expired. Call it regularly
    /// (Redis does 10 times a second) with the current time.
    public func activeExpireCycle(nowMilliseconds: Int64) -> [LoggedEntry] {
        var entries: [LoggedEntry] = []
        for db in databases.indices {
            var passes = 0
            while passes < Self.activeExpirePassCountMax && !databases[db].expires.isEmpty {
                passes += 1
                let sampleCount = min(Self.activeExpireSampleCount, databases[db].expires.count)
                var expiredCount = 0
                for _ in 0..<sampleCount {
                    guard let slotIndex = databases[db].expires.randomSlotIndex(using: &random),
                          let slot = databases[db].expires.slot(at: slotIndex) else { break }
                    guard nowMilliseconds > slot.value else { continue }
                    deleteKey(db: db, slot.key)
                    entries.append(.command(LoggedCommand(db: db, arguments: [LoggedName.del, slot.key])))
                    expiredCount += 1
                }
                if expiredCount * 100 <= sampleCount * Self.activeExpireAcceptableStalePercent { break }
            }
        }
        return entries
    }
}
