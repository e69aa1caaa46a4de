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
            let delay = TimeAmount.microseconds(Int64(max(0, seconds) * 1_000_000))
            eventLoop.scheduleTask(in: delay) { connection.push(.ok, after: 0) }
        case "log":
            logger.notice("DEBUG LOG: \(arguments.dropFirst(2).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))")
            reply(connection, .ok)
        case "set-active-expire", "quicklist-packed-threshold", "stringmatch-len", "set-skip-checksum-validation":
            reply(connection, .ok)
        case "digest", "digest-value":
            // The engine computes both exactly as redis-server 7.0 does (src/debug.c).
            reply(connection, internalCommand(arguments, connection, now: now))
        case "jmap", "reload", "loadaof":
            reply(connection, .error("ERR DEBUG \(Clock.lowercased(arguments[1]).uppercased()) is not supported by Rewind"))
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
        case "refcount": reply(connection, .integer(1))
        case "idletime": reply(connection, .integer(0))
        case "freq":
            reply(connection, .error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."))
        default: reply(connection, .bulk(encoding(of: key, type: typeName, connection, now: now)))
        }
    }

    private func encoding(of key: [UInt8], type: String, _ connection: ConnectionHandler, now: Int64) -> String {
        func elements(_ command: [Any]) -> [[UInt8]] {
            guard case .array(let values) = internalCommand(command, connection, now: now) else { return [] }
            return values.compactMap { if case .bulkString(let bytes) = $0 { return bytes } else { return nil } }
        }
        func small(_ items: [[UInt8]], entries: Int, value: Int) -> Bool {
            items.count <= entries && items.allSatisfy { $0.count <= value }
        }
        switch type {
        case "string":
            guard case .bulkString(let value) = internalCommand(["GET", key], connection, now: now) else { return "raw" }
            if value.count <= 20, let number = Int64(String(decoding: value, as: UTF8.self)), String(number).utf8.count == value.count {
                return "int"
            }
            return value.count <= 44 ? "embstr" : "raw"
        case "list":
            return small(elements(["LRANGE", key, "0", "-1"]), entries: 128, value: 64) ? "listpack" : "quicklist"
        case "hash":
            return small(elements(["HGETALL", key]), entries: 1024, value: 64) ? "listpack" : "hashtable"
        case "set":
            let members = elements(["SMEMBERS", key])
            let integers = members.allSatisfy { member in
                let text = String(decoding: member, as: UTF8.self)
                return Int64(text).map { String($0) == text } ?? false
            }
            return integers && members.count <= 512 ? "intset" : "hashtable"
        case "zset":
            return small(elements(["ZRANGE", key, "0", "-1", "WITHSCORES"]), entries: 256, value: 64) ? "listpack" : "skiplist"
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
