// Sorted-set commands: adding, scores, ranks, ranges and range removals. See redis src/t_zset.c
// (zaddGenericCommand, zremCommand, zremrangeGenericCommand, zrangeGenericCommand and its result
// handlers, zcountCommand, zlexcountCommand, zrankGenericCommand). Pops, algebra, ZRANDMEMBER and
// ZSCAN are in Keyspace+SortedSetAlgebra.swift; the value type is Values/SortedSet.swift.

import RewindRESP

extension Keyspace {
    // MARK: - Shared workers

    /// The sorted set at `key`, nil when absent; WRONGTYPE for another type.
    func lookupSortedSet(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> SortedSetValue? {
        guard let value = lookup(key, &context) else { return nil }
        guard case .sortedSet(let sortedSet) = value else { throw ErrorReply.wrongType }
        return sortedSet
    }

    /// An empty sorted set in the encoding Redis `zsetTypeCreate(size_hint, val_len_hint)` picks.
    static func makeSortedSet(sizeHint: Int, memberByteCountHint: Int) -> SortedSet {
        let compact = sizeHint <= SortedSet.compactEntryCountMaxDefault
            && memberByteCountHint <= SortedSet.compactMemberByteCountMaxDefault
        return SortedSet(encoding: compact ? .compact : .skiplist)
    }

    /// Removes `key` when its sorted set became empty, otherwise signals the change.
    func finishSortedSetWrite(_ key: [UInt8], _ sortedSet: SortedSetValue, db: Int) {
        if sortedSet.elements.isEmpty { deleteKey(db: db, key) } else { signalModified(db: db, key) }
    }

    /// A score argument, parsed as Redis `getDoubleFromObjectOrReply` (strtod; no NaN).
    func parseScore(_ bytes: [UInt8], error: CommandError = ErrorReply.notFloat) throws(CommandError) -> Double {
        guard let score = parseDouble(bytes) else { throw error }
        return score
    }

    /// Elements as a reply: members, each followed by its score when `withScores`, flat in
    /// RESP2 and as [member, score] pairs when `pairs` (Redis 7.0's RESP3 form). Scores are
    /// doubles, printed by Redis with `%.17g`.
    static func elementsReply(_ elements: [SortedSet.Element], withScores: Bool, pairs: Bool = false) -> RESPValue {
        if withScores && pairs {
            return .array(elements.map { .array([.bulkString($0.member), .double($0.score)]) })
        }
        var reply: [RESPValue] = []
        reply.reserveCapacity(withScores ? elements.count * 2 : elements.count)
        for element in elements {
            reply.append(.bulkString(element.member))
            if withScores { reply.append(.double(element.score)) }
        }
        return .array(reply)
    }

    // MARK: - Adding and removing

    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...].
    ///
    /// Determinism: logged as sent, INCR included, as Redis propagates it: the sum is a pure
    /// function of the state the log rebuilds. Nothing is logged when nothing changed.
    func zaddCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zaddGeneric(&context, forcedOptions: [])
    }

    /// ZINCRBY key increment member: ZADD INCR with one pair (Redis `zincrbyCommand`).
    func zincrbyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zaddGeneric(&context, forcedOptions: .increment)
    }

    private func zaddGeneric(_ context: inout CommandContext, forcedOptions: SortedSet.AddOptions) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var options = forcedOptions
        var reportsChanged = false
        var scoreIndex = 2
        while forcedOptions.isEmpty && scoreIndex < context.argumentCount {
            let option = context.arguments[scoreIndex]
            if argumentEquals(option, "NX") { options.insert(.onlyNew) }
            else if argumentEquals(option, "XX") { options.insert(.onlyExisting) }
            else if argumentEquals(option, "CH") { reportsChanged = true }
            else if argumentEquals(option, "INCR") { options.insert(.increment) }
            else if argumentEquals(option, "GT") { options.insert(.onlyGreater) }
            else if argumentEquals(option, "LT") { options.insert(.onlyLess) }
            else { break }
            scoreIndex += 1
        }
        let pairArgumentCount = context.argumentCount - scoreIndex
        guard pairArgumentCount > 0, pairArgumentCount % 2 == 0 else { throw ErrorReply.syntax }
        let pairCount = pairArgumentCount / 2
        if options.contains(.onlyNew) && options.contains(.onlyExisting) { throw ErrorReply.zaddNXAndXX }
        if options.contains(.onlyNew) && (options.contains(.onlyGreater) || options.contains(.onlyLess))
            || (options.contains(.onlyGreater) && options.contains(.onlyLess)) {
            throw ErrorReply.zaddGTLTNX
        }
        if options.contains(.increment) && pairCount > 1 { throw ErrorReply.zaddIncrSinglePair }
        var scores: [Double] = []
        scores.reserveCapacity(pairCount)
        for pair in 0..<pairCount { scores.append(try parseScore(context.arguments[scoreIndex + pair * 2])) }

        var sortedSet = try lookupSortedSet(key, &context)
        if sortedSet == nil {
            if options.contains(.onlyExisting) {
                return options.contains(.increment) ? .null : .integer(0)
            }
            // Redis 7.0.15 judges a new key by its first member only, whatever the pair count:
            // 130 pairs start compact and convert at the 129th (so earlier -0 scores become 0).
            let encoding = SortedSet.preferredEncoding(firstMemberByteCount: context.arguments[scoreIndex + 1].count)
            let created = SortedSetValue(SortedSet(encoding: encoding))
            addKey(db: context.db, key, .sortedSet(created))
            sortedSet = created
        }
        guard let sortedSet else { return .null }
        var added = 0, updated = 0, processed = 0
        var lastScore = 0.0
        for pair in 0..<pairCount {
            let member = context.arguments[scoreIndex + pair * 2 + 1]
            switch sortedSet.elements.add(member, score: scores[pair], options: options) {
            case .added(let score): added += 1; processed += 1; lastScore = score
            case .updated(let score): updated += 1; processed += 1; lastScore = score
            case .unchanged(let score): processed += 1; lastScore = score
            case .skipped: break
            case .notANumber:
                if added + updated > 0 { signalModified(db: context.db, key) }
                throw ErrorReply.scoreNaN
            }
        }
        context.dirty += added + updated
        if added + updated > 0 { signalModified(db: context.db, key) }
        if options.contains(.increment) { return processed > 0 ? .double(lastScore) : .null }
        return .integer(Int64(reportsChanged ? added + updated : added))
    }

    /// ZREM key member [member ...]; deletes the key when it becomes empty.
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
        return try removeRange(&context) { set in
            guard let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: set.count) else { return 0 }
            return set.removeElements(inRankRange: ranks).count
        }
    }

    func zremrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetScoreRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.minMaxNotFloat
        }
        return try removeRange(&context) { $0.removeElements(inScoreRange: range).count }
    }

    func zremrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetLexRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.minMaxNotLexRange
        }
        return try removeRange(&context) { $0.removeElements(inLexRange: range).count }
    }

    /// The lookup and bookkeeping of Redis `zremrangeGenericCommand`, after the range parsed.
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

    // MARK: - Scores and ranks

    func zcardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count ?? 0))
    }

    func zscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let score = try lookupSortedSet(context.arguments[1], &context)?.elements.score(of: context.arguments[2]) else {
            return .null
        }
        return .double(score)
    }

    func zmscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let sortedSet = try lookupSortedSet(context.arguments[1], &context)
        return .array(context.arguments.dropFirst(2).map { member in
            sortedSet?.elements.score(of: member).map(RESPValue.double) ?? .null
        })
    }

    func zrankCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let rank = try lookupSortedSet(context.arguments[1], &context)?.elements.rank(of: context.arguments[2]) else {
            return .null
        }
        return .integer(Int64(rank))
    }

    func zrevrankCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let rank = try lookupSortedSet(context.arguments[1], &context)?.elements.reverseRank(of: context.arguments[2]) else {
            return .null
        }
        return .integer(Int64(rank))
    }

    func zcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetScoreRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.minMaxNotFloat
        }
        return .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count(inScoreRange: range) ?? 0))
    }

    func zlexcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let range = SortedSetLexRange.parse(min: context.arguments[2], max: context.arguments[3]) else {
            throw ErrorReply.minMaxNotLexRange
        }
        return .integer(Int64(try lookupSortedSet(context.arguments[1], &context)?.elements.count(inLexRange: range) ?? 0))
    }

    // MARK: - Ranges

    /// How a range command reads its arguments (Redis `zrange_type` and `zrange_direction`).
    enum RangeKind { case rank, score, lex }

    func zrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: nil, reverse: nil)
    }

    func zrevrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: .rank, reverse: true)
    }

    func zrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: .score, reverse: false)
    }

    func zrevrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: .score, reverse: true)
    }

    func zrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: .lex, reverse: false)
    }

    func zrevrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 1, destination: nil, kind: .lex, reverse: true)
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count].
    ///
    /// Determinism: logged as sent; the stored range is a pure function of the source.
    func zrangestoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, sourceIndex: 2, destination: context.arguments[1], kind: nil, reverse: nil)
    }

    /// Redis `zrangeGenericCommand`: options, then the range, then the key, then the handler.
    /// `kind` and `reverse` are nil when the options may choose them (ZRANGE, ZRANGESTORE).
    private func zrangeGeneric(_ context: inout CommandContext, sourceIndex: Int, destination: [UInt8]?,
                               kind fixedKind: RangeKind?, reverse fixedReverse: Bool?) throws(CommandError) -> RESPValue {
        var kind = fixedKind
        var reverse = fixedReverse
        var withScores = false
        var offset: Int64 = 0
        var limit: Int64 = -1
        var index = sourceIndex + 3
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            if destination == nil && context.argument(index, is: "WITHSCORES") {
                withScores = true
            } else if context.argument(index, is: "LIMIT") && remaining >= 2 {
                offset = try context.integer(at: index + 1)
                limit = try context.integer(at: index + 2)
                index += 2
            } else if fixedReverse == nil && context.argument(index, is: "REV") {
                reverse = true
            } else if fixedKind == nil && kind == nil && context.argument(index, is: "BYLEX") {
                kind = .lex
            } else if fixedKind == nil && kind == nil && context.argument(index, is: "BYSCORE") {
                kind = .score
            } else {
                throw ErrorReply.syntax
            }
            index += 1
        }
        let rangeKind = kind ?? .rank
        let isReverse = reverse ?? false
        if limit != -1 && rangeKind == .rank { throw ErrorReply.limitNeedsByScoreOrByLex }
        if withScores && rangeKind == .lex { throw ErrorReply.withScoresWithByLex }
        var minimum = context.arguments[sourceIndex + 1]
        var maximum = context.arguments[sourceIndex + 2]
        if isReverse && rangeKind != .rank { swap(&minimum, &maximum) }

        let select: (SortedSet) -> [SortedSet.Element]
        switch rangeKind {
        case .rank:
            guard let start = parseInt64(minimum), let stop = parseInt64(maximum) else { throw ErrorReply.notInteger }
            select = { set in
                guard let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: set.count) else { return [] }
                return set.elements(inRankRange: ranks, reverse: isReverse)
            }
        case .score:
            guard let range = SortedSetScoreRange.parse(min: minimum, max: maximum) else { throw ErrorReply.minMaxNotFloat }
            select = { set in
                set.elements(inScoreRange: range, reverse: isReverse, offset: Self.clampedInt(offset), limit: Self.clampedInt(limit))
            }
        case .lex:
            guard let range = SortedSetLexRange.parse(min: minimum, max: maximum) else { throw ErrorReply.minMaxNotLexRange }
            select = { set in
                set.elements(inLexRange: range, reverse: isReverse, offset: Self.clampedInt(offset), limit: Self.clampedInt(limit))
            }
        }
        let source = try lookupSortedSet(context.arguments[sourceIndex], &context)
        let elements = source.map { select($0.elements) } ?? []
        guard let destination else {
            return Self.elementsReply(elements, withScores: withScores, pairs: context.session.protocolVersion == .resp3)
        }
        return storeRange(elements, at: destination, sizeHint: rangeKind == .rank ? elements.count : 0, &context)
    }

    private static func clampedInt(_ value: Int64) -> Int {
        Int(clamping: value)
    }

    /// ZRANGESTORE's result handler (Redis `zrangeResultBeginStore`/`FinalizeStore`): a new set
    /// replaces the destination and its TTL, or an empty result deletes it.
    private func storeRange(_ elements: [SortedSet.Element], at destination: [UInt8], sizeHint: Int,
                            _ context: inout CommandContext) -> RESPValue {
        guard !elements.isEmpty else {
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        var stored = Self.makeSortedSet(sizeHint: sizeHint, memberByteCountHint: 0)
        for element in elements { _ = stored.add(element.member, score: element.score) }
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .sortedSet(SortedSetValue(stored)))
        context.dirty += 1
        return .integer(Int64(elements.count))
    }
}
