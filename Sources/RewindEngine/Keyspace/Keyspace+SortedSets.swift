// Sorted-set commands over the Values/SortedSet representation. See redis src/t_zset.c
// (zaddGenericCommand, zrangeGenericCommand, genericZpopCommand, zremrangeGenericCommand).
// Scores are replied as RESP doubles; WITHSCORES replies are flat member, score arrays (RESP2).

import RewindRESP

extension ErrorReply {
    static let scoreNaN = CommandError("ERR resulting score is not a number (NaN)")
    static let zaddXXAndNX = CommandError("ERR XX and NX options at the same time are not compatible")
    static let zaddGTLTNX = CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    static let zaddIncrSinglePair = CommandError("ERR INCR option supports a single increment-element pair")
    static let scoreRangeNotFloat = CommandError("ERR min or max is not a float")
    static let lexRangeInvalid = CommandError("ERR min or max not valid string range item")
    static let limitNeedsByscoreOrBylex = CommandError(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    static let withscoresWithBylex = CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
}

extension Keyspace {
    // MARK: - Shared workers

    func lookupSortedSet(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> SortedSetValue? {
        guard let value = lookup(key, &context) else { return nil }
        guard case .sortedSet(let sortedSet) = value else { throw ErrorReply.wrongType }
        return sortedSet
    }

    /// Removes `key` when its sorted set became empty, and signals the change.
    func finishSortedSetWrite(_ key: [UInt8], _ sortedSet: SortedSetValue, db: Int) {
        if sortedSet.elements.isEmpty { deleteKey(db: db, key) } else { signalModified(db: db, key) }
    }

    /// Elements as a reply: members only, or member, score, member, score, ...
    func reply(_ elements: [SortedSet.Element], withScores: Bool) -> RESPValue {
        var items: [RESPValue] = []
        items.reserveCapacity(elements.count * (withScores ? 2 : 1))
        for element in elements {
            items.append(.bulkString(element.member))
            if withScores { items.append(.double(element.score)) }
        }
        return .array(items)
    }

    // MARK: - ZADD and ZINCRBY

    func zaddCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zaddGeneric(&context, forcedIncrement: false)
    }

    func zincrbyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zaddGeneric(&context, forcedIncrement: true)
    }

    /// ZADD and ZINCRBY (Redis `zaddGenericCommand`): options, then every score is parsed
    /// before anything changes, then each pair goes through `SortedSet.add` in order.
    private func zaddGeneric(_ context: inout CommandContext, forcedIncrement: Bool) throws(CommandError) -> RESPValue {
        var options: SortedSet.AddOptions = forcedIncrement ? [.increment] : []
        var reportsChanged = false
        var scoreIndex = 2
        while !forcedIncrement && scoreIndex < context.argumentCount {
            if context.argument(scoreIndex, is: "NX") { options.insert(.onlyNew) }
            else if context.argument(scoreIndex, is: "XX") { options.insert(.onlyExisting) }
            else if context.argument(scoreIndex, is: "CH") { reportsChanged = true }
            else if context.argument(scoreIndex, is: "INCR") { options.insert(.increment) }
            else if context.argument(scoreIndex, is: "GT") { options.insert(.onlyGreater) }
            else if context.argument(scoreIndex, is: "LT") { options.insert(.onlyLess) }
            else { break }
            scoreIndex += 1
        }
        let pairArgumentCount = context.argumentCount - scoreIndex
        guard pairArgumentCount > 0, pairArgumentCount % 2 == 0 else { throw ErrorReply.syntax }
        if options.contains(.onlyNew) && options.contains(.onlyExisting) { throw ErrorReply.zaddXXAndNX }
        if options.contains(.onlyNew) && (options.contains(.onlyGreater) || options.contains(.onlyLess))
            || (options.contains(.onlyGreater) && options.contains(.onlyLess)) { throw ErrorReply.zaddGTLTNX }
        let isIncrement = options.contains(.increment)
        if isIncrement && pairArgumentCount > 2 { throw ErrorReply.zaddIncrSinglePair }
        var scores: [Double] = []
        for index in stride(from: scoreIndex, to: context.argumentCount, by: 2) {
            guard let score = parseDouble(context.arguments[index]) else { throw ErrorReply.notFloat }
            scores.append(score)
        }
        let key = context.arguments[1]
        var sortedSet = try lookupSortedSet(key, &context)
        if sortedSet == nil {
            if options.contains(.onlyExisting) { return isIncrement ? .null : .integer(0) }
            let encoding = SortedSet.preferredEncoding(firstMemberByteCount: context.arguments[scoreIndex + 1].count)
            let created = SortedSetValue(SortedSet(encoding: encoding))
            addKey(db: context.db, key, .sortedSet(created))
            sortedSet = created
        }
        guard let sortedSet else { return .integer(0) }
        var added = 0, updated = 0, processed = 0
        var lastScore = 0.0
        for (offset, score) in scores.enumerated() {
            let member = context.arguments[scoreIndex + 1 + offset * 2]
            switch sortedSet.elements.add(member, score: score, options: options) {
            case .added(let newScore): added += 1; processed += 1; lastScore = newScore
            case .updated(let newScore): updated += 1; processed += 1; lastScore = newScore
            case .unchanged(let newScore): processed += 1; lastScore = newScore
            case .skipped: break
            case .notANumber:
                if added + updated > 0 { signalModified(db: context.db, key) }
                context.dirty += added + updated
                throw ErrorReply.scoreNaN
            }
        }
        if added + updated > 0 { signalModified(db: context.db, key) }
        context.dirty += added + updated
        if isIncrement { return processed > 0 ? .double(lastScore) : .null }
        return .integer(Int64(reportsChanged ? added + updated : added))
    }

