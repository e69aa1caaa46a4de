// HyperLogLog commands. See redis src/hyperloglog.c (pfaddCommand, pfcountCommand, pfmergeCommand,
// isHLLObjectOrReply). The register arithmetic is Values/HyperLogLog.swift.

import RewindRESP

extension Keyspace {
    /// The string at `key` checked as Redis `isHLLObjectOrReply` checks it: nil when absent,
    /// WRONGTYPE for another type, "not a valid HyperLogLog" or INVALIDOBJ for a foreign or
    /// damaged string (found by decoding it, as Redis finds damage while merging).
    private func lookupHyperLogLog(_ key: [UInt8], _ context: inout CommandContext,
                                   decoding: Bool) throws(CommandError) -> [UInt8]? {
        guard let value = lookup(key, &context) else { return nil }
        guard let bytes = value.stringBytes else { throw ErrorReply.wrongType }
        do throws(HyperLogLogError) {
            if decoding { _ = try HyperLogLog.count([bytes]) }
            else if !HyperLogLog.isValid(bytes) { throw HyperLogLogError.notHyperLogLog }
        } catch {
            throw CommandError(error.replyText)
        }
        return bytes
    }

    /// Stores HyperLogLog bytes at `key`, keeping its TTL (Redis edits the string in place).
    private func storeHyperLogLog(_ bytes: [UInt8], at key: [UInt8], db: Int) {
        setKey(db: db, key, .bytes(bytes), keepingTTL: true)
    }

    /// PFADD key [element ...]: 1 when a register changed or the key was created.
    ///
    /// Determinism: logged as sent; the registers are a pure function of the elements.
    func pfaddCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var value = try lookupHyperLogLog(key, &context, decoding: false)
        let existed = value != nil
        let changed: Bool
        do {
            changed = try HyperLogLog.pfadd(Array(context.arguments.dropFirst(2)), to: &value)
        } catch {
            // Redis keeps the registers set before the damage was found, and logs nothing.
            if existed, let value { storeHyperLogLog(value, at: key, db: context.db) }
            throw CommandError(error.replyText)
        }
        guard changed, let value else { return .integer(0) }
        storeHyperLogLog(value, at: key, db: context.db)
        context.dirty += 1
        return .integer(1)
    }

    /// PFCOUNT key [key ...]. One key: the cached cardinality, or an estimate written into the
    /// header, which makes it a write (Redis marks the key dirty and propagates the PFCOUNT, and
    /// so does the engine: replaying it writes the same cache bytes). Several keys: the union's
    /// cardinality, computed on a temporary merge; nothing changes.
    func pfcountCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        if context.argumentCount > 2 {
            var strings: [[UInt8]?] = []
            for key in context.arguments.dropFirst() {
                strings.append(try lookupHyperLogLog(key, &context, decoding: true))
            }
            do { return .integer(try HyperLogLog.count(strings)) } catch { throw CommandError(error.replyText) }
        }
        let key = context.arguments[1]
        guard var value = try lookupHyperLogLog(key, &context, decoding: false) else { return .integer(0) }
        let result: (cardinality: Int64, didWriteCache: Bool)
        do { result = try HyperLogLog.countCachingResult(&value) } catch { throw CommandError(error.replyText) }
        if result.didWriteCache {
            storeHyperLogLog(value, at: key, db: context.db)
            context.dirty += 1
        }
        return .integer(result.cardinality)
    }

    /// PFMERGE destkey [sourcekey ...]: always a write, logged as sent.
    func pfmergeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        var sources: [[UInt8]?] = []
        for source in context.arguments.dropFirst() {
            sources.append(try lookupHyperLogLog(source, &context, decoding: true))
        }
        var destination = sources.removeFirst()
        do {
            try HyperLogLog.merge(into: &destination, sources: sources)
        } catch {
            throw CommandError(error.replyText)
        }
        guard let destination else { return .ok }
        storeHyperLogLog(destination, at: key, db: context.db)
        context.dirty += 1
        return .ok
    }
}
