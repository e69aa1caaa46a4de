// SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and PUBSUB. See redis src/pubsub.c.

import RewindRESP

/// Who listens to which channel and pattern, in subscription order.
struct PubSubRegistry {
    private var channelSubscribers: [[UInt8]: [ConnectionHandler]] = [:]
    private var patternSubscribers: [[UInt8]: [ConnectionHandler]] = [:]
    private var byConnection: [ObjectIdentifier: (channels: [[UInt8]], patterns: [[UInt8]])] = [:]

    var channelCount: Int { channelSubscribers.count }
    var patternCount: Int { patternSubscribers.count }
    var subscriberCount: Int { byConnection.count }

    func channels(of connection: ConnectionHandler) -> [[UInt8]] { byConnection[ObjectIdentifier(connection)]?.channels ?? [] }
    func patterns(of connection: ConnectionHandler) -> [[UInt8]] { byConnection[ObjectIdentifier(connection)]?.patterns ?? [] }
    func subscriptionCount(of connection: ConnectionHandler) -> Int {
        guard let entry = byConnection[ObjectIdentifier(connection)] else { return 0 }
        return entry.channels.count + entry.patterns.count
    }

    /// Adds a subscription; false when it existed.
    mutating func subscribe(_ connection: ConnectionHandler, to name: [UInt8], pattern: Bool) -> Bool {
        var entry = byConnection[ObjectIdentifier(connection)] ?? ([], [])
        if pattern {
            guard !entry.patterns.contains(name) else { return false }
            entry.patterns.append(name)
            patternSubscribers[name, default: []].append(connection)
        } else {
            guard !entry.channels.contains(name) else { return false }
            entry.channels.append(name)
            channelSubscribers[name, default: []].append(connection)
        }
        byConnection[ObjectIdentifier(connection)] = entry
        return true
    }

    /// Removes a subscription; false when there was none.
    mutating func unsubscribe(_ connection: ConnectionHandler, from name: [UInt8], pattern: Bool) -> Bool {
        guard var entry = byConnection[ObjectIdentifier(connection)] else { return false }
        if pattern {
            guard let index = entry.patterns.firstIndex(of: name) else { return false }
            entry.patterns.remove(at: index)
            patternSubscribers[name]?.removeAll { $0 === connection }
            if patternSubscribers[name]?.isEmpty == true { patternSubscribers[name] = nil }
        } else {
            guard let index = entry.channels.firstIndex(of: name) else { return false }
            entry.channels.remove(at: index)
            channelSubscribers[name]?.removeAll { $0 === connection }
            if channelSubscribers[name]?.isEmpty == true { channelSubscribers[name] = nil }
        }
        byConnection[ObjectIdentifier(connection)] = entry.channels.isEmpty && entry.patterns.isEmpty ? nil : entry
        return true
    }

    mutating func removeAll(for connection: ConnectionHandler) {
        for channel in channels(of: connection) { _ = unsubscribe(connection, from: channel, pattern: false) }
        for pattern in patterns(of: connection) { _ = unsubscribe(connection, from: pattern, pattern: true) }
    }

    func subscribers(of channel: [UInt8]) -> [ConnectionHandler] { channelSubscribers[channel] ?? [] }

    func patternMatches(for channel: [UInt8]) -> [(pattern: [UInt8], connection: ConnectionHandler)] {
        var matches: [([UInt8], ConnectionHandler)] = []
        for (pattern, connections) in patternSubscribers where globMatches(pattern, channel) {
            for connection in connections { matches.append((pattern, connection)) }
        }
        return matches
    }

    var allChannels: [[UInt8]] { Array(channelSubscribers.keys) }
    func subscriberCount(of channel: [UInt8]) -> Int { channelSubscribers[channel]?.count ?? 0 }
}

extension ServerCore {
    private func pubsubMessage(_ connection: ConnectionHandler, _ parts: [RESPValue]) -> RESPValue {
        connection.protocolVersion == .resp3 ? .push(parts) : .array(parts)
    }

