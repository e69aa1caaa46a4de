// CONFIG GET/SET/RESETSTAT/REWRITE with Redis's parameter names. See redis src/config.c.

import RewindLog
import RewindRESP

/// The parameters CONFIG knows, in Redis's names, with their current values as text.
///
/// Encoding-tuning parameters (list-max-listpack-size, set-max-intset-entries, ...) are accepted
/// and reported back, as test suites set them, even though Rewind's encodings do not depend on them.
struct ConfigParameters {
    private(set) var values: [(name: String, value: String)]

    init(_ configuration: ServerConfiguration) {
        let limits = configuration.limits
        values = [
            ("activedefrag", "no"), ("active-expire-effort", "1"), ("appendfilename", "appendonly.aof"),
            ("appenddirname", "appendonlydir"), ("appendfsync", configuration.durability.rawValue), ("appendonly", "yes"),
            ("aof-use-rdb-preamble", "yes"), ("aof-timestamp-enabled", "no"), ("bind", configuration.bindAddress),
            ("busy-reply-threshold", "5000"), ("client-query-buffer-limit", String(limits.queryBufferByteCountMax)),
            ("client-output-buffer-limit", configuration.outputBufferLimits.configText),
            ("databases", String(configuration.databaseCount)), ("dbfilename", "dump.rdb"), ("dir", configuration.directory),
            ("hash-max-listpack-entries", "512"), ("hash-max-listpack-value", "64"),
            ("hash-max-ziplist-entries", "512"), ("hash-max-ziplist-value", "64"), ("hll-sparse-max-bytes", "3000"),
            ("hz", String(configuration.hz)), ("latency-monitor-threshold", "0"), ("latency-tracking", "yes"),
            ("lazyfree-lazy-eviction", "no"), ("lazyfree-lazy-expire", "no"), ("lazyfree-lazy-server-del", "no"),
            ("lazyfree-lazy-user-del", "no"), ("lazyfree-lazy-user-flush", "no"), ("list-compress-depth", "0"),
            ("list-max-listpack-size", "-2"), ("list-max-ziplist-size", "-2"), ("loglevel", "notice"),
            ("lua-time-limit", "5000"), ("maxclients", String(limits.clientCountMax)), ("maxmemory", "0"),
            ("maxmemory-policy", "noeviction"), ("maxmemory-samples", "5"), ("notify-keyspace-events", ""),
            ("port", String(configuration.port)), ("protected-mode", "yes"),
            ("proto-max-bulk-len", String(limits.bulkByteCountMax)), ("requirepass", configuration.requirePassword ?? ""),
            ("save", ""), ("set-max-intset-entries", "512"), ("set-max-listpack-entries", "128"),
            ("set-max-listpack-value", "64"), ("slowlog-log-slower-than", "10000"), ("slowlog-max-len", "128"),
            ("stream-node-max-bytes", "4096"), ("stream-node-max-entries", "100"), ("tcp-keepalive", "300"),
            ("timeout", "0"), ("zset-max-listpack-entries", "128"), ("zset-max-listpack-value", "64"),
            ("zset-max-ziplist-entries", "128"), ("zset-max-ziplist-value", "64"), ("io-threads", "1"),
            ("enable-debug-command", "yes"),
            ("auto-aof-rewrite-percentage", String(configuration.autoCompactPercentage)),
            ("auto-aof-rewrite-min-size", String(configuration.autoCompactMinByteCount)),
            // Replication parameters: accepted (Redis's test suite sets them around SYNC), no effect.
            ("repl-ping-replica-period", "10"), ("repl-timeout", "60"), ("min-replicas-to-write", "0"),
            ("min-replicas-max-lag", "10"), ("masterauth", ""), ("replica-serve-stale-data", "yes"),
            ("replica-read-only", "yes"), ("rdb-key-save-delay", "0"),
        ]
    }

    func value(of name: String) -> String? { values.first { $0.name == name }?.value }

    mutating func set(_ name: String, _ value: String) {
        // Redis 7.0 keeps the *-ziplist-* names as aliases of the *-listpack-* parameters.
        for alias in Self.aliases(of: name) {
            if let index = values.firstIndex(where: { $0.name == alias }) { values[index].value = value }
        }
    }

    private static func aliases(of name: String) -> [String] {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard let index = parts.firstIndex(where: { $0 == "ziplist" || $0 == "listpack" }) else { return [name] }
        var other = parts
        other[index] = parts[index] == "ziplist" ? "listpack" : "ziplist"
        return [name, other.joined(separator: "-")]
    }
}

