// The commands the server answers itself rather than the engine: connection, introspection and
// administration. See redis src/server.c, src/networking.c (CLIENT), src/config.c (CONFIG).

import NIOCore
import RewindEngine
import RewindRESP

/// A command answered by the server layer.
enum ServerCommand: String, CaseIterable {
    case auth, hello, quit, reset, info, time, client, config, debug, bgrewriteaof, shutdown, function,
         object, subscribe, unsubscribe, psubscribe, punsubscribe, publish, pubsub, lastsave, wait, save, bgsave, memory, sync, sort, pfdebug
    case sortReadOnly = "sort_ro"

    /// The lower-case names by length: every request asks, and most names (GET, SET, LPUSH, ...)
    /// are rejected on their length or first letter, with no hashing and no allocation.
    private static let byLength: [[(name: [UInt8], command: ServerCommand)]] = {
        var table = Array(repeating: [(name: [UInt8], command: ServerCommand)](), count: 17)
        for command in allCases { table[command.rawValue.utf8.count].append((Array(command.rawValue.utf8), command)) }
        return table
    }()

    /// The server command called `name` in any ASCII case, or nil for an engine command.
    init?(name: [UInt8]) {
        guard name.count < Self.byLength.count else { return nil }
        let found: ServerCommand? = name.withUnsafeBufferPointer { bytes in
            candidates: for candidate in Self.byLength[bytes.count] {
                for index in 0..<bytes.count {
                    // ASCII letters only differ by 0x20 between cases; SORT_RO's `_` is not a letter.
                    let byte = bytes[index]
                    if (byte >= 65 && byte <= 90 ? byte | 0x20 : byte) != candidate.name[index] { continue candidates }
                }
                return candidate.command
            }
            return nil
        }
        guard let found else { return nil }
        self = found
    }

    /// Commands Redis runs at once inside MULTI instead of queueing them.
    var runsInsideTransaction: Bool { self == .quit || self == .reset }

    /// Whether `count` arguments (the name included) satisfy ``arity``.
    func acceptsArgumentCount(_ count: Int) -> Bool {
        arity > 0 ? count == arity : count >= -arity
    }

    /// Redis's arity for the command (negative: at least), as redis-server 7.0.15's COMMAND INFO.
    var arity: Int {
        switch self {
        case .auth: return -2
        case .hello, .info, .shutdown, .bgsave, .quit: return -1
        case .reset, .bgrewriteaof, .lastsave, .save, .time, .sync: return 1
        case .client, .config, .debug, .function, .object, .pubsub, .memory, .sort, .sortReadOnly: return -2
        case .subscribe, .psubscribe: return -2
        case .unsubscribe, .punsubscribe: return -1
        case .publish, .wait: return 3
        case .pfdebug: return -3
        }
    }
}

