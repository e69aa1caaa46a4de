// INFO and CLIENT. See redis src/server.c (genRedisInfoString) and src/networking.c
// (clientCommand, catClientInfoString).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RewindEngine
import RewindRESP

/// Constants INFO and HELLO report.
enum ServerInfo {
    /// The Redis version Rewind answers as, so clients enable the features it supports.
    static let redisVersion = "7.0.15"
}

extension ServerCore {
    /// INFO's text for `sections` (all the default sections when empty), in Redis's
    /// `# Section` / `field:value` form with CRLF line ends.
    func info(sections: [String]) -> String {
        let all = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"]
        var wanted = Set(sections)
        if wanted.isEmpty || wanted.contains("all") || wanted.contains("default") || wanted.contains("everything") {
            wanted = Set(all)
        }
        var text = ""
        for section in all where wanted.contains(section) {
            if !text.isEmpty { text += "\r\n" }
            text += "# " + section.prefix(1).uppercased() + section.dropFirst() + "\r\n"
            for (field, value) in fields(of: section) { text += "\(field):\(value)\r\n" }
        }
        return text
    }

    private func fields(of section: String) -> [(String, String)] {
        let now = Clock.nowMilliseconds()
        switch section {
        case "server":
            return [
                ("redis_version", ServerInfo.redisVersion), ("redis_mode", "standalone"), ("rewind_version", "0.1.0"),
                ("os", "Linux"), ("arch_bits", "64"), ("multiplexing_api", "epoll"), ("process_id", String(getpid())),
                ("tcp_port", String(configuration.port)), ("server_time_usec", String(Clock.nowMicroseconds())),
                ("uptime_in_seconds", String((now - startMilliseconds) / 1000)),
                ("uptime_in_days", String((now - startMilliseconds) / 86_400_000)), ("hz", String(configuration.hz)),
                ("executable", "rewind"), ("config_file", ""),
            ]
        case "clients":
            return [
                ("connected_clients", String(clients.count)), ("maxclients", String(configuration.limits.clientCountMax)),
                ("blocked_clients", String(blocking.count)), ("pubsub_clients", String(pubsub.subscriberCount)),
            ]
        case "memory":
            let resident = Self.residentByteCount()
            return [
                ("used_memory", String(resident)), ("used_memory_human", Self.human(resident)),
                ("used_memory_rss", String(resident)), ("maxmemory", "0"), ("maxmemory_policy", "noeviction"),
                ("mem_allocator", "libc"),
            ]
        case "persistence":
            return [
                ("loading", "0"), ("rdb_changes_since_last_save", String(statistics.entriesLogged - statistics.entriesLoggedAtSave)), ("rdb_bgsave_in_progress", "0"),
                ("aof_enabled", writer == nil ? "0" : "1"),
            ] + rewriteInfoFields(now: now) + [
                ("appendfsync", configuration.durability.rawValue),
                ("rewind_log_dir", configuration.directory),
                ("rewind_record_replies", configuration.recordsReplies ? "1" : "0"),
                ("rewind_checkpoint_every", String(configuration.checkpointEntryCount)),
                ("rewind_appended_sequence", String(appendedSequence)),
                ("rewind_acknowledged_sequence", String(acknowledgedSequence)),
                ("rewind_durable_sequence", String(writer?.durableSequenceNumber ?? 0)),
                ("rewind_replayed_entries", String(startupReport.entriesReplayed)),
                ("rewind_replay_milliseconds", String(startupReport.replayMilliseconds)),
                ("rewind_recovered_damages", String(startupReport.damages.count)),
                ("rewind_point_in_time_cut", startupReport.pointInTimeCut?.preservedDirectory ?? ""),
            ]
        case "stats":
            return [
                ("total_connections_received", String(statistics.connectionsReceived)),
                ("total_commands_processed", String(statistics.commandsProcessed)),
                ("rejected_connections", String(statistics.rejectedConnections)),
                ("expired_keys", String(statistics.expiredKeys)),
                ("total_error_replies", String(statistics.errorReplies)),
                ("client_output_buffer_limit_disconnections", String(statistics.outputBufferLimitDisconnections)),
                ("pubsub_channels", String(pubsub.channelCount)), ("pubsub_patterns", String(pubsub.patternCount)),
                ("rewind_entries_logged", String(statistics.entriesLogged)),
                ("rewind_checkpoints_logged", String(statistics.checkpointsLogged)),
            ]
        case "replication":
            if let frozen = frozenClockMilliseconds {
                // Served read-only, as a replica that lost its master: Redis's role and flag, and
                // the time the state is frozen at.
                return [("role", "slave"), ("slave_read_only", "1"), ("rewind_frozen_clock_ms", String(frozen))]
            }
            return [("role", "master"), ("connected_slaves", "0")]
        case "cpu":
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            func seconds(_ time: timeval) -> String {
                let micros = Int(time.tv_sec) * 1_000_000 + Int(time.tv_usec)
                return "\(micros / 1_000_000).\(String(micros % 1_000_000).leftPadded(6))"
            }
            return [("used_cpu_sys", seconds(usage.ru_stime)), ("used_cpu_user", seconds(usage.ru_utime))]
        case "keyspace":
            return (0..<keyspace.databaseCount).compactMap { db in
                let keys = keyspace.keyCount(db: db)
                guard keys > 0 else { return nil }
                return ("db\(db)", "keys=\(keys),expires=\(expiringKeyCount(db: db)),avg_ttl=0")
            }
        default:
            return []
        }
    }

