// List commands. See redis src/t_list.c (pushGenericCommand, popGenericCommand, lmoveGenericCommand,
// lposCommand, mpopGenericCommand, blockingPopGenericCommand).

import RewindRESP

/// Which end of a list a command works on.
enum ListEnd {
    case head, tail

    /// Parses LEFT or RIGHT (Redis `getListPositionFromObjectOrReply`).
    init(_ bytes: [UInt8]) throws(CommandError) {
        if argumentEquals(bytes, "LEFT") { self = .head }
        else if argumentEquals(bytes, "RIGHT") { self = .tail }
        else { throw ErrorReply.syntax }
    }
}

extension Keyspace {
    // MARK: - Shared workers

    /// Parses a count as Redis `getPositiveLongFromObjectOrReply` with a custom message: any
    /// non-integer or negative value gets `error`.
    func nonNegativeCount(_ bytes: [UInt8], error: CommandError) throws(CommandError) -> Int64 {
        guard let value = parseInt64(bytes), value >= 0 else { throw error }
        return value
    }

    /// Removes `key` when its list became empty and signals the change.
    func finishListWrite(_ key: [UInt8], _ list: ListValue, db: Int) {
        if list.items.isEmpty {
            deleteKey(db: db, key)
        } else {
            signalModified(db: db, key)
        }
    }

