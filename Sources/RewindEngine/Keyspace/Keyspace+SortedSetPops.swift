// ZMPOP, the non-blocking semantics of BZPOPMIN, BZPOPMAX and BZMPOP, and ZRANDMEMBER.
// See redis src/t_zset.c (genericZpopCommand, zmpopGenericCommand, zrandmemberWithCountCommand).

import RewindRESP

extension Keyspace {
    /// Pops up to `count` elements from the minimum (or maximum) of an existing sorted set.
    private func popElements(_ sortedSet: SortedSetValue, fromMaximum: Bool, count: Int) -> [SortedSet.Element] {
        let total = sortedSet.elements.count
        let taken = min(count, total)
        guard taken > 0 else { return [] }
        var popped = sortedSet.elements.removeElements(inRankRange: fromMaximum ? (total - taken)...(total - 1) : 0...(taken - 1))
        if fromMaximum { popped.reverse() }
        return popped
    }

    /// BZPOPMIN and BZPOPMAX without blocking: pop one element from the first non-empty sorted
    /// set, or reply a null array as a timed-out client would.
    ///
    /// Determinism: logged as `ZPOPMIN key` / `ZPOPMAX key`, as Redis 7.0 rewrites them.
    private func blockingZpop(_ context: inout CommandContext, fromMaximum: Bool) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[context.argumentCount - 1])
        for key in context.arguments[1..<(context.argumentCount - 1)] {
            guard let sortedSet = try lookupSortedSet(key, &context) else { continue }
            let popped = popElements(sortedSet, fromMaximum: fromMaximum, count: 1)
            guard let element = popped.first else { continue }
            finishSortedSetWrite(key, sortedSet, db: context.db)
            context.dirty += 1
            context.rewrittenArguments = [Array((fromMaximum ? "ZPOPMAX" : "ZPOPMIN").utf8), key]
            return .array([.bulkString(key), .bulkString(element.member), .double(element.score)])
        }
        return .nullArray
    }

    func bzpopminCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try blockingZpop(&context, fromMaximum: false)
    }

    func bzpopmaxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try blockingZpop(&context, fromMaximum: true)
    }

    /// ZMPOP and BZMPOP: numkeys, keys, MIN|MAX, [COUNT n]; replies the key and nested
    /// member/score pairs.
    ///
    /// Determinism: logged as `ZPOPMIN key n` / `ZPOPMAX key n` with the number popped, as Redis
    /// 7.0 rewrites it.
    private func multiZpop(_ context: inout CommandContext, numkeysIndex: Int) throws(CommandError) -> RESPValue {
        guard let keyCount = parseInt64(context.arguments[numkeysIndex]), keyCount >= 1 else {
            throw ErrorReply.numkeysNotPositive
        }
        guard keyCount < Int64(context.argumentCount - numkeysIndex - 1) else { throw ErrorReply.syntax }
        let whereIndex = numkeysIndex + Int(keyCount) + 1
        let fromMaximum: Bool
        if context.argument(whereIndex, is: "MIN") { fromMaximum = false }
        else if context.argument(whereIndex, is: "MAX") { fromMaximum = true }
        else { throw ErrorReply.syntax }
        var count: Int64?
        var index = whereIndex + 1
        while index < context.argumentCount {
            guard count == nil, context.argument(index, is: "COUNT"), index + 1 < context.argumentCount else {
                throw ErrorReply.syntax
            }
            guard let parsed = parseInt64(context.arguments[index + 1]), parsed >= 1 else {
                throw CommandError("ERR count should be greater than 0")
            }
            count = parsed
            index += 2
        }
        for key in context.arguments[(numkeysIndex + 1)..<whereIndex] {
            guard let sortedSet = try lookupSortedSet(key, &context) else { continue }
            let popped = popElements(sortedSet, fromMaximum: fromMaximum, count: Int(min(count ?? 1, Int64(Int32.max))))
            finishSortedSetWrite(key, sortedSet, db: context.db)
            context.dirty += 1
            context.rewrittenArguments = [Array((fromMaximum ? "ZPOPMAX" : "ZPOPMIN").utf8), key,
                                          formatInt64(Int64(popped.count))]
            let pairs = popped.map { RESPValue.array([.bulkString($0.member), .double($0.score)]) }
            return .array([.bulkString(key), .array(pairs)])
        }
        return .nullArray
    }

    func zmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try multiZpop(&context, numkeysIndex: 1)
    }

    func bzmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[1])
        return try multiZpop(&context, numkeysIndex: 2)
    }

    /// ZRANDMEMBER key [count [WITHSCORES]] (Redis `zrandmemberCommand`): distinct members for a
    /// positive count, with repetition for a negative one; WITHSCORES replies flat pairs.
    func zrandmemberCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard context.argumentCount >= 3 else {
            guard let sortedSet = try lookupSortedSet(key, &context), sortedSet.elements.count > 0,
                  let element = sortedSet.elements.element(atRank: Int(random.next(below: UInt64(sortedSet.elements.count))))
            else { return .null }
            return .bulkString(element.member)
        }
        let count = try signedCount(context.arguments[2])
        var withScores = false
        if context.argumentCount > 4 || (context.argumentCount == 4 && !context.argument(3, is: "WITHSCORES")) {
            throw ErrorReply.syntax
        } else if context.argumentCount == 4 {
            withScores = true
            guard count >= -Int64.max / 2 && count <= Int64.max / 2 else { throw ErrorReply.valueOutOfRange }
        }
        guard let sortedSet = try lookupSortedSet(key, &context), count != 0 else { return .array([]) }
        let size = sortedSet.elements.count
        var ranks: [Int]
        if count < 0 {
            ranks = (0..<Int(min(count.magnitude, UInt64(Int32.max)))).map { _ in Int(random.next(below: UInt64(size))) }
        } else {
            ranks = Array(0..<size)
            if count < Int64(size) {
                for position in 0..<Int(count) {
                    ranks.swapAt(position, position + Int(random.next(below: UInt64(size - position))))
                }
                ranks = Array(ranks.prefix(Int(count)))
            }
        }
        return reply(ranks.compactMap { sortedSet.elements.element(atRank: $0) }, withScores: withScores)
    }
}

extension Keyspace {
    /// ZSCAN key cursor [MATCH pattern] [COUNT count]: the whole sorted set in one reply with
    /// cursor 0, which SCAN's contract allows (COUNT is a hint); scores print as Redis `d2string`.
    func zscanCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        _ = try parseScanCursor(context.arguments[2])
        let options = try parseScanOptions(context, from: 3, allowsType: false)
        guard let sortedSet = try lookupSortedSet(context.arguments[1], &context) else {
            return .array([.bulkString(Array("0".utf8)), .array([])])
        }
        var items: [RESPValue] = []
        for element in sortedSet.elements.elements {
            if let pattern = options.pattern, !globMatches(pattern: pattern, string: element.member) { continue }
            items.append(.bulkString(element.member))
            items.append(.bulkString(formatScore(element.score)))
        }
        return .array([.bulkString(Array("0".utf8)), .array(items)])
    }
}
