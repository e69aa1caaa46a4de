// Generic key and database commands. See redis src/db.c (delGenericCommand, renameGenericCommand,
// copyCommand, moveCommand, keysCommand, scanGenericCommand, swapdbCommand, flushdbCommand).

import RewindRESP

extension Keyspace {
    // MARK: - Shared workers

    /// Parses a database index as Redis `getIntFromObjectOrReply` + `selectDb` do.
    func databaseIndex(_ bytes: [UInt8]) throws(CommandError) -> Int {
        guard let value = parseInt64(bytes) else { throw ErrorReply.notInteger }
        guard value >= Int64(Int32.min), value <= Int64(Int32.max) else {
            throw ErrorReply.valueNotBetween(Int64(Int32.min), Int64(Int32.max))
        }
        guard value >= 0 && value < Int64(databases.count) else { throw ErrorReply.databaseIndexOutOfRange }
        return Int(value)
    }

    /// Deletes the keys named from argument 1 on; the engine of DEL and UNLINK.
    func deleteKeys(_ context: inout CommandContext) -> RESPValue {
        var deleted: Int64 = 0
        for key in context.arguments.dropFirst() {
            expireIfNeeded(key, &context)
            if deleteKey(db: context.db, key) { deleted += 1 }
        }
        context.dirty += Int(deleted)
        return .integer(deleted)
    }

    // MARK: - Commands

    func delCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        deleteKeys(&context)
    }

    func unlinkCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        deleteKeys(&context)
    }

    func existsCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var count: Int64 = 0
        for key in context.arguments.dropFirst() where exists(key, &context) { count += 1 }
        return .integer(count)
    }

    func touchCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try existsCommand(&context)
    }

    func typeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .simpleString(lookup(context.arguments[1], &context)?.typeName ?? "none")
    }

    func renameCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try renameGeneric(&context, onlyIfAbsent: false)
    }

    func renamenxCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try renameGeneric(&context, onlyIfAbsent: true)
    }

    /// RENAME and RENAMENX (Redis `renameGenericCommand`): the TTL moves with the value; renaming
    /// a key to itself succeeds without touching it.
    private func renameGeneric(_ context: inout CommandContext, onlyIfAbsent: Bool) throws(CommandError) -> RESPValue {
        let source = context.arguments[1]
        let destination = context.arguments[2]
        let db = context.db
        guard let value = lookup(source, &context) else { throw ErrorReply.noSuchKey }
        if source == destination { return onlyIfAbsent ? .integer(0) : .ok }
        let expiresAt = expireTime(db: db, source)
        if exists(destination, &context) {
            if onlyIfAbsent { return .integer(0) }
            deleteKey(db: db, destination)
        }
        addKey(db: db, destination, value)
        if let expiresAt { setExpire(db: db, destination, atMilliseconds: expiresAt) }
        _ = databases[db].entries.removeValue(forKey: source)
        removeExpire(db: db, source)
        signalModified(db: db, source)
        signalModified(db: db, destination)
        context.dirty += 1
        return onlyIfAbsent ? .integer(1) : .ok
    }

    /// COPY source destination [DB index] [REPLACE] (Redis `copyCommand`).
    func copyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        var replace = false
        var targetDB = context.db
        var index = 3
        while index < context.argumentCount {
            if context.argument(index, is: "REPLACE") {
                replace = true
            } else if context.argument(index, is: "DB") && index + 1 < context.argumentCount {
                targetDB = try databaseIndex(context.arguments[index + 1])
                index += 1
            } else {
                throw ErrorReply.syntax
            }
            index += 1
        }
        let source = context.arguments[1]
        let destination = context.arguments[2]
        if targetDB == context.db && source == destination { throw ErrorReply.sameObject }
        guard let value = lookup(source, &context) else { return .integer(0) }
        let expiresAt = expireTime(db: context.db, source)
        if exists(destination, &context, db: targetDB) {
            guard replace else { return .integer(0) }
            deleteKey(db: targetDB, destination)
        }
        addKey(db: targetDB, destination, value.deepCopy())
        if let expiresAt { setExpire(db: targetDB, destination, atMilliseconds: expiresAt) }
        signalModified(db: targetDB, destination)
        context.dirty += 1
        return .integer(1)
    }

    /// MOVE key db (Redis `moveCommand`); logged as sent, in the source database.
    func moveCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let key = context.arguments[1]
        let source = context.db
        let target = try databaseIndex(context.arguments[2])
        if target == source { throw ErrorReply.sameObject }
        guard let value = lookup(key, &context) else { return .integer(0) }
        let expiresAt = expireTime(db: source, key)
        if exists(key, &context, db: target) { return .integer(0) }
        addKey(db: target, key, value)
        if let expiresAt { setExpire(db: target, key, atMilliseconds: expiresAt) }
        _ = databases[source].entries.removeValue(forKey: key)
        removeExpire(db: source, key)
        signalModified(db: source, key)
        signalModified(db: target, key)
        context.dirty += 1
        return .integer(1)
    }

    /// KEYS pattern: every key that matches and is not logically expired, in slot order. Expired
    /// keys are skipped, not deleted (Redis `keysCommand` uses `keyIsExpired`).
    func keysCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let pattern = context.arguments[1]
        let matchesAll = pattern == [UInt8(ascii: "*")]
        var keys: [RESPValue] = []
        for slot in databases[context.db].entries.occupied {
            guard matchesAll || globMatches(pattern: pattern, string: slot.key) else { continue }
            if isLogicallyExpired(db: context.db, slot.key, context) { continue }
            keys.append(.bulkString(slot.key))
        }
        return .array(keys)
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] (Redis `scanGenericCommand`).
    ///
    /// The cursor is a slot position (see ``SlotMap``), so every key present for the whole scan
    /// is returned. Expired keys met on the way are deleted and logged, as Redis does.
    func scanCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let cursor = try parseScanCursor(context.arguments[1])
        let options = try parseScanOptions(context, from: 2, allowsType: true)
        let db = context.db
        var visited: [[UInt8]] = []
        var slotIndex = databases[db].entries.scanStart(cursor: cursor)
        while slotIndex < databases[db].entries.slotCount && visited.count < options.count {
            if let key = databases[db].entries.key(at: slotIndex) { visited.append(key) }
            slotIndex += 1
        }
        let nextCursor = databases[db].entries.scanCursor(nextSlotIndex: slotIndex)
        var keys: [RESPValue] = []
        for key in visited {
            if let pattern = options.pattern, !globMatches(pattern: pattern, string: key) { continue }
            if expireIfNeeded(key, &context) { continue }
            if let type = options.type, let value = databases[db].entries[key],
               !argumentEquals(type, value.typeName.uppercased()) { continue }
            keys.append(.bulkString(key))
        }
        return .array([.bulkString(Array(String(nextCursor).utf8)), .array(keys)])
    }

    func randomkeyCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        while let slotIndex = databases[context.db].entries.randomSlotIndex(using: &random),
              let key = databases[context.db].entries.key(at: slotIndex) {
            if expireIfNeeded(key, &context) { continue }
            return .bulkString(key)
        }
        return .null
    }

    func dbsizeCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .integer(Int64(databases[context.db].entries.count))
    }

    func selectCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        context.session.databaseIndex = try databaseIndex(context.arguments[1])
        return .ok
    }

    /// SWAPDB: always logged (Redis counts it dirty even for the same index twice).
    func swapdbCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard let first = parseInt64(context.arguments[1]), Int32(exactly: first) != nil else {
            throw ErrorReply.invalidFirstDatabaseIndex
        }
        guard let second = parseInt64(context.arguments[2]), Int32(exactly: second) != nil else {
            throw ErrorReply.invalidSecondDatabaseIndex
        }
        let count = Int64(databases.count)
        guard first >= 0, first < count, second >= 0, second < count else { throw ErrorReply.databaseIndexOutOfRange }
        if first != second {
            signalWatchedKeysExisting(inDatabase: Int(first), orDatabase: Int(second), context: context)
            signalWatchedKeysExisting(inDatabase: Int(second), orDatabase: Int(first), context: context)
            databases.swapAt(Int(first), Int(second))
        }
        context.dirty += 1
        return .ok
    }

    /// Parses FLUSHDB/FLUSHALL's optional ASYNC or SYNC (Redis `getFlushCommandFlags`).
    private func parseFlushArguments(_ context: CommandContext) throws(CommandError) {
        if context.argumentCount > 2 { throw ErrorReply.syntax }
        if context.argumentCount == 2 && !context.argument(1, is: "SYNC") && !context.argument(1, is: "ASYNC") {
            throw ErrorReply.syntax
        }
    }

    /// FLUSHDB: always logged, even on an empty database (Redis `forceCommandPropagation`).
    func flushdbCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try parseFlushArguments(context)
        signalWatchedKeysExisting(inDatabase: context.db)
        databases[context.db] = Database()
        context.dirty += 1
        return .ok
    }

    func flushallCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        try parseFlushArguments(context)
        for db in databases.indices {
            signalWatchedKeysExisting(inDatabase: db)
            databases[db] = Database()
        }
        context.dirty += 1
        return .ok
    }

    func pingCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        guard context.argumentCount <= 2 else { throw ErrorReply.wrongArity(context.commandName) }
        return context.argumentCount == 2 ? .bulkString(context.arguments[1]) : .simpleString("PONG")
    }

    func echoCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        .bulkString(context.arguments[1])
    }
}

