// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD. See redis src/t_zset.c
// (zunionInterDiffGenericCommand). Plain sets take part with score 1.

import RewindRESP

extension Keyspace {
    enum SortedSetOperation { case union, intersection, difference }
    private enum Aggregate { case sum, minimum, maximum }

    /// One input: its members and scores (nil for a missing key) and its weight.
    private struct AlgebraSource {
        var elements: [SortedSet.Element]?
        var weight = 1.0
        var count: Int { elements?.count ?? 0 }
    }

    func zunionCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .union, storing: false)
    }

    func zunionstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .union, storing: true)
    }

    func zinterCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .intersection, storing: false)
    }

    func zinterstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .intersection, storing: true)
    }

    func zdiffCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .difference, storing: false)
    }

    func zdiffstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .difference, storing: true)
    }

    func zintercardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try sortedSetAlgebra(&context, .intersection, storing: false, cardinalityOnly: true)
    }

    /// The elements of a zset or set key (sets score 1), nil when missing; WRONGTYPE otherwise.
    private func algebraElements(_ key: [UInt8], _ context: inout CommandContext) throws(CommandError) -> [SortedSet.Element]? {
        switch lookup(key, &context) {
        case nil: return nil
        case .sortedSet(let sortedSet)?: return sortedSet.elements.elements
        case .set(let set)?: return set.elements.map { SortedSet.Element(member: $0, score: 1) }
        default: throw ErrorReply.wrongType
        }
    }

    /// The engine of the family (Redis `zunionInterDiffGenericCommand`): numkeys, the keys, then
    /// WEIGHTS / AGGREGATE / WITHSCORES / LIMIT as the form allows.
    private func sortedSetAlgebra(_ context: inout CommandContext, _ operation: SortedSetOperation, storing: Bool,
                                  cardinalityOnly: Bool = false) throws(CommandError) -> RESPValue {
        let numkeysIndex = storing ? 2 : 1
        let keyCount = try context.integer(at: numkeysIndex)
        guard keyCount >= 1 else {
            throw CommandError("ERR at least 1 input key is needed for '\(context.commandName)' command")
        }
        guard keyCount <= Int64(context.argumentCount - numkeysIndex - 1) else { throw ErrorReply.syntax }
        var sources: [AlgebraSource] = []
        for key in context.arguments[(numkeysIndex + 1)...(numkeysIndex + Int(keyCount))] {
            sources.append(AlgebraSource(elements: try algebraElements(key, &context)))
        }
        var aggregate = Aggregate.sum
        var withScores = false
        var limit: Int64 = 0
        var index = numkeysIndex + Int(keyCount) + 1
        while index < context.argumentCount {
            let remaining = context.argumentCount - index
            if operation != .difference && !cardinalityOnly && remaining >= sources.count + 1 && context.argument(index, is: "WEIGHTS") {
                for offset in sources.indices {
                    guard let weight = parseDouble(context.arguments[index + 1 + offset]) else {
                        throw CommandError("ERR weight value is not a float")
                    }
                    sources[offset].weight = weight
                }
                index += sources.count + 1
            } else if operation != .difference && !cardinalityOnly && remaining >= 2 && context.argument(index, is: "AGGREGATE") {
                if context.argument(index + 1, is: "SUM") { aggregate = .sum }
                else if context.argument(index + 1, is: "MIN") { aggregate = .minimum }
                else if context.argument(index + 1, is: "MAX") { aggregate = .maximum }
                else { throw ErrorReply.syntax }
                index += 2
            } else if !storing && !cardinalityOnly && context.argument(index, is: "WITHSCORES") {
                withScores = true
                index += 1
            } else if cardinalityOnly && remaining >= 2 && context.argument(index, is: "LIMIT") {
                limit = try nonNegativeCount(context.arguments[index + 1], error: ErrorReply.limitNegative)
                index += 2
            } else {
                throw ErrorReply.syntax
            }
        }
        let result = combine(sources, operation, aggregate, cardinalityLimit: cardinalityOnly ? limit : nil)
        if cardinalityOnly { return .integer(Int64(result.count)) }
        if storing { return storeSortedSet(result, at: context.arguments[1], &context) }
        return reply(result, withScores: withScores)
    }

    /// Applies the operation, adding in Redis's order: inputs sorted by size (smallest first,
    /// stable), so floating-point sums come out bit for bit the same.
    private func combine(_ sources: [AlgebraSource], _ operation: SortedSetOperation, _ aggregate: Aggregate,
                         cardinalityLimit: Int64?) -> [SortedSet.Element] {
        func weighted(_ score: Double, _ weight: Double) -> Double {
            let value = score * weight
            return value.isNaN ? 0 : value
        }
        func combined(_ current: Double, _ value: Double) -> Double {
            switch aggregate {
            case .sum: let sum = current + value; return sum.isNaN ? 0 : sum
            // Redis `zunionInterAggregate` keeps the current value on ties, so 0 and -0 stay apart
            // exactly as Redis keeps them (Swift's min/max would pick the other one).
            case .minimum: return value < current ? value : current
            case .maximum: return value > current ? value : current
            }
        }
        // Collected as plain elements and sorted here rather than through SortedSet, which
        // stores -0 as 0: Redis replies a computed -0 (a negative score times weight 0) as "-0".
        var result: [SortedSet.Element] = []
        switch operation {
        case .difference:
            guard let first = sources[0].elements else { return [] }
            let others = sources.dropFirst().compactMap { $0.elements.map { Set($0.map(\.member)) } }
            for element in first where !others.contains(where: { $0.contains(element.member) }) {
                result.append(element)
            }
        case .intersection:
            let ordered = sources.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
            guard ordered.allSatisfy({ $0.elements != nil }), let smallest = ordered.first?.elements else { return [] }
            let lookups = ordered.dropFirst().map { source in
                Dictionary((source.elements ?? []).map { ($0.member, $0.score) }, uniquingKeysWith: { first, _ in first })
            }
            for element in smallest {
                var score = weighted(element.score, ordered[0].weight)
                var inAll = true
                for (offset, lookup) in lookups.enumerated() {
                    guard let other = lookup[element.member] else { inAll = false; break }
                    score = combined(score, weighted(other, ordered[offset + 1].weight))
                }
                guard inAll else { continue }
                result.append(SortedSet.Element(member: element.member, score: score))
                if let cardinalityLimit, cardinalityLimit > 0, result.count >= cardinalityLimit { break }
            }
        case .union:
            let ordered = sources.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
            var scores: [[UInt8]: Double] = [:]
            var order: [[UInt8]] = []
            for source in ordered {
                for element in source.elements ?? [] {
                    let value = weighted(element.score, source.weight)
                    if let current = scores[element.member] {
                        scores[element.member] = combined(current, value)
                    } else {
                        scores[element.member] = value
                        order.append(element.member)
                    }
                }
            }
            result = order.map { SortedSet.Element(member: $0, score: scores[$0] ?? 0) }
        }
        return result.sorted(by: SortedSet.precedes)
    }

    /// Stores an algebra result at `destination` (dropping its TTL), or deletes it when empty.
    private func storeSortedSet(_ elements: [SortedSet.Element], at destination: [UInt8],
                                _ context: inout CommandContext) -> RESPValue {
        guard let first = elements.first else {
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        var stored = SortedSet(encoding: SortedSet.preferredEncoding(firstMemberByteCount: first.member.count))
        for element in elements { _ = stored.add(element.member, score: element.score) }
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .sortedSet(SortedSetValue(stored)))
        context.dirty += 1
        return .integer(Int64(elements.count))
    }
}
