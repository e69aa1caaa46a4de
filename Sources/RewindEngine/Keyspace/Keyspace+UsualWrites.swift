// A server's most frequent writes, run on the replay's packed path instead of the dispatcher.

import RewindRESP

extension Keyspace {
    /// What ``executeUsualWrite(_:db:)`` did.
    public struct UsualWriteResult {
        /// The reply, the one ``execute(_:session:nowMilliseconds:)`` would give.
        public let reply: RESPValue
        /// Whether the command changed the keyspace, and so is logged as it was sent (the one
        /// entry `execute` would propagate); false for an SADD of members all present, or a ZADD
        /// that neither added a member nor changed a score.
        public let changed: Bool
    }

    /// Runs one of the writes a server receives most, when it takes the simple form a replay's
    /// packed path applies (``applyPacked(_:db:nowMilliseconds:)``): `SET key value`, `INCR key`,
    /// `LPUSH`/`RPUSH key element...`, `SADD key member...`, `HSET`/`HMSET key field value...`,
    /// `ZADD key score member...` (no options), on a key without a time to live in `db`. Returns nil, before anything changed, for every
    /// other command, form or case (a TTL, which may have expired; another type; an INCR that
    /// would fail), which then goes through ``execute(_:session:nowMilliseconds:)``.
    ///
    /// The result is the dispatcher's: the same reply, state, encodings and WATCH flags
    /// (``PackedApplyTests`` compares the packed path with the dispatcher, and
    /// `UsualWritesTests` this entry point with `execute`). It skips the dispatcher's general
    /// work (the command context, the session copied in and out, the propagation arrays),
    /// which was most of a server's engine time for these commands. The caller is responsible
    /// for what a session adds: it must not be inside MULTI.
    /// Arguments of more bytes than this (after the name) go through the dispatcher.
    static let usualWriteByteCountMax = 64 * 1024

    public func executeUsualWrite(_ arguments: [[UInt8]], db: Int) -> UsualWriteResult? {
        let count = arguments.count
        guard count >= 2, let (index, path) = arguments[0].withUnsafeBytes({ Self.usualWritePath(named: $0, argumentCount: count) }) else { return nil }
        var byteCount = 0
        for argument in 1..<count { byteCount += arguments[argument].count }
        // Big values stay with the dispatcher, which keeps the request's arrays instead of
        // copying them into the packed buffer.
        guard byteCount <= Self.usualWriteByteCountMax else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: max(byteCount, 1), alignment: 1) { bytes in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { ends in
                ends[0] = 0
                var offset = 0
                for argument in 1..<count {
                    arguments[argument].withUnsafeBytes { source in
                        if source.count > 0 { (bytes.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: source.count) }
                        offset += source.count
                    }
                    ends[argument] = offset
                }
                return arguments.withUnsafeBufferPointer { names in
                    executeUsualWrite(PackedCommand(sharedName: names.baseAddress!, bytes: UnsafeRawBufferPointer(bytes),
                                                    ends: UnsafeBufferPointer(ends), firstStart: 0, commandID: Int32(index)),
                                      path: path, db: db)
                }
            }
        }
    }

    /// ``executeUsualWrite(_:db:)`` for a request whose arguments lie back to back in `bytes`
    /// (argument `i` is `bytes[ends[i - 1] ..< ends[i]]`, the name from 0), as a server's
    /// parser packs them: nothing is copied.
    public func executeUsualWrite(packedBytes bytes: UnsafeRawBufferPointer, ends: UnsafeBufferPointer<Int>, db: Int) -> UsualWriteResult? {
        let count = ends.count
        guard count >= 2, ends[count - 1] - ends[0] <= Self.usualWriteByteCountMax,
              let (index, path) = Self.usualWritePath(named: UnsafeRawBufferPointer(rebasing: bytes[0..<ends[0]]), argumentCount: count)
        else { return nil }
        return executeUsualWrite(PackedCommand(sharedName: nil, bytes: bytes, ends: ends, firstStart: 0, commandID: Int32(index)),
                                 path: path, db: db)
    }

    /// The command table row and packed path of a usual write of `argumentCount` arguments
    /// (the name included) named `name`, or nil for any other command or form.
    @inline(__always)
    private static func usualWritePath(named name: UnsafeRawBufferPointer, argumentCount count: Int) -> (Int, PackedPath)? {
        guard let index = CommandTable.index(forNameBytes: name) else { return nil }
        let path = Self.packedPaths[index]
        switch path {
        case .set: guard count == 3 else { return nil }
        case .incr: guard count == 2 else { return nil }
        case .rpush, .lpush, .sadd: break
        case .hset, .zadd: guard count >= 4, count % 2 == 0 else { return nil }
        default: return nil
        }
        return (index, path)
    }

    /// Runs a usual write (``usualWritePath(named:argumentCount:)`` chose `path`) on a key
    /// without a TTL; nil otherwise, before anything changed.
    private func executeUsualWrite(_ command: PackedCommand, path: PackedPath, db: Int) -> UsualWriteResult? {
        guard db >= 0, db < databases.count else { return nil }
        let key = command.argument(1)
        let keyHash = Keyspace.keyHash(key)
        let database = databases[db]
        if !database.expires.isEmpty, database.expires.findSlot(ofBytes: key, hash: keyHash) != nil { return nil }
        let command = PackedCommand(sharedName: command.sharedNamePointer, bytes: command.bytes, ends: command.ends,
                                    firstStart: command.firstStart, commandID: command.commandID, keyHash: keyHash)
        if path == .zadd {
            return packedZaddCounting(command, db: db).map { UsualWriteResult(reply: $0.reply, changed: $0.changed) }
        }
        guard let reply = packedFastApply(command, db: db) else { return nil }
        // An SADD of members all present changes nothing; the other paths always change the key.
        if path == .sadd, case .integer(let added) = reply { return UsualWriteResult(reply: reply, changed: added > 0) }
        return UsualWriteResult(reply: reply, changed: true)
    }
}