extension ServerCore {
    /// Checks arity and runs a server command.
    func runServerCommand(_ command: ServerCommand, _ arguments: [[UInt8]], connection: ConnectionHandler, now: Int64) {
        if let error = command.rejection(of: arguments, inTransaction: false) {
            reply(connection, .error(error))
            return
        }
        switch command {
        case .auth: authCommand(arguments, connection)
        case .hello: helloCommand(arguments, connection)
        case .quit:
            connection.send(.ok, after: 0)
            connection.closeAfterReplies()
        case .reset: resetCommand(connection)
        case .info: reply(connection, .verbatimString(format: "txt", text: Array(info(sections: arguments.dropFirst().map(Clock.lowercased)).utf8)))
        case .time:
            // A read-only server answers with its frozen time.
            let micros = frozenClockMilliseconds.map { frozen in
                let (product, overflow) = frozen.multipliedReportingOverflow(by: 1000)
                return overflow ? Int64.max : product
            } ?? Clock.nowMicroseconds()
            reply(connection, .array([.bulk(String(micros / 1_000_000)), .bulk(String(micros % 1_000_000))]))
        case .client: clientCommand(arguments, connection)
        case .config: configCommand(arguments, connection)
        case .debug: debugCommand(arguments, connection, now: now)
        case .object: objectCommand(arguments, connection, now: now)
        case .bgrewriteaof: bgrewriteaofCommand(connection, now: now)
        case .memory: memoryCommand(arguments, connection, now: now)
        case .sync: syncCommand(connection)
        case .pfdebug: pfdebugCommand(arguments, connection, now: now)
        case .sort, .sortReadOnly: sortCommand(arguments, connection, now: now, readOnly: command == .sortReadOnly)
        case .shutdown: shutdownCommand(arguments, connection)
        case .function:
            if Clock.lowercased(arguments[1]) == "flush" { reply(connection, .ok) }
            else { reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try FUNCTION HELP.")) }
        case .subscribe, .psubscribe: subscribeCommand(arguments, connection, patterns: command == .psubscribe)
        case .unsubscribe, .punsubscribe: unsubscribeCommand(arguments, connection, patterns: command == .punsubscribe)
        case .publish: reply(connection, .integer(Int64(publish(channel: arguments[1], message: arguments[2]))))
        case .pubsub: pubsubCommand(arguments, connection)
        case .lastsave: reply(connection, .integer(startMilliseconds / 1000))
        case .wait: reply(connection, .integer(0))
        case .save, .bgsave:
            // The log is the persistence: there is no snapshot to take. Sync it and say so.
            requestCommitIfNeeded()
            statistics.entriesLoggedAtSave = statistics.entriesLogged
            reply(connection, command == .save ? .ok : .simpleString("Background saving started"))
        }
    }

    /// Sends a reply that depends on no log entry of this connection beyond those already owed.
    func reply(_ connection: ConnectionHandler, _ value: RESPValue) {
        if case .error = value { statistics.errorReplies += 1 }
        connection.send(value, after: 0)
    }

    // MARK: - Connection

    private func authCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        guard arguments.count <= 3 else {
            reply(connection, .error("ERR syntax error"))
            return
        }
        let user = arguments.count == 3 ? arguments[1] : Array("default".utf8)
        guard let password = requirePassword else {
            if arguments.count == 2 {
                reply(connection, .error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"))
            } else if user == Array("default".utf8) {
                connection.machine.authenticated()
                reply(connection, .ok)
            } else {
                reply(connection, .error("WRONGPASS invalid username-password pair or user is disabled."))
            }
            return
        }
        if user == Array("default".utf8) && arguments.last! == Array(password.utf8) {
            connection.machine.authenticated()
            reply(connection, .ok)
        } else {
            reply(connection, .error("WRONGPASS invalid username-password pair or user is disabled."))
        }
    }

    /// HELLO [protover [AUTH username password] [SETNAME clientname]] (Redis `helloCommand`).
    private func helloCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        var version = connection.protocolVersion
        if arguments.count >= 2 {
            guard let number = Int(String(decoding: arguments[1], as: UTF8.self)) else {
                reply(connection, .error("ERR Protocol version is not an integer or out of range"))
                return
            }
            guard number == 2 || number == 3 else {
                reply(connection, .error("NOPROTO unsupported protocol version"))
                return
            }
            version = number == 2 ? .resp2 : .resp3
        }
        var index = 2
        var name: [UInt8]?
        var credentials: ([UInt8], [UInt8])?
        while index < arguments.count {
            let option = Clock.lowercased(arguments[index])
            let remaining = arguments.count - index - 1
            if option == "auth" && remaining >= 2 {
                credentials = (arguments[index + 1], arguments[index + 2])
                index += 3
            } else if option == "setname" && remaining >= 1 {
                name = arguments[index + 1]
                index += 2
            } else {
                reply(connection, .error("ERR Syntax error in HELLO option '\(String(decoding: arguments[index], as: UTF8.self))'"))
                return
            }
        }
        if let (user, password) = credentials {
            let good = user == Array("default".utf8) && (requirePassword.map { Array($0.utf8) == password } ?? true)
            guard good else {
                reply(connection, .error("WRONGPASS invalid username-password pair or user is disabled."))
                return
            }
            connection.machine.authenticated()
        }
        guard connection.machine.isAuthenticated else {
            reply(connection, .error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"))
            return
        }
        if let name {
            guard isValidClientName(name) else {
                reply(connection, .error("ERR Client names cannot contain spaces, newlines or special characters."))
                return
            }
            connection.name = name
        }
        connection.machine.protocolChanged(to: version)
        reply(connection, .map([
            RESPPair(.bulk("server"), .bulk("redis")),
            RESPPair(.bulk("version"), .bulk(ServerInfo.redisVersion)),
            RESPPair(.bulk("proto"), .integer(Int64(version.rawValue))),
            RESPPair(.bulk("id"), .integer(connection.id)),
            RESPPair(.bulk("mode"), .bulk("standalone")),
            RESPPair(.bulk("role"), .bulk(isReadOnly ? "replica" : "master")),
            RESPPair(.bulk("modules"), .array([])),
        ]))
    }

    private func resetCommand(_ connection: ConnectionHandler) {
        keyspace.endSession(&connection.session)
        connection.queuedServerCommands = []
        connection.session = ClientSession()
        pubsub.removeAll(for: connection)
        connection.name = []
        connection.machine.reset()
        connection.send(.simpleString("RESET"), after: 0)
    }

    func isValidClientName(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 > 32 && $0 < 127 }
    }

    private func shutdownCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        for option in arguments.dropFirst() {
            switch Clock.lowercased(option) {
            case "nosave", "save", "now", "force": continue
            case "abort":
                reply(connection, .error("ERR No shutdown in progress."))
                return
            default:
                reply(connection, .error("ERR syntax error"))
                return
            }
        }
        logger.notice("SHUTDOWN requested by client \(connection.id); syncing the log")
        shutdownRequested?()
    }
}