    /// LPUSH, RPUSH, LPUSHX and RPUSHX (Redis `pushGenericCommand`).
    private func pushGeneric(_ context: inout CommandContext, end: ListEnd, onlyIfExists: Bool) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var list = try lookupList(key, &context)
        if list == nil {
            if onlyIfExists { return .integer(0) }
            let created = ListValue()
            addKey(db: context.db, key, .list(created))
            list = created
        }
        guard let list else { return .integer(0) }
        for element in context.arguments.dropFirst(2) {
            if end == .head { list.items.prepend(element) } else { list.items.append(element) }
        }
        signalModified(db: context.db, key)
        context.dirty += context.argumentCount - 2
        return .integer(Int64(list.items.count))
    }

    /// Pops up to `count` elements from one end of an existing, non-empty list.
    func popElements(_ list: ListValue, end: ListEnd, count: Int) -> [[UInt8]] {
        let taken = min(count, list.items.count)
        var popped: [[UInt8]] = []
        popped.reserveCapacity(taken)
        for _ in 0..<taken {
            if let element = end == .head ? list.items.popFirst() : list.items.popLast() { popped.append(element) }
        }
        return popped
    }

    /// LPOP and RPOP with an optional count (Redis `popGenericCommand`).
    private func popGeneric(_ context: inout CommandContext, end: ListEnd) throws(CommandError) -> RESPValue {
        guard context.argumentCount <= 3 else { throw ErrorReply.wrongArity(context.commandName) }
        let key = context.arguments[1]
        var count: Int64?
        if context.argumentCount == 3 {
            count = try nonNegativeCount(context.arguments[2], error: ErrorReply.mustBePositive)
        }
        guard let list = try lookupList(key, &context) else { return count == nil ? .null : .nullArray }
        if count == 0 { return .array([]) }
        let popped = popElements(list, end: end, count: Int(min(count ?? 1, Int64(Int32.max))))
        finishListWrite(key, list, db: context.db)
        context.dirty += 1
        if count == nil { return popped.first.map(RESPValue.bulkString) ?? .null }
        return .array(popped.map(RESPValue.bulkString))
    }

    /// Resolves a Redis list range (LRANGE semantics) to bounds, or nil when empty.
    func listRange(start: Int64, end: Int64, length: Int) -> ClosedRange<Int>? {
        let length64 = Int64(length)
        var start = start < 0 ? start &+ length64 : start
        var end = end < 0 ? end &+ length64 : end
        if start < 0 { start = 0 }
        if start >= length64 || start > end { return nil }
        if end >= length64 { end = length64 - 1 }
        return Int(start)...Int(end)
    }

    // MARK: - Push and pop

    func lpushCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try pushGeneric(&context, end: .head, onlyIfExists: false)
    }

    func rpushCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try pushGeneric(&context, end: .tail, onlyIfExists: false)
    }

    func lpushxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try pushGeneric(&context, end: .head, onlyIfExists: true)
    }

    func rpushxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try pushGeneric(&context, end: .tail, onlyIfExists: true)
    }

    func lpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try popGeneric(&context, end: .head)
    }

    func rpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try popGeneric(&context, end: .tail)
    }

    // MARK: - Reading

    func llenCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupList(context.arguments[1], &context)?.items.count ?? 0))
    }

    func lrangeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let start = try context.integer(at: 2)
        let end = try context.integer(at: 3)
        guard let list = try lookupList(context.arguments[1], &context),
              let range = listRange(start: start, end: end, length: list.items.count) else { return .array([]) }
        return .array(list.items[range].map(RESPValue.bulkString))
    }

    func lindexCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let list = try lookupList(context.arguments[1], &context) else { return .null }
        var index = try context.integer(at: 2)
        if index < 0 { index = index &+ Int64(list.items.count) }
        guard index >= 0 && index < Int64(list.items.count) else { return .null }
        return .bulkString(list.items[Int(index)])
    }

    /// LPOS key element [RANK rank] [COUNT count] [MAXLEN len] (Redis `lposCommand`). Positions
    /// always count from the head, whichever end the search starts from.
    func lposCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var rank: Int64 = 1
        var count: Int64?
        var maxLength: Int64 = 0
        var index = 3
        while index < context.argumentCount {
            let hasMore = index + 1 < context.argumentCount
            if context.argument(index, is: "RANK") && hasMore {
                rank = try context.integer(at: index + 1)
                if rank == 0 { throw ErrorReply.rankZero }
            } else if context.argument(index, is: "COUNT") && hasMore {
                count = try nonNegativeCount(context.arguments[index + 1], error: ErrorReply.countNegative)
            } else if context.argument(index, is: "MAXLEN") && hasMore {
                maxLength = try nonNegativeCount(context.arguments[index + 1], error: ErrorReply.maxlenNegative)
            } else {
                throw ErrorReply.syntax
            }
            index += 2
        }
        guard let list = try lookupList(context.arguments[1], &context) else { return count == nil ? .null : .array([]) }
        let element = context.arguments[2]
        let fromTail = rank < 0
        // Redis negates a negative rank in a C long; LLONG_MIN stays negative and so accepts the
        // first match, which skipping nothing reproduces.
        let skip: Int64 = rank == Int64.min ? 0 : abs(rank) - 1
        var matches: Int64 = 0
        var positions: [RESPValue] = []
        let length = list.items.count
        var compared: Int64 = 0
        var step = 0
        var forward = list.items.makeIterator()
        var backward = list.items.reversedElements()
        while step < length && (maxLength == 0 || compared < maxLength) {
            let position = fromTail ? length - 1 - step : step
            step += 1
            compared += 1
            guard let current = fromTail ? backward.next() : forward.next() else { break }
            guard current == element else { continue }
            matches += 1
            if matches <= skip { continue }
            positions.append(.integer(Int64(position)))
            guard let count else { break }
            if count != 0 && Int64(positions.count) >= count { break }
        }
        if count == nil { return positions.first ?? .null }
        return .array(positions)
    }

    // MARK: - Editing

    func lsetCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let list = try lookupList(key, &context) else { throw ErrorReply.noSuchKey }
        var index = try context.integer(at: 2)
        if index < 0 { index = index &+ Int64(list.items.count) }
        guard index >= 0 && index < Int64(list.items.count) else { throw ErrorReply.indexOutOfRange }
        list.items[Int(index)] = context.arguments[3]
        signalModified(db: context.db, key)
        context.dirty += 1
        return .ok
    }

    func linsertCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let after: Bool
        if context.argument(2, is: "AFTER") { after = true }
        else if context.argument(2, is: "BEFORE") { after = false }
        else { throw ErrorReply.syntax }
        guard let list = try lookupList(key, &context) else { return .integer(0) }
        guard let pivot = list.items.firstIndex(of: context.arguments[3]) else { return .integer(-1) }
        list.items.insert(context.arguments[4], at: after ? pivot + 1 : pivot)
        signalModified(db: context.db, key)
        context.dirty += 1
        return .integer(Int64(list.items.count))
    }

    func lremCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let count = try context.integer(at: 2)
        guard let list = try lookupList(key, &context) else { return .integer(0) }
        let element = context.arguments[3]
        let limit = count == 0 ? Int64.max : (count == Int64.min ? Int64.max : abs(count))
        var removed: Int64 = 0
        var kept: [[UInt8]] = []
        kept.reserveCapacity(list.items.count)
        let ordered: [[UInt8]] = count < 0 ? list.items.reversed() : Array(list.items)
        for item in ordered {
            if removed < limit && item == element { removed += 1 } else { kept.append(item) }
        }
        guard removed > 0 else { return .integer(0) }
        list.items = PackedList(count < 0 ? kept.reversed() : kept)
        finishListWrite(key, list, db: context.db)
        context.dirty += Int(removed)
        return .integer(removed)
    }

    func ltrimCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let start = try context.integer(at: 2)
        let end = try context.integer(at: 3)
        guard let list = try lookupList(key, &context) else { return .ok }
        let length = list.items.count
        let kept = listRange(start: start, end: end, length: length)
        let removedCount = length - (kept?.count ?? 0)
        // Redis `ltrimCommand` signals the key even when nothing was trimmed (WATCH sees it),
        // but counts no change, so nothing is logged.
        guard removedCount > 0 else {
            signalModified(db: context.db, key)
            return .ok
        }
        if let kept {
            list.items.removeLast(length - 1 - kept.upperBound)
            list.items.removeFirst(kept.lowerBound)
        } else {
            list.items.removeAll()
        }
        finishListWrite(key, list, db: context.db)
        context.dirty += removedCount
        return .ok
    }
}
