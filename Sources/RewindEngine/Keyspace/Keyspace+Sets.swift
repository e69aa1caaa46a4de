// Set commands. See redis src/t_set.c (spopWithCountCommand, srandmemberWithCountCommand,
// smoveCommand, sinterGenericCommand, sunionDiffGenericCommand).

import RewindRESP

extension Keyspace {
    /// Removes `key` when its set became empty, and signals the change.
    func finishSetWrite(_ key: [UInt8], _ set: SetValue, db: Int) {
        if set.members.isEmpty { deleteKey(db: db, key) } else { signalModified(db: db, key) }
    }

    // MARK: - Members

    func saddCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var set = try lookupSet(key, &context)
        if set == nil {
            let created = SetValue()
            addKey(db: context.db, key, .set(created))
            set = created
        }
        var added: Int64 = 0
        for member in context.arguments.dropFirst(2) where set?.insert(member) == true { added += 1 }
        if added > 0 { signalModified(db: context.db, key) }
        context.dirty += Int(added)
        return .integer(added)
    }

    func sremCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        guard let set = try lookupSet(key, &context) else { return .integer(0) }
        var removed: Int64 = 0
        for member in context.arguments.dropFirst(2) {
            if set.members.removeValue(forKey: member) != nil { removed += 1 }
            if set.members.isEmpty { break }
        }
        guard removed > 0 else { return .integer(0) }
        finishSetWrite(key, set, db: context.db)
        context.dirty += Int(removed)
        return .integer(removed)
    }

    func sismemberCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(try lookupSet(context.arguments[1], &context)?.contains(context.arguments[2]) == true ? 1 : 0)
    }

    func smismemberCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let set = try lookupSet(context.arguments[1], &context)
        return .array(context.arguments.dropFirst(2).map { .integer(set?.contains($0) == true ? 1 : 0) })
    }

    func scardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(try lookupSet(context.arguments[1], &context)?.members.count ?? 0))
    }

    func smembersCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .set(try lookupSet(context.arguments[1], &context)?.elements.map(RESPValue.bulkString) ?? [])
    }

    /// SPOP key [count] (Redis `spopCommand`, `spopWithCountCommand`).
    ///
    /// Determinism: the random choice is logged as its effect. One member is logged as
    /// `SREM key member`; a count that takes the whole set as `DEL key`; any other count as one
    /// `SREM key member` per popped member, in one transaction, exactly as Redis 7.0.15 writes it
    /// to its AOF (`alsoPropagate` per element inside MULTI/EXEC).
    func spopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        if context.argumentCount > 3 { throw ErrorReply.syntax }
        guard context.argumentCount == 3 else {
            guard let set = try lookupSet(key, &context),
                  let index = set.members.randomSlotIndex(using: &random),
                  let member = set.members.key(at: index) else { return .null }
            set.members.remove(at: index)
            finishSetWrite(key, set, db: context.db)
            context.dirty += 1
            context.rewrittenArguments = [LoggedName.srem, key, member]
            return .bulkString(member)
        }
        let count = try nonNegativeCount(context.arguments[2], error: ErrorReply.mustBePositive)
        guard let set = try lookupSet(key, &context), count > 0 else { return .set([]) }
        if count >= Int64(set.members.count) {
            let members = set.elements
            deleteKey(db: context.db, key)
            context.dirty += 1
            context.rewrittenArguments = [LoggedName.del, key]
            return .set(members.map(RESPValue.bulkString))
        }
        var popped: [[UInt8]] = []
        for index in try randomSlotIndexes(of: set.members, count: count) {
            if let member = set.members.key(at: index) { popped.append(member) }
        }
        for member in popped { set.members.removeValue(forKey: member) }
        finishSetWrite(key, set, db: context.db)
        for member in popped { context.alsoPropagate([LoggedName.srem, key, member]) }
        context.dirty += popped.count
        context.preventPropagation = true
        return .set(popped.map(RESPValue.bulkString))
    }

    /// SRANDMEMBER key [count]: distinct members for a positive count, with repetition for a
    /// negative one (Redis `srandmemberWithCountCommand`).
    func srandmemberCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        if context.argumentCount > 3 { throw ErrorReply.syntax }
        guard context.argumentCount == 3 else {
            guard let set = try lookupSet(key, &context),
                  let index = set.members.randomSlotIndex(using: &random) else { return .null }
            return set.members.key(at: index).map(RESPValue.bulkString) ?? .null
        }
        let count = try signedCount(context.arguments[2])
        guard let set = try lookupSet(key, &context), count != 0 else { return .array([]) }
        return .array(try randomSlotIndexes(of: set.members, count: count).compactMap {
            set.members.key(at: $0).map(RESPValue.bulkString)
        })
    }

    func smoveCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let sourceKey = context.arguments[1]
        let destinationKey = context.arguments[2]
        let member = context.arguments[3]
        let sourceValue = lookup(sourceKey, &context)
        let destinationValue = lookup(destinationKey, &context)
        guard let sourceValue else { return .integer(0) }
        guard case .set(let source) = sourceValue else { throw ErrorReply.wrongType }
        var destination: SetValue?
        if let destinationValue {
            guard case .set(let existing) = destinationValue else { throw ErrorReply.wrongType }
            destination = existing
        }
        if source === destination { return .integer(source.contains(member) ? 1 : 0) }
        guard source.members.removeValue(forKey: member) != nil else { return .integer(0) }
        if source.members.isEmpty { deleteKey(db: context.db, sourceKey) }
        if destination == nil {
            let created = SetValue()
            addKey(db: context.db, destinationKey, .set(created))
            destination = created
        }
        signalModified(db: context.db, sourceKey)
        context.dirty += 1
        if destination?.insert(member) == true {
            context.dirty += 1
            signalModified(db: context.db, destinationKey)
        }
        return .integer(1)
    }

    // MARK: - Algebra

    /// The sets named by `keys`, nil for missing keys; WRONGTYPE if any key holds another type.
    private func setsForAlgebra(_ keys: ArraySlice<[UInt8]>, _ context: inout CommandContext) throws(CommandError) -> [SetValue?] {
        var sets: [SetValue?] = []
        for key in keys { sets.append(try lookupSet(key, &context)) }
        return sets
    }

    /// The members of the intersection, in the smallest set's slot order, stopping at `limit`.
    private func intersection(_ sets: [SetValue?], limit: Int = Int.max) -> [[UInt8]] {
        let present = sets.compactMap { $0 }
        guard present.count == sets.count, let smallest = present.min(by: { $0.members.count < $1.members.count }) else {
            return []
        }
        var result: [[UInt8]] = []
        for slot in smallest.members.occupied where present.allSatisfy({ $0 === smallest || $0.contains(slot.key) }) {
            result.append(slot.key)
            if result.count >= limit { break }
        }
        return result
    }

    /// The members of the union (`isDifference` false) or of the first set minus the others.
    private func unionOrDifference(_ sets: [SetValue?], isDifference: Bool) -> [[UInt8]] {
        let result = SetValue()
        if isDifference {
            guard let first = sets.first, let first else { return [] }
            for slot in first.members.occupied
            where !sets.dropFirst().contains(where: { $0 === first || $0?.contains(slot.key) == true }) {
                result.insert(slot.key)
            }
        } else {
            for case let set? in sets { for slot in set.members.occupied { result.insert(slot.key) } }
        }
        return result.elements
    }

    /// Stores `members` at `destination` as a new set (dropping its TTL), or deletes it when
    /// empty, and replies the size (the STORE variants of Redis's set algebra).
    private func storeSet(_ members: [[UInt8]], at destination: [UInt8], _ context: inout CommandContext) -> RESPValue {
        if members.isEmpty {
            expireIfNeeded(destination, &context)
            if deleteKey(db: context.db, destination) { context.dirty += 1 }
            return .integer(0)
        }
        let set = SetValue()
        for member in members { set.insert(member) }
        expireIfNeeded(destination, &context)
        setKey(db: context.db, destination, .set(set))
        context.dirty += 1
        return .integer(Int64(members.count))
    }

    func sinterCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .set(intersection(try setsForAlgebra(context.arguments[1...], &context)).map(RESPValue.bulkString))
    }

    func sinterstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let members = intersection(try setsForAlgebra(context.arguments[2...], &context))
        return storeSet(members, at: context.arguments[1], &context)
    }

    func sintercardCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let keyCount = parseInt64(context.arguments[1]), keyCount >= 1 else { throw ErrorReply.numkeysNotPositive }
        guard keyCount <= Int64(context.argumentCount - 2) else { throw ErrorReply.numkeysExceedArguments }
        var limit: Int64 = 0
        var index = 2 + Int(keyCount)
        while index < context.argumentCount {
            guard context.argument(index, is: "LIMIT"), index + 1 < context.argumentCount else { throw ErrorReply.syntax }
            limit = try nonNegativeCount(context.arguments[index + 1], error: ErrorReply.limitNegative)
            index += 2
        }
        let sets = try setsForAlgebra(context.arguments[2..<(2 + Int(keyCount))], &context)
        return .integer(Int64(intersection(sets, limit: limit == 0 ? Int.max : Int(min(limit, Int64(Int32.max)))).count))
    }

    func sunionCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .set(unionOrDifference(try setsForAlgebra(context.arguments[1...], &context), isDifference: false)
            .map(RESPValue.bulkString))
    }

    func sunionstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let members = unionOrDifference(try setsForAlgebra(context.arguments[2...], &context), isDifference: false)
        return storeSet(members, at: context.arguments[1], &context)
    }

    func sdiffCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .set(unionOrDifference(try setsForAlgebra(context.arguments[1...], &context), isDifference: true)
            .map(RESPValue.bulkString))
    }

    func sdiffstoreCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let members = unionOrDifference(try setsForAlgebra(context.arguments[2...], &context), isDifference: true)
        return storeSet(members, at: context.arguments[1], &context)
    }

    /// SSCAN key cursor [MATCH pattern] [COUNT count]; sets of at most 128 members come back whole.
    func sscanCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let cursor = try parseScanCursor(context.arguments[2])
        let options = try parseScanOptions(context, from: 3, allowsType: false)
        guard let set = try lookupSet(context.arguments[1], &context) else {
            return .array([.bulkString(Array("0".utf8)), .array([])])
        }
        let (slots, nextCursor) = scanSlots(set.members, cursor: cursor, count: options.count)
        let members = slots.filter { slot in
            options.pattern.map { globMatches(pattern: $0, string: slot.key) } ?? true
        }
        return .array([.bulkString(Array(String(nextCursor).utf8)), .array(members.map { .bulkString($0.key) })])
    }
}
