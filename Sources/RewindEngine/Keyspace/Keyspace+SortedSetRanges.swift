// ZRANGE and its legacy forms. See redis src/t_zset.c (zrangeGenericCommand and the
// genericZrangeby*Command workers).

import RewindRESP

extension Keyspace {
    /// What a ZRANGE-family command ranges over.
    enum SortedSetRangeKind { case rank, score, lex }

    func zrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: nil, fixedReverse: nil)
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: stores the range
    /// (dropping dst's TTL) and replies its size; an empty range deletes dst.
    func zrangestoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: nil, fixedReverse: nil, storesInto: context.arguments[1])
    }

    func zrevrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: .rank, fixedReverse: true)
    }

    func zrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: .score, fixedReverse: false)
    }

    func zrevrangebyscoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: .score, fixedReverse: true)
    }

    func zrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: .lex, fixedReverse: false)
    }

    func zrevrangebylexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: .lex, fixedReverse: true)
    }

    /// The ZRANGE engine (Redis `zrangeGenericCommand`): options, their conflicts, then the
    /// range (reversed forms take max before min), then the key.
    ///
    /// - Parameters:
    ///   - fixedKind: set by the legacy commands, which then refuse BYSCORE/BYLEX.
    ///   - fixedReverse: set by the legacy commands, which then refuse REV.
    private func zrangeGeneric(_ context: inout CommandContext, fixedKind: SortedSetRangeKind?,
                               fixedReverse: Bool?, storesInto destination: [UInt8]? = nil) throws(CommandError) -> RESPValue {
        let first = destination == nil ? 1 : 2  // the source key's index; min and max follow it
        var kind = fixedKind
        var reverse = fixedReverse
        var withScores = false
        var offset: Int64 = 0
        var limit: Int64 = -1
        var index = first + 3
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
            } else if fixedKind == nil && context.argument(index, is: "BYLEX") {
                kind = .lex
            } else if fixedKind == nil && context.argument(index, is: "BYSCORE") {
                kind = .score
            } else {
                throw ErrorReply.syntax
            }
            index += 1
        }
        let rangeKind = kind ?? .rank
        let isReverse = reverse ?? false
        if limit != -1 && rangeKind == .rank { throw ErrorReply.limitNeedsByscoreOrBylex }
        if withScores && rangeKind == .lex { throw ErrorReply.withscoresWithBylex }
        // A set never holds more than Int32.max elements, so clamping keeps the meaning of any
        // offset or limit while keeping the range arithmetic away from overflow.
        let clampedOffset = Int(min(offset, Int64(Int32.max)))
        let clampedLimit: Int? = limit < 0 ? nil : Int(min(limit, Int64(Int32.max)))
        let swapsBounds = isReverse && rangeKind != .rank
        let minimum = context.arguments[first + (swapsBounds ? 2 : 1)]
        let maximum = context.arguments[first + (swapsBounds ? 1 : 2)]
        let select: (SortedSet) -> [SortedSet.Element]
        switch rangeKind {
        case .rank:
            let start = try context.integer(at: first + 1)
            let stop = try context.integer(at: first + 2)
            select = { sortedSet in
                guard let ranks = SortedSet.normalizedRankRange(start: start, stop: stop, count: sortedSet.count) else { return [] }
                return sortedSet.elements(inRankRange: ranks, reverse: isReverse)
            }
        case .score:
            guard let range = SortedSetScoreRange.parse(min: minimum, max: maximum) else { throw ErrorReply.scoreRangeNotFloat }
            select = { $0.elements(inScoreRange: range, reverse: isReverse, offset: clampedOffset, limit: clampedLimit) }
        case .lex:
            guard let range = SortedSetLexRange.parse(min: minimum, max: maximum) else { throw ErrorReply.lexRangeInvalid }
            select = { $0.elements(inLexRange: range, reverse: isReverse, offset: clampedOffset, limit: clampedLimit) }
        }
        let source = try lookupSortedSet(context.arguments[first], &context)
        guard let destination else {
            guard let source else { return .array([]) }
            return reply(select(source.elements), withScores: withScores)
        }
        let selected = source.map { select($0.elements) } ?? []
        guard let firstMember = selected.first?.member else {
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        var stored = SortedSet(encoding: SortedSet.preferredEncoding(firstMemberByteCount: firstMember.count))
        for element in selected { _ = stored.add(element.member, score: element.score) }
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .sortedSet(SortedSetValue(stored)))
        context.dirty += 1
        return .integer(Int64(selected.count))
    }
}
