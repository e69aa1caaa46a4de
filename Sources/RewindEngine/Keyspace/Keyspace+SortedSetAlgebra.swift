// Sorted-set pops, random members, scans and set algebra. See redis src/t_zset.c
// (genericZpopCommand, blockingGenericZpopCommand, zmpopGenericCommand, zrandmemberWithCountCommand,
// zunionInterDiffGenericCommand, zunionInterAggregate, zdiff) and src/db.c (scanGenericCommand).

import RewindRESP

extension Keyspace {
    // MARK: - Pops

    /// Which end a pop takes from (Redis `ZSET_MIN` / `ZSET_MAX`).
    enum SortedSetEnd {
        case min, max

        init(_ bytes: [UInt8]) throws(CommandError) {
            if argumentEquals(bytes, "MIN") { self = .min }
            else if argumentEquals(bytes, "MAX") { self = .max }
            else { throw ErrorReply.syntax }
        }

        var loggedName: [UInt8] { self == .min ? LoggedName.zpopmin : LoggedName.zpopmax }
    }

    /// Removes up to `count` elements from one end, lowest first for `.min`, highest first for
    /// `.max`, deleting the key when it empties. Returns the elements in pop order.
    private func popElements(_ key: [UInt8], _ sortedSet: SortedSetValue, end: SortedSetEnd, count: Int,
                             _ context: inout CommandContext) -> [SortedSet.Element] {
        let total = sortedSet.elements.count
        let taken = min(count, total)
        guard taken > 0 else { return [] }
        let ranks = end == .min ? 0...(taken - 1) : (total - taken)...(total - 1)
        var popped = sortedSet.elements.removeElements(inRankRange: ranks)
        if end == .max { popped.reverse() }
        finishSortedSetWrite(key, sortedSet, db: context.db)
        context.dirty += popped.count
        return popped
    }

    /// ZPOPMIN/ZPOPMAX key [count] (Redis `zpopMinMaxCommand`): a flat member/score array.
    ///
    /// Determinism: logged as sent; which elements go is a pure function of the state.
    private func zpop(_ context: inout CommandContext, end: SortedSetEnd) throws(CommandError) -> RESPValue {
        if context.argumentCount > 3 { throw ErrorReply.syntax }
        var count: Int64 = 1
        if context.argumentCount == 3 {
            count = try nonNegativeCount(context.arguments[2], error: ErrorReply.mustBePositive)
        }
        let key = context.arguments[1]
        guard let sortedSet = try lookupSortedSet(key, &context), count > 0 else { return .array([]) }
        let popped = popElements(key, sortedSet, end: end, count: Int(clamping: count), &context)
        // RESP3: pairs when a count was given, even 1; one flat pair without it (Redis 7.0).
        return Self.elementsReply(popped, withScores: true,
                                  pairs: context.session.protocolVersion == .resp3 && context.argumentCount == 3)
    }