    func subscribeCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, patterns: Bool) {
        let kind = patterns ? "psubscribe" : "subscribe"
        for name in arguments.dropFirst() {
            _ = pubsub.subscribe(connection, to: name, pattern: patterns)
            let count = pubsub.subscriptionCount(of: connection)
            connection.sendPubSub(pubsubMessage(connection, [.bulk(kind), .bulkString(name), .integer(Int64(count))]), after: 0)
        }
        connection.machine.subscriptionsChanged(count: pubsub.subscriptionCount(of: connection))
    }

    func unsubscribeCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler, patterns: Bool) {
        let kind = patterns ? "punsubscribe" : "unsubscribe"
        var names = Array(arguments.dropFirst())
        if names.isEmpty { names = patterns ? pubsub.patterns(of: connection) : pubsub.channels(of: connection) }
        if names.isEmpty {
            connection.sendPubSub(pubsubMessage(connection, [.bulk(kind), .null, .integer(Int64(pubsub.subscriptionCount(of: connection)))]), after: 0)
        }
        for name in names {
            _ = pubsub.unsubscribe(connection, from: name, pattern: patterns)
            let count = pubsub.subscriptionCount(of: connection)
            connection.sendPubSub(pubsubMessage(connection, [.bulk(kind), .bulkString(name), .integer(Int64(count))]), after: 0)
        }
        connection.machine.subscriptionsChanged(count: pubsub.subscriptionCount(of: connection))
    }

    /// Delivers `message` to every subscriber of `channel` and every matching pattern; returns
    /// how many received it.
    func publish(channel: [UInt8], message: [UInt8]) -> Int {
        var receivers = 0
        for connection in pubsub.subscribers(of: channel) {
            connection.pushPubSub(pubsubMessage(connection, [.bulk("message"), .bulkString(channel), .bulkString(message)]), after: 0)
            receivers += 1
        }
        for (pattern, connection) in pubsub.patternMatches(for: channel) {
            connection.pushPubSub(pubsubMessage(connection, [.bulk("pmessage"), .bulkString(pattern), .bulkString(channel),
                                                      .bulkString(message)]), after: 0)
            receivers += 1
        }
        return receivers
    }

    func pubsubCommand(_ arguments: [[UInt8]], _ connection: ConnectionHandler) {
        switch Clock.lowercased(arguments[1]) {
        case "channels":
            let pattern = arguments.count > 2 ? arguments[2] : nil
            let names = pubsub.allChannels.filter { pattern == nil || globMatches(pattern!, $0) }.sorted { $0.lexicographicallyPrecedes($1) }
            reply(connection, .array(names.map { .bulkString($0) }))
        case "numsub":
            reply(connection, .array(arguments.dropFirst(2).flatMap { [.bulkString($0), .integer(Int64(pubsub.subscriberCount(of: $0)))] }))
        case "numpat":
            reply(connection, .integer(Int64(pubsub.patternCount)))
        case "shardchannels":
            reply(connection, .array([]))
        case "shardnumsub":
            reply(connection, .array(arguments.dropFirst(2).flatMap { [.bulkString($0), .integer(0)] }))
        default:
            reply(connection, .error("ERR unknown subcommand '\(String(decoding: arguments[1], as: UTF8.self))'. Try PUBSUB HELP."))
        }
    }
}

extension ServerCore {
    /// The output buffer limit of `connection`'s class: `pubsub` while it has a subscription,
    /// else `normal` (Redis `getClientType`).
    func outputBufferLimit(for connection: ConnectionHandler) -> ClientOutputBufferLimits.Limit {
        let limits = configuration.outputBufferLimits
        if limits.normal == limits.pubsub { return limits.normal }
        return pubsub.subscriptionCount(of: connection) > 0 ? limits.pubsub : limits.normal
    }

    /// Whether any limit applies to `connection` now, so the bytes the socket has not taken must
    /// be tracked. Under the defaults only subscribers are tracked (`normal 0 0 0`).
    func outputBufferIsLimited(for connection: ConnectionHandler) -> Bool {
        let limits = configuration.outputBufferLimits
        if !limits.normal.isUnlimited { return true }
        if limits.pubsub.isUnlimited { return false }
        return pubsub.subscriptionCount(of: connection) > 0
    }

    /// `connection` passed its output buffer limit and is being dropped: count it and say so in
    /// the server log, in Redis's words.
    func outputBufferLimitPassed(by connection: ConnectionHandler) {
        statistics.outputBufferLimitDisconnections += 1
        logger.warning("Client \(clientLine(connection)) scheduled to be closed ASAP for overcoming of output buffer limits.")
    }
}