    // MARK: - Reading

    func zscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try lookupSortedSet(context.arguments[1], &context)?.elements.score(of: context.arguments[2]).map(RESPValue.double) ?? .null
    }

    func zmscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let sortedSet = try lookupSortedSet(context.arguments[1], &context)
        return .array(context.arguments.dropFirst(2).map { sortedSet?.elements.score(of: $0).map(RESPValue.double) ?? .null })
    }

    func zcardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count ?? 0))
    }

    func zrankCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try lookupSortedSet(context.arguments[1], &context)?.elements.rank(of: context.arguments[2]).map { .integer(Int64($0)) } ?? .null
    }

    func zrevrankCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try lookupSortedSet(context.arguments[1], &context)?.elements.reverseRank(of: context.arguments[2]).map { .integer(Int64($0)) } ?? .null
    }

    func zcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetScoreRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.scoreRangeNotFloat
        }
        return .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count(inScoreRange: range) ?? 0))
    }

    func zlexcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetLexRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.lexRangeInvalid
        }
        return .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count(inLexRange: range) ?? 0))
    }

    // MARK: - Removing

    func zremCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let sortedSet = try lookupSortedSet(key, &context) else { return .integer(0) }
        var removed = 0
        for member in context.arguments.dropFirst(2) {
            if sortedSet.elements.remove(member) != nil { removed += 1 }
            if sortedSet.elements.isEmpty { break }
        }
        guard removed > 0 else { return .integer(0) }
        finishSortedSetWrite(key, sortedSet, db: context.db)
        context.dirty += removed
        return .integer(Int64(removed))
    }

    func zremrangebyrankCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let start = try context.integer(at: 2)
        let stop = try context.integer(at: 3)
        return try removeRange(&context) { sortedSet in
            guard let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: sortedSet.count) else { return 0 }
            return sortedSet.removeElements(inRankRange: ranks).count
        }
    }

    func zremrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetScoreRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.scoreRangeNotFloat
        }
        return try removeRange(&context) { $0.removeElements(inScoreRange: range).count }
    }

    func zremrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetLexRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.lexRangeInvalid
        }
        return try removeRange(&context) { $0.removeElements(inLexRange: range).count }
    }

    /// The ZREMRANGEBY* engine (Redis `zremrangeGenericCommand`): the range was parsed first.
    private func removeRange(_ context: inout CommandContext,
                             _ remove: (inout SortedSet) -> Int) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let sortedSet = try lookupSortedSet(key, &context) else { return .integer(0) }
        let removed = remove(&sortedSet.elements)
        guard removed > 0 else { return .integer(0) }
        finishSortedSetWrite(key, sortedSet, db: context.db)
        context.dirty += removed
        return .integer(Int64(removed))
    }

    /// ZPOPMIN and ZPOPMAX key [count] (Redis `genericZpopCommand`); deterministic, so logged as sent.
    private func zpop(_ context: inout CommandContext, fromMaximum: Bool) throws(CommandError) -> RESPValue {
        if context.argumentCount > 3 { throw ErrorReply.syntax }
        var count: Int64 = 1
        if context.argumentCount == 3 {
            count = try nonNegativeCount(context.arguments[2], error: ErrorReply.mustBePositive)
        }
        let key = context.arguments[1]
        // The type is checked before a zero count is answered, as Redis 7.0 does.
        guard let sortedSet = try lookupSortedSet(key, &context), count > 0 else { return .array([]) }
        let total = sortedSet.elements.count
        let taken = Int(min(count, Int64(total)))
        let ranks = fromMaximum ? (total - taken)...(total - 1) : 0...(taken - 1)
        var popped = sortedSet.elements.removeElements(inRankRange: ranks)
        if fromMaximum { popped.reverse() }
        finishSortedSetWrite(key, sortedSet, db: context.db)
        context.dirty += 1
        return reply(popped, withScores: true)
    }

    func zpopminCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zpop(&context, fromMaximum: false)
    }

    func zpopmaxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zpop(&context, fromMaximum: true)
    }
}