    func zpopminCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zpop(&context, end: .min)
    }

    func zpopmaxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zpop(&context, end: .max)
    }

    /// BZPOPMIN/BZPOPMAX key [key ...] timeout without blocking: the first non-empty key's
    /// element as [key, member, score], or a null array (what Redis replies inside MULTI).
    ///
    /// Determinism: logged as `ZPOPMIN key` / `ZPOPMAX key`, as Redis 7.0
    /// `blockingGenericZpopCommand` rewrites it.
    private func bzpop(_ context: inout CommandContext, end: SortedSetEnd) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[context.argumentCount - 1])
        for key in context.arguments[1..<(context.argumentCount - 1)] {
            guard let sortedSet = try lookupSortedSet(key, &context), !sortedSet.elements.isEmpty else { continue }
            let element = popElements(key, sortedSet, end: end, count: 1, &context)[0]
            context.rewrittenArguments = [end.loggedName, key]
            return .array([.bulkString(key), .bulkString(element.member), .double(element.score)])
        }
        return .nullArray
    }

    func bzpopminCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try bzpop(&context, end: .min)
    }

    func bzpopmaxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try bzpop(&context, end: .max)
    }

    /// ZMPOP and BZMPOP (Redis `zmpopGenericCommand`): numkeys key... MIN|MAX [COUNT count].
    ///
    /// Determinism: logged as `ZPOPMIN key n` / `ZPOPMAX key n`, n the number popped, as
    /// redis-server 7.0.15 writes it to its AOF (`rewriteClientCommandVector` in `genericZpopCommand`).
    ///
    /// BZMPOP's timeout is parsed after the other arguments and before any key is read, as Redis
    /// parses it in `blockingGenericZpopCommand`.
    private func zmpop(_ context: inout CommandContext, numkeysIndex: Int, timeoutIndex: Int? = nil) throws(CommandError) -> RESPValue {
        guard let keyCount = parseInt64(context.arguments[numkeysIndex]), keyCount >= 1 else {
            throw ErrorReply.numkeysNotPositive
        }
        guard keyCount < Int64(context.argumentCount - numkeysIndex - 1) else { throw ErrorReply.syntax }
        let whereIndex = numkeysIndex + Int(keyCount) + 1
        let end = try SortedSetEnd(context.arguments[whereIndex])
        var count: Int64?
        var index = whereIndex + 1
        while index < context.argumentCount {
            guard count == nil, context.argument(index, is: "COUNT"), index + 1 < context.argumentCount else {
                throw ErrorReply.syntax
            }
            guard let parsed = parseInt64(context.arguments[index + 1]), parsed >= 1 else {
                throw ErrorReply.countNotPositive
            }
            count = parsed
            index += 2
        }
        if let timeoutIndex { _ = try parseTimeoutMilliseconds(context.arguments[timeoutIndex]) }
        for key in context.arguments[(numkeysIndex + 1)..<whereIndex] {
            guard let sortedSet = try lookupSortedSet(key, &context), !sortedSet.elements.isEmpty else { continue }
            let popped = popElements(key, sortedSet, end: end, count: Int(clamping: count ?? 1), &context)
            // Redis 7.0.15's AOF holds the number actually popped (ZMPOP 1 z MIN COUNT 5 on three
            // members is written as ZPOPMIN z 3).
            context.rewrittenArguments = [end.loggedName, key, formatInt64(Int64(popped.count))]
            return .array([.bulkString(key), .array(popped.map { .array([.bulkString($0.member), .double($0.score)]) })])
        }
        return .nullArray
    }

    func zmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zmpop(&context, numkeysIndex: 1)
    }

    func bzmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zmpop(&context, numkeysIndex: 2, timeoutIndex: 1)
    }

    // MARK: - Random members

    /// ZRANDMEMBER key [count [WITHSCORES]]: read-only, so nothing is logged; the choice draws
    /// from the keyspace's seeded generator.
    func zrandmemberCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard context.argumentCount >= 3 else {
            guard let sortedSet = try lookupSortedSet(key, &context), !sortedSet.elements.isEmpty else { return .null }
            let rank = Int(random.next(below: UInt64(sortedSet.elements.count)))
            return sortedSet.elements.element(atRank: rank).map { .bulkString($0.member) } ?? .null
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
        var chosen: [SortedSet.Element] = []
        if count < 0 {
            let wanted = try Self.repeatedPickCount(count)
            chosen.reserveCapacity(wanted)
            for _ in 0..<wanted {
                if let element = sortedSet.elements.element(atRank: Int(random.next(below: UInt64(size)))) {
                    chosen.append(element)
                }
            }
        } else if count >= Int64(size) {
            // Redis returns the whole set through zuiNext, which walks from the tail.
            chosen = sortedSet.elements.elements.reversed()
        } else {
            var ranks = Array(0..<size)
            for position in 0..<Int(count) {
                ranks.swapAt(position, position + Int(random.next(below: UInt64(size - position))))
            }
            chosen = ranks.prefix(Int(count)).compactMap { sortedSet.elements.element(atRank: $0) }
        }
        return Self.elementsReply(chosen, withScores: withScores, pairs: context.session.protocolVersion == .resp3)
    }

    // MARK: - Algebra

    /// One input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (every score 1), or nothing.
    private enum AlgebraSource {
        case missing
        case sortedSet(SortedSetValue)
        case set(SetValue)

        var count: Int {
            switch self {
            case .missing: return 0
            case .sortedSet(let value): return value.elements.count
            case .set(let value): return value.members.count
            }
        }

        func score(of member: [UInt8]) -> Double? {
            switch self {
            case .missing: return nil
            case .sortedSet(let value): return value.elements.score(of: member)
            case .set(let value): return value.contains(member) ? 1 : nil
            }
        }

        var elements: [SortedSet.Element] {
            switch self {
            case .missing: return []
            case .sortedSet(let value): return value.elements.elements
            case .set(let value): return value.elements.map { SortedSet.Element(member: $0, score: 1) }
            }
        }

        func isSameObject(as other: AlgebraSource) -> Bool {
            switch (self, other) {
            case (.sortedSet(let a), .sortedSet(let b)): return a === b
            case (.set(let a), .set(let b)): return a === b
            default: return false
            }
        }
    }

    private enum Aggregate { case sum, min, max }

    private enum AlgebraOperation { case union, intersection, difference }

    /// Redis `zunionInterAggregate`: a sum of `inf` and `-inf` is 0, not NaN.
    private static func aggregate(_ target: inout Double, _ value: Double, _ aggregate: Aggregate) {
        switch aggregate {
        case .sum:
            target += value
            if target.isNaN { target = 0 }
        case .min: target = value < target ? value : target
        case .max: target = value > target ? value : target
        }
    }

    /// Redis `zunionInterDiffGenericCommand`: keys (type-checked first), then WEIGHTS,
    /// AGGREGATE, WITHSCORES or LIMIT, then the operation. Returns the reply.
    private func zalgebra(_ context: inout CommandContext, destination: [UInt8]?, numkeysIndex: Int,
                          operation: AlgebraOperation, cardinalityOnly: Bool = false) throws(CommandError) -> RESPValue {
        let keyCount = try context.integer(at: numkeysIndex)
        guard keyCount >= 1 else { throw ErrorReply.atLeastOneInputKey(context.commandName) }
        guard keyCount <= Int64(context.argumentCount - numkeysIndex - 1) else { throw ErrorReply.syntax }
        var sources: [AlgebraSource] = []
        var index = numkeysIndex + 1
        for _ in 0..<Int(keyCount) {
            switch lookup(context.arguments[index], &context) {
            case nil: sources.append(.missing)
            case .sortedSet(let value)?: sources.append(.sortedSet(value))
            case .set(let value)?: sources.append(.set(value))
            default: throw ErrorReply.wrongType
            }
            index += 1
        }
        let options = try parseAlgebraOptions(context, from: index, sourceCount: sources.count, operation: operation,
                                              allowsWithScores: destination == nil, cardinalityOnly: cardinalityOnly)
        let weights = options.weights ?? Array(repeating: 1, count: sources.count)
        let aggregate = options.aggregate
        let withScores = options.withScores
        let limit = options.limit
        // Redis sorts the inputs by size (a stable sort in glibc's qsort), which fixes the
        // order the scores are summed in, so floating-point sums match.
        var order = Array(sources.indices)
        if operation != .difference {
            order.sort { sources[$0].count < sources[$1].count || (sources[$0].count == sources[$1].count && $0 < $1) }
        }
        let ordered = order.map { sources[$0] }
        let orderedWeights = order.map { weights[$0] }
        if cardinalityOnly {
            return .integer(Int64(intersection(ordered, orderedWeights, aggregate, limit: Int(clamping: limit)).count))
        }
        let result: [SortedSet.Element]
        switch operation {
        case .union: result = union(ordered, orderedWeights, aggregate)
        case .intersection: result = intersection(ordered, orderedWeights, aggregate, limit: 0)
        case .difference: result = difference(ordered)
        }
        var built = SortedSet(encoding: .skiplist)
        for element in result { _ = built.add(element.member, score: element.score) }
        guard let destination else {
            return Self.elementsReply(built.elements, withScores: withScores, pairs: context.session.protocolVersion == .resp3)
        }
        guard !built.isEmpty else {
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        built.convertToCompactIfFits()
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .sortedSet(SortedSetValue(built)))
        context.dirty += 1
        return .integer(Int64(built.count))
    }

    /// The options after the keys of ZUNION/ZINTER/ZDIFF and their STORE forms and ZINTERCARD.
    private struct AlgebraOptions {
        var weights: [Double]?
        var aggregate = Aggregate.sum
        var withScores = false
        var limit: Int64 = 0
    }

    /// Parses WEIGHTS, AGGREGATE, WITHSCORES and LIMIT where each applies, as the option loop of
    /// Redis `zunionInterDiffGenericCommand` does (after the keys were looked up).
    private func parseAlgebraOptions(_ context: CommandContext, from start: Int, sourceCount: Int,
                                     operation: AlgebraOperation, allowsWithScores: Bool,
                                     cardinalityOnly: Bool) throws(CommandError) -> AlgebraOptions {
        var options = AlgebraOptions()
        var index = start
        let combines = operation != .difference && !cardinalityOnly
        while index < context.argumentCount {
            let remaining = context.argumentCount - index
            if combines && remaining >= sourceCount + 1 && context.argument(index, is: "WEIGHTS") {
                var weights: [Double] = []
                for source in 0..<sourceCount {
                    weights.append(try parseScore(context.arguments[index + 1 + source], error: ErrorReply.weightNotFloat))
                }
                options.weights = weights
                index += sourceCount + 1
            } else if combines && remaining >= 2 && context.argument(index, is: "AGGREGATE") {
                if context.argument(index + 1, is: "SUM") { options.aggregate = .sum }
                else if context.argument(index + 1, is: "MIN") { options.aggregate = .min }
                else if context.argument(index + 1, is: "MAX") { options.aggregate = .max }
                else { throw ErrorReply.syntax }
                index += 2
            } else if allowsWithScores && !cardinalityOnly && context.argument(index, is: "WITHSCORES") {
                options.withScores = true
                index += 1
            } else if cardinalityOnly && remaining >= 2 && context.argument(index, is: "LIMIT") {
                options.limit = try nonNegativeCount(context.arguments[index + 1], error: ErrorReply.limitNegative)
                index += 2
            } else {
                throw ErrorReply.syntax
            }
        }
        return options
    }

    private func intersection(_ sources: [AlgebraSource], _ weights: [Double], _ aggregate: Aggregate,
                              limit: Int) -> [SortedSet.Element] {
        guard let first = sources.first, first.count > 0 else { return [] }
        var result: [SortedSet.Element] = []
        for element in first.elements.reversed() {
            var score = weights[0] * element.score
            if score.isNaN { score = 0 }
            var inAll = true
            for other in 1..<sources.count {
                if sources[other].isSameObject(as: first) {
                    Self.aggregate(&score, element.score * weights[other], aggregate)
                } else if let value = sources[other].score(of: element.member) {
                    Self.aggregate(&score, value * weights[other], aggregate)
                } else {
                    inAll = false
                    break
                }
            }
            guard inAll else { continue }
            result.append(SortedSet.Element(member: element.member, score: score))
            if limit > 0 && result.count >= limit { break }
        }
        return result
    }

    private func union(_ sources: [AlgebraSource], _ weights: [Double], _ aggregate: Aggregate) -> [SortedSet.Element] {
        var positions: [ByteKey: Int] = [:]
        var result: [SortedSet.Element] = []
        for (sourceIndex, source) in sources.enumerated() where source.count > 0 {
            for element in source.elements.reversed() {
                var score = weights[sourceIndex] * element.score
                if score.isNaN { score = 0 }
                if let position = positions[ByteKey(element.member)] {
                    Self.aggregate(&result[position].score, score, aggregate)
                } else {
                    positions[ByteKey(element.member)] = result.count
                    result.append(SortedSet.Element(member: element.member, score: score))
                }
            }
        }
        return result
    }

    private func difference(_ sources: [AlgebraSource]) -> [SortedSet.Element] {
        guard let first = sources.first else { return [] }
        return first.elements.filter { element in
            !sources.dropFirst().contains { $0.score(of: element.member) != nil }
        }
    }

    func zunionCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: nil, numkeysIndex: 1, operation: .union)
    }

    func zinterCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: nil, numkeysIndex: 1, operation: .intersection)
    }

    func zdiffCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: nil, numkeysIndex: 1, operation: .difference)
    }

    /// ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE are logged as sent: the result is a pure function
    /// of the inputs the log rebuilds.
    func zunionstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: context.arguments[1], numkeysIndex: 2, operation: .union)
    }

    func zinterstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: context.arguments[1], numkeysIndex: 2, operation: .intersection)
    }

    func zdiffstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: context.arguments[1], numkeysIndex: 2, operation: .difference)
    }

    func zintercardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try zalgebra(&context, destination: nil, numkeysIndex: 1, operation: .intersection, cardinalityOnly: true)
    }

    // MARK: - Scan

    /// ZSCAN key cursor [MATCH pattern] [COUNT count]. A compact set comes back whole with
    /// cursor 0, as Redis's listpack does; a skiplist is walked in rank order, the cursor being
    /// the next rank. Scores are printed as Redis prints them (`%.17g`).
    func zscanCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        // Redis `zscanCommand`: the cursor, then the key, and only then the options.
        let cursor = try parseScanCursor(context.arguments[2])
        guard let sortedSet = try lookupSortedSet(context.arguments[1], &context) else {
            return .array([.bulkString(Array("0".utf8)), .array([])])
        }
        let options = try parseScanOptions(context, from: 3, allowsType: false)
        let members = sortedSet.elements
        var visited: [SortedSet.Element]
        var nextCursor: UInt64 = 0
        if members.encoding == .compact {
            visited = members.elements
        } else {
            let start = Int(clamping: cursor)
            visited = start < members.count
                ? members.elements(inRankRange: start...min(members.count - 1, start + options.count - 1)) : []
            let next = start + visited.count
            nextCursor = next >= members.count || visited.isEmpty ? 0 : UInt64(next)
        }
        var reply: [RESPValue] = []
        for element in visited {
            if let pattern = options.pattern, !globMatches(pattern: pattern, string: element.member) { continue }
            reply.append(.bulkString(element.member))
            reply.append(.bulkString(DigestMixer.formatPercent17g(element.score)))
        }
        return .array([.bulkString(Array(String(nextCursor).utf8)), .array(reply)])
    }
}

extension LoggedName {
    static let zpopmin = Array("ZPOPMIN".utf8)
    static let zpopmax = Array("ZPOPMAX".utf8)
}
