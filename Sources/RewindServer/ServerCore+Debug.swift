// DEBUG and OBJECT. See redis src/debug.c and src/object.c (objectCommand).

import NIOCore
import RewindEngine
import RewindRESP

extension ServerCore {
    func debugCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, now: Int64) {
        switch Clock.lowercased(arguments[1]) {
        case "sleep":
            // DEBUG SLEEP stalls the whole server in Redis; here it delays only this client's
            // reply, because the event loop must never block (the log's acknowledgements run on it).
            guard arguments.count == 3, let seconds = Double(String(decoding: arguments[2], as: UTF8.self)) else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            if connection.capturedReplies != nil {
                // Inside EXEC the reply is an element of EXEC's array: it cannot wait.
                reply(connection, .ok)
                return
            }
            // A client's number: NaN, infinity or 1e300 must not trap the conversion to Int64.
            let clamped = seconds.isNaN ? 0 : Swift.min(Swift.max(seconds, 0), 1e9)
            let delay = TimeAmount.microseconds(Int64(clamped * 1_000_000))
            eventLoop.scheduleTask(in: delay) { connection.push(.ok, after: 0) }
        case "log":
            logger.notice("DEBUG LOG: \(arguments.dropFirst(2).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))")
            reply(connection, .ok)
        case "set-active-expire":
            guard arguments.count == 3 else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            activeExpireEnabled = Int(String(decoding: arguments[2], as: UTF8.self)) != 0
            reply(connection, .ok)
        case "quicklist-packed-threshold", "stringmatch-len", "set-skip-checksum-validation", "change-repl-id":
            reply(connection, .ok)
        case "digest", "digest-value":
            // The engine computes both exactly as redis-server 7.0 does (src/debug.c).
            reply(connection, internalCommand(arguments, connection, now: now))
        case "reload", "loadaof":
            // Redis saves its state and loads it back. Rewind's state is its log, every write
            // already in it; a reload would replay the log into this same keyspace (the
            // end-to-end tests check that replay gives the same digest). So the keyspace stays.
            requestCommitIfNeeded()
            reply(connection, .ok)
        case "object":
            guard arguments.count == 3 else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            debugObject(arguments[2], connection, now: now)
        case "protocol":
            guard arguments.count == 3 else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            let type = Clock.lowercased(arguments[2])
            if type == "attrib", connection.protocolVersion == .resp3, connection.capturedReplies == nil, connection.replyMode == .on {
                // RESPValue has no attribute case: the attribute goes out as bytes, then the reply.
                connection.sendRaw(Array("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n".utf8))
            }
            reply(connection, Self.debugProtocolReply(type, version: connection.protocolVersion))
        default:
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try DEBUG HELP."))
        }
    }

    /// OBJECT ENCODING/REFCOUNT/FREQ/IDLETIME with Redis 7.0's answers. The engine does not expose
    /// its representations, so the encoding is derived, as Redis 7.0 would choose it, from the
    /// value's type and size under the default thresholds.
    func objectCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, now: Int64) {
        let subcommand = Clock.lowercased(arguments[1])
        if subcommand == "help" {
            reply(connection, .array(["OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                      "ENCODING <key>", "FREQ <key>", "IDLETIME <key>", "REFCOUNT <key>"].map { .simpleString($0) }))
            return
        }
        guard ["encoding", "refcount", "freq", "idletime"].contains(subcommand) else {
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try OBJECT HELP."))
            return
        }
        guard arguments.count == 3 else {
            reply(connection, .error("ERR wrong number of arguments for 'object|\(subcommand)' command"))
            return
        }
        let key = arguments[2]
        let type = internalCommand(["TYPE", key], connection, now: now)
        guard case .simpleString(let typeName) = type, typeName != "none" else {
            reply(connection, .null)
            return
        }
        switch subcommand {
        case "refcount":
            // Redis 7.0 stores integers 0...9999 as shared objects whose refcount is INT_MAX.
            var shared = false
            if typeName == "string", case .bulkString(let value) = internalCommand(["GET", key], connection, now: now) {
                shared = Self.isSharedIntegerCandidate(value)
            }
            reply(connection, .integer(shared ? Int64(Int32.max) : 1))
        case "idletime": reply(connection, .integer(0))
        case "freq":
            reply(connection, .error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
        default: reply(connection, .bulk(objectEncoding(of: key, type: typeName, connection, now: now)))
        }
    }

    func objectEncoding(of key: [UInt8], type: String, _ connection: ConnectionHandler, now: Int64) -> String {
        func members(_ command: [Any]) -> [[UInt8]] {
            // SMEMBERS answers with a RESP3 set; ZRANGE WITHSCORES and HGETALL may answer in pairs.
            switch internalCommand(command, connection, now: now) {
            case .array(let values), .set(let values):
                return values.flatMap { value -> [[UInt8]] in
                    switch value {
                    case .bulkString(let bytes): return [bytes]
                    case .array(let pair): return pair.compactMap { if case .bulkString(let b) = $0 { return b } else { return nil } }
                    default: return []
                    }
                }
            case .map(let pairs):
                return pairs.flatMap { pair in [pair.key, pair.value].compactMap { if case .bulkString(let b) = $0 { return b } else { return nil } } }
            default: return []
            }
        }
        func small(_ items: [[UInt8]], entries: String, value: String) -> Bool {
            let entryCountMax = Int(config.value(of: entries) ?? "") ?? 128
            let valueByteCountMax = Int(config.value(of: value) ?? "") ?? 64
            return items.count <= entryCountMax && items.allSatisfy { $0.count <= valueByteCountMax }
        }
        switch type {
        case "string":
            guard case .bulkString(let value) = internalCommand(["GET", key], connection, now: now) else { return "raw" }
            if Self.isSharedIntegerCandidate(value) || (value.count <= 20 && Int64(String(decoding: value, as: UTF8.self)).map { String($0).utf8.count == value.count } == true) {
                return "int"
            }
            return value.count <= 44 ? "embstr" : "raw"
        case "list":
            // Redis 7.0 keeps every list in a quicklist (listpack-encoded lists came in 7.2).
            return "quicklist"
        case "hash":
            let items = members(["HGETALL", key])
            let fieldCountMax = Int(config.value(of: "hash-max-listpack-entries") ?? "") ?? 512
            let valueByteCountMax = Int(config.value(of: "hash-max-listpack-value") ?? "") ?? 64
            return items.count / 2 <= fieldCountMax && items.allSatisfy { $0.count <= valueByteCountMax } ? "listpack" : "hashtable"
        case "set":
            let items = members(["SMEMBERS", key])
            let integers = items.allSatisfy { member in
                let text = String(decoding: member, as: UTF8.self)
                return member.count <= 20 && Int64(text).map { String($0) == text } ?? false
            }
            let entryCountMax = Int(config.value(of: "set-max-intset-entries") ?? "") ?? 512
            return integers && items.count <= entryCountMax ? "intset" : "hashtable"
        case "zset":
            return small(members(["ZRANGE", key, "0", "-1"]), entries: "zset-max-listpack-entries", value: "zset-max-listpack-value") ? "listpack" : "skiplist"
        default:
            return "raw"
        }
    }

    /// Runs a read in the engine on behalf of `connection`'s database, logging any lazy-expiry
    /// DEL it causes.
    func internalCommand(_ parts: [Any], _ connection: ConnectionHandler, now: Int64) -> RESPValue {
        let arguments: [[UInt8]] = parts.map { part in
            if let bytes = part as? [UInt8] { return bytes }
            return Array((part as! String).utf8)
        }
        var session = ClientSession(databaseIndex: 0)
        if connection.session.databaseIndex != 0 {
            _ = keyspace.execute([Array("SELECT".utf8), Array(String(connection.session.databaseIndex).utf8)],
                                 session: &session, nowMilliseconds: now)
        }
        let result = keyspace.execute(arguments, session: &session, nowMilliseconds: now)
        if !result.propagated.isEmpty { log(result.propagated, at: now) }
        return result.reply
    }
}
