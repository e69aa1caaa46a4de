// List commands that move elements between keys or pop from several keys, and the non-blocking
// semantics of the blocking pops. See redis src/t_list.c (lmoveGenericCommand, lmpopGenericCommand,
// blockingPopGenericCommand, blmoveGenericCommand).

import RewindRESP

extension Keyspace {
    /// LMOVE and RPOPLPUSH, and the non-blocking path of BLMOVE and BRPOPLPUSH.
    ///
    /// Determinism: BLMOVE is logged as LMOVE and BRPOPLPUSH as RPOPLPUSH, as Redis 7.0 rewrites
    /// them, so replay never blocks.
    private func moveGeneric(_ context: inout CommandContext, from: ListEnd, to: ListEnd,
                             loggedAs: [[UInt8]]?) throws(CommandError) -> RESPValue {
        let source = context.arguments[1]
        let destination = context.arguments[2]
        guard let sourceList = try lookupList(source, &context), !sourceList.items.isEmpty else { return .null }
        var destinationList = try lookupList(destination, &context)
        let element = popElements(sourceList, end: from, count: 1)[0]
        if destinationList == nil {
            let created = ListValue()
            addKey(db: context.db, destination, .list(created))
            destinationList = created
        }
        if to == .head { destinationList?.items.prepend(element) } else { destinationList?.items.append(element) }
        signalModified(db: context.db, destination)
        finishListWrite(source, sourceList, db: context.db)
        context.dirty += 1
        if let loggedAs { context.rewrittenArguments = loggedAs }
        return .bulkString(element)
    }

    func lmoveCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let from = try ListEnd(context.arguments[3])
        let to = try ListEnd(context.arguments[4])
        return try moveGeneric(&context, from: from, to: to, loggedAs: nil)
    }

    func rpoplpushCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try moveGeneric(&context, from: .tail, to: .head, loggedAs: nil)
    }

    func blmoveCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let from = try ListEnd(context.arguments[3])
        let to = try ListEnd(context.arguments[4])
        _ = try parseTimeoutMilliseconds(context.arguments[5])
        let logged = [LoggedName.lmove] + context.arguments[1...4]
        return try moveGeneric(&context, from: from, to: to, loggedAs: Array(logged))
    }

    func brpoplpushCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[3])
        let logged = [LoggedName.rpoplpush, context.arguments[1], context.arguments[2]]
        return try moveGeneric(&context, from: .tail, to: .head, loggedAs: logged)
    }

    /// BLPOP and BRPOP without blocking: pop from the first non-empty list, or reply a null array
    /// as a timed-out Redis client would (the server layer adds the waiting).
    ///
    /// Determinism: logged as `LPOP key` / `RPOP key`, as Redis 7.0 rewrites them.
    private func blockingPop(_ context: inout CommandContext, end: ListEnd) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[context.argumentCount - 1])
        for key in context.arguments[1..<(context.argumentCount - 1)] {
            guard let list = try lookupList(key, &context), !list.items.isEmpty else { continue }
            let element = popElements(list, end: end, count: 1)[0]
            finishListWrite(key, list, db: context.db)
            context.dirty += 1
            context.rewrittenArguments = [end == .head ? LoggedName.lpop : LoggedName.rpop, key]
            return .array([.bulkString(key), .bulkString(element)])
        }
        return .nullArray
    }

    func blpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try blockingPop(&context, end: .head)
    }

    func brpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try blockingPop(&context, end: .tail)
    }

    /// LMPOP and BLMPOP (Redis `lmpopGenericCommand`): numkeys, keys, LEFT|RIGHT, [COUNT n].
    ///
    /// Determinism: logged as `LPOP key n` / `RPOP key n` with the number actually popped, as
    /// Redis 7.0 `mpopGenericCommand` rewrites it.
    private func multiPop(_ context: inout CommandContext, numkeysIndex: Int) throws(CommandError) -> RESPValue {
        guard let keyCount = parseInt64(context.arguments[numkeysIndex]), keyCount >= 1 else {
            throw ErrorReply.numkeysNotPositive
        }
        guard keyCount < Int64(context.argumentCount - numkeysIndex - 1) else { throw ErrorReply.syntax }
        let whereIndex = numkeysIndex + Int(keyCount) + 1
        let end = try ListEnd(context.arguments[whereIndex])
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
            guard let list = try lookupList(key, &context), !list.items.isEmpty else { continue }
            let popped = popElements(list, end: end, count: Int(min(count ?? 1, Int64(Int32.max))))
            finishListWrite(key, list, db: context.db)
            context.dirty += 1
            context.rewrittenArguments = [end == .head ? LoggedName.lpop : LoggedName.rpop, key,
                                          formatInt64(Int64(popped.count))]
            return .array([.bulkString(key), .array(popped.map(RESPValue.bulkString))])
        }
        return .nullArray
    }

    func lmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try multiPop(&context, numkeysIndex: 1)
    }

    func blmpopCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        _ = try parseTimeoutMilliseconds(context.arguments[1])
        return try multiPop(&context, numkeysIndex: 2)
    }
}