// MARK: - SCAN arguments

/// The options shared by SCAN, HSCAN and SSCAN.
struct ScanOptions {
    var count = 10
    var pattern: [UInt8]?
    var type: [UInt8]?
}

extension Keyspace {
    /// Parses a cursor as Redis `parseScanCursorOrReply` (strtoull): an optional sign, digits,
    /// nothing else; the empty string is cursor 0.
    func parseScanCursor(_ bytes: [UInt8]) throws(CommandError) -> UInt64 {
        if bytes.isEmpty { return 0 }
        var digits = bytes[...]
        var negative = false
        if let first = digits.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard let value = parseCursor(Array(digits)) else { throw ErrorReply.invalidCursor }
        return negative ? 0 &- value : value
    }

    /// Parses MATCH, COUNT and (for SCAN only) TYPE from argument `start` on.
    func parseScanOptions(_ context: CommandContext, from start: Int, allowsType: Bool) throws(CommandError) -> ScanOptions {
        var options = ScanOptions()
        var index = start
        while index < context.argumentCount {
            let remaining = context.argumentCount - index
            if context.argument(index, is: "COUNT") && remaining >= 2 {
                let count = try context.integer(at: index + 1)
                guard count >= 1 else { throw ErrorReply.syntax }
                options.count = Int(min(count, Int64(Int32.max)))
            } else if context.argument(index, is: "MATCH") && remaining >= 2 {
                let pattern = context.arguments[index + 1]
                options.pattern = pattern == [UInt8(ascii: "*")] ? nil : pattern
            } else if allowsType && context.argument(index, is: "TYPE") && remaining >= 2 {
                options.type = context.arguments[index + 1]
            } else {
                throw ErrorReply.syntax
            }
            index += 2
        }
        return options
    }
}
