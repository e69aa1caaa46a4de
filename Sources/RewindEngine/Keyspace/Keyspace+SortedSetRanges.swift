// ZRANGE and its legacy forms. See redis src/t_zset.c (zrangeGenericCommand and the
// genericZrangeby*Command workers).

import RewindRESP

extension Keyspace {
    /// What a ZRANGE-family command ranges over.
    enum SortedSetRangeKind { case rank, score, lex }

    func zrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zrangeGeneric(&context, fixedKind: nil, fixedReverse: nil)
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
                               fixedReverse: Bool?) throws(CommandError) -> RESPValue {
        var kind = fixedKind
        var reverse = fixedReverse
        var withScores = false
        var offset: Int64 = 0
        var limit: Int64 = -1
        var index = 4
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            if context.argument(index, is: "WITHSCORES") {
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
        let minimum = context.arguments[swapsBounds ? 3 : 2]
        let maximum = context.arguments[swapsBounds ? 2 : 3]
        let select: (SortedSet) -> [SortedSet.Element]
        switch rangeKind {
        case .rank:
            let start = try context.integer(at: 2)
            let stop = try context.integer(at: 3)
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
        guard let sortedSet = try lookupSortedSet(context.arguments[1], &context) else { return .array([]) }
        return reply(select(sortedSet.elements), withScores: withScores)
    }
}