extension ServerCore {
    func configCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        let subcommand = Clock.lowercased(arguments[1])
        switch subcommand {
        case "get":
            guard arguments.count >= 3 else {
                reply(connection, .error("ERR wrong number of arguments for 'config|get' command"))
                return
            }
            var pairs: [RESPPair] = []
            var seen = Set<String>()
            for pattern in arguments.dropFirst(2) {
                let lowered = Array(Clock.lowercased(pattern).utf8)
                for (name, value) in config.values where !seen.contains(name) && globMatches(lowered, Array(name.utf8)) {
                    seen.insert(name)
                    pairs.append(RESPPair(.bulk(name), .bulk(value)))
                }
            }
            reply(connection, .map(pairs))
        case "set":
            guard arguments.count >= 4, arguments.count % 2 == 0 else {
                reply(connection, .error("ERR wrong number of arguments for 'config|set' command"))
                return
            }
            var changes: [(String, String)] = []
            for index in stride(from: 2, to: arguments.count, by: 2) {
                let name = Clock.lowercased(arguments[index])
                let value = String(decoding: arguments[index + 1], as: UTF8.self)
                guard config.value(of: name) != nil else {
                    reply(connection, .error("ERR Unknown option or number of arguments for CONFIG SET - '\(name)'"))
                    return
                }
                if changes.contains(where: { $0.0 == name }) {
                    reply(connection, .error("ERR CONFIG SET failed (possibly related to argument '\(name)') - duplicate parameter"))
                    return
                }
                if let problem = validateConfig(name, value) {
                    reply(connection, .error("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(problem)"))
                    return
                }
                changes.append((name, value))
            }
            for (name, value) in changes { applyConfig(name, value) }
            reply(connection, .ok)
        case "resetstat":
            guard arguments.count == 2 else {
                reply(connection, .error("ERR wrong number of arguments for 'config|resetstat' command"))
                return
            }
            statistics = ServerStatistics()
            reply(connection, .ok)
        case "rewrite":
            reply(connection, .error("ERR The server is running without a config file"))
        default:
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try CONFIG HELP."))
        }
    }

    /// Why `value` is not acceptable for `name`, or nil.
    private func validateConfig(_ name: String, _ value: String) -> String? {
        switch name {
        case "appendfsync":
            guard let policy = DurabilityPolicy(rawValue: value.lowercased()) else { return "argument(s) must be one of the following: always, everysec, no" }
            return policy == configuration.durability ? nil : "Rewind chooses appendfsync at start; restart with --appendfsync \(policy)"
        case "client-output-buffer-limit":
            var limits = configuration.outputBufferLimits
            return limits.update(from: value)
        case "auto-aof-rewrite-percentage":
            guard let percentage = Int(value), (0...Int(Int32.max)).contains(percentage) else {
                return "argument must be between 0 and 2147483647 inclusive"
            }
            return nil
        case "auto-aof-rewrite-min-size":
            return ServerConfiguration.memoryByteCount(value) == nil ? "argument must be a memory value" : nil
        case "proto-max-bulk-len", "client-query-buffer-limit", "maxmemory":
            return ServerConfiguration.memoryByteCount(value) == nil ? "argument couldn't be parsed into an integer" : nil
        case "maxclients", "hz", "databases", "port", "timeout", "tcp-keepalive", "slowlog-log-slower-than",
             "slowlog-max-len", "list-max-listpack-size", "list-max-ziplist-size", "lua-time-limit":
            return Int(value) == nil ? "argument couldn't be parsed into an integer" : nil
        case "databases", "port", "bind", "dir", "appenddirname", "appendfilename", "io-threads":
            return "can't set immutable config"
        default:
            return nil
        }
    }

    private func applyConfig(_ name: String, _ value: String) {
        config.set(name, value)
        switch name {
        case "client-output-buffer-limit":
            _ = configuration.outputBufferLimits.update(from: value)
            config.set(name, configuration.outputBufferLimits.configText)
        case "requirepass": configuration.requirePassword = value.isEmpty ? nil : value
        case "maxclients": configuration.limits.clientCountMax = Int(value) ?? configuration.limits.clientCountMax
        case "proto-max-bulk-len": configuration.limits.bulkByteCountMax = ServerConfiguration.memoryByteCount(value) ?? configuration.limits.bulkByteCountMax
        case "client-query-buffer-limit":
            configuration.limits.queryBufferByteCountMax = ServerConfiguration.memoryByteCount(value) ?? configuration.limits.queryBufferByteCountMax
        case "hz": configuration.hz = max(1, min(500, Int(value) ?? configuration.hz))
        case "auto-aof-rewrite-percentage":
            configuration.autoCompactPercentage = Int(value) ?? configuration.autoCompactPercentage
        case "auto-aof-rewrite-min-size":
            let bytes = ServerConfiguration.memoryByteCount(value) ?? configuration.autoCompactMinByteCount
            configuration.autoCompactMinByteCount = bytes
            config.set(name, String(bytes))  // CONFIG GET answers in bytes, as Redis does
        default: break
        }
    }

}

/// Redis's `stringmatchlen`: `*`, `?`, `[...]` (with `^` and ranges) and `\` escapes.
func globMatches(_ pattern: [UInt8], _ string: [UInt8]) -> Bool {
    func match(_ p: Int, _ s: Int) -> Bool {
        var p = p, s = s
        while p < pattern.count {
            switch pattern[p] {
            case UInt8(ascii: "*"):
                while p + 1 < pattern.count && pattern[p + 1] == UInt8(ascii: "*") { p += 1 }
                if p + 1 == pattern.count { return true }
                for start in s...string.count where match(p + 1, start) { return true }
                return false
            case UInt8(ascii: "?"):
                guard s < string.count else { return false }
                s += 1
            case UInt8(ascii: "["):
                guard s < string.count else { return false }
                p += 1
                let negate = p < pattern.count && pattern[p] == UInt8(ascii: "^")
                if negate { p += 1 }
                var matched = false
                while p < pattern.count && pattern[p] != UInt8(ascii: "]") {
                    if pattern[p] == UInt8(ascii: "\\") && p + 1 < pattern.count {
                        p += 1
                        if pattern[p] == string[s] { matched = true }
                    } else if p + 2 < pattern.count && pattern[p + 1] == UInt8(ascii: "-") {
                        var low = pattern[p], high = pattern[p + 2]
                        if low > high { swap(&low, &high) }
                        if string[s] >= low && string[s] <= high { matched = true }
                        p += 2
                    } else if pattern[p] == string[s] {
                        matched = true
                    }
                    p += 1
                }
                if negate { matched.toggle() }
                guard matched else { return false }
                s += 1
            case UInt8(ascii: "\\") where p + 1 < pattern.count:
                p += 1
                guard s < string.count, pattern[p] == string[s] else { return false }
                s += 1
            default:
                guard s < string.count, pattern[p] == string[s] else { return false }
                s += 1
            }
            p += 1
        }
        return s == string.count
    }
    return match(0, 0)
}