    /// Keys with a TTL in `db`, as the engine's expire table holds them.
    private func expiringKeyCount(db: Int) -> Int { keyspace.expiringKeyCount(db: db) }

    static func residentByteCount() -> Int {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 128)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 127) }
        guard count > 0 else { return 0 }
        let fields = String(decoding: bytes[0..<count], as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func human(_ byteCount: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(byteCount)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(byteCount)B" : String(Int(value * 100) / 100) + "." + String(Int(value * 100) % 100).leftPadded(2) + units[unit]
    }

    // MARK: - CLIENT

    func clientCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        let subcommand = Clock.lowercased(arguments[1])
        func arity(_ expected: Int) -> Bool {
            let ok = expected > 0 ? arguments.count == expected : arguments.count >= -expected
            if !ok { reply(connection, .error("ERR wrong number of arguments for 'client|\(subcommand)' command")) }
            return ok
        }
        switch subcommand {
        case "reply":
            // CLIENT REPLY ON|OFF|SKIP (Redis networking.c): OFF and SKIP send no reply themselves.
            guard arity(3) else { return }
            switch Clock.lowercased(arguments[2]) {
            case "on":
                connection.replyMode = .on
                reply(connection, .ok)
            case "off": connection.replyMode = .off
            case "skip": if connection.replyMode == .on { connection.replyMode = .skipNext }
            default: reply(connection, .error("ERR syntax error"))
            }
        case "id":
            guard arity(2) else { return }
            reply(connection, .integer(connection.id))
        case "setname":
            guard arity(3) else { return }
            guard isValidClientName(arguments[2]) else {
                reply(connection, .error("ERR Client names cannot contain spaces, newlines or special characters."))
                return
            }
            connection.name = arguments[2]
            reply(connection, .ok)
        case "getname":
            guard arity(2) else { return }
            reply(connection, connection.name.isEmpty ? .null : .bulkString(connection.name))
        case "info":
            guard arity(2) else { return }
            reply(connection, .verbatimString(format: "txt", text: Array((clientLine(connection) + "\n").utf8)))
        case "list":
            guard let selected = clientListSelection(arguments) else {
                reply(connection, .error("ERR syntax error"))
                return
            }
            let text = clients.keys.sorted().filter(selected).map { clientLine(clients[$0]!) + "\n" }.joined()
            reply(connection, .verbatimString(format: "txt", text: Array(text.utf8)))
        case "kill":
            clientKill(arguments, connection)
        case "unblock":
            guard arguments.count == 3 || arguments.count == 4 else {
                _ = arity(-100)
                return
            }
            guard let id = Int64(String(decoding: arguments[2], as: UTF8.self)) else {
                reply(connection, .error("ERR value is not an integer or out of range"))
                return
            }
            var withError = false
            if arguments.count == 4 {
                switch Clock.lowercased(arguments[3]) {
                case "timeout": withError = false
                case "error": withError = true
                default:
                    reply(connection, .error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
                    return
                }
            }
            reply(connection, .integer(unblock(clientID: id, withError: withError) ? 1 : 0))
        case "no-evict", "no-touch":
            guard arity(3) else { return }
            switch Clock.lowercased(arguments[2]) {
            case "on", "off": reply(connection, .ok)
            default: reply(connection, .error("ERR syntax error"))
            }
        case "setinfo":
            reply(connection, .ok)
        default:
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try CLIENT HELP."))
        }
    }

    /// One line of CLIENT LIST, with Redis's fields in Redis's order.
    /// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]: which client ids to list,
    /// or nil for a syntax error.
    private func clientListSelection(_ arguments: [[UInt8]]) -> ((Int64) -> Bool)? {
        var ids: Set<Int64>?
        var type: String?
        var index = 2
        while index < arguments.count {
            let option = Clock.lowercased(arguments[index])
            if option == "type", index + 1 < arguments.count {
                type = Clock.lowercased(arguments[index + 1])
                guard ["normal", "master", "replica", "slave", "pubsub"].contains(type!) else { return nil }
                index += 2
            } else if option == "id", index + 1 < arguments.count {
                var chosen = ids ?? []
                index += 1
                while index < arguments.count {
                    guard let id = Int64(String(decoding: arguments[index], as: UTF8.self)), id > 0 else { return nil }
                    chosen.insert(id)
                    index += 1
                }
                ids = chosen
            } else {
                return nil
            }
        }
        return { [self] id in
            if let ids, !ids.contains(id) { return false }
            guard let type, let client = clients[id] else { return true }
            let isReplica = replicaStreams[id] != nil
            let isPubSub = pubsub.subscriptionCount(of: client) > 0
            switch type {
            case "replica", "slave": return isReplica
            case "pubsub": return isPubSub && !isReplica
            case "master": return false
            default: return !isReplica && !isPubSub
            }
        }
    }

    func clientLine(_ client: ConnectionHandler) -> String {
        let now = Clock.nowMilliseconds()
        var flags = ""
        if client.session.isInTransaction { flags += "x" }
        if client.isBlocked { flags += "b" }
        if pubsub.subscriptionCount(of: client) > 0 { flags += "P" }
        if flags.isEmpty { flags = "N" }
        let channels = pubsub.channels(of: client).count
        let patterns = pubsub.patterns(of: client).count
        return "id=\(client.id) addr=\(client.remoteAddress) laddr=\(client.localAddress) fd=0 "
            + "name=\(String(decoding: client.name, as: UTF8.self)) age=\((now - client.createdMilliseconds) / 1000) "
            + "idle=\((now - client.lastCommandMilliseconds) / 1000) flags=\(flags) db=\(client.session.databaseIndex) "
            + "sub=\(channels) psub=\(patterns) ssub=0 multi=\(client.session.isInTransaction ? client.session.queuedCommandCount : -1) "
            + "qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=\(client.outputBufferByteCount) tot-mem=0 events=r "
            + "cmd=\(client.lastCommandName) user=default redir=-1 resp=\(client.protocolVersion.rawValue)"
    }

    /// CLIENT KILL addr, or CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [SKIPME yes|no] [USER name].
    private func clientKill(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        if arguments.count == 3 {
            let address = String(decoding: arguments[2], as: UTF8.self)
            guard let victim = clients.values.first(where: { $0.remoteAddress == address }) else {
                reply(connection, .error("ERR No such client"))
                return
            }
            reply(connection, .ok)
            victim.closeAfterReplies()
            return
        }
        guard arguments.count >= 4, arguments.count % 2 == 0 else {
            reply(connection, .error("ERR syntax error"))
            return
        }
        var id: Int64?
        var address: String?
        var localAddress: String?
        var user: String?
        var skipMe = true
        for index in stride(from: 2, to: arguments.count, by: 2) {
            let value = String(decoding: arguments[index + 1], as: UTF8.self)
            switch Clock.lowercased(arguments[index]) {
            case "id":
                guard let parsed = Int64(value), parsed > 0 else {
                    reply(connection, .error("ERR client-id should be greater than 0"))
                    return
                }
                id = parsed
            case "addr": address = value
            case "laddr": localAddress = value
            case "user": user = value
            case "skipme":
                switch value.lowercased() {
                case "yes": skipMe = true
                case "no": skipMe = false
                default:
                    reply(connection, .error("ERR syntax error"))
                    return
                }
            default:
                reply(connection, .error("ERR syntax error"))
                return
            }
        }
        let victims = clients.values.filter { client in
            if let id, client.id != id { return false }
            if let address, client.remoteAddress != address { return false }
            if let localAddress, client.localAddress != localAddress { return false }
            if let user, user != "default" { return false }
            if skipMe && client === connection { return false }
            return true
        }
        reply(connection, .integer(Int64(victims.count)))
        for victim in victims { victim.closeAfterReplies() }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
