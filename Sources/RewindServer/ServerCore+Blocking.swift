// Blocking list and sorted-set pops: the engine runs their non-blocking form; the server makes
// the client wait and retries when another client writes one of its keys. See redis
// src/blocked.c (blockForKeys, handleClientsBlockedOnKeys, replyToBlockedClientTimedOut).

import NIOCore
import RewindEngine
import RewindRESP

/// One client waiting in a blocking command.
struct BlockedClient {
    let connection: ConnectionHandler
    let arguments: [[UInt8]]
    let db: Int
    let keys: [[UInt8]]
    /// What the client gets on timeout: the engine's reply to the command on empty keys.
    let timeoutReply: RESPValue
    var timeout: Scheduled<Void>?
}

/// The clients blocked on keys, in the order they blocked (Redis serves them first come, first served).
struct BlockingQueues {
    private(set) var clients: [BlockedClient] = []

    var isEmpty: Bool { clients.isEmpty }
    var count: Int { clients.count }

    private static let names: Set<String> = ["blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"]

    /// Whether `name` is a command that blocks when its keys are empty.
    func isBlockingCommand(_ name: [UInt8]) -> Bool {
        guard name.count >= 5, name.count <= 10, name[0] | 0x20 == UInt8(ascii: "b") else { return false }
        return Self.names.contains(Clock.lowercased(name))
    }

    mutating func add(_ client: BlockedClient) { clients.append(client) }

    /// Removes `connection`'s entry and returns it.
    @discardableResult
    mutating func remove(_ connection: ConnectionHandler) -> BlockedClient? {
        guard let index = clients.firstIndex(where: { $0.connection === connection }) else { return nil }
        let client = clients.remove(at: index)
        client.timeout?.cancel()
        return client
    }

    /// The timeout argument's index for a blocking command.
    static func timeoutIndex(_ arguments: [[UInt8]]) -> Int {
        switch Clock.lowercased(arguments[0]) {
        case "blmove": return 5
        case "brpoplpush": return 3
        case "blmpop", "bzmpop": return 1
        default: return arguments.count - 1
        }
    }
}

extension ServerCore {
    /// Blocks `connection` on the keys of a blocking command that found them empty. Returns false
    /// when the command must not block (a timeout that is not a number: the engine replied).
    func blockClient(_ connection: ConnectionHandler, arguments: [[UInt8]], timeoutReply: RESPValue, now: Int64) -> Bool {
        let timeoutText = String(decoding: arguments[BlockingQueues.timeoutIndex(arguments)], as: UTF8.self)
        guard let seconds = Double(timeoutText), seconds >= 0, seconds.isFinite,
              let keyIndexes = Keyspace.keyIndexes(of: arguments) else { return false }
        var client = BlockedClient(connection: connection, arguments: arguments, db: connection.session.databaseIndex,
                                   keys: keyIndexes.map { arguments[$0] }, timeoutReply: timeoutReply, timeout: nil)
        if seconds > 0 {
            client.timeout = eventLoop.scheduleTask(in: .microseconds(Int64(seconds * 1_000_000))) { [self] in
                guard blocking.remove(connection) != nil else { return }
                finishBlocking(connection, reply: timeoutReply, sequence: 0)
            }
        }
        connection.isBlocked = true
        blocking.add(client)
        return true
    }

    /// Retries, in arrival order, the blocked clients waiting on a key that `entries` wrote.
    func serveBlockedClients(touchedBy entries: [LoggedEntry], now: Int64) {
        var touched = Set<WrittenKey>()
        for entry in entries {
            for command in entry.commands {
                if command.arguments.count == 3, Clock.lowercased(command.arguments[0]) == "swapdb" {
                    // SWAPDB makes every key of both databases ready (Redis scanAndRemoveBlockedKeys).
                    let swapped = Set(command.arguments[1...].compactMap { Int(String(decoding: $0, as: UTF8.self)) })
                    for client in blocking.clients where swapped.contains(client.db) {
                        for key in client.keys { touched.insert(WrittenKey(db: client.db, key: key)) }
                    }
                    continue
                }
                guard let indexes = Keyspace.keyIndexes(of: command.arguments) else { continue }
                for index in indexes { touched.insert(WrittenKey(db: command.db, key: command.arguments[index])) }
            }
        }
        guard !touched.isEmpty else { return }
        let candidates = blocking.clients.filter { client in client.keys.contains { touched.contains(WrittenKey(db: client.db, key: $0)) } }
        for candidate in candidates {
            guard blocking.clients.contains(where: { $0.connection === candidate.connection }) else { continue }
            let connection = candidate.connection
            connection.session.protocolVersion = connection.machine.protocolVersion
            let result = keyspace.execute(candidate.arguments, session: &connection.session, nowMilliseconds: now)
            if case .error = result.reply, result.propagated.isEmpty, ["blmove", "brpoplpush"].contains(Clock.lowercased(candidate.arguments[0])),
               sourceIsList(candidate.arguments[1], connection, now: now) {
                // A woken BLMOVE/BRPOPLPUSH whose source is a list but whose destination holds
                // another type: Redis answers the waiting client with the error and leaves the
                // source as it was. (A source that is not a list keeps the client waiting.)
                blocking.remove(connection)
                finishBlocking(connection, reply: result.reply, sequence: 0)
                continue
            }
            guard !result.propagated.isEmpty else { continue }
            if result.reply == .null || result.reply == .nullArray {
                // Nothing was popped: the key had expired, and the lookup deleted it (the DEL is
                // logged). Redis keeps the client waiting.
                log(result.propagated, at: now)
                continue
            }
            blocking.remove(connection)
            let sequence = log(result.propagated, at: now)
            finishBlocking(connection, reply: result.reply, sequence: sequence)
            // What this pop moved (BLMOVE) may serve further clients.
            serveBlockedClients(touchedBy: result.propagated, now: now)
        }
    }

    /// CLIENT UNBLOCK: ends a client's wait as a timeout would, or with an error.
    func unblock(clientID: Int64, withError: Bool) -> Bool {
        guard let connection = clients[clientID], let client = blocking.remove(connection) else { return false }
        finishBlocking(connection, reply: withError ? .error("UNBLOCKED client unblocked via CLIENT UNBLOCK") : client.timeoutReply,
                       sequence: 0)
        return true
    }

    func expireBlockedClients(now: Int64) {}

    private func sourceIsList(_ key: [UInt8], _ connection: ConnectionHandler, now: Int64) -> Bool {
        let result = keyspace.execute([Array("TYPE".utf8), key], session: &connection.session, nowMilliseconds: now)
        if !result.propagated.isEmpty { log(result.propagated, at: now) }
        return result.reply == .simpleString("list")
    }

    /// Replies to a client that stops waiting, then runs the requests it sent meanwhile.
    private func finishBlocking(_ connection: ConnectionHandler, reply: RESPValue, sequence: UInt64) {
        connection.isBlocked = false
        connection.push(reply, after: sequence)
        eventLoop.execute { [self] in
            // A connection that closed meanwhile (it is unregistered) runs nothing more: a
            // blocking pop run for it would wait in the blocking table and take an element
            // for nobody.
            while !connection.isBlocked && !connection.isClosed && !connection.deferredRequests.isEmpty {
                let arguments = connection.deferredRequests.removeFirst()
                handle(arguments, from: connection)
            }
            connection.finishBatch()
            requestCommitIfNeeded()
        }
    }
}

/// A key in a database, as the blocking and watch tables name it.
struct WrittenKey: Hashable {
    var db: Int
    var key: [UInt8]
}
